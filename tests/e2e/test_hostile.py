"""Hostile clients and concurrent writers (issue 12): each attack from the outside review,
reproduced against a real matd on loopback, bounded in time and connections. Attackers
bind to other loopback addresses (127.0.0.2, 127.0.0.3) than the normal client (127.0.0.1),
as they would be other hosts."""
import base64
import harness
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


if __name__ == "__main__":
    harness.main()
