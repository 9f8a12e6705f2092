"""Small cohorts (SPEC §8, docs/priorities.md "Small cohorts") over real TLS against real
PostgreSQL. By default a cell of fewer than min_cohort pupils reaches no one but the school
itself, as the same "<6" on every route, and every cell of min_cohort or more is shown, with
every priority resting on it. With complementary_suppression turned on (PUT
/v1/priorities/thresholds), every cell that would give a small one away by subtraction is
withheld too.

With it on, the review's two subtractions are rebuilt and no longer work; then every route a
reader can call (summaries of each school and of the trust, JSON and CSV, priorities,
support, the briefing) is read for the crafted trust and the demo trust, and checked against
the stored cells: each cell reads the same everywhere, every figure is the stored one, and
no relation between published cells leaves a withheld cell (or a never-shown remainder of
fewer than 6 pupils) its only unknown part. The same checker, given only the primary
suppression, finds the review's subtractions: it can fail. With it off (the default), the
same routes agree with each other and the stored cells, exactly the cells of fewer than 6 are
withheld, the checker finds the review's subtractions (the price of the default), and the
CEO reads the items the other setting withholds."""
import csv
import io
import json
import re
import unittest

import harness
from harness import Matd, school_body

YEAR, TERM, PREV = "2025-26", "spring", "2024-25"
Q = "year=%s&term=%s" % (YEAR, TERM)
GROUPS = ["all", "disadvantaged", "not_disadvantaged", "send", "send_support", "ehcp", "eal",
          "looked_after", "girls", "boys", "prior_low", "prior_middle", "prior_high"]
SPLITS = [("all", ("disadvantaged", "not_disadvantaged")), ("send", ("send_support", "ehcp")),
          ("all", ("send",)), ("all", ("eal",)), ("all", ("looked_after",)),
          ("all", ("girls", "boys")), ("all", ("prior_low", "prior_middle", "prior_high"))]
TRUST, SUBSET = "", "*"  # the trust's row; an executive head's schools summed
WITHHELD = "withheld"
MIN = 6


class Cube:
    """The stored cells of a term, from progress_cells(): (scope, subject, year group,
    group) -> (n, k); with subset, the executive head's schools summed as SUBSET."""

    def __init__(self, m, year, term, subset=None):
        trust = m.psql("SELECT id FROM trusts LIMIT 1")
        self.cells = {}
        sql = ("SELECT coalesce(urn, ''), subject, coalesce(year_group, 'all'), grp, n, k "
               "FROM progress_cells(%s, '%s', '%s', %s)")
        self._read(m.psql(sql % (trust, year, term, "NULL")), None)
        if subset:
            arr = "ARRAY[%s]" % ",".join("'%s'" % u for u in subset)
            self._read(m.psql(sql % (trust, year, term, arr) + " WHERE urn IS NULL"), SUBSET)
        self.subset = subset
        self.schools = sorted({k[0] for k in self.cells if k[0] not in (TRUST, SUBSET)})
        self.subjects = sorted({k[1] for k in self.cells})
        self.years = sorted({k[2] for k in self.cells} - {"all"})

    def _read(self, text, scope):
        for line in text.splitlines():
            urn, subject, year, group, n, k = line.split("|")
            self.cells[(urn if scope is None else scope, subject, year, group)] = (int(n), int(k))

    def n(self, key):
        return self.cells.get(key, (0, 0))[0]

    def relations(self):
        """(total, parts) of every additive relation between the published cells."""
        scopes = [TRUST] + self.schools + ([SUBSET] if self.subset else [])
        for s in self.subjects:
            for y in ["all"] + self.years:
                for sc in scopes:
                    for total, parts in SPLITS:
                        yield (sc, s, y, total), [(sc, s, y, p) for p in parts]
                for g in GROUPS:
                    yield (TRUST, s, y, g), [(u, s, y, g) for u in self.schools]
                    if self.subset:
                        yield (SUBSET, s, y, g), [(u, s, y, g) for u in self.subset]
                        yield (TRUST, s, y, g), [(SUBSET, s, y, g)]
            for sc in scopes:
                for g in GROUPS:
                    yield (sc, s, "all", g), [(sc, s, y, g) for y in self.years]

    def exposed(self, seen):
        """The relations that leave a protected cell (withheld, or of fewer than MIN pupils
        and never shown) or a small remainder the one unknown, for a reader who knows the
        cells seen shows with a number."""
        out = []
        for total, parts in self.relations():
            if self.n(total) == 0:
                continue
            rest = self.n(total) - sum(self.n(p) for p in parts)
            unknown = [c for c in [total] + parts
                       if self.n(c) > 0 and not isinstance(seen.get(c), int)]
            if len(unknown) + (rest > 0) != 1:
                continue
            if unknown and (seen.get(unknown[0]) == WITHHELD or self.n(unknown[0]) < MIN):
                out.append((total, parts, unknown[0]))
            elif not unknown and rest < MIN:
                out.append((total, parts, "the %d pupils in none of the parts" % rest))
        return out

    def primary_only(self, scopes):
        """What the summaries showed before secondary suppression: each cell on its own."""
        return {k: (WITHHELD if v[0] < MIN else v[0]) for k, v in self.cells.items()
                if k[0] in scopes}


