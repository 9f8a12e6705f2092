"""proto/openapi.yaml is a well-formed OpenAPI 3.1 document that covers every route the
daemon serves, and real responses conform to it."""
import harness
import json
import os
import unittest

import jsonschema
import openapi_check
from harness import Matd, school_body

METHODS = {"get", "put", "post", "patch", "delete"}


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
                for var in __import__("re").findall(r"\{([^}]+)\}", tmpl):
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


class Conformance(unittest.TestCase):
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

    def call(self, method, path, body=None, token=None, **kw):
        r = self.m.request(method, path, body, token=token, **kw)
        self.checker.check(method, path, r)
        return r

    def test_foundation_responses_conform(self):
        a = self.admin
        self.call("GET", "/healthz")
        self.call("GET", "/readyz")
        self.call("GET", "/metrics")
        self.call("GET", "/v1/me", token=a)
        self.call("GET", "/v1/me")
        self.call("POST", "/v1/schools", school_body("100001"), token=a)
        self.call("POST", "/v1/schools", school_body("100001"), token=a)  # 409
        self.call("POST", "/v1/schools", school_body("100002", phase="x"), token=a)  # 422
        self.call("POST", "/v1/schools", "{", token=a)  # 400
        self.call("GET", "/v1/schools", token=a)
        self.call("GET", "/v1/schools/100001", token=a)
        self.call("GET", "/v1/schools/100009", token=a)  # 404
        self.call("PATCH", "/v1/schools/100001", {"name": "Renamed"}, token=a)
        r = self.call("POST", "/v1/tokens", {"role": "school", "schools": ["100001"]}, token=a)
        school = r.json["token"]
        self.call("GET", "/v1/schools/100002", token=school)  # 403
        self.call("GET", "/v1/tokens", token=a)
        self.call("GET", "/v1/audit", token=a)
        self.call("DELETE", "/v1/tokens/%d" % r.json["id"], token=a)


if __name__ == "__main__":
    harness.main()
