"""GET /v1/briefing on the demo trust (SPEC 6.5): the planted patterns are all in the
first ten priorities, which obey the diversity rules of SPEC 6.3; every other part
recomputes from the stored rows; scopes, ETag and CSV behave."""
import csv
import io
import json
import re
import unittest

import harness
import openapi_check

YEAR, TERM = "2025-26", "spring"
PATH = "/v1/briefing?year=%s&term=%s" % (YEAR, TERM)


def topic_key(it):
    """What SPEC 6.3 calls the subject (SEF areas and themes compared among their own)."""
    for k in ("subject", "area", "theme"):
        if k in it:
            return (k, it[k])


def scope_of(it):
    return "trust" if it["level"] == "trust" else it["schools"][0]


def diverse(items, limit=10, per_kind=3):
    """SPEC 6.3 applied here, independently of the product, to the full list."""
    kept, per = [], {}
    for it in items:
        if per.get(it["kind"], 0) >= per_kind:
            continue
        if any(scope_of(k) == scope_of(it) and topic_key(k) == topic_key(it) for k in kept):
            continue
        per[it["kind"]] = per.get(it["kind"], 0) + 1
        kept.append(it)
        if len(kept) == limit:
            break
    return kept


class Briefing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_demo_trust(cls, "e2e_briefing")
        cls.checker = openapi_check.Checker()

    @classmethod
    def tearDownClass(cls):
        assert cls.a.stop() == 0

    def get(self, path, token=None, **kw):
        """A GET whose answer must conform to proto/openapi.yaml."""
        r = self.a.request("GET", path, token=token or self.ceo, **kw)
        self.checker.check("GET", path, r)
        return r

    def briefing(self, token=None):
        r = self.get(PATH, token)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_planted_patterns_in_the_first_ten(self):
        b = self.briefing()
        top = b["priorities"]
        self.assertEqual(len(top), 10)
        for i in top:
            print("%8.2f  %-6s %-12s %s" % (i["score"], i["level"], i["kind"], i["rationale"]))
        # 1. Writing is weak across the trust.
        self.assertTrue([i for i in top if i["level"] == "trust" and i["kind"] == "attainment"
                         and i.get("subject") == "writing" and i["group"] == "all"])
        # 2. The disadvantaged gaps at Brookside (140002) and Canal Street (140003).
        gap_schools = {s for i in top if i["kind"] == "gap" for s in i["schools"]}
        self.assertTrue({"140002", "140003"} <= gap_schools, gap_schools)
        # 3. Eastgate Primary (140005) has declined.
        self.assertTrue([i for i in top if i["kind"] == "trend" and i["schools"] == ["140005"]])
        # 4. The SEF weakness: achievement.
        self.assertTrue([i for i in top if i["kind"] == "sef" and i.get("area") == "achievement"])
        # 5. Writing, the SIP theme several schools share.
        self.assertTrue([i for i in top if i["kind"] == "shared_theme" and i.get("theme") == "writing"])

    def test_diversity_rules(self):
        top = self.briefing()["priorities"]
        kinds = {}
        for i in top:
            kinds[i["kind"]] = kinds.get(i["kind"], 0) + 1
        self.assertLessEqual(max(kinds.values()), 3, kinds)
        seen = set()
        for i in top:
            key = (scope_of(i), topic_key(i))
            self.assertNotIn(key, seen, i)
            seen.add(key)
        # The briefing is the full list after the rules: same items, same order.
        full = self.get("/v1/priorities?year=%s&term=%s" % (YEAR, TERM)).json["items"]
        self.assertEqual([i["id"] for i in top], [i["id"] for i in diverse(full)])
        self.assertEqual(top, [i for i in full if i["id"] in {t["id"] for t in top}])

    def test_gap_rationales_name_a_national_reference(self):
        full = self.get("/v1/priorities?year=%s&term=%s&kind=gap" % (YEAR, TERM)).json["items"]
        self.assertTrue(full)
        for i in full:
            m = re.search(r"national gap of (\d+) points", i["rationale"])
            self.assertTrue(m, i["rationale"])
            self.assertGreater(int(m.group(1)), 0, i["rationale"])
            self.assertAlmostEqual(int(m.group(1)), round(i["metrics"]["national_gap"] * 100))
            self.assertIn(i["metrics"]["national_gap_year"], i["rationale"])

    def rows(self, year, term):
        out = self.a.psql("COPY (SELECT urn, subject, count(*), count(*) FILTER (WHERE band IN "
                          "('expected', 'greater_depth')) FROM progress WHERE year = '%s' AND "
                          "term = '%s' GROUP BY urn, subject) TO STDOUT WITH CSV" % (year, term))
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in csv.reader(io.StringIO(out))}

    def headline_oracle(self, urns=None):
        now, last = self.rows(YEAR, TERM), self.rows("2024-25", TERM)
        bench = {(x["subject"], x["group"]): x["expected"]
                 for x in self.get("/v1/benchmarks/" + YEAR).json["items"]}
        out = {}
        for (urn, subj), (n, k) in now.items():
            if urns and urn not in urns:
                continue
            o = out.setdefault(subj, [0, 0, 0, 0])
            o[0] += n
            o[1] += k
            pn, pk = last.get((urn, subj), (0, 0))
            o[2] += pn
            o[3] += pk
        return out, bench

    def check_headline(self, headline, urns=None):
        oracle, bench = self.headline_oracle(urns)
        self.assertEqual([h["subject"] for h in headline], sorted(oracle))
        for h in headline:
            n, k, pn, pk = oracle[h["subject"]]
            self.assertEqual((h["n"], h["k"]), (n, k))
            self.assertAlmostEqual(h["p"], k / n, places=4)
            b = bench.get((h["subject"], "all"))
            self.assertEqual(h["b"] is None, b is None)
            if b is not None:
                self.assertAlmostEqual(h["b"], b, places=4)
                self.assertAlmostEqual(h["vs_national"], k / n - b, places=3)
            self.assertEqual(h["n_prev"], pn)
            self.assertAlmostEqual(h["change"], k / n - pk / pn, places=3)

    def test_headline_recomputes_from_stored_rows(self):
        b = self.briefing()
        self.check_headline(b["headline"])
        writing = [h for h in b["headline"] if h["subject"] == "writing"][0]
        self.assertLess(writing["vs_national"], -0.1, "the planted trust-wide weakness")

    def test_schools_of_concern_monitoring_and_triads(self):
        b = self.briefing()
        full = self.get("/v1/priorities?year=%s&term=%s" % (YEAR, TERM)).json["items"]
        sums = {}
        for i in full:
            if i["level"] == "school":
                sums[i["schools"][0]] = sums.get(i["schools"][0], 0) + i["score"]
        concern = b["schools_of_concern"]
        self.assertEqual([c["urn"] for c in concern if c["urn"] in sums],
                         sorted(sums, key=lambda u: (-round(sums[u], 2), u))[:len(concern)])
        for c in concern:
            self.assertAlmostEqual(c["score"], sums.get(c["urn"], 0), places=1)
            self.assertLessEqual(len(c["reasons"]), 3)
            mine = [i["rationale"] for i in full if i["level"] == "school" and i["schools"][0] == c["urn"]]
            self.assertEqual(c["reasons"], mine[:3])
        flags = dict(x.split("|") for x in self.a.psql(
            "SELECT urn || '|' || category FROM schools").split())
        for c in concern:
            self.assertEqual(c["category"], flags[c["urn"]] in ("t", "true"))
        self.assertIn("140003", [c["urn"] for c in concern if c["category"]])
        overdue = dict(x.split("|") for x in self.a.psql(
            "SELECT urn || '|' || count(*) FILTER (WHERE NOT done AND due < current_date) "
            "FROM monitoring_items WHERE year = '%s' GROUP BY urn" % YEAR).split())
        for c in concern:
            self.assertEqual(c["overdue"], int(overdue.get(c["urn"], 0)))
        m = b["monitoring"]
        self.assertEqual(m["overdue"], int(self.a.psql(
            "SELECT count(*) FROM monitoring_items WHERE year = '%s' AND NOT done AND "
            "due < current_date" % YEAR)))
        self.assertEqual(m["at_risk"], int(self.a.psql(
            "SELECT count(*) FROM monitoring_items WHERE year = '%s' AND NOT done AND "
            "status IN ('at_risk', 'off_track')" % YEAR)))
        self.assertEqual(m["due_this_term"], int(self.a.psql(
            "SELECT count(*) FROM monitoring_items WHERE year = '%s' AND NOT done AND "
            "due >= '2026-01-01' AND due < '2026-04-15'" % YEAR)))
        # This term's published triads, each with its review status.
        expect = self.a.psql("SELECT count(*) FROM triads t JOIN rota_terms r USING (trust_id, "
                             "rota_id, year, term) WHERE r.published AND t.year = '%s' AND "
                             "t.term = '%s'" % (YEAR, TERM))
        self.assertEqual(len(b["triads"]), int(expect))
        self.assertTrue(b["triads"])
        for t in b["triads"]:
            self.assertIn(t["host"], t["members"])
            self.assertEqual(t["review"], "awaited")

    def test_executive_head_sees_their_schools(self):
        b = self.briefing(self.head)
        self.assertEqual(b["scope"], ["140002", "140005"])
        for i in b["priorities"]:
            self.assertTrue(set(i["schools"]) <= {"140002", "140005"}, i)
        self.assertTrue({c["urn"] for c in b["schools_of_concern"]} <= {"140002", "140005"})
        for t in b["triads"]:
            self.assertTrue({"140002", "140005"} & set(t["members"]))
        self.check_headline(b["headline"], {"140002", "140005"})
        full = self.get("/v1/priorities?year=%s&term=%s" % (YEAR, TERM), self.head).json["items"]
        self.assertEqual([i["id"] for i in b["priorities"]], [i["id"] for i in diverse(full)])

    def test_a_school_reads_nothing_of_another_school(self):
        # SPEC 1: a school reads its own priorities. Trust-level items still reach it (the
        # trust's weakness it shares), but no other school's URN or name appears in them,
        # in JSON or CSV; only `support` names other schools, by design (SPEC 6.4: the
        # strong schools that can help, each cell at least min_cohort). The executive head
        # sees only their two schools the same way.
        schools = self.a.request("GET", "/v1/schools?limit=100", token=self.admin).json["items"]
        self.assertGreater(len(schools), 10)
        for token, own in ((self.school, {"140002"}), (self.head, {"140002", "140005"})):
            others = [s for s in schools if s["urn"] not in own]
            for urn in sorted(own):
                path = "/v1/schools/%s/priorities?year=%s&term=%s" % (urn, YEAR, TERM)
                r = self.get(path, token)
                self.assertEqual(r.status, 200, r)
                items = r.json["items"]
                self.assertTrue(any(i["level"] == "trust" for i in items), path)
                self.assertTrue(any(i["support"] for i in items), path)
                for i in items:
                    self.assertTrue(set(i["schools"]) <= own, i)
                    text = json.dumps({k: v for k, v in i.items() if k != "support"})
                    for s in others:
                        self.assertNotIn(s["urn"], text, (path, s["urn"]))
                        self.assertNotIn(s["name"], text, (path, s["name"]))
                r = self.a.request("GET", path, token=token, headers={"Accept": "text/csv"})
                self.assertEqual(r.status, 200, r)
                rows = list(csv.DictReader(io.StringIO(r.body.decode())))
                self.assertEqual(len(rows), len(items))
                for row in rows:
                    self.assertTrue(set(filter(None, row["schools"].split(";"))) <= own, row)
                    for s in others:
                        self.assertNotIn(s["urn"], row["rationale"])
                        self.assertNotIn(s["name"], row["rationale"])

    def test_school_is_refused_and_bad_parameters_named(self):
        r = self.get(PATH, self.school)
        self.assertEqual(r.status, 403, r)
        for q, name in (("year=2025&term=spring", "year"), ("year=2025-26&term=winter", "term"),
                        ("term=spring", "year")):
            r = self.get("/v1/briefing?" + q)
            self.assertEqual(r.status, 422, r)
            self.assertEqual(r.json["errors"][0]["path"], name)

    def test_etag_and_csv(self):
        r1 = self.get(PATH)
        self.assertTrue(r1.header("ETag"))
        r2 = self.get(PATH, headers={"If-None-Match": r1.header("ETag")})
        self.assertEqual(r2.status, 304)
        self.assertEqual(r1.body, self.get(PATH).body, "deterministic, byte for byte")
        c = self.get(PATH, headers={"Accept": "text/csv"})
        self.assertEqual(c.status, 200)
        self.assertTrue(c.header("Content-Type").startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(c.body.decode())))
        self.assertEqual([x["id"] for x in rows], [i["id"] for i in r1.json["priorities"]])


if __name__ == "__main__":
    harness.main()
