"""proto/openapi.yaml is a well-formed OpenAPI 3.1 document that covers every route the
daemon serves (with the route table's access rule, body and schema), and real responses
conform to it."""
import copy
import harness
import json
import os
import re
import unittest

import jsonschema
import openapi_check
from bodies import SEF_2025, SEF_2019, SIP
from harness import Matd, school_body

METHODS = {"get", "put", "post", "patch", "delete"}
YEAR, TERM = "2025-26", "spring"


class OpenApiDocument(unittest.TestCase):
    def setUp(self):
        self.spec = openapi_check.load_spec()

    def test_structure(self):
        self.assertEqual(self.spec["openapi"], "3.1.0")
        for key in ("info", "paths", "components"):
            self.assertIn(key, self.spec)
        for tmpl, item in self.spec["paths"].items():
            self.assertTrue(tmpl.startswith("/"), tmpl)
            params = {p["name"] for p in item.get("parameters", []) if "name" in p}
            for method, op in item.items():
                if method not in METHODS:
                    continue
                self.assertIn("responses", op, (method, tmpl))
                self.assertTrue(op.get("summary"), (method, tmpl))
                names = params | {p.get("name") for p in op.get("parameters", []) if "name" in p}
                names |= {self._resolve(p)["name"] for p in op.get("parameters", []) + item.get("parameters", []) if "$ref" in p}
                for var in re.findall(r"\{([^}]+)\}", tmpl):
                    self.assertIn(var, names, "path parameter %s of %s undeclared" % (var, tmpl))

    def _resolve(self, node):
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        out = self.spec
        for part in ref[2:].split("/"):
            out = out[part]
        return out

    def test_every_ref_resolves(self):
        def walk(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "$ref":
                        if v.startswith("#/"):
                            self._resolve(node)
                        else:
                            path = os.path.join(openapi_check.SRC, "proto", v.split("#")[0])
                            self.assertTrue(os.path.exists(path), v)
                    else:
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(self.spec)

    def test_component_schemas_are_valid_json_schema(self):
        for name, schema in self.spec["components"]["schemas"].items():
            jsonschema.Draft202012Validator.check_schema(schema)
        for f in os.listdir(os.path.join(openapi_check.SRC, "proto", "schemas")):
            if f.endswith(".json"):
                jsonschema.Draft202012Validator.check_schema(
                    openapi_check.load_schema_file("schemas/" + f))

    def test_every_served_route_is_documented(self):
        routes = openapi_check.served_routes()
        self.assertGreater(len(routes), 10)
        for method, path in routes:
            self.assertIn(path, self.spec["paths"], "%s %s missing from openapi.yaml" % (method, path))
            self.assertIn(method, self.spec["paths"][path], "%s %s missing" % (method, path))

    def test_every_documented_route_is_served(self):
        served = set(openapi_check.served_routes())
        for tmpl, item in self.spec["paths"].items():
            for method in item:
                if method in METHODS:
                    self.assertIn((method, tmpl), served, "%s %s documented but not served" % (method, tmpl))

    def test_operations_match_the_route_table(self):
        """operationId, access rule, request body and the statuses every route can give
        agree with daemon/handlers/routes.c."""
        table = openapi_check.route_table()
        self.assertEqual(len(table), len(openapi_check.served_routes()), "a routes.c row did not parse")
        for row in table:
            where = "%s %s" % (row["method"].upper(), row["path"])
            op = self.spec["paths"][row["path"]][row["method"]]
            self.assertEqual(op.get("operationId"), row["name"], where)
            self.assertEqual(op.get("x-matd-access"), row["access"], where)
            self.assertIn("**Who:**", op.get("description", ""), where)
            codes = set(op["responses"])
            if row["access"] != "ACCESS_PUBLIC":
                self.assertLessEqual({"401", "429", "500", "503"}, codes, where)
                self.assertNotEqual(op.get("security"), [], where)
            else:
                security = op.get("security")
                self.assertTrue(security == [] or {} in (security or []), where)  # no token needed
            if row["access"] in ("ACCESS_ADMIN", "ACCESS_CEO", "ACCESS_TRUST",
                                 "ACCESS_SCHOOL_READ", "ACCESS_SCHOOL_WRITE"):
                self.assertIn("403", codes, where)
            if row["method"] == "get":
                self.assertLessEqual({"200", "304"}, codes, where)
            # the query parameters the daemon takes are those documented (any other is a 422)
            params = [openapi_check.resolve(self.spec, prm) for prm in
                      self.spec["paths"][row["path"]].get("parameters", []) + op.get("parameters", [])]
            documented = {prm["name"] for prm in params if prm.get("in") == "query"}
            if row["query"] == "*":
                self.assertEqual(row["access"], "ACCESS_PUBLIC", where)
            else:
                taken = set(filter(None, (row["query"] or "").replace(",", " ").split()))
                self.assertEqual(taken, documented, where)
                self.assertIn("422", codes, where)
            body = op.get("requestBody")
            if row["body"] == "BODY_NONE":
                self.assertIsNone(body, where)
                continue
            self.assertLessEqual({"400", "413", "415", "422"}, codes, where)
            content = body["content"]
            if row["body"] in ("BODY_JSON", "BODY_JSON_AUTHZ"):
                self.assertEqual(set(content), {"application/json"}, where)
                self.assertEqual(content["application/json"]["schema"],
                                 {"$ref": "schemas/" + row["schema"]}, where)
            else:
                # A push: JSON, CSV, or a DfE common transfer file (XML).
                self.assertEqual(set(content), {"application/json", "text/csv", "application/xml"},
                                 where)

    def test_request_examples_are_valid(self):
        checker = openapi_check.Checker()
        for tmpl, item in self.spec["paths"].items():
            for method, op in item.items():
                if method not in METHODS or "requestBody" not in op:
                    continue
                media = op["requestBody"]["content"].get("application/json", {})
                if "example" in media:
                    jsonschema.validate(media["example"], media["schema"],
                                        cls=jsonschema.Draft202012Validator,
                                        resolver=checker.resolver)


# ---- bodies as SPEC §11 gives them ----

SEF = SEF_2025
RECORD = {"pupil": "B801200005001", "year_group": "6", "subject": "writing", "band": "towards",
          "score": None, "attendance_pct": 94.5, "disadvantaged": True, "send": "support",
          "eal": False, "looked_after": False, "sex": "f", "prior_attainment": "middle"}
LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(tail12):
    """A UPN with the right check letter for its 12 following characters."""
    return LETTERS[sum(int(c) * (i + 2) for i, c in enumerate(tail12)) % 23] + tail12


def records(n):
    out = []
    for i in range(n):
        for j, subject in enumerate(("reading", "writing", "maths")):
            out.append(dict(RECORD, pupil=upn("8012000%05d" % i), subject=subject,
                            year_group=str(3 + i % 4), disadvantaged=i % 3 == 0,
                            band=["below", "towards", "expected", "greater_depth"][(i + j) % 4]))
    return out


def to_csv(recs):
    cols = list(recs[0])
    lines = [",".join(cols)]
    for r in recs:
        lines.append(",".join("" if r[c] is None else str(r[c]).lower() if isinstance(r[c], bool)
                              else str(r[c]) for c in cols))
    return "\r\n".join(lines) + "\r\n"


class Checked:
    """Every call's response is checked against the document."""

    def call(self, method, path, body=None, token=None, expect=None, **kw):
        """One request, checked against the document and against the status the test
        expects (an int, or a tuple of acceptable ones). Every call names its status: the
        document lists 500 on every route, so conformance alone would let a 500 pass."""
        if expect is None:
            raise AssertionError("%s %s: say which status is expected" % (method, path))
        r = self.m.request(method, path, body, token=token, **kw)
        self.checker.check(method, path, r)
        allowed = expect if isinstance(expect, tuple) else (expect,)
        self.assertIn(r.status, allowed, "%s %s: %r" % (method, path, r))
        return r

    def get304(self, path, token):
        """A GET, then the same GET with its ETag: 304."""
        r = self.call("GET", path, token=token, expect=200)
        etag = r.header("ETag")
        self.assertTrue(etag, path)
        self.call("GET", path, token=token, headers={"If-None-Match": etag}, expect=304)
        return r

    def csv(self, path, token, header):
        r = self.call("GET", path, token=token, headers={"Accept": "text/csv"}, expect=200)
        self.assertTrue(r.header("Content-Type").startswith("text/csv"), r.headers)
        self.assertEqual(r.body.decode().split("\r\n")[0], header, path)
        return r


class Conformance(Checked, unittest.TestCase):
    """Real responses, each checked against the document."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_openapi"))
        cls.admin = cls.m.token("admin")
        cls.checker = openapi_check.Checker()

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def test_foundation_responses_conform(self):
        a = self.admin
        self.call("GET", "/healthz", expect=200)
        self.call("GET", "/readyz", expect=200)
        self.call("GET", "/metrics", expect=200)
        self.call("GET", "/v1/me", token=a, expect=200)
        self.call("GET", "/v1/me", expect=401)
        self.call("POST", "/v1/schools", school_body("100001"), token=a, expect=201)
        self.call("POST", "/v1/schools", school_body("100001"), token=a, expect=409)
        r = self.call("POST", "/v1/schools", school_body("100002", phase="x"), token=a, expect=422)
        self.assertEqual(r.json["errors"][0]["path"], "/phase")
        self.call("POST", "/v1/schools", "{", token=a, expect=400)
        self.call("GET", "/v1/schools", token=a, expect=200)
        self.call("GET", "/v1/schools/100001", token=a, expect=200)
        self.call("GET", "/v1/schools/100009", token=a, expect=404)
        r = self.call("PATCH", "/v1/schools/100001", {"name": "Renamed"}, token=a, expect=200)
        self.assertEqual(r.json["name"], "Renamed")
        r = self.call("POST", "/v1/tokens", {"role": "school", "schools": ["100001"]}, token=a,
                      expect=201)
        school = r.json["token"]
        self.call("GET", "/v1/schools/100002", token=school, expect=403)
        self.call("GET", "/v1/tokens", token=a, expect=200)
        self.call("GET", "/v1/audit", token=a, expect=200)
        self.call("DELETE", "/v1/tokens/%d" % r.json["id"], token=a, expect=204)
        self.call("DELETE", "/v1/tokens/%d" % r.json["id"], token=a, expect=204)  # already revoked
        self.call("DELETE", "/v1/tokens/999999", token=a, expect=404)
        self.call("GET", "/v1/tokens?limit=1", token=a, expect=200)
        self.call("GET", "/v1/audit?limit=0", token=a, expect=422)
        self.get304("/v1/schools/100001", a)


class TermlyConformance(Checked, unittest.TestCase):
    """SEF, SIP, milestones, monitoring, progress pushes, submissions and reference data
    on a small trust of three schools."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_openapi_termly"),
                     extra_config="[limits]\nmax_body_bytes = 65536\nmax_push_bytes = 131072\n")
        cls.checker = openapi_check.Checker()
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002", "100003"):
            r = cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin)
            assert r.status == 201, r
        cls.s1 = cls.m.token("school", ["100001"])
        cls.s2 = cls.m.token("school", ["100002"])
        cls.ceo = cls.m.token("ceo")
        cls.head = cls.m.token("executive_head", ["100001", "100003"])

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def test_sef(self):
        base = "/v1/schools/100001/sef"
        r = self.call("PUT", base + "/2025-26", SEF, token=self.s1, expect=201)
        self.assertEqual((r.json["version"], r.json["unchanged"]), (1, False))
        r = self.call("PUT", base + "/2025-26", SEF, token=self.s1, expect=200)
        self.assertEqual((r.json["version"], r.json["unchanged"]), (1, True))
        self.call("PUT", base + "/2025-26", SEF_2019, token=self.admin, expect=201)
        self.call("PUT", base + "/2024-25", SEF, token=self.s1, expect=201)
        self.call("PUT", base + "/2025-26", dict(SEF, colour="blue"), token=self.s1, expect=422)
        self.call("PUT", base + "/2025-27", SEF, token=self.s1, expect=422)
        self.call("PUT", base + "/2025-26", "{oops", token=self.s1, expect=400)
        self.call("PUT", base + "/2025-26", "x" * 70000, token=self.s1, expect=413)
        self.call("PUT", base + "/2025-26", json.dumps(SEF), token=self.s1,
                  content_type="text/plain", expect=415)
        self.call("PUT", base + "/2025-26", SEF, expect=401)
        self.call("PUT", "/v1/schools/100002/sef/2025-26", SEF, token=self.s1, expect=403)
        self.call("PUT", base + "/2025-26", SEF, token=self.ceo, expect=403)
        self.call("PUT", "/v1/schools/199999/sef/2025-26", SEF, token=self.admin, expect=404)
        r = self.get304(base + "/2025-26", self.head)
        self.assertEqual((r.json["version"], r.json["framework"]), (2, "ofsted_2019"))
        self.call("GET", base + "/2023-24", token=self.s1, expect=404)
        self.call("GET", base + "/2023", token=self.s1, expect=422)
        self.call("GET", "/v1/schools/100002/sef/2025-26", token=self.s1, expect=403)
        r = self.get304(base, self.ceo)
        self.assertEqual([(h["year"], h["version"]) for h in r.json["items"]],
                         [("2025-26", 2), ("2025-26", 1), ("2024-25", 1)])
        self.call("GET", "/v1/schools/100003/sef", token=self.head, expect=200)  # empty
        # An unregistered school has no history, not an empty one.
        self.call("GET", "/v1/schools/199999/sef", token=self.admin, expect=404)
        self.call("GET", "/v1/schools/199999/sip", token=self.admin, expect=404)
        self.call("GET", "/v1/schools/100002/sef", token=self.head, expect=403)

    def test_sip_and_monitoring(self):
        base = "/v1/schools/100001/sip/2025-26"
        self.call("PUT", base, SIP, token=self.s1, expect=201)
        self.call("PUT", base, SIP, token=self.s1, expect=200)
        dup = copy.deepcopy(SIP)
        dup["priorities"][0]["milestones"].append(dict(SIP["priorities"][0]["milestones"][0]))
        self.call("PUT", "/v1/schools/100003/sip/2025-26", dup, token=self.admin, expect=422)
        self.call("PUT", base, SIP, token=self.s2, expect=403)
        late = copy.deepcopy(SIP)
        late["priorities"][0]["milestones"][0]["status"] = "at_risk"
        self.call("PUT", "/v1/schools/100002/sip/2025-26", late, token=self.s2, expect=201)
        # Milestone and success-criterion updates.
        r = self.call("PATCH", base + "/milestones/M1", {"status": "complete", "evidence": "CPD register"},
                      token=self.s1, expect=200)
        self.assertEqual(r.json["status"], "complete")
        r = self.call("PATCH", base + "/success-criteria/SC1", {"status": "met", "evidence": "KS2 data"},
                      token=self.admin, expect=200)
        self.assertEqual(r.json["evidence"], "KS2 data")
        self.call("PATCH", base + "/milestones/M9", {"status": "complete"}, token=self.s1, expect=404)
        self.call("PATCH", base + "/success-criteria/SC9", {"status": "met"}, token=self.s1, expect=404)
        self.call("PATCH", "/v1/schools/100003/sip/2025-26/milestones/M1", {"status": "complete"},
                  token=self.admin, expect=404)  # no plan
        self.call("PATCH", base + "/milestones/M1", {"status": "finished"}, token=self.s1, expect=422)
        self.call("PATCH", base + "/milestones/M1", {}, token=self.s1, expect=422)
        self.call("PATCH", base + "/success-criteria/SC1", {"status": "complete"}, token=self.s1, expect=422)
        self.call("PATCH", base + "/milestones/M1", "[", token=self.s1, expect=400)
        self.call("PATCH", base + "/milestones/M1", {"status": "complete"}, token=self.s2, expect=403)
        self.call("PATCH", base + "/success-criteria/SC1", {"status": "met"}, token=self.head, expect=403)
        r = self.get304(base, self.s1)
        self.assertEqual(r.json["version"], 3)
        self.call("GET", "/v1/schools/100001/sip/2026-27", token=self.s1, expect=404)
        self.call("GET", "/v1/schools/100001/sip/26-27", token=self.s1, expect=422)
        r = self.get304("/v1/schools/100001/sip", self.head)
        self.assertEqual([h["change"] for h in r.json["items"]],
                         ["patch success_criteria SC1", "patch milestones M1", "put"])
        self.call("GET", "/v1/schools/100002/sip", token=self.s1, expect=403)
        # The monitoring schedule.
        r = self.get304("/v1/monitoring?limit=1000", self.ceo)
        self.assertTrue(r.json["items"][0]["overdue"], r.json["items"][:2])
        r = self.call("GET", "/v1/monitoring?limit=1", token=self.ceo, expect=200)
        self.assertTrue(r.json["next_cursor"])
        self.call("GET", "/v1/monitoring?limit=1&cursor=" + r.json["next_cursor"], token=self.ceo, expect=200)
        self.call("GET", "/v1/monitoring", token=self.s1, expect=200)
        self.call("GET", "/v1/monitoring?school=100001&status=complete&due_from=2025-01-01"
                  "&due_to=2026-12-31&overdue=false&year=2025-26", token=self.head, expect=200)
        self.call("GET", "/v1/monitoring?school=100002", token=self.s1, expect=403)
        for query in ("school=12345", "status=late", "due_from=2025-13-01", "due_to=soon",
                      "overdue=maybe", "year=2025", "limit=0", "cursor=zzz"):
            r = self.call("GET", "/v1/monitoring?" + query, token=self.ceo, expect=422)
            self.assertEqual(r.json["errors"][0]["path"], query.split("=")[0])
        self.call("GET", "/v1/monitoring", expect=401)

    def test_progress_and_submissions(self):
        put = "/v1/schools/100001/progress/2025-26/"
        # The SPEC §11 record as written; then a set of valid records, JSON and CSV.
        self.call("PUT", put + "autumn", {"records": [RECORD]}, token=self.s1, expect=201)
        recs = records(30)
        self.call("PUT", put + "autumn", {"records": recs}, token=self.s1, expect=201)
        self.call("PUT", put + "autumn", {"records": recs}, token=self.s1, expect=200)  # identical re-push
        self.call("PUT", put + "spring", to_csv(recs), token=self.s1, content_type="text/csv",
                  expect=201)
        bad = copy.deepcopy(recs)
        bad[1]["band"] = "excellent"
        wrong = "B" if recs[2]["pupil"][0] == "A" else "A"
        bad[2]["pupil"] = wrong + recs[2]["pupil"][1:]  # a wrong check letter
        r = self.call("PUT", put + "summer", {"records": bad}, token=self.s1, expect=422)
        paths = {e["path"] for e in r.json["errors"]}
        self.assertIn("/records/1/band", paths)
        self.assertIn("/records/2/pupil", paths)  # the bad check letter, named
        self.call("PUT", put + "summer", "{", token=self.s1, expect=400)
        self.call("PUT", put + "summer", "x" * 140000, token=self.s1, expect=413)
        self.call("PUT", put + "summer", "a,b\r\n", token=self.s1, content_type="text/plain", expect=415)
        self.call("PUT", put + "winter", {"records": recs}, token=self.s1, expect=422)
        self.call("PUT", "/v1/schools/100002/progress/2025-26/autumn", {"records": recs},
                  token=self.s1, expect=403)
        self.call("PUT", put + "autumn", {"records": recs}, expect=401)
        self.call("PUT", "/v1/schools/199999/progress/2025-26/autumn", {"records": recs},
                  token=self.admin, expect=404)
        # Summaries (whatever the push gave: a school without data has no cells).
        summary = "/v1/schools/100001/progress/2025-26/autumn/summary"
        self.get304(summary, self.s1)
        self.csv(summary, self.head, "school,subject,year_group,group,n,p_expected,p_greater_depth,"
                 "benchmark,gap")
        self.call("GET", "/v1/schools/100001/progress/2025-26/winter/summary", token=self.s1, expect=422)
        self.call("GET", "/v1/schools/100001/progress/2025/autumn/summary", token=self.s1, expect=422)
        self.call("GET", "/v1/schools/100002/progress/2025-26/autumn/summary", token=self.s1, expect=403)
        self.get304("/v1/progress/summary?year=2025-26&term=autumn", self.ceo)
        self.call("GET", "/v1/progress/summary?year=2025-26&term=autumn&by=school", token=self.head, expect=200)
        self.csv("/v1/progress/summary?year=2025-26&term=autumn&by=school", self.admin,
                 "school,subject,year_group,group,n,p_expected,p_greater_depth,benchmark,gap")
        for query, field in (("term=autumn", "year"), ("year=2025-26", "term"),
                             ("year=2025-26&term=autumn&by=la", "by")):
            r = self.call("GET", "/v1/progress/summary?" + query, token=self.ceo, expect=422)
            self.assertEqual(r.json["errors"][0]["path"], field)
        self.call("GET", "/v1/progress/summary?year=2025-26&term=autumn", token=self.s1, expect=403)
        # Submissions.
        r = self.get304("/v1/submissions", self.s1)
        self.assertTrue(r.json["items"])
        self.call("GET", "/v1/submissions?kind=progress&school=100001", token=self.head, expect=200)
        r = self.call("GET", "/v1/submissions?limit=1", token=self.admin, expect=200)
        self.assertTrue(r.json["next_cursor"])
        self.call("GET", "/v1/submissions?limit=1&cursor=" + r.json["next_cursor"], token=self.admin, expect=200)
        for query in ("kind=report", "school=abc", "limit=1001", "cursor=zzz"):
            r = self.call("GET", "/v1/submissions?" + query, token=self.s1, expect=422)
            self.assertEqual(r.json["errors"][0]["path"], query.split("=")[0])
        self.call("GET", "/v1/submissions", expect=401)

    def test_reference_data(self):
        r = self.get304("/v1/benchmarks/2024-25", self.s1)
        self.assertEqual(r.json["source"], "national")
        self.call("GET", "/v1/benchmarks/2030-31", token=self.s1, expect=200)  # none
        self.call("GET", "/v1/benchmarks/2024", token=self.s1, expect=422)
        body = {"items": [{"subject": "writing", "group": "all", "expected": 0.72, "greater_depth": 0.13},
                          {"subject": "writing", "group": "disadvantaged", "expected": 0.6}]}
        r = self.call("PUT", "/v1/benchmarks/2026-27", body, token=self.admin, expect=200)
        self.assertEqual(r.json["source"], "trust")
        self.call("PUT", "/v1/benchmarks/2026-27", body, token=self.ceo, expect=403)
        self.call("PUT", "/v1/benchmarks/2026-27", {"items": body["items"][:1] * 2}, token=self.admin, expect=422)
        self.call("PUT", "/v1/benchmarks/2026-27", {"items": [{"subject": "writing", "group": "all",
                                                              "expected": 72}]}, token=self.admin, expect=422)
        self.call("PUT", "/v1/benchmarks/2026-27", "{", token=self.admin, expect=400)
        self.call("PUT", "/v1/benchmarks/2026-27", body, expect=401)
        # Term dates.
        r = self.get304("/v1/terms/2027-28", self.s1)
        self.assertFalse(r.json["configured"])
        r = self.call("PUT", "/v1/terms/2025-26", {"autumn": "2025-09-01", "spring": "2026-01-05",
                                                   "summer": "2026-04-20"}, token=self.admin, expect=200)
        self.assertTrue(r.json["configured"])
        self.call("PUT", "/v1/terms/2025-26", {"autumn": "2025-09-01", "spring": "2025-08-01",
                                               "summer": "2026-04-20"}, token=self.admin, expect=422)
        self.call("PUT", "/v1/terms/2025-26", {"autumn": "2025-09-01"}, token=self.admin, expect=422)
        self.call("PUT", "/v1/terms/2025-26", {"autumn": "2025-09-01", "spring": "2026-01-05",
                                               "summer": "2026-04-20"}, token=self.s1, expect=403)
        self.call("GET", "/v1/terms/2025", token=self.s1, expect=422)
        # Thresholds.
        r = self.get304("/v1/priorities/thresholds", self.s1)
        self.assertEqual(r.json, {"min_cohort": 6, "z_crit": 1.96, "gap_points": 10, "trend_points": 10,
                                  "complementary_suppression": False})
        r = self.call("PUT", "/v1/priorities/thresholds", {"min_cohort": 10, "z_crit": 2.58},
                      token=self.admin, expect=200)
        self.assertEqual((r.json["min_cohort"], r.json["gap_points"]), (10, 10))
        self.call("PUT", "/v1/priorities/thresholds", {"min_cohort": 0}, token=self.admin, expect=422)
        self.call("PUT", "/v1/priorities/thresholds", {"z": 2}, token=self.admin, expect=422)
        self.call("PUT", "/v1/priorities/thresholds", {}, token=self.ceo, expect=403)
        r = self.call("PUT", "/v1/priorities/thresholds", {"complementary_suppression": True},
                      token=self.admin, expect=200)
        self.assertEqual((r.json["complementary_suppression"], r.json["min_cohort"]), (True, 6))
        self.call("PUT", "/v1/priorities/thresholds", {"complementary_suppression": "yes"},
                  token=self.admin, expect=422)
        self.assertTrue(self.call("GET", "/v1/priorities/thresholds", token=self.s1,
                                  expect=200).json["complementary_suppression"])
        r = self.call("PUT", "/v1/priorities/thresholds", {}, token=self.admin, expect=200)
        self.assertEqual((r.json["min_cohort"], r.json["complementary_suppression"]), (6, False))


