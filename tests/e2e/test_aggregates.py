"""Priorities read aggregates that each push maintains (sql/010), and give the same list,
byte for byte, as the same calculation from the pupil rows: on the demo trust and on
random trusts pushed through the API, including re-pushes of earlier terms (which change
the stuck-pupil lists of the terms after them) and pushes that fail."""
import random
import subprocess
import unittest

import harness
from harness import Matd, school_body

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
TERMS = [("2024-25", "autumn"), ("2024-25", "spring"), ("2024-25", "summer"),
         ("2025-26", "autumn"), ("2025-26", "spring"), ("2025-26", "summer")]


def upn(tail12):
    return LETTERS[sum(int(c) * (i + 2) for i, c in enumerate(tail12)) % 23] + tail12


class SameFromRows:
    def priorities(self, year, term, *extra):
        out = subprocess.run([harness.MATCTL, "-c", self.m.config, "priorities", "--year", year,
                              "--term", term, "--json", *extra], capture_output=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def assert_same(self, schools):
        trust = self.m.psql("SELECT id FROM trusts LIMIT 1")
        compared = 0
        for year, term in TERMS:
            args = "%s, '%s', '%s', NULL" % (trust, year, term)
            # The cells and the stuck pupils, both ways, as sets.
            for one, other in (("progress_cells(%s)", "progress_cells_from_rows(%s)"),
                               ("progress_cells_from_rows(%s)", "progress_cells(%s)")):
                diff = self.m.psql("SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) d"
                                   % (one % args, other % args))
                self.assertEqual(diff, "0", (year, term, one))
            stuck = ("SELECT urn, subject, pupil_key FROM progress_stuck WHERE trust_id = %s "
                     "AND year = '%s' AND term = '%s'" % (trust, year, term))
            rows = "SELECT * FROM progress_stuck_from_rows(%s)" % args
            for a, b in ((stuck, rows), (rows, stuck)):
                self.assertEqual(self.m.psql("SELECT count(*) FROM (%s EXCEPT ALL %s) d" % (a, b)),
                                 "0", (year, term))
            # The priorities themselves, trust-wide and for a school (with pupil keys).
            agg = self.priorities(year, term)
            self.assertEqual(agg, self.priorities(year, term, "--from-rows"), (year, term))
            for urn in schools[:2]:
                self.assertEqual(self.priorities(year, term, "--school", urn),
                                 self.priorities(year, term, "--school", urn, "--from-rows"),
                                 (year, term, urn))
            compared += len(agg)
        return compared


class DemoTrust(SameFromRows, unittest.TestCase):
    def test_demo_trust_same_both_ways(self):
        self.m = Matd(harness.fresh_database("e2e_agg_demo"))
        try:
            self.m.matctl("demo", "load")
            schools = self.m.psql("SELECT string_agg(urn, ' ' ORDER BY urn) FROM schools").split()
            self.assertGreater(int(self.m.psql("SELECT count(*) FROM progress_counts")), 0)
            self.assertGreater(int(self.m.psql("SELECT count(*) FROM progress_stuck")), 0)
            self.assertGreater(self.assert_same(schools), 10000, "the lists compared are not empty")
            # The triggers that keep the aggregates run without JIT (sql/014): compiling
            # them cost more than running them, on every push.
            self.assertEqual(self.m.psql(
                "SELECT string_agg(proname || ':' || array_to_string(proconfig, ','), ' ' "
                "ORDER BY proname) FROM pg_proc WHERE proname IN ('bump_trust_data_version', "
                "'progress_aggregates_after_write', 'progress_aggregates_refresh')"),
                "bump_trust_data_version:jit=off progress_aggregates_after_write:jit=off "
                "progress_aggregates_refresh:jit=off")
        finally:
            self.assertEqual(self.m.stop(), 0)


class RandomTrusts(SameFromRows, unittest.TestCase):
    COLUMNS = ["pupil", "year_group", "subject", "band", "disadvantaged", "send", "eal",
               "looked_after", "sex", "prior_attainment"]

    def push(self, urn, year, term, recs, expect=201, csv=False):
        """As JSON, or as CSV: the counts a push hands PostgreSQL come from its parsed
        records whatever the format (lib/progress_counts.c), so both are compared. An empty
        set is pushed as one on purpose (?allow_empty=true), as a school emptying a term."""
        path = "/v1/schools/%s/progress/%s/%s%s" % (urn, year, term,
                                                   "" if recs else "?allow_empty=true")
        if csv:
            cell = lambda v: str(v).lower() if isinstance(v, bool) else str(v)
            body = "\n".join([",".join(self.COLUMNS)] +
                             [",".join(cell(rec[c]) for c in self.COLUMNS) for rec in recs]) + "\n"
            r = self.m.request("PUT", path, body, token=self.admin, content_type="text/csv")
        else:
            r = self.m.request("PUT", path, {"records": recs}, token=self.admin)
        self.assertEqual(r.status, expect, r)

    def random_set(self, rng, urn_index, pupils, codes):
        recs = []
        for p in range(pupils):
            pupil = upn(("80%d%08d" % (urn_index, p))[:12])
            for subject in ("reading", "writing", "maths"):
                rec = {"pupil": pupil, "year_group": str(3 + p % 4), "subject": subject,
                       "disadvantaged": rng.random() < 0.3,
                       "send": rng.choice(["none", "none", "none", "support", "ehcp"]),
                       "eal": rng.random() < 0.2, "looked_after": rng.random() < 0.05,
                       "sex": rng.choice(["f", "m"]),
                       "prior_attainment": rng.choice(["low", "middle", "high"])}
                if codes and rng.random() < 0.05:
                    rec["band"] = rng.choice(["A", "L", "F", "P", "D", "B", "H", "J", "M", "Q", "T", "U", "AS", "NS"])
                else:
                    # Weak pupils stay weak, so some are stuck across three terms.
                    weak = p % 5 == 0
                    rec["band"] = rng.choice(["below", "towards"] if weak else
                                             ["below", "towards", "expected", "greater_depth"])
                recs.append(rec)
        return recs

    def test_random_trusts_same_both_ways(self):
        self.m = Matd(harness.fresh_database("e2e_agg_random"))
        try:
            self.admin = self.m.token("admin")
            for seed in (1, 2):
                rng = random.Random(seed)
                schools = ["%06d" % (140100 + seed * 10 + i) for i in range(4)]
                for urn in schools:
                    r = self.m.request("POST", "/v1/schools", school_body(urn), token=self.admin)
                    self.assertEqual(r.status, 201, r)
                for i, urn in enumerate(schools):
                    for year, term in TERMS:
                        if rng.random() < 0.85:
                            self.push(urn, year, term,
                                      self.random_set(rng, seed * 10 + i, rng.randint(8, 30),
                                                      codes=seed == 2), csv=i % 2 == 1)
                # A re-push of an earlier term changes later terms' stuck lists; a smaller
                # set removes pupils; a bad push changes nothing.
                self.push(schools[0], "2024-25", "summer", self.random_set(rng, 90, 25, True))
                self.push(schools[1], "2025-26", "autumn", self.random_set(rng, 91, 5, False))
                bad = self.random_set(rng, 92, 3, False)
                bad[0]["band"] = "excellent"
                self.push(schools[2], "2025-26", "spring", bad, expect=422)
                # An empty set empties the term: its counts go, and the stuck lists of the
                # terms after it lose it (the push refreshes them itself, sql/015).
                self.push(schools[3], "2024-25", "spring", [])
                self.assertEqual(self.m.psql(
                    "SELECT count(*) FROM progress_counts WHERE urn = '%s' AND year = '2024-25' "
                    "AND term = 'spring'" % schools[3]), "0")
            compared = self.assert_same(sorted(self.m.psql(
                "SELECT string_agg(urn, ' ') FROM schools").split()))
            self.assertGreater(compared, 1000)
        finally:
            self.assertEqual(self.m.stop(), 0)


if __name__ == "__main__":
    harness.main()