class Seen:
    """What one reader is shown, route by route: key -> the values shown for it."""

    def __init__(self, cube):
        self.cube = cube
        self.values = {}

    def add(self, key, n, where, k=None):
        value = WITHHELD if isinstance(n, str) or n is None else n
        if isinstance(n, str):
            assert n == "<%d" % MIN, (key, n, where)
        self.values.setdefault(key, {})[where] = value
        if value != WITHHELD and k is not None:
            assert (value, k) == self.cube.cells[key], (key, value, k, where)

    def merged(self, test):
        """One value per cell, after checking that every route showed the same, the stored
        figure, and never a figure of fewer than MIN pupils."""
        out = {}
        for key, by_route in self.values.items():
            values = set(by_route.values())
            test.assertEqual(len(values), 1, "%s reads differently: %s" % (key, by_route))
            value = values.pop()
            if value != WITHHELD:
                test.assertEqual(value, self.cube.n(key), (key, by_route))
                test.assertGreaterEqual(value, MIN, (key, by_route))
            out[key] = value
        return out


def read_summary(seen, doc, trust_scope, where):
    for c in doc["cells"]:
        scope = doc.get("school") or c.get("school") or trust_scope
        n = c["n"]
        k = None if isinstance(n, str) else round(c["p_expected"] * n)
        if isinstance(n, str):
            assert (c["p_expected"], c["p_greater_depth"], c["gap"]) == (None, None, None), c
        seen.add((scope, c["subject"], c["year_group"], c["group"]), n, where, k)


def read_summary_csv(seen, text, trust_scope, where):
    for row in csv.DictReader(io.StringIO(text)):
        scope = trust_scope if row["school"] == "trust" else row["school"]
        n = row["n"] if row["n"].startswith("<") else int(row["n"])
        if isinstance(n, str):
            assert row["p_expected"] == row["p_greater_depth"] == row["gap"] == "", row
        seen.add((scope, row["subject"], row["year_group"], row["group"]), n, where)


GIVER = re.compile(r"\((\d+) of (\d+)\)")


def read_items(now, prev, items, where):
    """The cells behind priority items: their own, a gap's other, a trend's last year's,
    and the givers' (whose reasons give their figures)."""
    for it in items:
        if not it.get("subject"):
            continue
        scope = TRUST if it["level"] == "trust" else it["schools"][0]
        m, s = it["metrics"], it["subject"]
        if it["kind"] in ("attainment", "gap", "trend"):
            now.add((scope, s, "all", it["group"]), m["n"], where, m["k"])
        if it["kind"] == "gap":
            now.add((scope, s, "all", "not_disadvantaged"), m["n_not_disadvantaged"], where,
                    m["k_not_disadvantaged"])
        if it["kind"] == "trend":
            prev.add((scope, s, "all", it["group"]), m["n_prev"], where, m["k_prev"])
        if it["kind"] == "stuck_pupils":
            now.add((scope, s, "all", "all"), m["n"], where)
        if m.get("stuck"):
            now.add((TRUST, s, "all", "all"), m["stuck"]["n"], where)
        group = "all" if it["kind"] == "stuck_pupils" else it["group"]
        for g in it.get("support", []):
            hit = GIVER.search(g["reason"])
            if hit and it["kind"] != "sef":
                now.add((g["urn"], s, "all", group), int(hit.group(2)), where, int(hit.group(1)))