class PrioritiesConformance(Checked, unittest.TestCase):
    """Priorities, support and summaries on the demo trust, where every kind of priority
    occurs; and the demo's stored documents against their schemas."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_openapi_demo"))
        cls.m.matctl("demo", "load")
        cls.checker = openapi_check.Checker()
        cls.admin = cls.m.token("admin")
        cls.ceo = cls.m.token("ceo")
        cls.head = cls.m.token("executive_head", ["140002", "140005"])
        cls.school = cls.m.token("school", ["140002"])

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def q(self, path, extra=""):
        return "%s?year=%s&term=%s%s" % (path, YEAR, TERM, extra)

    def test_priorities(self):
        r = self.get304(self.q("/v1/priorities"), self.ceo)
        items = r.json["items"]
        kinds = {(i["level"], i["kind"]) for i in items}
        for kind in ("attainment", "gap", "trend", "sef", "stuck_pupils"):
            self.assertIn(("school", kind), kinds)
        for kind in ("attainment", "sef", "shared_theme"):
            self.assertIn(("trust", kind), kinds)
        # SPEC 6.2: stuck pupils ride on the trust item of their subject, never alone.
        self.assertNotIn(("trust", "stuck_pupils"), kinds)
        self.assertFalse(any("pupils" in i for i in items), "no pupil keys on the trust view")
        self.call("GET", self.q("/v1/priorities"), token=self.admin, expect=200)
        r = self.call("GET", self.q("/v1/priorities"), token=self.head, expect=200)
        self.assertTrue(all(set(i["schools"]) <= {"140002", "140005"} for i in r.json["items"]))
        self.csv(self.q("/v1/priorities"), self.ceo,
                 "year,term,id,level,kind,subject,area,theme,group,schools,n,k,p,b,gap,z,deficit,"
                 "trend,benchmark,score,rationale,support,pupils")
        for extra in ("&level=trust", "&level=school&kind=gap", "&kind=trend", "&kind=sef",
                      "&subject=writing", "&subject=reading&kind=shared_theme", "&school=140005"):
            self.call("GET", self.q("/v1/priorities", extra), token=self.ceo, expect=200)
        self.call("GET", self.q("/v1/priorities", "&school=140002&kind=stuck_pupils"), token=self.head, expect=200)
        for query, field in (("?term=spring", "year"), ("?year=2025-26", "term"),
                             ("?year=2025-26&term=winter", "term"), ("?year=25-26&term=spring", "year")):
            r = self.call("GET", "/v1/priorities" + query, token=self.ceo, expect=422)
            self.assertEqual(r.json["errors"][0]["path"], field)
        for extra, field in (("&level=region", "level"), ("&kind=vibes", "kind"),
                             ("&subject=" + "x" * 80, "subject"), ("&school=14", "school")):
            r = self.call("GET", self.q("/v1/priorities", extra), token=self.ceo, expect=422)
            self.assertEqual(r.json["errors"][0]["path"], field)
        self.call("GET", self.q("/v1/priorities"), token=self.school, expect=403)
        self.call("GET", self.q("/v1/priorities", "&school=140004"), token=self.head, expect=403)
        self.call("GET", self.q("/v1/priorities"), expect=401)

    def test_school_priorities(self):
        path = self.q("/v1/schools/140002/priorities")
        r = self.get304(path, self.school)
        stuck = [i for i in r.json["items"] if i["kind"] == "stuck_pupils" and i["level"] == "school"]
        self.assertTrue(stuck and all(i["pupils"] for i in stuck), "the school sees its pupil keys")
        trust_items = [i for i in r.json["items"] if i["level"] == "trust"]
        self.assertTrue(trust_items)
        self.assertTrue(all(i["schools"] == ["140002"] for i in trust_items))
        self.call("GET", path, token=self.admin, expect=200)
        r = self.call("GET", path, token=self.ceo, expect=200)
        self.assertFalse(any("pupils" in i for i in r.json["items"]))
        self.call("GET", self.q("/v1/schools/140005/priorities"), token=self.head, expect=200)
        self.call("GET", self.q("/v1/schools/140009/priorities", "&kind=sef&level=school"),
                  token=self.ceo, expect=200)
        self.call("GET", self.q("/v1/schools/199999/priorities"), token=self.admin, expect=200)
        self.csv(path, self.school, "year,term,id,level,kind,subject,area,theme,group,schools,n,k,p,b,"
                 "gap,z,deficit,trend,benchmark,score,rationale,support,pupils")
        self.call("GET", self.q("/v1/schools/140004/priorities"), token=self.school, expect=403)
        self.call("GET", self.q("/v1/schools/140004/priorities"), token=self.head, expect=403)
        self.call("GET", self.q("/v1/schools/140002/priorities", "&kind=late"), token=self.school, expect=422)
        self.call("GET", "/v1/schools/140002/priorities?year=2025-26", token=self.school, expect=422)

    def test_support(self):
        r = self.get304(self.q("/v1/support"), self.ceo)
        self.assertTrue(any(i["givers"] for i in r.json["items"]), "some need has a giver")
        self.call("GET", self.q("/v1/support"), token=self.head, expect=200)
        self.call("GET", self.q("/v1/support", "&school=140009&kind=sef"), token=self.admin, expect=200)
        self.csv(self.q("/v1/support"), self.ceo, "year,term,receiver,priority_id,kind,topic,group,"
                 "score,giver,giver_name,reason,same_phase,distance_km")
        self.call("GET", self.q("/v1/support"), token=self.school, expect=403)
        self.call("GET", self.q("/v1/support", "&level=x"), token=self.ceo, expect=422)
        self.call("GET", "/v1/support?term=spring", token=self.ceo, expect=422)

    def test_thresholds_change_the_priorities(self):
        self.call("PUT", "/v1/priorities/thresholds", {"min_cohort": 30, "z_crit": 2.58,
                                                       "gap_points": 15, "trend_points": 5},
                  token=self.admin, expect=200)
        try:
            strict = self.call("GET", self.q("/v1/priorities"), token=self.ceo, expect=200).json
            school = self.call("GET", self.q("/v1/schools/140005/priorities"), token=self.admin,
                               expect=200).json
        finally:
            self.call("PUT", "/v1/priorities/thresholds", {}, token=self.admin, expect=200)
        default = self.call("GET", self.q("/v1/priorities"), token=self.ceo, expect=200).json
        # The stricter thresholds hold in every item they produced ...
        for item in strict["items"]:
            m = item["metrics"]
            if item["kind"] == "attainment":
                self.assertGreaterEqual(m["n"], 30, item["id"])
                self.assertLessEqual(m["z"], -2.58, item["id"])
            if item["kind"] == "trend":
                self.assertGreaterEqual(m["n"], 30, item["id"])
        for item in school["items"]:
            if item["kind"] == "attainment":
                self.assertGreaterEqual(item["metrics"]["n"], 30, item["id"])
        # ... and the default list has items the strict one drops: the thresholds took effect.
        loose = [i for i in default["items"] if i["kind"] == "attainment"
                 and (i["metrics"]["n"] < 30 or i["metrics"]["z"] > -2.58)]
        self.assertTrue(loose, "the default thresholds admit smaller or weaker cells")
        self.assertNotEqual([i["id"] for i in strict["items"]], [i["id"] for i in default["items"]])

    def test_demo_documents_and_summaries(self):
        for urn in ("140002", "140005", "140009"):
            self.get304("/v1/schools/%s/sef/%s" % (urn, YEAR), self.ceo)
            self.get304("/v1/schools/%s/sip/%s" % (urn, YEAR), self.ceo)
            self.call("GET", "/v1/schools/%s/sef" % urn, token=self.admin, expect=200)
            self.call("GET", "/v1/schools/%s/sip" % urn, token=self.admin, expect=200)
        self.call("GET", "/v1/monitoring?limit=1000", token=self.admin, expect=200)
        self.call("GET", "/v1/submissions?limit=1000", token=self.admin, expect=200)
        self.get304("/v1/schools/140002/progress/%s/%s/summary" % (YEAR, TERM), self.school)
        self.call("GET", self.q("/v1/progress/summary", "&by=school"), token=self.ceo, expect=200)
        self.call("GET", self.q("/v1/progress/summary"), token=self.head, expect=200)
        self.get304("/v1/benchmarks/%s" % YEAR, self.school)
        self.get304("/v1/terms/%s" % YEAR, self.school)


class RateLimitConformance(Checked, unittest.TestCase):
    """A token over its rate limit: 429 with Retry-After, as documented."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_openapi_rate"),
                     extra_config="[limits]\nrate_limit_per_minute = 1\nrate_limit_burst = 2\n")
        cls.checker = openapi_check.Checker()
        cls.admin = cls.m.token("admin")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def test_rate_limited(self):
        statuses = [self.call("GET", path, token=self.admin, expect=(200, 429)).status
                    for path in ("/v1/me", "/v1/priorities/thresholds", "/v1/monitoring",
                                 "/v1/terms/2025-26", "/v1/submissions")]
        self.assertIn(429, statuses)


if __name__ == "__main__":
    harness.main()
