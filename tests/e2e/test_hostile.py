"""Hostile clients and concurrent writers (issue 12): each attack from the outside review,
reproduced against a real matd on loopback, bounded in time and connections. Attackers
bind to other loopback addresses (127.0.0.2, 127.0.0.3) than the normal client (127.0.0.1),
as they would be other hosts."""
import base64
import harness
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from harness import Matd, school_body
from bodies import SEF_2025

REVIEW = {"framework": "ofsted_2025", "review_date": "2026-11-20", "summary": "Writing gap.",
          "findings": {"achievement": {"grade": "needs_attention", "narrative": "KS2 writing."}},
          "actions": [{"ref": "A1", "action": "Moderate Y6 writing", "owner": "J. Patel",
                       "due": "2027-02-12", "status": "not_started"}]}

# One log line: key=value pairs, a value bare or quoted with \" \\ \n \xNN escapes.
LOGFMT = re.compile(r'^(?:[a-z_]+=(?:"(?:[^"\\\x00-\x1f]|\\["\\nr]|\\x[0-9a-f]{2})*"|'
                    r'[^\s"=]*)(?: |$))+$')


def log_lines(m):
    m.log.flush()
    with open(m.log.name) as f:
        return f.read().splitlines()


def attacker_socket(port, source, timeout=10):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