def read_briefing(now, prev, doc, trust_scope, where):
    for row in doc["headline"]:
        key = (trust_scope, row["subject"], "all", "all")
        now.add(key, row["n"], where, row["k"])
        if isinstance(row["n"], str):
            assert (row["k"], row["p"], row["vs_national"], row["change"]) == (None,) * 4, row
        if row["n_prev"] is not None:
            prev.add(key, row["n_prev"], where)
            if isinstance(row["n_prev"], str):
                assert (row["p_prev"], row["change"]) == (None, None), row
    read_items(now, prev, doc["priorities"], where)


def everything_seen(test, m, token, cube, prev_cube, schools, trust_scope, own=None):
    """Every route the reader may call, read into (this term, last year)."""
    now, prev = Seen(cube), Seen(prev_cube)

    def get(path, **kw):
        r = m.request("GET", path, token=token, **kw)
        test.assertEqual(r.status, 200, (path, r))
        return r

    if own is None:
        for urn in schools:
            for year, seen in ((YEAR, now), (PREV, prev)):
                path = "/v1/schools/%s/progress/%s/%s/summary" % (urn, year, TERM)
                read_summary(seen, get(path).json, trust_scope, "summary " + urn)
        for year, seen in ((YEAR, now), (PREV, prev)):
            base = "/v1/progress/summary?year=%s&term=%s" % (year, TERM)
            read_summary(seen, get(base + "&by=school").json, trust_scope, "trust by school")
            read_summary(seen, get(base).json, trust_scope, "trust")
            read_summary_csv(seen, get(base + "&by=school", headers={"Accept": "text/csv"})
                             .body.decode(), trust_scope, "trust csv")
        read_items(now, prev, get("/v1/priorities?" + Q).json["items"], "priorities")
        read_briefing(now, prev, get("/v1/briefing?" + Q).json, trust_scope, "briefing")
        support = get("/v1/support?" + Q).json["items"]
        for it in support:
            for g in it["givers"]:
                test.assertNotEqual(g["urn"], it["receiver"])
    for urn in schools:
        items = get("/v1/schools/%s/priorities?%s" % (urn, Q)).json["items"]
        if own is None:
            read_items(now, prev, items, "priorities of " + urn)
        else:  # the school's own items are its own; the trust's and the givers' are not
            read_items(now, prev, [it for it in items if it["level"] == "trust"], "own view")
            for it in items:
                for g in it.get("support", []):
                    hit = GIVER.search(g["reason"])
                    group = "all" if it["kind"] == "stuck_pupils" else it["group"]
                    if hit and it["kind"] != "sef":
                        now.add((g["urn"], it["subject"], "all", group), int(hit.group(2)),
                                "own view", int(hit.group(1)))
    return now.merged(test), prev.merged(test)


def record(school, i, subject, year_group, *, send="none", k=True):
    """Pupil i of a school (an id of the school's own, not a UPN); at expected when k."""
    return {"pupil": "P-%s-%03d" % (school, i), "year_group": year_group, "subject": subject,
            "band": "expected" if k else "towards", "disadvantaged": i % 3 == 0, "send": send,
            "eal": i % 4 == 1, "looked_after": False, "sex": "f" if i % 2 else "m",
            "prior_attainment": ["low", "middle", "high"][i % 3]}


