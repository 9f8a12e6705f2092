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


def served_routes():
    """(method, path) rows of daemon/routes.c."""
    text = open(os.path.join(SRC, "daemon", "routes.c")).read()
    return [(m.lower(), p) for m, p in re.findall(r'\{M_([A-Z]+),\s*"([^"]+)"', text)]


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