class WeakSecret(unittest.TestCase):
    def run_matd(self, secret_bytes, mode):
        d = tempfile.mkdtemp(dir=os.environ.get("MATD_TEST_TMP"))
        secret = os.path.join(d, "trust.secret")
        with open(secret, "wb") as f:
            f.write(secret_bytes)
        os.chmod(secret, mode)
        conf = os.path.join(d, "matd.conf")
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\ntls_cert = %s/server.crt\n"
                    "tls_key = %s/server.key\n[database]\ndsn = host=127.0.0.1 port=1 "
                    "connect_timeout=1\n[trust]\nsecret_file = %s\n"
                    % (harness.free_port(), harness.TLS, harness.TLS, secret))
        p = subprocess.Popen([harness.MATD, "-c", conf], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=3)
            return p.returncode, err
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return None, ""  # still running: it accepted the secret

    def test_weak_or_exposed_secret_is_refused(self):
        rc, err = self.run_matd(b"x\n", 0o600)
        self.assertNotIn(rc, (None, 0))
        self.assertIn("at least 32", err)
        rc, err = self.run_matd(b"a" * 31, 0o600)
        self.assertNotIn(rc, (None, 0))
        self.assertIn("31 bytes", err)
        rc, err = self.run_matd(os.urandom(16).hex().encode(), 0o644)
        self.assertNotIn(rc, (None, 0))
        self.assertIn("chmod 600", err)
        rc, err = self.run_matd(os.urandom(16).hex().encode(), 0o640)
        self.assertNotIn(rc, (None, 0))
        # A good secret is accepted (matd keeps running, waiting for its database).
        rc, err = self.run_matd(os.urandom(16).hex().encode(), 0o600)
        self.assertIsNone(rc, err)

    def test_matctl_secret_init_writes_a_good_one(self):
        d = tempfile.mkdtemp(dir=os.environ.get("MATD_TEST_TMP"))
        path = os.path.join(d, "s")
        out = subprocess.run([harness.MATCTL, "secret", "init", path], capture_output=True,
                             text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        text = open(path).read().strip()
        self.assertRegex(text, r"^[0-9a-f]{64}$")
        # Never overwrites, and two secrets differ.
        out = subprocess.run([harness.MATCTL, "secret", "init", path], capture_output=True,
                             text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(open(path).read().strip(), text)
        path2 = os.path.join(d, "s2")
        subprocess.run([harness.MATCTL, "secret", "init", path2], check=True)
        self.assertNotEqual(open(path2).read(), open(path).read())


class LogInjection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Matd(harness.fresh_database("e2e_hostile_log"))
        cls.admin = cls.m.token("admin")

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def test_forged_cursor_leaves_one_well_formed_line(self):
        forged = base64.urlsafe_b64encode(
            b"c1:1 msg=request status=200 principal=1 forged=yes").decode().rstrip("=")
        for path in ("/v1/rotas", "/v1/schools", "/v1/submissions", "/v1/tokens"):
            r = self.m.request("GET", path + "?cursor=" + forged, token=self.admin)
            self.assertEqual(r.status, 422, (path, r))
            self.assertEqual(r.json["errors"][0]["path"], "cursor")
            rid = r.header("X-Request-Id")
            mine = [l for l in log_lines(self.m) if rid in l]
            self.assertEqual(len(mine), 1, mine)
            self.assertRegex(mine[0], LOGFMT)
            self.assertNotIn("forged", mine[0])
        for line in log_lines(self.m):
            self.assertRegex(line, LOGFMT)
            self.assertNotIn("forged=yes", line)


def run_threads(n, fn):
    out = [None] * n
    errors = []

    def body(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # reported below: a thread's failure fails the test
            errors.append(e)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return out


class Writers(unittest.TestCase):
    """Concurrent writers of one document and the review routes' uniform 404."""

    @classmethod
    def setUpClass(cls):
        cls.m = Matd(harness.fresh_database("e2e_hostile_writers"))
        cls.m.matctl("demo", "load")
        cls.admin = cls.m.token("admin")
        rotas = cls.m.request("GET", "/v1/rotas", token=cls.admin).json["items"]
        pub = [x for x in rotas if x["status"] == "published"][0]
        cls.rota = cls.m.request("GET", "/v1/rotas/%d" % pub["id"], token=cls.admin).json
        cls.triad = cls.rota["terms"][0]["triads"][0]
        cls.focus = cls.triad["host"]
        cls.reviewer = [u for u in cls.triad["members"] if u != cls.focus][0]
        every = sorted({u for t in cls.rota["terms"][0]["triads"] for u in t["members"]})
        cls.outsider = [u for u in every if u not in cls.triad["members"]][0]
        cls.t_reviewer = cls.m.token("school", [cls.reviewer])
        cls.t_outsider = cls.m.token("school", [cls.outsider])

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def review_path(self, rota=None, triad=None, urn=None):
        return "/v1/rotas/%d/triads/%d/reviews/%s" % (
            rota or self.rota["id"], triad or self.triad["triad"], urn or self.focus)

    def concurrent(self, method, path, bodies, token):
        def writer(i):
            c = self.m.connect()
            try:
                return [self.m.request(method, path, b, token=token, conn=c).status
                        for b in bodies[i]]
            finally:
                c.close()
        return [st for sts in run_threads(len(bodies), writer) for st in sts]

    def test_eight_by_five_review_writers_never_500(self):
        path = self.review_path()
        before = int(self.m.psql("SELECT count(*) FROM triad_reviews"))
        v0 = int(self.m.psql("SELECT coalesce(max(version), 0) FROM triad_reviews WHERE urn = '%s' "
                             "AND rota_id = %d AND triad = %d"
                             % (self.focus, self.rota["id"], self.triad["triad"])))
        bodies = [[dict(REVIEW, summary="writer %d take %d" % (i, k)) for k in range(5)]
                  for i in range(8)]
        statuses = self.concurrent("PUT", path, bodies, self.t_reviewer)
        self.assertEqual(statuses, [201] * 40)
        versions = self.m.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                               "triad_reviews WHERE urn = '%s'" % self.focus)
        self.assertEqual(versions, ",".join(str(v) for v in range(1, 41)))
        self.assertEqual(int(self.m.psql("SELECT count(*) FROM triad_reviews")), before + 40)

    def test_eight_by_five_sef_writers_never_500(self):
        urn = self.reviewer
        token = self.m.token("school", [urn])
        path = "/v1/schools/%s/sef/2026-27" % urn
        bodies = [[dict(SEF_2025, safeguarding="met" if (i + k) % 2 else "not_met",
                        areas=dict(SEF_2025["areas"], achievement=dict(
                            SEF_2025["areas"]["achievement"], evidence="w%d k%d" % (i, k))))
                   for k in range(5)] for i in range(8)]
        statuses = self.concurrent("PUT", path, bodies, token)
        self.assertEqual(sorted(set(statuses)), [201], statuses)
        versions = self.m.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                               "sef_versions WHERE urn = '%s' AND year = '2026-27'" % urn)
        self.assertEqual(versions, ",".join(str(v) for v in range(1, 41)))

    def test_duplicate_action_refs_are_422_naming_the_field(self):
        path = self.review_path()
        before = self.m.psql("SELECT count(*) FROM triad_reviews")
        dup = dict(REVIEW, actions=[REVIEW["actions"][0], dict(REVIEW["actions"][0])])
        r = self.m.request("PUT", path, dup, token=self.t_reviewer)
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["/actions/1/ref"])
        self.assertEqual(self.m.psql("SELECT count(*) FROM triad_reviews"), before)

    def test_review_probe_reveals_nothing(self):
        draft = self.m.request("POST", "/v1/rotas", {"terms": [{"year": "2029-30",
                                                                "term": "autumn"}], "seed": 5},
                               token=self.admin)
        self.assertEqual(draft.status, 201, draft)
        d = draft.json
        dt = d["terms"][0]["triads"][0]
        d_focus = dt["host"]
        d_member = [u for u in dt["members"] if u != d_focus][0]
        d_out = [u for t in d["terms"][0]["triads"] for u in t["members"]
                 if u not in dt["members"]][0]
        tokens = {"member": self.m.token("school", [d_member]),
                  "outsider": self.m.token("school", [d_out])}
        answers = set()
        bad_body = {"framework": "nonsense"}
        probes = [
            # A draft rota, whoever asks, with a good or a bad body.
            ("GET", self.review_path(d["id"], dt["triad"], d_focus), None, tokens["member"]),
            ("GET", self.review_path(d["id"], dt["triad"], d_focus), None, tokens["outsider"]),
            ("PUT", self.review_path(d["id"], dt["triad"], d_focus), REVIEW, tokens["member"]),
            ("PUT", self.review_path(d["id"], dt["triad"], d_focus), bad_body, tokens["outsider"]),
            # A published triad, asked by a school outside it, good body or bad.
            ("GET", self.review_path(), None, self.t_outsider),
            ("PUT", self.review_path(), REVIEW, self.t_outsider),
            ("PUT", self.review_path(), bad_body, self.t_outsider),
            # Things that do not exist.
            ("GET", self.review_path(triad=9999), None, self.t_reviewer),
            ("GET", self.review_path(rota=987654), None, self.t_reviewer),
            ("GET", self.review_path(urn=self.outsider), None, self.t_reviewer),
        ]
        for method, path, body, token in probes:
            r = self.m.request(method, path, body, token=token)
            self.assertEqual(r.status, 404, (method, path, r))
            doc = r.json
            answers.add((doc["title"], doc["detail"], json_keys(doc)))
        self.assertEqual(len(answers), 1, answers)
        # Nothing written by any of it.
        self.assertEqual(self.m.psql("SELECT count(*) FROM triad_reviews WHERE rota_id = %d"
                                     % d["id"]), "0")


