"""Checks matd's responses against proto/openapi.yaml (OpenAPI 3.1, JSON Schema 2020-12)."""
import json
import os
import re

import jsonschema
import yaml

SRC = os.environ.get("MATD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(SRC, "proto", "openapi.yaml")


def load_spec():
    with open(SPEC_PATH) as f:
        return yaml.safe_load(f)


def load_schema_file(name):
    with open(os.path.join(SRC, "proto", name)) as f:
        return json.load(f)


def _routes_text():
    with open(os.path.join(SRC, "daemon", "handlers", "routes.c")) as f:
        return f.read()


def served_routes():
    """(method, path) rows of daemon/handlers/routes.c."""
    return [(m.lower(), p) for m, p in re.findall(r'\{M_([A-Z]+),\s*"([^"]+)"', _routes_text())]


ROUTE_ROW = re.compile(
    r'\{M_([A-Z]+),\s*"([^"]+)",\s*DEF\(\s*"([^"]+)",\s*\w+,\s*(ACCESS_[A-Z_]+),\s*'
    r'(BODY_[A-Z_]+),\s*(NULL|"[^"]*"),\s*(NULL|"[^"]*")\s*\)\s*\}')


def route_table():
    """Every row of daemon/handlers/routes.c as a dict: method (lower case), path, name (the metrics
    label), access (ACCESS_*), body (BODY_*), schema (file name under proto/schemas/ or None),
    query (the query parameters it takes, "limit, cursor"; "*" any; None none)."""
    out = []
    for m, path, name, access, body, schema, query in ROUTE_ROW.findall(_routes_text()):
        out.append({"method": m.lower(), "path": path, "name": name, "access": access,
                    "body": body, "schema": None if schema == "NULL" else schema.strip('"'),
                    "query": None if query == "NULL" else query.strip('"')})
    return out


def resolve(spec, node):
    """Follows a local $ref ("#/components/...") in the document; other nodes unchanged."""
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        out = spec
        for part in node["$ref"][2:].split("/"):
            out = out[part]
        node = out
    return node


def template_for(spec, path):
    """The spec's path template matching a concrete path."""
    for tmpl in spec["paths"]:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path):
            return tmpl
    return None


class Checker:
    def __init__(self):
        self.spec = load_spec()
        self.resolver = jsonschema.RefResolver(
            base_uri="file://" + os.path.join(SRC, "proto") + "/openapi.yaml",
            referrer=self.spec, handlers={"file": self._file_handler})

    def _file_handler(self, uri):
        path = uri[len("file://"):]
        if path.endswith(".yaml"):
            return self.spec
        with open(path) as f:
            return json.load(f)

    def check(self, method, path, response):
        """Raises AssertionError when the response is not what the spec says."""
        tmpl = template_for(self.spec, path.split("?")[0])
        assert tmpl, "path %s is not in openapi.yaml" % path
        op = self.spec["paths"][tmpl].get(method.lower())
        assert op, "%s %s is not in openapi.yaml" % (method, tmpl)
        responses = op["responses"]
        key = str(response.status)
        assert key in responses, "%s %s answered %s, not documented (%s)" % (
            method, tmpl, key, sorted(responses))
        resp = responses[key]
        if "$ref" in resp:
            resp = self.resolver.resolve(resp["$ref"])[1]
        for name, header in (resp.get("headers") or {}).items():
            if "$ref" in header:
                header = self.resolver.resolve(header["$ref"])[1]
            if header.get("required"):
                assert response.header(name), "%s %s %s: required header %s missing" % (
                    method, tmpl, key, name)
        content = resp.get("content")
        if not content or response.status == 304:
            return
        ctype = (response.header("Content-Type") or "").split(";")[0].strip()
        assert ctype in content, "%s %s %s: content type %s not in %s" % (
            method, tmpl, key, ctype, list(content))
        schema = content[ctype].get("schema")
        if schema and ctype.endswith("json"):
            jsonschema.validate(response.json, schema, cls=jsonschema.Draft202012Validator,
                                resolver=self.resolver)