class Checks:
    def set_complements(self, on):
        """The trust's rule, as an admin sets it; a PUT leaves the other thresholds at their
        defaults."""
        r = self.m.request("PUT", "/v1/priorities/thresholds",
                           {"complementary_suppression": on}, token=self.admin)
        self.assertEqual((r.status, r.json["complementary_suppression"]), (200, on), r)

    def read_terms(self, token, schools, trust_scope, subset):
        """[(stored cells, what the reader was shown)] for this term and last year's."""
        cube = Cube(self.m, YEAR, TERM, subset)
        prev = Cube(self.m, PREV, TERM, subset)
        now_seen, prev_seen = everything_seen(self, self.m, token, cube, prev, schools, trust_scope)
        return [(cube, now_seen), (prev, prev_seen)]

    def check_reader(self, token, schools, trust_scope, subset=None):
        terms = self.read_terms(token, schools, trust_scope, subset)
        for c, seen in terms:
            self.assertEqual(c.exposed(seen), [])
        return terms[0]

    def check_default_reader(self, token, schools, trust_scope, subset=None):
        """Under the default rule: every route agrees, and a cell is withheld exactly when it
        has fewer than MIN pupils; every cell of the term in the reader's scopes is shown
        somewhere. Returns the cube and what was seen this term."""
        terms = self.read_terms(token, schools, trust_scope, subset)
        scopes = {trust_scope, *schools}
        for c, seen in terms:
            for key, value in seen.items():
                self.assertEqual(value == WITHHELD, c.n(key) < MIN, (key, value, c.n(key)))
            self.assertEqual({k for k in c.cells if k[0] in scopes} - set(seen), set())
        return terms[0]

    def ceo_items(self):
        r = self.m.request("GET", "/v1/priorities?" + Q, token=self.ceo)
        self.assertEqual(r.status, 200, r)
        return {it["id"]: it for it in r.json["items"]}