class Floods(unittest.TestCase):
    """Unauthenticated and bad-token floods cost no database write per request and do not
    lock out valid clients sharing the address; certificate clients run at full rate."""

    @classmethod
    def setUpClass(cls):
        cls.m = Matd(harness.fresh_database("e2e_hostile_floods"),
                     extra_config="[server]\ndenial_flush_s = 3\ntls_client_ca = %s/ca.crt\n"
                     % harness.TLS)
        cls.admin = cls.m.token("admin")
        cls.m.request("POST", "/v1/schools", school_body("100001"), token=cls.admin)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def conn_from(self, source, cert=None):
        return http.client.HTTPSConnection("localhost", self.m.port,
                                           context=harness.tls_context(cert), timeout=30,
                                           source_address=(source, 0))

    def test_unauthenticated_flood_is_counted_not_written(self):
        valid = self.m.token("school", ["100001"], name="behind the proxy")
        # The valid client shares the attackers' address (a trust's proxy) and was in use.
        vc = self.conn_from("127.0.0.2")
        self.assertEqual(self.m.request("GET", "/v1/me", token=valid, conn=vc).status, 200)
        time.sleep(3.5)  # let the flush period that saw it end
        rows0 = int(self.m.psql("SELECT count(*) FROM audit_log"))
        stop = threading.Event()
        valid_statuses = []

        def valid_client():
            while not stop.is_set():
                valid_statuses.append(
                    self.m.request("GET", "/v1/me", token=valid, conn=vc).status)
                time.sleep(0.01)
        vt = threading.Thread(target=valid_client)
        vt.start()
        per_thread = 5000

        def attacker(i):
            c = self.conn_from("127.0.0.2" if i % 2 else "127.0.0.3")
            seen = {}
            for k in range(per_thread):
                # Half send no token, half a made-up one (each new: a database lookup each,
                # until the address's lookup budget runs out).
                token = None if i < 2 else "mat_" + os.urandom(32).hex()
                st = self.m.request("GET", "/v1/me", token=token, conn=c).status
                seen[st] = seen.get(st, 0) + 1
            c.close()
            return seen
        t0 = time.time()
        results = run_threads(4, attacker)
        elapsed = time.time() - t0
        stop.set()
        vt.join()
        denied = {}
        for seen in results:
            for st, n in seen.items():
                denied[st] = denied.get(st, 0) + n
        self.assertEqual(sum(denied.values()), 4 * per_thread)
        self.assertEqual(set(denied) - {401, 429}, set(), denied)
        self.assertGreater(denied.get(429, 0), 0, denied)  # the lookup limiter engaged
        self.assertTrue(valid_statuses)
        self.assertEqual(set(valid_statuses), {200}, valid_statuses)
        time.sleep(6.5)  # two flush periods
        rows = int(self.m.psql("SELECT count(*) FROM audit_log")) - rows0
        self.assertLess(rows, 100)
        # The rows account for every denial, per address and status.
        counted = dict((int(k), int(v)) for k, v in (
            line.split("|") for line in self.m.psql(
                "SELECT status, sum(count) FROM audit_log WHERE path = '*' AND client_addr IN "
                "('127.0.0.2', '127.0.0.3') GROUP BY status").splitlines()))
        self.assertEqual(counted, denied)
        print("flood: %d requests in %.1f s, %d audit rows, valid client %d x 200"
              % (4 * per_thread, elapsed, rows, len(valid_statuses)))

    def test_certificate_clients_run_at_full_rate(self):
        subject = "O=matd dev,CN=school-100001"
        self.m.token("school", ["100001"], name="cert school")
        self.m.psql("UPDATE tokens SET cert_subject = '%s' WHERE name = 'cert school'" % subject)
        c = self.conn_from("127.0.0.1", cert="client")
        statuses = [self.m.request("GET", "/v1/me", conn=c).status for _ in range(500)]
        c.close()
        self.assertEqual(statuses, [200] * 500)
        # An unknown certificate is denied, and cached as denied like a bad token.
        self.m.psql("UPDATE tokens SET cert_subject = NULL WHERE name = 'cert school'")
        time.sleep(5.2)  # the positive entry's lifetime
        c = self.conn_from("127.0.0.1", cert="client")
        statuses = [self.m.request("GET", "/v1/me", conn=c).status for _ in range(400)]
        c.close()
        self.assertEqual(statuses, [401] * 400)


def json_keys(doc):
    return tuple(sorted(doc))


if __name__ == "__main__":
    harness.main()
