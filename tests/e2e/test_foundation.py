"""Foundation over real TLS: tokens and scopes, the school registry, HTTP conventions,
limits, rate limiting, audit, metrics."""
import harness
import json
import os
import shutil
import socket
import subprocess
import unittest

from harness import Matd, school_body


class Foundation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.db = harness.fresh_database("e2e_foundation")
        cls.m = Matd(cls.db, extra_config="[limits]\nmax_body_bytes = 4096\n")
        cls.admin = cls.m.token("admin", name="admin")
        for urn in ("100001", "100002", "100003"):
            r = cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin)
            assert r.status == 201, r
        cls.school1 = cls.m.token("school", ["100001"], name="school 1")
        cls.exec_head = cls.m.token("executive_head", ["100001", "100002"], name="exec")
        cls.ceo = cls.m.token("ceo", name="ceo")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def get(self, path, token=None, **kw):
        return self.m.request("GET", path, token=token, **kw)

    def assertProblem(self, r, status, path=None):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("Content-Type").startswith("application/problem+json"), r.headers)
        doc = r.json
        self.assertEqual(doc["status"], status)
        self.assertIsInstance(doc["errors"], list)
        if path is not None:
            self.assertIn(path, [e["path"] for e in doc["errors"]], doc)
        return doc

    def count_schools(self):
        return int(self.m.psql("SELECT count(*) FROM schools"))

    # --- liveness and identity ---

    def test_healthz_and_readyz(self):
        self.assertEqual(self.get("/healthz").json, {"status": "ok"})
        r = self.get("/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "ready")

    def test_me(self):
        r = self.get("/v1/me", self.exec_head)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["role"], "executive_head")
        self.assertEqual(r.json["schools"], ["100001", "100002"])
        self.assertTrue(r.header("X-Request-Id"))

    def test_me_escapes_the_name(self):
        name = 'Ms "Quote" \\ back\tslash \u00e9t\u00e9 \u2603'
        tok = self.m.token("ceo", name=name)
        r = self.get("/v1/me", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["name"], name)
        self.assertEqual(r.json["schools"], [])
        self.assertEqual(r.json["role"], "ceo")
        self.assertIsInstance(r.json["token_id"], int)
        self.assertTrue(r.json["trust"])

    def test_me_keeps_a_long_multibyte_name_whole(self):
        # The schema counts 200 code points, not bytes: 200 three-byte characters are a
        # valid name of 600 bytes, which /v1/me must give back whole and as UTF-8 (a cut
        # in the middle of a character is not JSON a client can decode).
        for name in ("\u2603" * 200, "a" + "\u00e9" * 199, "\U0001f600" * 200):
            r = self.m.request("POST", "/v1/tokens", {"role": "ceo", "name": name}, token=self.admin)
            self.assertEqual(r.status, 201, r)
            me = self.get("/v1/me", r.json["token"])
            self.assertEqual(me.status, 200, me)
            self.assertEqual(me.body.decode("utf-8"), me.body.decode("utf-8", "strict"))
            self.assertEqual(me.json["name"], name)
        # A longer name (matctl does not count) is cut between characters, never inside one.
        tok = self.m.token("ceo", name="\u2603" * 300)
        me = self.get("/v1/me", tok)
        self.assertEqual(me.status, 200, me)
        got = me.json["name"]
        self.assertTrue(got and set(got) == {"\u2603"}, got[:20])

    def raw(self, head):
        ctx = harness.tls_context()
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.m.port), timeout=10),
                            server_hostname="localhost")
        try:
            s.sendall(head)
            out = b""
            while b"\r\n\r\n" not in out:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            return int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else None
        finally:
            s.close()

    def test_heads_around_the_stack_buffer_and_the_limit(self):
        # The gate copies a head of under 4 KiB to the stack, a larger one to the heap:
        # every length either side, with the end of line as CRLF or LF, a NUL byte at the
        # last position, and the configured limit (16384) either side.
        def head(total, eol=b"\r\n", nul=False):
            start = b"GET /v1/me HTTP/1.1" + eol + b"Host: localhost" + eol
            start += b"Authorization: Bearer " + self.admin.encode() + eol + b"X-Pad: "
            pad = total - len(start) - 2 * len(eol)
            self.assertGreater(pad, 1)
            text = start + b"p" * (pad - 1) + (b"\x00" if nul else b"p") + eol + eol
            self.assertEqual(len(text), total)
            return text
        for total in (4094, 4095, 4096, 4097, 4098, 8192, 16384):
            for eol in (b"\r\n", b"\n"):
                self.assertEqual(self.raw(head(total, eol)), 200, (total, eol))
                self.assertEqual(self.raw(head(total, eol, nul=True)), 400, (total, eol))
        self.assertNotIn(self.raw(head(16385)), (200, None))
        many = (b"GET /v1/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + self.admin.encode() + b"\r\n" +
                b"".join(b"X-H%d: v\r\n" % i for i in range(1200)) + b"\r\n")
        self.assertLess(len(many), 16384)
        self.assertEqual(self.raw(many), 200)

    def test_401_without_token(self):
        r = self.get("/v1/me")
        self.assertProblem(r, 401)
        self.assertTrue(r.header("WWW-Authenticate").startswith("Bearer"))

    def test_401_with_garbage_token(self):
        self.assertProblem(self.get("/v1/me", "not-a-token"), 401)
        self.assertProblem(self.get("/v1/me", "mat_" + "0" * 64), 401)

    def test_401_with_revoked_token(self):
        tok = self.m.token("ceo", name="to revoke")
        self.assertEqual(self.get("/v1/me", tok).status, 200)
        tid = self.get("/v1/me", tok).json["token_id"]
        r = self.m.request("DELETE", "/v1/tokens/%d" % tid, token=self.admin)
        self.assertEqual(r.status, 204)
        self.assertProblem(self.get("/v1/me", tok), 401)
        self.assertEqual(self.m.request("DELETE", "/v1/tokens/999999", token=self.admin).status, 404)

    def test_revocation_reaches_every_worker_cache(self):
        # Each worker caches tokens on its own; fresh connections land on both workers
        # (SO_REUSEPORT), so after twenty of them both caches hold the token (or the test
        # is weaker by 2**-19), and none may serve it once the revocation has answered.
        tok = self.m.token("ceo", name="cached everywhere")
        for _ in range(20):
            self.assertEqual(self.get("/v1/me", tok).status, 200)
        tid = self.get("/v1/me", tok).json["token_id"]
        self.assertEqual(self.m.request("DELETE", "/v1/tokens/%d" % tid, token=self.admin).status, 204)
        for _ in range(20):
            self.assertProblem(self.get("/v1/me", tok), 401)

    def test_401_with_expired_token(self):
        tok = self.m.token("ceo", name="expiring", expires_days=1)
        tid = None
        for t in self.get("/v1/tokens?limit=1000", self.admin).json["items"]:
            if t["name"] == "expiring":
                tid = t["id"]
        self.m.psql("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = %d" % tid)
        self.assertProblem(self.get("/v1/me", tok), 401)

    def test_token_api_shows_token_once_and_stores_hash(self):
        r = self.m.request("POST", "/v1/tokens", {"role": "school", "schools": ["100002"],
                                                  "name": "api-made"}, token=self.admin)
        self.assertEqual(r.status, 201, r)
        tok = r.json["token"]
        self.assertTrue(tok.startswith("mat_") and len(tok) == 68)
        self.assertEqual(self.get("/v1/me", tok).json["schools"], ["100002"])
        listed = self.get("/v1/tokens?limit=1000", self.admin).json["items"]
        self.assertNotIn(tok, json.dumps(listed))
        self.assertEqual(self.m.psql("SELECT count(*) FROM tokens WHERE token_hash = sha256('%s'::bytea)" % tok), "1")

    def test_token_create_validation(self):
        r = self.m.request("POST", "/v1/tokens", {"role": "school"}, token=self.admin)
        self.assertProblem(r, 422, "/schools")
        r = self.m.request("POST", "/v1/tokens", {"role": "wizard"}, token=self.admin)
        self.assertProblem(r, 422, "/role")
        r = self.m.request("POST", "/v1/tokens", {"role": "school", "schools": ["999999"]}, token=self.admin)
        self.assertProblem(r, 422, "/schools")

    # --- scope rules: every role against every route class ---

    def test_scope_matrix(self):
        before = self.count_schools()
        cases = [
            # (token, method, path, body, expected)
            (self.school1, "GET", "/v1/schools/100001", None, 200),
            (self.school1, "GET", "/v1/schools/100002", None, 403),
            (self.school1, "POST", "/v1/schools", school_body("100009"), 403),
            (self.school1, "PATCH", "/v1/schools/100001", {"name": "x"}, 403),
            (self.school1, "GET", "/v1/tokens", None, 403),
            (self.school1, "GET", "/v1/audit", None, 403),
            (self.exec_head, "GET", "/v1/schools/100002", None, 200),
            (self.exec_head, "GET", "/v1/schools/100003", None, 403),
            (self.exec_head, "POST", "/v1/tokens", {"role": "ceo"}, 403),
            (self.ceo, "GET", "/v1/schools/100003", None, 200),
            (self.ceo, "PATCH", "/v1/schools/100003", {"name": "x"}, 403),
            (self.ceo, "DELETE", "/v1/tokens/1", None, 403),
            (self.admin, "GET", "/v1/schools/100003", None, 200),
        ]
        for tok, method, path, body, want in cases:
            r = self.m.request(method, path, body, token=tok)
            self.assertEqual(r.status, want, (method, path, r))
            if want == 403:
                self.assertProblem(r, 403)
        self.assertEqual(self.count_schools(), before)

    def test_school_list_is_scoped(self):
        urns = lambda tok: [s["urn"] for s in self.get("/v1/schools", tok).json["items"]]
        self.assertEqual(urns(self.school1), ["100001"])
        self.assertEqual(urns(self.exec_head), ["100001", "100002"])
        self.assertEqual(urns(self.ceo)[:3], ["100001", "100002", "100003"])

    # --- school registry and validation ---

    def test_school_create_get_patch(self):
        r = self.m.request("POST", "/v1/schools", school_body("100010", name="Claremont Primary"),
                           token=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Location"), "/v1/schools/100010")
        self.assertEqual(r.json["name"], "Claremont Primary")
        r = self.m.request("PATCH", "/v1/schools/100010", {"category": True, "postcode": None},
                           token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["category"])
        self.assertIsNone(r.json["postcode"])
        self.assertEqual(r.json["name"], "Claremont Primary")
        self.assertEqual(self.m.request("PATCH", "/v1/schools/999998", {"name": "x"},
                                        token=self.admin).status, 404)
        self.assertEqual(self.get("/v1/schools/999998", self.admin).status, 404)

    def test_malformed_urn_in_path_is_404_for_everyone(self):
        for urn in ("12345a", "1234567", "1%0A2345", "10000%09", "1,2"):
            r = self.get("/v1/schools/%s/progress/2025-26/autumn/summary" % urn, self.admin)
            self.assertEqual(r.status, 404, (urn, r))
        r = self.m.request("PUT", "/v1/schools/1%09/progress/2025-26/autumn",
                           '{"records": []}', token=self.admin)
        self.assertEqual(r.status, 404)

    def test_unknown_tokens_are_remembered_and_bounded(self):
        bogus = "mat_" + "f" * 64
        for _ in range(3):
            self.assertProblem(self.get("/v1/me", bogus), 401)

    def test_school_duplicate_is_409(self):
        r = self.m.request("POST", "/v1/schools", school_body("100001"), token=self.admin)
        self.assertProblem(r, 409, "/urn")

    def test_bad_school_bodies(self):
        before = self.count_schools()
        cases = [
            (b'{"urn": "100020", "name": ', 400, None),
            (b'[1, 2]', 400, None),
            (json.dumps(school_body("100020", colour="blue")), 422, "/colour"),
            (json.dumps(school_body("10002")), 422, "/urn"),
            (json.dumps(school_body("100020", phase="college")), 422, "/phase"),
            (json.dumps(school_body("100020", pupils_on_roll="many")), 422, "/pupils_on_roll"),
            (json.dumps(school_body("100020", lat=123.0)), 422, "/lat"),
            (json.dumps(school_body("100020", joined_on="2019-02-30")), 422, "/joined_on"),
            (json.dumps(school_body("100020", laestab="12")), 422, "/laestab"),
            (json.dumps(school_body("100020", joined_on="2020-09-01", left_on="2019-08-31")), 422,
             "/left_on"),
            (json.dumps({k: v for k, v in school_body("100020").items() if k != "name"}), 422,
             "/name"),
        ]
        for body, status, path in cases:
            r = self.m.request("POST", "/v1/schools", body, token=self.admin)
            self.assertProblem(r, status, path)
        self.assertEqual(self.count_schools(), before)
        self.assertEqual(self.get("/v1/schools/100020", self.admin).status, 404)

    def test_wrong_content_type_is_415(self):
        r = self.m.request("POST", "/v1/schools", json.dumps(school_body("100021")),
                           token=self.admin, content_type="text/plain")
        self.assertProblem(r, 415)
        self.assertEqual(self.get("/v1/schools/100021", self.admin).status, 404)

    def test_oversized_body_is_413(self):
        body = school_body("100022", name="x" * 8000)
        r = self.m.request("POST", "/v1/schools", body, token=self.admin)
        self.assertProblem(r, 413)
        self.assertEqual(self.get("/v1/schools/100022", self.admin).status, 404)

    # --- HTTP conventions ---

    def test_unknown_route_404_and_method_405(self):
        self.assertProblem(self.get("/v1/nothing", self.admin), 404)
        r = self.m.request("DELETE", "/v1/schools", token=self.admin)
        self.assertProblem(r, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD, POST")

    def test_etag_and_304(self):
        r = self.get("/v1/schools/100001", self.admin)
        etag = r.header("ETag")
        self.assertTrue(etag and etag.startswith('"'))
        r2 = self.get("/v1/schools/100001", self.admin, headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        self.assertEqual(r2.body, b"")
        r3 = self.get("/v1/schools/100001", self.admin, headers={"If-None-Match": '"other"'})
        self.assertEqual(r3.status, 200)

    def test_cursor_paging(self):
        seen, cursor = [], None
        while True:
            path = "/v1/schools?limit=2" + ("&cursor=" + cursor if cursor else "")
            page = self.get(path, self.admin).json
            self.assertLessEqual(len(page["items"]), 2)
            seen += [s["urn"] for s in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, sorted(set(seen)))
        self.assertGreaterEqual(len(seen), 3)
        self.assertProblem(self.get("/v1/schools?limit=5000", self.admin), 422, "limit")
        self.assertProblem(self.get("/v1/schools?cursor=!!", self.admin), 422, "cursor")

    def test_audit_records_writes_and_denials(self):
        self.m.request("GET", "/v1/schools/100003", token=self.school1)  # denied
        self.m.request("PATCH", "/v1/schools/100002", {"pupils_on_roll": 300}, token=self.admin)

        def denied_row():  # audit rows are written after the reply
            items = self.get("/v1/audit?limit=1000", self.admin).json["items"]
            rows = [a for a in items if a["path"] == "/v1/schools/100003" and a["status"] == 403]
            writes = [a for a in items if a["method"] == "PATCH" and a["path"] == "/v1/schools/100002"]
            return (items, rows) if rows and writes else None
        items, denied = harness.wait_for(denied_row, "the audit rows of a denial and a write")
        self.assertEqual(denied[0]["principal_role"], "school")
        writes = [a for a in items if a["method"] == "PATCH" and a["path"] == "/v1/schools/100002"]
        self.assertTrue(writes)
        self.assertEqual(writes[0]["status"], 200)
        self.assertEqual(writes[0]["client_addr"], "127.0.0.1")

    def test_stop_writes_what_it_owes(self):
        """SIGTERM drains the database work a reply left behind: the denial counts (flushed
        every denial_flush_s, here a minute) and the audit rows of the last writes reach
        the database before matd exits."""
        m = harness.Matd(harness.fresh_database("e2e_stop_flushes"),
                         extra_config="[server]\ndenial_flush_s = 60\n")
        admin = m.token("admin")
        for _ in range(3):
            self.assertEqual(m.request("GET", "/v1/me", token="mat_" + "0" * 64).status, 401)
        for i in range(5):
            self.assertEqual(m.request("POST", "/v1/schools", harness.school_body("10010%d" % i),
                                       token=admin).status, 201)
        self.assertEqual(m.stop(), 0)
        self.assertEqual(m.psql("SELECT coalesce(sum(count), 0) FROM audit_log WHERE path = '*' "
                                "AND status = 401"), "3")
        self.assertEqual(m.psql("SELECT count(*) FROM audit_log WHERE method = 'POST' AND "
                                "path = '/v1/schools' AND status = 201"), "5")

    def test_metrics(self):
        self.get("/healthz")
        r = self.get("/metrics")
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        self.assertIn('matd_http_requests_total{route="healthz",status="200"}', text)
        self.assertIn("matd_http_request_duration_seconds_bucket", text)
        self.assertIn("matd_db_pool_up", text)
        # Every family has HELP and TYPE and the text parses: Prometheus's own checker
        # (scripts/dev.sh installs it with the prometheus package).
        promtool = shutil.which("promtool")
        self.assertTrue(promtool, "promtool not installed (scripts/dev.sh installs prometheus)")
        out = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_keepalive_many_requests_one_connection(self):
        conn = self.m.connect()
        for _ in range(50):
            r = self.m.request("GET", "/v1/me", token=self.ceo, conn=conn)
            self.assertEqual(r.status, 200)
        conn.close()


class RateLimit(unittest.TestCase):
    def test_429_with_retry_after(self):
        db = harness.fresh_database("e2e_ratelimit")
        # One token a minute: however slow the machine, the bucket does not refill mid-test.
        m = Matd(db, extra_config="[limits]\nrate_limit_per_minute = 1\nrate_limit_burst = 5\n")
        try:
            tok = m.token("ceo")
            statuses = [m.request("GET", "/v1/me", token=tok).status for _ in range(8)]
            self.assertEqual(statuses, [200] * 5 + [429] * 3)
            r = m.request("GET", "/v1/me", token=tok)
            self.assertEqual(r.status, 429)
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
            other = m.token("ceo", name="other")
            self.assertEqual(m.request("GET", "/v1/me", token=other).status, 200)
        finally:
            self.assertEqual(m.stop(), 0)


if __name__ == "__main__":
    harness.main()
