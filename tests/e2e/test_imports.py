"""Pushes as schools' systems send them (SPEC 4.3, issue 13), over TLS into PostgreSQL:
statutory TA codes and the other codes counted in the summary cells as the DfE rule in
docs/validation.md says; KS2 scaled scores giving bands at 100 and 110."""
import json
import os
import subprocess
import time
import unittest

import harness
import openapi_check
from harness import Matd, school_body

# Each code, with the band it stands for (None: an other code, kept as such) and whether
# the pupil stays in the cohort (in n).
TA_CODES = [("GDS", "greater_depth"), ("EXS", "expected"), ("WTS", "towards"), ("HNM", "below"),
            ("PK1", "below"), ("PK2", "below"), ("PK3", "below"), ("PK4", "below"),
            ("PK5", "below"), ("PK6", "below"), ("PKF", "below"), ("PKE", "below"),
            ("PKG", "below"), ("BLW", "below"), ("EM", "below")]
OTHER_CODES = [("A", True), ("D", True), ("L", False), ("F", False), ("P", False),
               # the KS2 tests' outcomes for a pupil with no scaled score (docs/validation.md)
               ("B", True), ("H", True), ("J", True), ("Q", True), ("T", True), ("U", True),
               ("M", False)]
TEST_OUTCOMES = [("AS", "expected"), ("NS", "below")]
YEARS = ["N", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9"]


_OWN_TOKENS = {}


def cells(m, urn, term):
    """The school's cells as the school itself reads them: small cohorts are suppressed for
    everyone else (SPEC §8), and these tests count single pupils."""
    if (id(m), urn) not in _OWN_TOKENS:
        _OWN_TOKENS[(id(m), urn)] = m.token("school", [urn], name="own " + urn)
    r = m.request("GET", "/v1/schools/%s/progress/2025-26/%s/summary" % (urn, term),
                  token=_OWN_TOKENS[(id(m), urn)])
    assert r.status == 200, r
    return {(c["subject"], c["year_group"], c["group"]): c for c in r.json["cells"]}


class Codes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_imports_codes"))
        cls.admin = cls.m.token("admin")
        assert cls.m.request("POST", "/v1/schools", school_body("100001"), token=cls.admin).status == 201

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def put(self, body, term, ctype="text/csv"):
        return self.m.request("PUT", "/v1/schools/100001/progress/2025-26/" + term, body,
                              token=self.admin, content_type=ctype)

    def test_each_code_in_its_own_cell(self):
        # One cell (subject x year group) per code: a pupil at EXS beside a pupil with the
        # code, with the code written in a different case each time.
        rows = ["pupil,year_group,subject,band"]
        expect = {}
        codes = ([(c, b, True) for c, b in TA_CODES + TEST_OUTCOMES] +
                 [(c, None, keep) for c, keep in OTHER_CODES])
        self.assertLessEqual(len(codes), 33)
        for i, (code, band, in_n) in enumerate(codes):
            subject, year = ("writing", "science", "reading")[i // 11], YEARS[i % 11]
            word = code.lower() if i % 2 else code
            rows.append("BASE%02d,%s,%s,EXS" % (i, year, subject))
            rows.append("CODE%02d,%s,%s,%s" % (i, year, subject, word))
            n = 2 if in_n else 1
            k = 1 + (band in ("expected", "greater_depth"))
            gd = band == "greater_depth"
            expect[(subject, year)] = (code, n, k, gd)
        r = self.put("\r\n".join(rows) + "\r\n", "autumn")
        self.assertEqual(r.status, 201, r)
        got = cells(self.m, "100001", "autumn")
        for (subject, year), (code, n, k, gd) in expect.items():
            c = got[(subject, year, "all")]
            self.assertEqual(c["n"], n, code)
            self.assertAlmostEqual(c["p_expected"], round(k / n, 4), msg=code)
            self.assertAlmostEqual(c["p_greater_depth"], round(gd / n, 4), msg=code)
        stored = self.m.psql("SELECT string_agg(code, '' ORDER BY code) FROM progress "
                             "WHERE term = 'autumn' AND code IS NOT NULL")
        self.assertEqual(stored, "".join(sorted(c for c, _ in OTHER_CODES)))  # stored as such
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE term = 'autumn' "
                                     "AND band IS NULL AND code IS NULL"), "0")

    def test_scaled_scores_give_bands(self):
        body = {"records": [
            {"pupil": "S1", "year_group": "6", "subject": "reading", "score": 99},
            {"pupil": "S2", "year_group": "6", "subject": "reading", "score": 100},
            {"pupil": "S3", "year_group": "6", "subject": "reading", "score": 109},
            {"pupil": "S4", "year_group": "6", "subject": "reading", "score": 110},
            {"pupil": "S1", "year_group": "6", "subject": "gps", "score": 80},
            {"pupil": "S2", "year_group": "6", "subject": "maths", "score": 120}]}
        r = self.put(body, "spring", ctype="application/json")
        self.assertEqual(r.status, 201, r)
        got = cells(self.m, "100001", "spring")
        c = got[("reading", "6", "all")]
        self.assertEqual(c["n"], 4)
        self.assertAlmostEqual(c["p_expected"], 0.75)      # 100, 109, 110
        self.assertAlmostEqual(c["p_greater_depth"], 0.25)  # 110
        self.assertAlmostEqual(got[("gps", "6", "all")]["p_expected"], 0.0)
        self.assertAlmostEqual(got[("maths", "6", "all")]["p_greater_depth"], 1.0)
        bands = self.m.psql("SELECT string_agg(score::int || '=' || band, ' ' ORDER BY score) "
                            "FROM progress WHERE term = 'spring' AND subject = 'reading'")
        self.assertEqual(bands, "99=below 100=expected 109=expected 110=greater_depth")

    def test_a_row_with_no_band_is_refused(self):
        before = self.m.psql("SELECT count(*) FROM progress")
        r = self.put("pupil,year_group,subject,band,score\r\nS1,6,writing,,104\r\n"
                     "S2,6,science,PK9,\r\n", "summer")
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["row 2:band", "row 3:band"])
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress"), before)


class DryRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_imports_dry"))
        cls.admin = cls.m.token("admin")
        assert cls.m.request("POST", "/v1/schools", school_body("100001"), token=cls.admin).status == 201
        cls.school = cls.m.token("school", ["100001"])
        rows = ["pupil,year_group,subject,band"]
        for i in range(20):
            for subject in ("reading", "writing", "maths"):
                rows.append("PUPIL%02d,5,%s,EXS" % (i, subject))
        r = cls.m.request("PUT", "/v1/schools/100001/progress/2025-26/autumn",
                          "\r\n".join(rows) + "\r\n", token=cls.school, content_type="text/csv")
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def written(self):
        return (self.m.psql("SELECT count(*) FROM progress"),
                self.m.psql("SELECT count(*) FROM submissions"),
                self.m.psql("SELECT coalesce(max(version), 0) FROM trust_data_versions"))

    def dry(self, body, term="spring", ctype="text/csv", query="?dry_run=true", urn="100001",
            token=None):
        return self.m.request("PUT", "/v1/schools/%s/progress/2025-26/%s%s" % (urn, term, query),
                              body, token=token or self.school, content_type=ctype)

    def test_answers_what_would_be_stored_and_writes_nothing(self):
        before = self.written()
        rows = ["pupil,year_group,subject,band"]
        for i in range(15):  # 20 -> 15 pupils: shrank by 25%
            rows.append("PUPIL%02d,5,reading,%s" % (i, ["GDS", "EXS", "WTS", "PK2", "A"][i % 5]))
            rows.append("PUPIL%02d,%s,writing,%s" % (i, "6" if i == 3 else "5",
                                                     "L" if i == 14 else "EXS"))
        r = self.dry("\r\n".join(rows) + "\r\n")
        self.assertEqual(r.status, 200, r)
        d = r.json
        self.assertTrue(d["dry_run"])
        self.assertEqual(d["rows"], 30)
        self.assertEqual(d["pupils"], 15)
        by = {s["subject"]: s for s in d["subjects"]}
        self.assertEqual(sorted(by), ["reading", "writing"])
        self.assertEqual(by["reading"]["bands"], {"below": 3, "towards": 3, "expected": 3,
                                                  "greater_depth": 3})
        self.assertEqual(by["reading"]["codes"], {"A": 3})
        self.assertEqual(by["reading"]["n"], 15)
        self.assertEqual(by["writing"]["codes"], {"L": 1})
        self.assertEqual(by["writing"]["n"], 14)
        codes = {c["code"]: c for c in d["other_codes"]}
        self.assertEqual(codes["A"]["rows"], 3)
        self.assertTrue(codes["A"]["in_n"])
        self.assertFalse(codes["L"]["in_n"])
        self.assertIn("not counted in n", codes["L"]["treatment"])
        kinds = {w["kind"]: w["message"] for w in d["warnings"]}
        self.assertEqual(sorted(kinds), ["cohort_shrank", "pupil_in_two_year_groups",
                                         "subject_missing"])
        self.assertIn("rows 8 and 9", kinds["pupil_in_two_year_groups"])  # PUPIL03's two rows
        self.assertIn("maths", kinds["subject_missing"])
        self.assertIn("15 pupils", kinds["cohort_shrank"])
        self.assertEqual(d["previous_term"], {"year": "2025-26", "term": "autumn", "pupils": 20,
                                              "subjects": ["maths", "reading", "writing"]})
        self.assertEqual(self.written(), before)  # no row, no submission, no version bump

    def test_quiet_when_nothing_is_odd(self):
        rows = ["pupil,year_group,subject,band"]
        for i in range(19):  # 5% fewer: no warning
            for subject in ("reading", "writing", "maths"):
                rows.append("PUPIL%02d,5,%s,EXS" % (i, subject))
        r = self.dry("\r\n".join(rows) + "\r\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["warnings"], [])
        # Autumn's previous term is the summer before, which holds nothing.
        r = self.dry("\r\n".join(rows) + "\r\n", term="autumn")
        self.assertEqual(r.json["previous_term"]["term"], "summer")
        self.assertEqual(r.json["previous_term"]["year"], "2024-25")
        self.assertEqual(r.json["warnings"], [])

    def test_a_bad_file_is_a_422_and_still_writes_nothing(self):
        before = self.written()
        r = self.dry("pupil,year_group,subject,band\r\nP1,5,reading,EXCELLENT\r\n")
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["errors"][0]["path"], "row 2:band")
        self.assertEqual(self.written(), before)  # not even a rejected submission
        r = self.dry({"records": [{"pupil": "P1", "year_group": "5", "subject": "reading",
                                   "band": "EXS"}]}, query="?dry_run=yes", ctype="application/json")
        self.assertEqual(r.status, 422)
        self.assertEqual(r.json["errors"][0]["path"], "dry_run")
        r = self.dry("pupil,year_group,subject,band\r\nP1,5,reading,EXS\r\n", urn="999999",
                     token=self.admin)
        self.assertEqual(r.status, 404)
        self.assertEqual(self.written(), before)

    def audit_rows(self):
        return self.m.psql("SELECT count(*) FROM audit_log")

    def test_a_dry_run_is_not_audited_as_a_write(self):
        """SPEC 4.3: a dry run writes nothing - no audit row that reads like a real push."""
        before = self.audit_rows()
        r = self.dry("pupil,year_group,subject,band\r\nPUPIL01,5,reading,EXS\r\n")
        self.assertEqual(r.status, 200, r)
        time.sleep(0.3)  # the audit row is written after the answer
        self.assertEqual(self.audit_rows(), before)
        r = self.dry("pupil,year_group,subject,band\r\nPUPIL01,5,reading,EXS\r\n",
                     term="summer", query="?dry_run=false")  # a real push is audited
        self.assertEqual(r.status, 201, r)
        deadline = time.time() + 5
        while self.audit_rows() == before and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(int(self.audit_rows()), int(before) + 1)

    def test_a_query_typo_is_refused_not_pushed(self):
        """?dryrun=true is not ?dry_run=true: a 422 naming it, and nothing written."""
        before = self.written()
        body = "pupil,year_group,subject,band\r\nPUPIL01,5,reading,EXS\r\n"
        for query, path in (("?dryrun=true", "dryrun"), ("?dry_run=true&dry_run=false", "dry_run"),
                            ("?dry_run=true&x", "x"), ("?Dry_Run=true", "Dry_Run")):
            r = self.dry(body, term="summer", query=query)
            self.assertEqual(r.status, 422, (query, r))
            self.assertEqual([e["path"] for e in r.json["errors"]], [path], query)
        self.assertIn("dry_run, profile, allow_empty", self.dry(body, query="?dryrun=1")
                      .json["errors"][0]["message"])
        self.assertEqual(self.written(), before)
        # reads too: a misspelt filter is named, not ignored
        r = self.m.request("GET", "/v1/submissions?schol=100001", token=self.admin)
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["errors"][0]["path"], "schol")
        r = self.m.request("GET", "/v1/me?x=1", token=self.admin)
        self.assertEqual(r.status, 422, r)
        self.assertIn("takes none", r.json["errors"][0]["message"])
        r = self.m.request("GET", "/v1/me?" + "&".join("p%d=1" % i for i in range(65)),
                           token=self.admin)
        self.assertEqual(r.status, 422, r)
        # a list answered whole takes limit and cursor like every list (a generic pager works)
        for path in ("/v1/schools/100001/sef", "/v1/schools/100001/sip",
                     "/v1/schools/100001/triads"):
            r = self.m.request("GET", path + "?limit=1000", token=self.school)
            self.assertEqual(r.status, 200, (path, r))
            self.assertIsNone(r.json["next_cursor"])
            for query, name in (("?limit=0", "limit"), ("?cursor=abc", "cursor")):
                r = self.m.request("GET", path + query, token=self.school)
                self.assertEqual(r.status, 422, (path, query, r))
                self.assertEqual(r.json["errors"][0]["path"], name)
        # the web app's pages and the probes take any query (browsers and balancers add theirs)
        self.assertEqual(self.m.request("GET", "/healthz?probe=lb").status, 200)

    def test_an_empty_push_keeps_the_term_unless_asked(self):
        """An export that came out empty must not delete the term: 422 unless ?allow_empty."""
        before = self.written()
        held = self.m.psql("SELECT count(*) FROM progress WHERE term = 'autumn'")
        self.assertNotEqual(held, "0")
        path = "/v1/schools/100001/progress/2025-26/autumn"
        for body, ctype, where in (({"records": []}, "application/json", "/records"),
                                   ("pupil,year_group,subject,band\r\n", "text/csv", "row 2"),
                                   ("pupil,year_group,subject,band\r\n,,,\r\n,,,\r\n", "text/csv",
                                    "row 2")):
            r = self.m.request("PUT", path, body, token=self.school, content_type=ctype)
            self.assertEqual(r.status, 422, r)
            self.assertEqual(r.json["errors"][0]["path"], where)
            self.assertIn("allow_empty=true", r.json["errors"][0]["message"])
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE term = 'autumn'"), held)
        self.assertEqual(self.written()[0], before[0])
        r = self.m.request("PUT", path + "?allow_empty=maybe", {"records": []}, token=self.school)
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["errors"][0]["path"], "allow_empty")
        # asked for: the term is emptied (on a term of its own, so the others keep theirs)
        body = "pupil,year_group,subject,band\r\nPUPIL01,5,reading,EXS\r\n,,,\r\n"
        term = "/v1/schools/100001/progress/2024-25/summer"
        self.assertEqual(self.m.request("PUT", term, body, token=self.school,
                                        content_type="text/csv").status, 201)
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE year = '2024-25'"), "1")
        r = self.m.request("PUT", term + "?allow_empty=true", {"records": []}, token=self.school)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["submission"]["row_count"], 0)
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE year = '2024-25'"), "0")

    def test_a_stored_push_answers_its_warnings(self):
        """A real push is stored all the same, and says what a dry run would have warned of."""
        rows = ["pupil,year_group,subject,band"] + ["PUPIL%02d,5,reading,EXS" % i for i in range(12)]
        r = self.m.request("PUT", "/v1/schools/100001/progress/2025-26/spring",
                           "\r\n".join(rows) + "\r\n", token=self.school, content_type="text/csv")
        self.assertEqual(r.status, 201, r)
        self.assertFalse(r.json["unchanged"])
        kinds = sorted(w["kind"] for w in r.json["warnings"])
        self.assertEqual(kinds, ["cohort_shrank", "subject_missing", "subject_missing"])
        self.assertTrue(any("maths was pushed for autumn 2025-26" in w["message"]
                            for w in r.json["warnings"]))
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE year = '2025-26' "
                                     "AND term = 'spring'"), "12")
        openapi_check.Checker().check("PUT", "/v1/schools/100001/progress/2025-26/spring", r)
        # the same push again is unchanged: the original submission, no warnings repeated
        r = self.m.request("PUT", "/v1/schools/100001/progress/2025-26/spring",
                           "\r\n".join(rows) + "\r\n", token=self.school, content_type="text/csv")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["unchanged"])

    def test_false_is_a_real_push(self):
        body = "pupil,year_group,subject,band\r\nP1,5,science,EXS\r\n"
        r = self.dry(body, term="summer", query="?dry_run=false")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE term = 'summer'"), "1")


