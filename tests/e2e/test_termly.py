"""Termly data over TLS: SEF and SIP versions, milestone and success-criterion updates, the
monitoring schedule, benchmarks, term dates, submissions; every bad input gets the right
4xx naming the field, and a follow-up read proves nothing changed."""
import copy
import json
import unittest

import harness
from harness import Matd, school_body

from bodies import SEF_2025, SEF_2019, SIP  # noqa: E402


class Termly(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_termly"))
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002", "100003"):
            assert cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin).status == 201
        cls.s1 = cls.m.token("school", ["100001"])
        cls.s2 = cls.m.token("school", ["100002"])
        cls.ceo = cls.m.token("ceo")
        cls.head = cls.m.token("executive_head", ["100001"])

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def req(self, method, path, body=None, token=None, **kw):
        return self.m.request(method, path, body, token=token or self.s1, **kw)

    def assertField(self, r, status, path):
        self.assertEqual(r.status, status, r)
        self.assertIn(path, [e["path"] for e in r.json["errors"]], r.json)

    def count(self, sql):
        return int(self.m.psql(sql))

    # --- SEF ---

    def test_sef_versions_and_idempotency(self):
        r = self.req("PUT", "/v1/schools/100001/sef/2025-26", SEF_2025)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["version"], 1)
        sub = r.json["submission"]
        self.assertEqual((sub["kind"], sub["outcome"], sub["school"]), ("sef", "accepted", "100001"))
        again = self.req("PUT", "/v1/schools/100001/sef/2025-26", json.loads(json.dumps(SEF_2025)))
        self.assertEqual(again.status, 200)
        self.assertTrue(again.json["unchanged"])
        self.assertEqual(again.json["submission"]["id"], sub["id"])
        self.assertEqual(again.json["version"], 1)
        r = self.req("PUT", "/v1/schools/100001/sef/2025-26", SEF_2019)
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json["version"], 2)
        latest = self.req("GET", "/v1/schools/100001/sef/2025-26", token=self.ceo).json
        self.assertEqual(latest["version"], 2)
        self.assertEqual(latest["document"]["framework"], "ofsted_2019")
        history = self.req("GET", "/v1/schools/100001/sef", token=self.head).json["items"]
        self.assertEqual([h["version"] for h in history], [2, 1])

    def test_sef_scope(self):
        self.assertEqual(self.req("PUT", "/v1/schools/100002/sef/2025-26", SEF_2025).status, 403)
        self.assertEqual(self.req("GET", "/v1/schools/100002/sef/2025-26").status, 403)
        self.assertEqual(self.req("PUT", "/v1/schools/100001/sef/2025-26", SEF_2025, token=self.ceo).status, 403)
        self.assertEqual(self.req("GET", "/v1/schools/100002/sef", token=self.head).status, 403)
        self.assertEqual(self.count("SELECT count(*) FROM sef_versions WHERE urn = '100002'"), 0)

    def test_bad_sef_bodies(self):
        before = self.count("SELECT count(*) FROM sef_versions")
        bad_grade = copy.deepcopy(SEF_2025)
        bad_grade["areas"]["achievement"]["grade"] = "good"  # a 2019 grade in a 2025 SEF
        unknown_area = copy.deepcopy(SEF_2025)
        unknown_area["areas"]["vibes"] = SEF_2025["areas"]["achievement"]
        extra = dict(SEF_2025, colour="blue")
        cases = [(bad_grade, "/areas/achievement/grade"), (unknown_area, "/areas/vibes"),
                 (extra, "/colour"), (dict(SEF_2025, framework="ofsted_1990"), "/framework"),
                 ({"framework": "ofsted_2025"}, "/areas")]
        for body, path in cases:
            self.assertField(self.req("PUT", "/v1/schools/100003/sef/2025-26", body, token=self.admin),
                             422, path)
        self.assertField(self.req("PUT", "/v1/schools/100001/sef/2025", SEF_2025), 422, "year")
        self.assertField(self.req("PUT", "/v1/schools/100001/sef/2025-27", SEF_2025), 422, "year")
        self.assertEqual(self.req("PUT", "/v1/schools/100001/sef/2025-26", "{oops").status, 400)
        self.assertEqual(self.count("SELECT count(*) FROM sef_versions"), before)
        self.assertEqual(self.req("GET", "/v1/schools/100003/sef/2025-26", token=self.admin).status, 404)

    # --- SIP and monitoring ---

    def test_sip_patch_and_monitoring(self):
        r = self.req("PUT", "/v1/schools/100001/sip/2025-26", SIP)
        self.assertEqual(r.status, 201, r)
        r = self.req("PATCH", "/v1/schools/100001/sip/2025-26/milestones/M1",
                     {"status": "complete", "evidence": "CPD register"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "complete")
        r = self.req("PATCH", "/v1/schools/100001/sip/2025-26/success-criteria/SC1", {"status": "met"})
        self.assertEqual(r.status, 200, r)
        doc = self.req("GET", "/v1/schools/100001/sip/2025-26").json
        self.assertEqual(doc["version"], 3)
        m1 = doc["document"]["priorities"][0]["milestones"][0]
        self.assertEqual((m1["status"], m1["evidence"]), ("complete", "CPD register"))
        # Re-sending the plan after a PATCH restores it (a new version, not a no-op)...
        again = self.req("PUT", "/v1/schools/100001/sip/2025-26", SIP)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json["version"], 4)
        doc = self.req("GET", "/v1/schools/100001/sip/2025-26").json
        self.assertEqual(doc["document"]["priorities"][0]["milestones"][0]["status"], "on_track")
        # ...and re-sending it once more is the no-op, naming the version it matched.
        same = self.req("PUT", "/v1/schools/100001/sip/2025-26", SIP)
        self.assertEqual((same.status, same.json["unchanged"], same.json["version"]), (200, True, 4))
        self.assertEqual(self.req("PATCH", "/v1/schools/100001/sip/2025-26/milestones/M1",
                                  {"status": "complete", "evidence": "CPD register"}).status, 200)
        self.assertEqual(self.req("PATCH", "/v1/schools/100001/sip/2025-26/milestones/M9",
                                  {"status": "complete"}).status, 404)
        self.assertField(self.req("PATCH", "/v1/schools/100001/sip/2025-26/milestones/M2",
                                  {"status": "finished"}), 422, "/status")
        self.assertEqual(self.req("PATCH", "/v1/schools/100001/sip/2025-26/milestones/M2",
                                  {"status": "complete"}, token=self.s2).status, 403)
        # Another school with an overdue milestone.
        sip2 = copy.deepcopy(SIP)
        sip2["priorities"][0]["milestones"][0]["status"] = "at_risk"
        self.assertEqual(self.req("PUT", "/v1/schools/100002/sip/2025-26", sip2, token=self.s2).status, 201)
        items = self.req("GET", "/v1/monitoring?limit=1000", token=self.ceo).json["items"]
        self.assertTrue(items[0]["overdue"], items[:2])
        self.assertEqual(items[0]["school"], "100002")
        overdue_flags = [i["overdue"] for i in items]
        self.assertEqual(overdue_flags, sorted(overdue_flags, reverse=True), "overdue first")
        mine = self.req("GET", "/v1/monitoring", token=self.s1).json["items"]
        self.assertEqual({i["school"] for i in mine}, {"100001"})
        self.assertEqual(self.req("GET", "/v1/monitoring?school=100002", token=self.s1).status, 403)
        only = self.req("GET", "/v1/monitoring?overdue=true", token=self.ceo).json["items"]
        self.assertTrue(only and all(i["overdue"] for i in only))
        self.assertField(self.req("GET", "/v1/monitoring?status=late", token=self.ceo), 422, "status")
        self.assertField(self.req("GET", "/v1/monitoring?due_from=2025-13-01", token=self.ceo), 422, "due_from")

    def test_patch_with_a_fresh_token(self):
        # A token's first request misses the authentication cache: the PATCH must still
        # answer (this once crashed the daemon) and the daemon must live on.
        self.req("PUT", "/v1/schools/100002/sip/2025-26", SIP, token=self.s2)
        fresh = self.m.token("school", ["100002"], name="fresh")
        r = self.req("PATCH", "/v1/schools/100002/sip/2025-26/success-criteria/SC1",
                     {"status": "partially_met"}, token=fresh)
        self.assertEqual(r.status, 200, r)
        fresh2 = self.m.token("school", ["100002"], name="fresh2")
        r = self.req("PATCH", "/v1/schools/100002/sip/2025-26/success-criteria/SC9",
                     {"status": "met"}, token=fresh2)
        self.assertEqual(r.status, 404)
        self.assertIn("success criterion", r.json["detail"])
        self.assertEqual(self.req("GET", "/healthz").status, 200)

    def test_bad_sip_bodies(self):
        before = self.count("SELECT count(*) FROM sip_versions")
        dup = copy.deepcopy(SIP)
        dup["priorities"][0]["milestones"][1]["ref"] = "M1"
        order = copy.deepcopy(SIP)
        order["priorities"][0]["final_review_date"] = "2025-01-01"
        rank = copy.deepcopy(SIP)
        rank["priorities"][0]["ranking"] = 4
        status = copy.deepcopy(SIP)
        status["priorities"][0]["milestones"][0]["status"] = "done"
        row = copy.deepcopy(SIP)
        del row["priorities"][0]["plan"]["vision"]
        theme = copy.deepcopy(SIP)  # a theme outside the trust's vocabulary ([trust] themes)
        theme["priorities"][0]["themes"] = ["writing", "math"]
        cases = [(dup, "/priorities/0/milestones/1/ref"),
                 (theme, "/priorities/0/themes/1"),
                 (order, "/priorities/0/final_review_date"),
                 (rank, "/priorities/0/ranking"),
                 (status, "/priorities/0/milestones/0/status"),
                 (row, "/priorities/0/plan/vision")]
        for body, path in cases:
            self.assertField(self.req("PUT", "/v1/schools/100003/sip/2025-26", body, token=self.admin), 422, path)
        self.assertEqual(self.count("SELECT count(*) FROM sip_versions"), before)

    # --- reference data ---

    def test_benchmarks(self):
        r = self.req("GET", "/v1/benchmarks/2024-25").json
        self.assertEqual(r["source"], "national")
        got = {(i["subject"], i["group"]): i["expected"] for i in r["items"]}
        self.assertEqual(got[("writing", "all")], 0.72)
        self.assertEqual(got[("rwm", "all")], 0.62)
        r23 = {(i["subject"], i["group"]): i["expected"]
               for i in self.req("GET", "/v1/benchmarks/2023-24").json["items"]}
        self.assertEqual(r23[("rwm", "disadvantaged")], 0.45)
        self.assertEqual(r23[("reading", "all")], 0.74)
        body = {"items": [{"subject": "writing", "group": "all", "expected": 0.7, "greater_depth": 0.13}]}
        self.assertEqual(self.req("PUT", "/v1/benchmarks/2026-27", body).status, 403)
        r = self.req("PUT", "/v1/benchmarks/2026-27", body, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["source"], "trust")
        self.assertEqual(r.json["items"][0]["greater_depth"], 0.13)
        for bad, path in (({"items": [{"subject": "writing", "group": "all", "expected": 72}]}, "/items/0/expected"),
                          ({"items": [{"subject": "writing", "group": "everyone", "expected": 0.7}]}, "/items/0/group"),
                          ({"items": [{"subject": "writing", "expected": 0.7}]}, "/items/0/group"),
                          ({"items": [{"subject": "latin", "group": "all", "expected": 0.7}]},
                           "/items/0/subject"),
                          ({"items": [body["items"][0],
                                      {"subject": "maths", "group": "all", "expected": 0.7,
                                       "greater_depth": 0.9}]}, "/items/1/greater_depth")):
            self.assertField(self.req("PUT", "/v1/benchmarks/2026-27", bad, token=self.admin), 422, path)
        dup = {"items": [body["items"][0], body["items"][0]]}
        self.assertEqual(self.req("PUT", "/v1/benchmarks/2026-27", dup, token=self.admin).status, 422)
        after = self.req("GET", "/v1/benchmarks/2026-27").json["items"]
        self.assertEqual(len(after), 1, "a rejected PUT leaves the table as it was")

    def test_terms(self):
        r = self.req("GET", "/v1/terms/2027-28").json
        self.assertEqual((r["autumn"], r["spring"], r["summer"], r["configured"]),
                         ("2027-09-01", "2028-01-01", "2028-04-15", False))
        body = {"autumn": "2025-09-01", "spring": "2026-01-05", "summer": "2026-04-20"}
        self.assertEqual(self.req("PUT", "/v1/terms/2025-26", body).status, 403)
        r = self.req("PUT", "/v1/terms/2025-26", body, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["configured"])
        self.assertField(self.req("PUT", "/v1/terms/2025-26", dict(body, spring="2025-08-01"),
                                  token=self.admin), 422, "/spring")
        self.assertField(self.req("PUT", "/v1/terms/2025-26", dict(body, summer="2026-02-30"),
                                  token=self.admin), 422, "/summer")
        self.assertField(self.req("PUT", "/v1/terms/2025-26", dict(body, winter="2026-02-01"),
                                  token=self.admin), 422, "/winter")
        self.assertEqual(self.req("GET", "/v1/terms/2025-26").json["spring"], "2026-01-05")

    def test_submissions_are_scoped(self):
        self.req("PUT", "/v1/schools/100001/sef/2024-25", SEF_2025)
        mine = self.req("GET", "/v1/submissions").json["items"]
        self.assertTrue(mine)
        self.assertEqual({s["school"] for s in mine}, {"100001"})
        self.assertEqual(self.req("GET", "/v1/submissions?school=100002").status, 403)
        self.assertField(self.req("GET", "/v1/submissions?kind=report"), 422, "kind")


if __name__ == "__main__":
    harness.main()