class ReviewCases(Checks, unittest.TestCase):
    """The review's two subtractions, rebuilt in a trust of three schools:
    A's reading: send 7 = send_support 6 + ehcp 1; the trust's english ehcp 15 = A's 10 +
    B's 5 (C has none)."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_small_cohorts"))
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002", "100003"):
            r = cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin)
            assert r.status == 201, r
        recs = {"100001": [], "100002": [], "100003": []}
        a = recs["100001"]
        for i in range(30):
            a.append(record("A", i, "reading", "6", send="support" if i < 6 else
                            "ehcp" if i == 6 else "none", k=i % 3 != 0))
        for i in range(40):  # 10 with an EHC plan, 1 of them at expected: far below the rest
            a.append(record("A", i, "english", "6", send="ehcp" if i < 10 else "none",
                            k=i == 0 if i < 10 else i % 5 != 0))
        for i in range(20):
            recs["100002"].append(record("B", i, "english", "6", send="ehcp" if i < 5 else "none",
                                         k=i % 4 != 0))
        for i in range(25):
            recs["100002"].append(record("B", i, "reading", "5", k=i % 2 == 0))
            recs["100003"].append(record("C", i, "english", "5", k=i % 3 != 1))
            recs["100003"].append(record("C", i, "reading", "5", k=i % 3 != 2))
        for urn, rs in recs.items():
            r = cls.m.request("PUT", "/v1/schools/%s/progress/%s/%s" % (urn, YEAR, TERM),
                              {"records": rs}, token=cls.admin)
            assert r.status == 201, r
        cls.ceo = cls.m.token("ceo")
        cls.head = cls.m.token("executive_head", ["100001", "100002"])
        cls.school = cls.m.token("school", ["100001"])

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def summary(self, token, urn="100001", headers=None):
        return self.m.request("GET", "/v1/schools/%s/progress/%s/%s/summary" % (urn, YEAR, TERM),
                              token=token, headers=headers)

    @staticmethod
    def cell(doc, subject, group, school=None):
        return [c for c in doc["cells"] if c["subject"] == subject and c["year_group"] == "all"
                and c["group"] == group and c.get("school", school) == school][0]["n"]

    def test_send_split_no_longer_subtracts(self):
        self.set_complements(True)
        own = self.summary(self.school).json
        self.assertEqual([self.cell(own, "reading", g) for g in ("send", "send_support", "ehcp")],
                         [7, 6, 1])  # the school reads its own figures, nothing withheld
        self.assertFalse([c for c in own["cells"] if isinstance(c["n"], str)])
        for token in (self.ceo, self.admin, self.head):
            doc = self.summary(token).json
            # send 7 is shown; send_support goes with ehcp: 7 - "<6" is no figure
            self.assertEqual([self.cell(doc, "reading", g) for g in ("send", "send_support",
                                                                     "ehcp")], [7, "<6", "<6"])

    def test_trust_row_no_longer_subtracts(self):
        self.set_complements(True)
        doc = self.m.request("GET", "/v1/progress/summary?%s&by=school" % Q, token=self.ceo).json
        self.assertEqual([self.cell(doc, "english", "ehcp", s) for s in (None, "100001",
                                                                         "100002")],
                         [15, "<6", "<6"])
        # The executive head of A and B reads their sum as their trust: 15, the same as the
        # trust's, which they also read in trust-level items; A's and B's stay withheld.
        doc = self.m.request("GET", "/v1/progress/summary?%s&by=school" % Q, token=self.head).json
        self.assertEqual([self.cell(doc, "english", "ehcp", s) for s in (None, "100001",
                                                                         "100002")],
                         [15, "<6", "<6"])

    def ehcp_items(self, token, path):
        r = self.m.request("GET", path, token=token)
        self.assertEqual(r.status, 200, r)
        return [it for it in r.json["items"] if it["level"] == "school" and
                it.get("subject") == "english" and it.get("group") == "ehcp"]

    def test_an_item_on_a_withheld_cell_reaches_only_its_school(self):
        self.set_complements(True)
        ehcp_items = self.ehcp_items
        own = ehcp_items(self.school, "/v1/schools/100001/priorities?" + Q)
        self.assertEqual([(it["kind"], it["metrics"]["n"], it["metrics"]["k"]) for it in own],
                         [("attainment", 10, 1)])
        for token in (self.ceo, self.admin, self.head):
            self.assertEqual(ehcp_items(token, "/v1/priorities?" + Q), [])
            self.assertEqual(ehcp_items(token, "/v1/schools/100001/priorities?" + Q), [])
        brief = self.m.request("GET", "/v1/briefing?" + Q, token=self.ceo).json
        self.assertFalse([it for it in brief["priorities"] if it.get("group") == "ehcp" and
                          it["level"] == "school"])

    def test_etag_follows_the_reader(self):
        self.set_complements(True)
        own = self.summary(self.school)
        ceo = self.summary(self.ceo, headers={"If-None-Match": own.header("ETag")})
        self.assertEqual(ceo.status, 200)  # not the school's bytes, so not a 304
        self.assertNotEqual(ceo.header("ETag"), own.header("ETag"))
        again = self.summary(self.ceo, headers={"If-None-Match": ceo.header("ETag")})
        self.assertEqual(again.status, 304)

    def test_every_route_agrees_and_nothing_is_exposed(self):
        self.set_complements(True)
        schools = ["100001", "100002", "100003"]
        cube, seen = self.check_reader(self.ceo, schools, TRUST)
        self.assertEqual(seen[("100001", "reading", "all", "send_support")], WITHHELD)
        self.check_reader(self.admin, schools, TRUST)
        self.check_reader(self.head, ["100001", "100002"], SUBSET, ["100001", "100002"])
        # the school's own view: its figures are its own; what it reads of others is checked
        own_cube = Cube(self.m, YEAR, TERM)
        everything_seen(self, self.m, self.school, own_cube, Cube(self.m, PREV, TERM),
                        ["100001"], TRUST, own="100001")

    def test_the_checker_finds_the_subtractions_of_primary_suppression(self):
        cube = Cube(self.m, YEAR, TERM)
        found = {e[2] for e in cube.exposed(cube.primary_only({TRUST, "100001", "100002",
                                                               "100003"}))}
        self.assertIn(("100001", "reading", "all", "ehcp"), found)
        self.assertIn(("100002", "english", "all", "ehcp"), found)

    def test_default_rule_shows_every_cell_of_min_cohort_or_more(self):
        """SPEC §8 alone: the review's cells of 6 and 10 are shown, the items on them reach
        the CEO, and the subtractions work again: the price of the default."""
        self.set_complements(True)
        on_items = self.ceo_items()
        on_priorities = self.m.request("GET", "/v1/priorities?" + Q, token=self.ceo)
        on_summary = self.summary(self.ceo)
        self.set_complements(False)
        # The change reaches cached lists and ETags at once, as a change of min_cohort does.
        for path, before in (("/v1/priorities?" + Q, on_priorities),
                             ("/v1/schools/100001/progress/%s/%s/summary" % (YEAR, TERM),
                              on_summary)):
            r = self.m.request("GET", path, token=self.ceo,
                               headers={"If-None-Match": before.header("ETag")})
            self.assertEqual(r.status, 200, path)
            self.assertNotEqual(r.header("ETag"), before.header("ETag"), path)
        for token in (self.ceo, self.admin, self.head):
            doc = self.summary(token).json
            self.assertEqual([self.cell(doc, "reading", g) for g in ("send", "send_support",
                                                                     "ehcp")], [7, 6, "<6"])
        doc = self.m.request("GET", "/v1/progress/summary?%s&by=school" % Q, token=self.ceo).json
        self.assertEqual([self.cell(doc, "english", "ehcp", s) for s in (None, "100001",
                                                                         "100002")],
                         [15, 10, "<6"])
        # The item on A's english ehcp (10 pupils, 1 at expected), which the other setting
        # leaves to A alone, reaches everyone who may read A's items.
        for token, path in ((self.ceo, "/v1/priorities?"), (self.admin, "/v1/priorities?"),
                            (self.head, "/v1/priorities?"), (self.ceo, "/v1/schools/100001/priorities?"),
                            (self.school, "/v1/schools/100001/priorities?")):
            self.assertEqual([(it["kind"], it["metrics"]["n"], it["metrics"]["k"])
                              for it in self.ehcp_items(token, path + Q)],
                             [("attainment", 10, 1)], path)
        off_items = self.ceo_items()
        self.assertLess(set(on_items), set(off_items))
        for i in set(off_items) - set(on_items):
            self.assertGreaterEqual(off_items[i]["metrics"]["n"], MIN, off_items[i])
        # matctl priorities reads the list as admin does, under the same rule.
        for on in (False, True):
            self.set_complements(on)
            out = self.m.matctl("priorities", "--year", YEAR, "--term", TERM, "--json")
            api = self.m.request("GET", "/v1/priorities?" + Q, token=self.admin).json
            self.assertEqual(json.loads(out.stdout)["items"], api["items"], on)
        self.set_complements(False)
        schools = ["100001", "100002", "100003"]
        cube, seen = self.check_default_reader(self.ceo, schools, TRUST)
        self.check_default_reader(self.admin, schools, TRUST)
        self.check_default_reader(self.head, ["100001", "100002"], SUBSET, ["100001", "100002"])
        # What an attacker can do under the default: 7 - 6 = 1, 15 - 10 = 5.
        found = {e[2] for e in cube.exposed(seen)}
        self.assertIn(("100001", "reading", "all", "ehcp"), found)
        self.assertIn(("100002", "english", "all", "ehcp"), found)


class DemoTrust(Checks, unittest.TestCase):
    """Every route of the demo trust, for the CEO, admin and an executive head."""

    @classmethod
    def setUpClass(cls):
        harness.start_demo_trust(cls, "e2e_small_cohorts_demo")
        cls.m = cls.a

    @classmethod
    def tearDownClass(cls):
        assert cls.a.stop() == 0

    def test_demo_trust(self):
        self.set_complements(True)
        schools = self.m.psql("SELECT string_agg(urn, ' ' ORDER BY urn) FROM schools").split()
        cube, seen = self.check_reader(self.ceo, schools, TRUST)
        withheld = [k for k, v in seen.items() if v == WITHHELD]
        secondary = [k for k in withheld if cube.n(k) >= MIN]
        self.assertTrue(secondary, "the demo trust has cells withheld to protect others")
        # Before: each cell on its own, and small cohorts could be worked out.
        before = cube.exposed(cube.primary_only({TRUST, *schools}))
        self.assertGreater(len({e[2] for e in before}), 10)
        self.check_reader(self.admin, schools, TRUST)
        self.check_reader(self.head, ["140002", "140005"], SUBSET, ["140002", "140005"])

    def test_demo_trust_default_rule(self):
        """Under the default rule every cell of 6 or more is shown on every route, and every
        school-level item a school reads of its own reaches the CEO, but for stuck pupils in
        a cohort of fewer than 6 (whose share would give the cohort away)."""
        self.set_complements(True)
        on_items = self.ceo_items()
        self.set_complements(False)
        schools = self.m.psql("SELECT string_agg(urn, ' ' ORDER BY urn) FROM schools").split()
        self.check_default_reader(self.ceo, schools, TRUST)
        self.check_default_reader(self.admin, schools, TRUST)
        self.check_default_reader(self.head, ["140002", "140005"], SUBSET, ["140002", "140005"])
        ceo = self.ceo_items()
        withheld_by_complements = set(ceo) - set(on_items)
        self.assertTrue(withheld_by_complements, "the other setting withholds some items")
        self.assertEqual(set(on_items) - set(ceo), set())
        for i in withheld_by_complements:
            self.assertGreaterEqual(ceo[i]["metrics"]["n"], MIN, ceo[i])
        for urn in schools:
            own = self.m.request("GET", "/v1/schools/%s/priorities?%s" % (urn, Q),
                                 token=self.m.token("school", [urn])).json["items"]
            own = {it["id"]: it for it in own if it["level"] == "school"}
            small = {i for i, it in own.items() if it["kind"] == "stuck_pupils" and
                     it["metrics"]["n"] < MIN}
            self.assertEqual(set(own) - set(ceo), small, urn)


class BriefingHeadline(unittest.TestCase):
    """The review's second defect: an executive head of one school with 4 reading records
    read n 4, k 2, p 0.5 in the briefing's headline, and "<6" in the summary."""

    def test_headline_withholds_a_small_cohort(self):
        m = Matd(harness.fresh_database("e2e_small_cohorts_headline"))
        try:
            admin = m.with_school("150001")
            recs = [record("H", i, "reading", "6", k=i % 2 == 0) for i in range(4)]
            r = m.request("PUT", "/v1/schools/150001/progress/%s/%s" % (YEAR, TERM),
                          {"records": recs}, token=admin)
            self.assertEqual(r.status, 201, r)
            head = m.token("executive_head", ["150001"])
            ceo_token = m.token("ceo")
            # The default rule, then complementary suppression: the same either way.
            for on in (False, True):
                r = m.request("PUT", "/v1/priorities/thresholds",
                              {"complementary_suppression": on}, token=admin)
                self.assertEqual(r.status, 200, r)
                brief = m.request("GET", "/v1/briefing?" + Q, token=head).json
                row = [h for h in brief["headline"] if h["subject"] == "reading"][0]
                self.assertEqual((row["n"], row["k"], row["p"], row["vs_national"],
                                  row["change"]), ("<6", None, None, None, None), on)
                summary = m.request("GET", "/v1/progress/summary?" + Q, token=head).json
                cell = [c for c in summary["cells"] if c["subject"] == "reading" and
                        c["year_group"] == "all" and c["group"] == "all"][0]
                self.assertEqual((cell["n"], cell["p_expected"]), ("<6", None), on)
                ceo = m.request("GET", "/v1/briefing?" + Q, token=ceo_token).json
                self.assertEqual([h["n"] for h in ceo["headline"] if h["subject"] == "reading"],
                                 ["<6"], on)
        finally:
            self.assertEqual(m.stop(), 0)


if __name__ == "__main__":
    harness.main()