DOCS = os.path.join(harness.SRC or os.path.join(os.path.dirname(__file__), "..", ".."), "docs",
                    "imports")


def doc(name):
    with open(os.path.join(DOCS, name), "rb") as f:
        return f.read()


class Profiles(unittest.TestCase):
    """The three ready profiles of docs/imports/, with their sample files."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_imports_profiles"))
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002", "100003", "100004"):
            assert cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin).status == 201
        cls.school = cls.m.token("school", ["100001"])
        for name in ("matd-long", "tracker-wide", "dfe-ks2-results"):
            r = cls.m.request("PUT", "/v1/import-profiles/" + name, json.loads(doc(name + ".json")),
                              token=cls.admin)
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def push(self, urn, body, query="", token=None, term="summer"):
        return self.m.request("PUT", "/v1/schools/%s/progress/2025-26/%s%s" % (urn, term, query),
                              body, token=token or self.admin, content_type="text/csv")

    def cells_without_school(self, urn):
        cs = cells(self.m, urn, "summer")
        return sorted((k, v["n"], v["p_expected"], v["p_greater_depth"]) for k, v in cs.items())

    def stored(self):
        return self.m.psql("SELECT count(*) FROM progress") + "/" + \
            self.m.psql("SELECT count(*) FROM submissions")

    def test_long_wide_and_dfe_files_give_identical_cells(self):
        self.assertEqual(self.push("100001", doc("matd-long.csv")).status, 201)
        r = self.push("100002", doc("tracker-wide.csv"), "?profile=tracker-wide")
        self.assertEqual(r.status, 201, r)
        r = self.push("100003", doc("dfe-ks2-results.csv"), "?profile=dfe-ks2-results")
        self.assertEqual(r.status, 201, r)
        r = self.push("100004", doc("matd-long.csv"), "?profile=matd-long", token=None)
        self.assertEqual(r.status, 201, r)
        plain = self.cells_without_school("100001")
        self.assertGreater(len(plain), 30)
        self.assertEqual(self.cells_without_school("100002"), plain)
        self.assertEqual(self.cells_without_school("100003"), plain)
        self.assertEqual(self.cells_without_school("100004"), plain)
        # The same rows, pupil keys and all, whichever file they came from.
        rows = [self.m.psql("SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT "
                            "encode(pupil_key, 'hex') || subject || coalesce(band, code) || "
                            "disadvantaged || send || eal || sex AS x FROM progress "
                            "WHERE urn = '%s') t" % u)
                for u in ("100001", "100002", "100003")]
        self.assertEqual(rows[0], rows[1])
        self.assertEqual(rows[0], rows[2])
        # No name, date of birth or comment reached a table or the log.
        dump = self.m.psql("SELECT string_agg(t::text, ' ') FROM (SELECT * FROM progress) t") + \
            self.m.psql("SELECT string_agg(t::text, ' ') FROM submissions t")
        for secret in ("Hughes", "Amelia", "2014-01-03", "Lovely reader"):
            self.assertNotIn(secret, dump)
            self.assertNotIn(secret, self.m.synced_log())

    def test_a_name_column_is_refused_and_nothing_is_stored(self):
        before = self.stored()
        r = self.push("100001", doc("tracker-wide.csv"), term="autumn")  # no profile
        self.assertEqual(r.status, 422, r)
        paths = [e["path"] for e in r.json["errors"]]
        self.assertIn("row 1:Name", paths)
        self.assertIn("row 1:Comments", paths)
        named = [e for e in r.json["errors"] if e["path"] == "row 1:Name"][0]
        self.assertIn("names", named["message"])
        # Through a profile that maps the file but does not drop the names.
        prof = json.loads(doc("tracker-wide.json"))
        prof["drop"] = ["Comments"]
        self.assertEqual(self.m.request("PUT", "/v1/import-profiles/keeps-names", prof,
                                        token=self.admin).status, 201)
        r = self.push("100001", doc("tracker-wide.csv"), "?profile=keeps-names", term="autumn")
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["row 1:Name"])
        self.assertEqual(self.stored().split("/")[0], before.split("/")[0])

    def test_errors_name_the_original_row_and_heading(self):
        body = doc("tracker-wide.csv").decode().replace("Greater Depth,Greater Depth,Greater Depth",
                                                        "Greater Depth,Superb,Greater Depth", 1)
        body = body.replace(",Y6,Female,Yes,E,", ",Year 6,Female,Yes,E,")
        r = self.push("100001", body, "?profile=tracker-wide", term="autumn")
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["row 3:Writing", "row 4:Year"])
        r = self.push("100001", doc("dfe-ks2-results.csv").decode().replace(",104,", ",140,"),
                      "?profile=dfe-ks2-results", term="autumn")
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["errors"][0]["path"], "row 2:Reading scaled score")

    def test_profile_validation(self):
        good = json.loads(doc("tracker-wide.json"))
        def variant(**kw):
            p = json.loads(json.dumps(good))
            for k, v in kw.items():
                p[k] = v
            return p
        cases = [
            (variant(columns=dict(good["columns"], Colour="colour")), "/columns/Colour"),
            (variant(drop=["Name", "comments", "pupil id"]), "/drop/2"),
            (variant(values=dict(good["values"], band={"Expected+": "excellent"})),
             "/values/band/Expected+"),
            (variant(values={"colour": {"a": "b"}}), "/values/colour"),
            (variant(constants={"year_group": "Y6"}), "/constants/year_group"),
            (variant(layout="long"), "/subject_columns"),
            (variant(columns={"Year": "year_group"}), "/columns"),
        ]
        for body, path in cases:
            r = self.m.request("PUT", "/v1/import-profiles/bad", body, token=self.admin)
            self.assertEqual(r.status, 422, (path, r))
            self.assertIn(path, [e["path"] for e in r.json["errors"]], (path, r.json["errors"]))
        self.assertEqual(self.m.request("GET", "/v1/import-profiles/bad", token=self.admin).status, 404)
        r = self.m.request("PUT", "/v1/import-profiles/Bad%20Name", good, token=self.admin)
        self.assertIn(r.status, (404, 422))

    def test_read_back_replace_and_scope(self):
        r = self.m.request("GET", "/v1/import-profiles/tracker-wide", token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["name"], "tracker-wide")
        self.assertEqual(r.json["profile"], json.loads(doc("tracker-wide.json")))
        again = self.m.request("PUT", "/v1/import-profiles/tracker-wide",
                               json.loads(doc("tracker-wide.json")), token=self.admin)
        self.assertEqual(again.status, 200)
        self.assertEqual(self.m.request("GET", "/v1/import-profiles/tracker-wide",
                                        token=self.school).status, 403)
        self.assertEqual(self.m.request("PUT", "/v1/import-profiles/x", {"layout": "long"},
                                        token=self.school).status, 403)
        # A school pushes through a profile the admin set up.
        r = self.push("100001", doc("tracker-wide.csv"), "?profile=tracker-wide&dry_run=true",
                      token=self.school, term="spring")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["rows"], 36)
        for q, path in (("?profile=nope", "profile"), ("?profile=NO%20PE", "profile")):
            r = self.push("100001", doc("tracker-wide.csv"), q, token=self.school, term="spring")
            self.assertEqual(r.status, 422, r)
            self.assertEqual(r.json["errors"][0]["path"], path)
        r = self.m.request("PUT", "/v1/schools/100001/progress/2025-26/spring?profile=matd-long",
                           {"records": []}, token=self.school)
        self.assertEqual(r.status, 422)
        self.assertEqual(r.json["errors"][0]["path"], "profile")

    def test_answers_conform_to_openapi(self):
        checker = openapi_check.Checker()
        calls = [
            ("GET", "/v1/import-profiles/dfe-ks2-results", None, None),
            ("PUT", "/v1/import-profiles/dfe-ks2-results", json.loads(doc("dfe-ks2-results.json")), None),
            ("PUT", "/v1/import-profiles/broken", {"layout": "wide", "columns": {}}, None),
            ("GET", "/v1/import-profiles/absent", None, None),
            ("PUT", "/v1/schools/100001/progress/2025-26/spring?profile=dfe-ks2-results&dry_run=true",
             doc("dfe-ks2-results.csv"), "text/csv"),
            ("PUT", "/v1/schools/100001/progress/2025-26/spring?dry_run=true",
             doc("matd-long.csv").replace(b",EXS,", b",XYZ,"), "text/csv"),
        ]
        for method, path, body, ctype in calls:
            r = self.m.request(method, path, body, token=self.admin, content_type=ctype)
            self.assertIn(r.status, (200, 201, 404, 422), (path, r))
            checker.check(method, path, r)

    def test_same_file_through_another_profile_is_not_a_repeat(self):
        body = doc("matd-long.csv")
        self.assertEqual(self.push("100004", body, term="autumn").status, 201)
        self.assertEqual(self.push("100004", body, term="autumn").status, 200)  # unchanged
        r = self.push("100004", body, "?profile=matd-long", term="autumn")
        self.assertEqual(r.status, 201, r)
        self.assertFalse(r.json["unchanged"])


class Ctf(unittest.TestCase):
    """A common transfer file with names, addresses and contacts in it gives the cells of
    the same pupils as matd's CSV, and none of that personal data is kept."""

    PERSONAL = ("Hughes", "Amelia", "2014-01-03", "Elm Grove", "CV1 1AB", "02476",
                "family.hughes@example.org", "Parent0", "07700", "4400000000", "V801200025010")

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_imports_ctf"))
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002", "100003"):
            assert cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin).status == 201
        cls.ctf = doc("sample-ctf.xml")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def push(self, urn, body, ctype, query="", term="summer"):
        return self.m.request("PUT", "/v1/schools/%s/progress/2025-26/%s%s" % (urn, term, query),
                              body, token=self.admin, content_type=ctype)

    def dump(self):
        """Every row of every table, as pg_dump writes them."""
        return subprocess.run(
            [os.path.join(os.environ.get("MATD_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"),
                          "pg_dump"), "--data-only", "-h", self.m.pg_host, "-p", str(self.m.pg_port),
             "-U", os.environ.get("MATD_TEST_PGUSER", "postgres"), self.m.db],
            capture_output=True, text=True, check=True).stdout

    def test_ctf_gives_the_cells_of_the_same_pupils_as_csv(self):
        self.assertEqual(self.push("100001", doc("matd-long.csv"), "text/csv").status, 201)
        r = self.push("100002", self.ctf, "application/xml")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["submission"]["row_count"], 36)
        a = sorted((k, v["n"], v["p_expected"], v["p_greater_depth"])
                   for k, v in cells(self.m, "100001", "summer").items())
        b = sorted((k, v["n"], v["p_expected"], v["p_greater_depth"])
                   for k, v in cells(self.m, "100002", "summer").items())
        self.assertGreater(len(a), 30)
        self.assertEqual(a, b)
        same = self.m.psql("SELECT count(*) FROM progress c JOIN progress l ON l.pupil_key = "
                           "c.pupil_key AND l.subject = c.subject AND l.urn = '100001' WHERE "
                           "c.urn = '100002' AND l.band IS NOT DISTINCT FROM c.band AND l.code "
                           "IS NOT DISTINCT FROM c.code AND l.score IS NOT DISTINCT FROM c.score "
                           "AND l.disadvantaged = c.disadvantaged AND l.send = c.send AND l.eal = "
                           "c.eal AND l.sex = c.sex")
        self.assertEqual(same, "36")  # every row, field by field, under the same pupil keys
        dump, log = self.dump(), self.m.synced_log()
        self.assertIn("100002", dump)  # the dump does hold the data
        for secret in self.PERSONAL:
            self.assertNotIn(secret, dump, secret)
            self.assertNotIn(secret, log, secret)

    def test_errors_name_the_pupil_by_position_and_element(self):
        text = self.ctf.decode()
        bad_upn = text.replace("<UPN>Y801200025012</UPN>", "<UPN>A801200025012</UPN>")
        bad_year = text.replace("<NCyearActual>6</NCyearActual>", "<NCyearActual>X</NCyearActual>", 2)
        bad_result = text.replace("<Result>GDS</Result>", "<Result>GREAT</Result>", 1)
        for body, path in ((bad_upn, "pupil 3:UPN"), (bad_year, "pupil 2:NCyearActual"),
                           (bad_result, "pupil 2:StageAssessment[6]/Result")):
            r = self.push("100003", body, "application/xml", term="autumn")
            self.assertEqual(r.status, 422, (path, r))
            self.assertIn(path, [e["path"] for e in r.json["errors"]], r.json["errors"])
            for secret in self.PERSONAL:
                self.assertNotIn(secret, r.body.decode())
        for body, status, path in (
                (text[:len(text) // 2], 400, "line "),
                ('<?xml version="1.0"?><!DOCTYPE CTfile [<!ENTITY x "y">]><CTfile/>', 422, ""),
                ("<Census><Pupil/></Census>", 422, ""),
                (text.replace("<Year>2026</Year>", "<Year>2025</Year>"), 422, "")):
            r = self.push("100003", body, "application/xml", term="autumn")
            self.assertEqual(r.status, status, (body[:60], r))
            self.assertTrue(r.json["errors"][0]["path"].startswith(path), r.json["errors"])
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE urn = '100003'"), "0")

    def test_test_outcome_codes_beside_and_instead_of_scores(self):
        # A results-portal CTF carries a test outcome beside each scaled score (AS, NS) and a
        # code in place of one (B: working below the standard of the test). The score wins
        # over the outcome whichever comes first; a code alone is stored as such, in n.
        text = self.ctf.decode()
        ss = ("<Subject>ENG</Subject><Method>TT</Method><Component>READ</Component>"
              "<ResultStatus>R</ResultStatus><ResultQualifier>SS</ResultQualifier>")
        outcome = ("<StageAssessment><Locale>ENG</Locale><Year>2026</Year><Subject>ENG</Subject>"
                   "<Method>TT</Method><Component>READ</Component><ResultStatus>R</ResultStatus>"
                   "<Result>%s</Result></StageAssessment>")
        for score, code, after in (("112", "AS", True), ("95", "NS", False)):
            line = next(ln for ln in text.splitlines() if ss + "<Result>%s</Result>" % score in ln)
            self.assertEqual(text.count(line), 1)
            extra = outcome % code
            text = text.replace(line, line + extra if after else extra + line)
        absent = outcome % "A"
        self.assertEqual(text.count(absent), 1)
        text = text.replace(absent, outcome % "B")
        r = self.push("100003", text, "application/xml", term="summer")
        self.assertEqual(r.status, 201, r)
        rows = self.m.psql("SELECT string_agg(coalesce(score::int::text, '-') || '=' || "
                           "coalesce(band, code), ' ' ORDER BY score NULLS FIRST, band, code) "
                           "FROM progress WHERE urn = '100003' AND term = 'summer' "
                           "AND subject = 'reading'")
        self.assertIn("-=B", rows)
        self.assertIn("95=below", rows)
        self.assertIn("112=greater_depth", rows)
        reading = cells(self.m, "100003", "summer")[("reading", "6", "all")]
        self.assertEqual(reading["n"], rows.count("="))  # B stays in the cohort

    def test_dry_run_of_a_ctf(self):
        r = self.push("100003", self.ctf, "application/xml", query="?dry_run=true", term="spring")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["rows"], 36)
        self.assertEqual(r.json["pupils"], 12)
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE term = 'spring'"), "0")


if __name__ == "__main__":
    harness.main()
