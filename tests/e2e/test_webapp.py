"""The web app end to end (issue 15): matd serves its pages with a strict CSP, hashed
long-cache assets and gzip variants; a bearer token becomes a cookie session (HttpOnly,
Secure, SameSite=Strict, expiring, ended by sign-out and by revoking the token); writes
made with the cookie need the session's CSRF token. Then the pages in real Chromium
(tests/browser/webapp.mjs): every figure equals the API's, scopes hold, axe-core passes."""
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import unittest

import harness
from harness import Matd

COOKIE = "__Host-matd_session"


def cookie_of(resp):
    """The session cookie's value and attributes from a Set-Cookie header."""
    sc = resp.header("Set-Cookie")
    assert sc, resp.headers
    parts = [p.strip() for p in sc.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return name, value, attrs


class WebApp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_webapp"), trust="Demo Learning Trust")
        cls.m.matctl("demo", "load")
        cls.admin = cls.m.token("admin", name="web admin")
        cls.ceo = cls.m.token("ceo", name="web ceo")
        cls.school = cls.m.token("school", ["140002"], name="web school")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def req(self, method, path, token=None, headers=None, body=None):
        return self.m.request(method, path, token=token, headers=headers, body=body)

    def sign_in(self, token):
        r = self.req("POST", "/v1/sessions", token=token)
        self.assertEqual(r.status, 201, r)
        name, value, attrs = cookie_of(r)
        self.assertEqual(name, COOKIE)
        return value, r.json["csrf_token"]

    def with_cookie(self, sid, extra=None):
        h = {"Cookie": "%s=%s" % (COOKIE, sid)}
        h.update(extra or {})
        return h

    # --- serving ---

    def shell(self):
        r = self.req("GET", "/")
        self.assertEqual(r.status, 200, r)
        return r, r.body.decode()

    def asset_urls(self, html):
        return re.findall(r'(?:src|href)="(/app/[0-9a-f]{12}/[a-z0-9_.-]+)"', html)

    def test_shell_has_strict_csp_and_security_headers(self):
        r, html = self.shell()
        csp = r.header("Content-Security-Policy")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        # No inline script: every <script> names a same-origin file.
        for tag in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S):
            self.assertEqual(tag.strip(), "")
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=\"/app/)")
        # The shell revalidates by ETag.
        r2 = self.req("GET", "/", headers={"If-None-Match": r.header("ETag")})
        self.assertEqual(r2.status, 304)

    def test_assets_are_versioned_immutable_and_gzipped(self):
        _, html = self.shell()
        urls = self.asset_urls(html)
        self.assertTrue(any(u.endswith("/main.js") for u in urls), urls)
        self.assertTrue(any(u.endswith("/app.css") for u in urls), urls)
        big = 0
        for u in urls:
            plain = self.req("GET", u)
            self.assertEqual(plain.status, 200, u)
            self.assertEqual(plain.header("Cache-Control"), "public, max-age=31536000, immutable")
            self.assertIsNone(plain.header("Content-Encoding"))
            self.assertIn("default-src 'self'", plain.header("Content-Security-Policy"))
            z = self.req("GET", u, headers={"Accept-Encoding": "gzip, deflate"})
            self.assertEqual(z.status, 200)
            self.assertEqual(z.header("Vary"), "Accept-Encoding")
            if z.header("Content-Encoding") == "gzip":
                big += 1
                self.assertEqual(gzip.decompress(z.body), plain.body, u)
                self.assertLess(len(z.body), len(plain.body))
                self.assertNotEqual(z.header("ETag"), plain.header("ETag"))
            # gzip;q=0 refuses it.
            n = self.req("GET", u, headers={"Accept-Encoding": "gzip;q=0, identity"})
            self.assertIsNone(n.header("Content-Encoding"), u)
            self.assertEqual(self.req("GET", u, headers={"If-None-Match": plain.header("ETag")}).status, 304)
        self.assertGreater(big, 0, "no asset was served gzipped")
        # The JavaScript modules it imports are served from the same version.
        main = [u for u in urls if u.endswith("/main.js")][0]
        js = self.req("GET", main).body.decode()
        for mod in re.findall(r"from\s+'\./([a-z0-9_]+\.js)'", js):
            self.assertEqual(self.req("GET", main.rsplit("/", 1)[0] + "/" + mod).status, 200, mod)

    def test_asset_of_another_version_or_unknown_file_is_404(self):
        _, html = self.shell()
        u = [u for u in self.asset_urls(html) if u.endswith("/main.js")][0]
        self.assertEqual(self.req("GET", re.sub(r"/app/[0-9a-f]{12}/", "/app/000000000000/", u)).status, 404)
        self.assertEqual(self.req("GET", u.rsplit("/", 1)[0] + "/nope.js").status, 404)
        self.assertEqual(self.req("GET", u.rsplit("/", 1)[0] + "/index.html").status, 404)
        self.assertEqual(self.req("GET", u.rsplit("/", 1)[0] + "/..%2F..%2Fetc%2Fpasswd").status, 404)
        self.assertEqual(self.req("POST", "/").status, 405)

    def test_no_asset_names_another_host(self):
        _, html = self.shell()
        texts = [html] + [self.req("GET", u).body.decode() for u in self.asset_urls(html)]
        for t in texts:
            t = t.replace('xmlns="http://www.w3.org/2000/svg"', "")
            t = t.replace("'http://www.w3.org/2000/svg'", "")
            self.assertNotRegex(t, r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", "a URL to another host")

    # --- sessions ---

    def test_sign_in_sets_a_strict_cookie_and_stores_only_its_hash(self):
        r = self.req("POST", "/v1/sessions", token=self.ceo)
        self.assertEqual(r.status, 201, r)
        name, sid, attrs = cookie_of(r)
        self.assertEqual(name, COOKIE)
        self.assertRegex(sid, r"^[0-9a-f]{64}$")
        self.assertIn("httponly", attrs)
        self.assertIn("secure", attrs)
        self.assertEqual(attrs["samesite"], "Strict")
        self.assertEqual(attrs["path"], "/")
        self.assertEqual(int(attrs["max-age"]), 8 * 3600)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual(body["principal"]["role"], "ceo")
        self.assertRegex(body["csrf_token"], r"^[0-9a-f]{64}$")
        self.assertNotIn(self.ceo, r.body.decode())
        self.assertNotIn(sid, r.body.decode())
        stored = self.m.psql("SELECT encode(session_hash, 'hex') FROM sessions ORDER BY id DESC LIMIT 1")
        self.assertEqual(stored, hashlib.sha256(sid.encode()).hexdigest())
        self.assertEqual(self.m.psql("SELECT count(*) FROM sessions WHERE encode(session_hash, 'hex') = '%s'" % sid), "0")
        # The cookie alone now reads what the token reads.
        me = self.req("GET", "/v1/me", headers=self.with_cookie(sid))
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json["role"], "ceo")
        got = self.req("GET", "/v1/sessions", headers=self.with_cookie(sid))
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json["csrf_token"], body["csrf_token"])
        self.assertEqual(got.json["expires_at"], body["expires_at"])
        # Neither the token nor the session id reaches the log.
        log = self.m.synced_log()
        self.assertNotIn(self.ceo[4:20], log)
        self.assertNotIn(sid[:16], log)

    def test_sign_in_prunes_sessions_over_for_a_week(self):
        old, _ = self.sign_in(self.ceo)
        recent, _ = self.sign_in(self.ceo)
        self.m.psql("UPDATE sessions SET expires_at = now() - interval '8 days' "
                    "WHERE session_hash = sha256('%s'::bytea)" % old)
        self.m.psql("UPDATE sessions SET expires_at = now() - interval '1 day' "
                    "WHERE session_hash = sha256('%s'::bytea)" % recent)
        self.sign_in(self.ceo)
        count = "SELECT count(*) FROM sessions WHERE session_hash = sha256('%s'::bytea)"
        self.assertEqual(self.m.psql(count % old), "0")
        self.assertEqual(self.m.psql(count % recent), "1")

    def test_session_expires_with_its_token(self):
        tok = self.m.token("ceo", name="short", expires_days=1)
        r = self.req("POST", "/v1/sessions", token=tok)
        self.assertEqual(r.status, 201)
        # Never beyond the token: a token with 1 day left gives the full 8 hours, one
        # with 10 minutes left gives 10 minutes.
        tid = self.req("GET", "/v1/me", token=tok).json["token_id"]
        self.m.psql("UPDATE tokens SET expires_at = now() + interval '10 minutes' WHERE id = %d" % tid)
        r = self.req("POST", "/v1/sessions", token=tok)
        _, sid, attrs = cookie_of(r)
        self.assertLessEqual(int(attrs["max-age"]), 600)
        self.assertGreater(int(attrs["max-age"]), 500)
        self.m.psql("UPDATE sessions SET expires_at = now() - interval '1 second' "
                    "WHERE session_hash = sha256('%s'::bytea)" % sid)
        self.assertEqual(self.req("GET", "/v1/me", headers=self.with_cookie(sid)).status, 401)

    def test_revoking_the_token_ends_its_sessions(self):
        tok = self.m.token("ceo", name="to revoke")
        sid, _ = self.sign_in(tok)
        self.assertEqual(self.req("GET", "/v1/me", headers=self.with_cookie(sid)).status, 200)
        tid = self.req("GET", "/v1/me", token=tok).json["token_id"]
        self.assertEqual(self.req("DELETE", "/v1/tokens/%d" % tid, token=self.admin).status, 204)
        r = self.req("GET", "/v1/me", headers=self.with_cookie(sid))
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="matd"')

    def test_sign_out_ends_the_session_and_clears_the_cookie(self):
        sid, csrf = self.sign_in(self.ceo)
        # Sign-out is a write: it needs the CSRF token too.
        self.assertEqual(self.req("DELETE", "/v1/sessions", headers=self.with_cookie(sid)).status, 403)
        self.assertEqual(self.req("GET", "/v1/me", headers=self.with_cookie(sid)).status, 200)
        r = self.req("DELETE", "/v1/sessions", headers=self.with_cookie(sid, {"X-CSRF-Token": csrf}))
        self.assertEqual(r.status, 204, r)
        name, value, attrs = cookie_of(r)
        self.assertEqual((name, value, attrs["max-age"]), (COOKIE, "", "0"))
        self.assertEqual(self.req("GET", "/v1/me", headers=self.with_cookie(sid)).status, 401)
        self.assertEqual(self.m.psql("SELECT count(*) FROM sessions WHERE session_hash = "
                                     "sha256('%s'::bytea) AND ended_at IS NOT NULL" % sid), "1")

    def test_writes_with_the_cookie_need_the_csrf_token(self):
        sid, csrf = self.sign_in(self.school)
        path = "/v1/schools/140002/sip/2025-26/milestones/M1"
        before = self.req("GET", "/v1/schools/140002/sip/2025-26", token=self.school).body
        body = {"evidence": "written from the web app"}
        cases = [
            ("no CSRF header", {}),
            ("a wrong CSRF token", {"X-CSRF-Token": "0" * 64}),
            ("another session's token", {"X-CSRF-Token": self.sign_in(self.school)[1]}),
            ("another origin", {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}),
        ]
        for what, extra in cases:
            r = self.req("PATCH", path, headers=self.with_cookie(sid, extra), body=body)
            self.assertEqual(r.status, 403, "%s: %r" % (what, r))
            self.assertIn("session", r.json["detail"])
        after = self.req("GET", "/v1/schools/140002/sip/2025-26", token=self.school).body
        self.assertEqual(before, after, "a refused write changed the SIP")
        origin = "https://localhost:%d" % self.m.port
        r = self.req("PATCH", path, body=body,
                     headers=self.with_cookie(sid, {"X-CSRF-Token": csrf, "Origin": origin}))
        self.assertEqual(r.status, 200, r)
        sip = self.req("GET", "/v1/schools/140002/sip/2025-26", token=self.school).json
        self.assertIn("written from the web app", json.dumps(sip))
        # Reads need no CSRF token; the scope is the token's.
        self.assertEqual(self.req("GET", "/v1/schools/140002", headers=self.with_cookie(sid)).status, 200)
        self.assertEqual(self.req("GET", "/v1/schools/140001", headers=self.with_cookie(sid)).status, 403)
        self.assertEqual(self.req("GET", "/v1/progress/summary?year=2025-26&term=spring",
                                  headers=self.with_cookie(sid)).status, 403)

    def test_bad_session_requests(self):
        # A session is made from a bearer token, not from another session.
        sid, csrf = self.sign_in(self.ceo)
        r = self.req("POST", "/v1/sessions", headers=self.with_cookie(sid, {"X-CSRF-Token": csrf}))
        self.assertEqual(r.status, 400, r)
        self.assertIn("Authorization", [e["path"] for e in r.json["errors"]])
        self.assertIsNone(r.header("Set-Cookie"))
        n = self.m.psql("SELECT count(*) FROM sessions")
        for bad in ("", "zz" * 32, "a" * 63, "A" * 64, sid[:-1] + ("0" if sid[-1] != "0" else "1")):
            r = self.req("GET", "/v1/me", headers={"Cookie": "%s=%s" % (COOKIE, bad)})
            self.assertEqual(r.status, 401, bad)
        self.assertEqual(self.req("POST", "/v1/sessions").status, 401)
        self.assertEqual(self.req("POST", "/v1/sessions", token="mat_" + "0" * 64).status, 401)
        self.assertEqual(self.m.psql("SELECT count(*) FROM sessions"), n, "a refused sign-in wrote")
        # GET and DELETE describe a cookie session; with a bearer token there is none.
        self.assertEqual(self.req("GET", "/v1/sessions", token=self.ceo).status, 404)
        self.assertEqual(self.req("DELETE", "/v1/sessions", token=self.ceo).status, 404)
        # The Authorization header wins over a cookie: a bad token is a 401 whatever the cookie.
        r = self.req("GET", "/v1/me", token="mat_" + "1" * 64, headers=self.with_cookie(sid))
        self.assertEqual(r.status, 401)
        # Other cookies around ours are fine.
        r = self.req("GET", "/v1/me", headers={"Cookie": "a=b; %s=%s; c=d" % (COOKIE, sid)})
        self.assertEqual(r.status, 200, r)

    # --- matctl report: the governors' report printed to PDF ---

    def test_matctl_report_prints_the_pdf(self):
        pdf = os.path.join(self.m.tmp, "report.pdf")
        out = self.m.matctl("report", "--school", "140003", "--year", "2025-26", "--term", "spring",
                            "--pdf", pdf, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout
        text = " ".join(text.split())
        name = self.req("GET", "/v1/schools/140003", token=self.ceo).json["name"]
        summary = self.req("GET", "/v1/schools/140003/progress/2025-26/spring/summary", token=self.ceo).json
        writing = [c for c in summary["cells"] if c["subject"] == "writing" and c["group"] == "all"
                   and c["year_group"] == "all"][0]
        self.assertIn(name, text)
        self.assertIn("Spring 2025-26", text)
        self.assertIn("%.1f%%" % (writing["p_expected"] * 100), text)
        self.assertNotIn("Sign out", text)
        # The print's principal and session are over once it is done.
        self.assertEqual(self.m.psql("SELECT count(*) FROM tokens WHERE name = 'matctl report' "
                                     "AND revoked_at IS NULL"), "0")
        self.assertEqual(self.m.psql("SELECT count(*) FROM sessions s JOIN tokens t ON t.id = s.token_id "
                                     "WHERE t.name = 'matctl report' AND s.ended_at IS NULL"), "0")

    def test_matctl_report_for_the_trust(self):
        pdf = os.path.join(self.m.tmp, "trust.pdf")
        out = self.m.matctl("report", "--trust", "--year", "2025-26", "--term", "spring", "--pdf", pdf,
                            check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = " ".join(subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout.split())
        brief = self.req("GET", "/v1/briefing?year=2025-26&term=spring", token=self.ceo).json
        self.assertIn("Trust report, Spring 2025-26", text)
        for h in brief["headline"]:
            self.assertIn("%.1f%%" % (h["p"] * 100), text, h["subject"])
        for s in self.req("GET", "/v1/schools?limit=1000", token=self.ceo).json["items"]:
            self.assertIn(s["name"], text)
        self.assertEqual(self.m.psql("SELECT count(*) FROM tokens WHERE name = 'matctl report' "
                                     "AND revoked_at IS NULL"), "0")

    def test_matctl_report_bad_arguments(self):
        pdf = os.path.join(self.m.tmp, "bad.pdf")
        before = self.m.psql("SELECT count(*) FROM tokens")
        for args in (["--school", "14000", "--year", "2025-26", "--term", "spring"],
                     ["--school", "140003", "--year", "2025", "--term", "spring"],
                     ["--school", "140003", "--year", "2025-26", "--term", "winter"],
                     ["--school", "140003", "--year", "2025-26", "--term", "spring", "--bogus", "x"],
                     ["--school", "140003", "--trust", "--year", "2025-26", "--term", "spring"],
                     ["--year", "2025-26", "--term", "spring"]):
            out = self.m.matctl("report", *args, "--pdf", pdf, check=False)
            self.assertEqual(out.returncode, 2, args)
        out = self.m.matctl("report", "--school", "999999", "--year", "2025-26", "--term", "spring",
                            "--pdf", pdf, check=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("no school 999999", out.stderr)
        self.assertFalse(os.path.exists(pdf))
        self.assertEqual(self.m.psql("SELECT count(*) FROM tokens"), before, "a refused report wrote")

    # --- the pages in Chromium ---

    def test_pages_in_chromium(self):
        node = shutil.which("node")
        chromium = os.environ.get("MATD_CHROMIUM", "/usr/bin/chromium")
        modules = os.path.join(harness.SRC, "web", "node_modules", "playwright-core")
        for what, ok in (("node", node), ("chromium", os.path.exists(chromium)),
                         ("web/node_modules (npm ci in web/)", os.path.isdir(modules))):
            self.assertTrue(ok, "%s is missing: scripts/dev.sh test installs it" % what)
        shots = os.environ.get("MATD_SCREENSHOTS", "")
        tokens = {"admin": self.admin, "ceo": self.ceo, "school": self.school,
                  "exec": self.m.token("executive_head", ["140001", "140004"], name="web exec")}
        env = dict(os.environ, MATD_URL="https://localhost:%d" % self.m.port,
                   MATD_CA=os.path.join(harness.TLS, "ca.crt"), MATD_CHROMIUM=chromium,
                   MATD_TOKENS=json.dumps(tokens), MATD_SCREENSHOTS=shots,
                   NODE_PATH=os.path.join(harness.SRC, "web", "node_modules"))
        script = os.path.join(harness.SRC, "tests", "browser", "webapp.mjs")
        out = subprocess.run([node, script], env=env, capture_output=True, text=True, timeout=300)
        print(out.stdout[-6000:])
        self.assertEqual(out.returncode, 0, out.stdout[-4000:] + out.stderr[-4000:])
        # The browser never put a token or a session id in a URL the server saw.
        log = self.m.synced_log()
        for t in tokens.values():
            self.assertNotIn(t[4:20], log)


if __name__ == "__main__":
    harness.main()
