"""The daemon under operational stress: the database going away and coming back, SIGHUP
certificate reload with connections open, SIGTERM drain with a request in flight, client
certificates, and slow or vanished clients."""
import harness
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Matd, PrivateCluster, school_body


def peer_cert_digest(conn):
    return hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest()


class DatabaseOutage(unittest.TestCase):
    def test_503_while_down_then_recovers_without_restart(self):
        pg = PrivateCluster()
        m = None
        try:
            m = Matd("matd", pg_port=pg.port)
            admin = m.token("admin")
            self.assertEqual(m.request("GET", "/v1/schools", token=admin).status, 200)
            pg.stop()
            # Liveness stays up; data routes answer 503 (never hang, never crash).
            deadline = time.time() + 15
            saw_503 = False
            while time.time() < deadline and not saw_503:
                r = m.request("GET", "/v1/schools", token=admin)
                self.assertIn(r.status, (200, 503), r)
                saw_503 = r.status == 503
            self.assertTrue(saw_503)
            self.assertTrue(r.header("Retry-After"))
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.assertEqual(m.request("GET", "/readyz").status, 503)
            pg.start()
            deadline = time.time() + 30
            status = None
            while time.time() < deadline:
                status = m.request("GET", "/v1/schools", token=admin).status
                if status == 200:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 200, m.log_text())
            r = m.request("POST", "/v1/schools", school_body("100001"), token=admin)
            self.assertEqual(r.status, 201)
            self.assertEqual(m.proc.poll(), None)
        finally:
            if m:
                self.assertEqual(m.stop(), 0)
            pg.destroy()

    def test_starts_while_database_is_down(self):
        pg = PrivateCluster()
        m = None
        try:
            pg.stop()
            m = Matd("matd", pg_port=pg.port, wait_ready=False)
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.assertEqual(m.request("GET", "/readyz").status, 503)
            r = m.request("GET", "/v1/me", token="mat_" + "0" * 64)
            self.assertEqual(r.status, 503)
            pg.start()
            m.wait_ready(timeout=40)
            admin = m.token("admin")
            self.assertEqual(m.request("GET", "/v1/me", token=admin).status, 200)
        finally:
            if m:
                self.assertEqual(m.stop(), 0)
            pg.destroy()


class Signals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.db = harness.fresh_database("e2e_signals")

    def test_sighup_reloads_certificate_keeping_connections(self):
        tls = tempfile.mkdtemp(prefix="tls-", dir=os.environ.get("MATD_TEST_TMP"))
        for f in ("server.crt", "server.key", "ca.crt"):
            shutil.copy(os.path.join(harness.TLS, f), tls)
        m = Matd(self.db, tls_dir=tls)
        try:
            admin = m.token("admin")
            old = m.connect()
            self.assertEqual(m.request("GET", "/v1/me", token=admin, conn=old).status, 200)
            before = peer_cert_digest(old)
            # A new certificate for the same name from the same CA.
            ca = harness.TLS
            subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
                            "-keyout", tls + "/server.key", "-out", tls + "/server.csr"],
                           check=True, capture_output=True)
            subprocess.run(["openssl", "x509", "-req", "-in", tls + "/server.csr", "-CA",
                            ca + "/ca.crt", "-CAkey", ca + "/ca.key", "-CAcreateserial", "-days",
                            "30", "-extfile", ca + "/ext.cnf", "-out", tls + "/server.crt"],
                           check=True, capture_output=True)
            m.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            after = before
            while time.time() < deadline and after == before:
                time.sleep(0.1)
                c = m.connect()
                m.request("GET", "/healthz", conn=c)
                after = peer_cert_digest(c)
                c.close()
            self.assertNotEqual(before, after, "new connections should see the new certificate")
            # The connection opened before the reload still works.
            self.assertEqual(m.request("GET", "/v1/me", token=admin, conn=old).status, 200)
            old.close()
            # A broken certificate on reload keeps the running one.
            open(tls + "/server.crt", "w").write("garbage")
            m.send_signal(signal.SIGHUP)
            harness.wait_for(lambda: "reload failed" in m.log_text(), "the failed reload's log line")
            self.assertEqual(m.request("GET", "/healthz").status, 200)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_sigterm_drains_in_flight_request(self):
        m = Matd(self.db)
        admin = m.token("admin")
        m.request("GET", "/v1/schools", token=admin)  # warm the token cache
        # Hold a lock so the next list waits in the database.
        locker = subprocess.Popen(
            ["psql", "-X", "-q", "-h", os.environ["MATD_TEST_PGHOST"], "-p",
             os.environ["MATD_TEST_PGPORT"], "-U", "postgres", "-d", self.db],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        locker.stdin.write("BEGIN; LOCK TABLE schools IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;\n")
        locker.stdin.flush()
        harness.wait_for(lambda: m.psql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'schools' AND l.mode = 'AccessExclusiveLock' AND l.granted") == "1",
            "the lock on schools")
        result = {}

        def slow():
            result["r"] = m.request("GET", "/v1/schools", token=admin)

        t = threading.Thread(target=slow)
        t.start()
        # Wait until the request is really in flight: its query is queued on the lock.
        harness.wait_for(lambda: m.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()") != "0", "the list query waiting on the lock")
        self.assertNotIn("r", result, "the request must still be waiting when SIGTERM arrives")
        m.send_signal(signal.SIGTERM)

        # No longer accepting new connections...
        def refused():
            try:
                m.request("GET", "/healthz")
                return False
            except OSError:
                return True
        harness.wait_for(refused, "the listener to close after SIGTERM")
        locker.stdin.close()
        t.join(20)
        locker.wait(20)
        # ...but the request in flight got its answer, and matd exited cleanly.
        self.assertEqual(result["r"].status, 200, result)
        self.assertEqual(m.proc.wait(20), 0)
        m.stop()


class ClientCertificates(unittest.TestCase):
    def test_client_certificate_maps_to_principal(self):
        db = harness.fresh_database("e2e_clientcert")
        m = Matd(db, extra_config="")
        m.stop()
        # Restart with client-certificate authentication on.
        with open(m.config) as f:
            cfg = f.read().replace("[server]\n", "[server]\ntls_client_ca = %s/ca.crt\n" % harness.TLS, 1)
        m2 = None
        try:
            admin_cfg = m.config + ".cc"
            open(admin_cfg, "w").write(cfg)
            m.config = admin_cfg
            admin = m.token("admin")
            m2 = Matd.__new__(Matd)
            m2.__dict__.update(m.__dict__)
            m2.log = open(os.path.join(m.tmp, "matd2.log"), "w+")
            m2.proc = subprocess.Popen([harness.MATD, "-c", admin_cfg], stdout=m2.log, stderr=m2.log)
            m2.wait_healthy()
            m2.wait_ready()
            m2.request("POST", "/v1/schools", school_body("100001"), token=admin)
            tok = m2.token("school", ["100001"], name="cert school")
            subject = "O=matd dev,CN=school-100001"
            m2.psql("UPDATE tokens SET cert_subject = '%s' WHERE name = 'cert school'" % subject)
            r = m2.request("GET", "/v1/me", cert="client")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["schools"], ["100001"])
            # Without a certificate or token: 401; a token still works without a certificate.
            self.assertEqual(m2.request("GET", "/v1/me").status, 401)
            self.assertEqual(m2.request("GET", "/v1/me", token=tok).status, 200)
        finally:
            if m2:
                self.assertEqual(m2.stop(), 0)


class SlowClients(unittest.TestCase):
    def test_slow_and_vanishing_clients_do_not_stall_others(self):
        db = harness.fresh_database("e2e_slow")
        m = Matd(db, extra_config="")
        try:
            admin = m.token("admin")
            ctx = harness.tls_context()
            stalled = []
            for _ in range(20):  # connections that never finish their headers
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", m.port)),
                                    server_hostname="localhost")
                s.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n")
                stalled.append(s)
            for _ in range(5):  # clients that send half a body and vanish
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", m.port)),
                                    server_hostname="localhost")
                s.sendall(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Authorization: Bearer " + admin.encode() + b"\r\nContent-Length: 500\r\n\r\n{\"urn\":")
                s.close()
            t0 = time.time()
            r = m.request("GET", "/v1/me", token=admin)
            self.assertEqual(r.status, 200, (r, m.log_text()[-4000:]))  # the log says why
            self.assertLess(time.time() - t0, 2.0)
            # Raw non-TLS bytes on the TLS port are dropped without harm.
            raw = socket.create_connection(("127.0.0.1", m.port))
            raw.sendall(b"GET / HTTP/1.1\r\n\r\n")
            raw.close()
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            for s in stalled:
                s.close()
            self.assertEqual(m.psql("SELECT count(*) FROM schools"), "0")
        finally:
            self.assertEqual(m.stop(), 0)


class StalledLogReader(unittest.TestCase):
    def test_a_stalled_log_reader_costs_lines_not_requests(self):
        """matd's stderr is a pipe that its reader holds open and stops reading (a stalled
        journald or log shipper). The request log (level info, a line per request) fills the
        pipe after a few hundred requests; requests must go on being answered, the lines
        that do not fit counted as dropped, and once the reader reads again the log says how
        many were lost. (Before the log writer thread, the loops blocked in write(2) and
        /healthz stopped answering.)"""
        harness.require_env()
        d = tempfile.mkdtemp(dir=harness.ENV.get("MATD_TEST_TMP"))
        fifo = os.path.join(d, "stderr")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # held open, not read
        m = Matd(harness.fresh_database("e2e_stalled_log"),
                 prefix=["/bin/sh", "-c", 'exec "$@" 2>"$0" >&2', fifo])
        drained = []
        stop_reading = threading.Event()
        try:
            conn = m.connect()
            start = time.time()
            for i in range(3000):  # ~500 KB of request lines: the pipe holds 64 KB
                t = time.time()
                r = m.request("GET", "/healthz", conn=conn)
                self.assertEqual(r.status, 200, i)
                self.assertLess(time.time() - t, 5, "request %d waited on the log" % i)
            conn.close()
            self.assertLess(time.time() - start, 120)
            dropped = m.metric("matd_log_lines_dropped_total")
            self.assertGreater(dropped, 0)

            # The reader reads again: the lines held in the rings, then the report.
            def read_all():
                while not stop_reading.is_set():
                    try:
                        chunk = os.read(reader, 65536)
                        if chunk:
                            drained.append(chunk)
                            continue
                    except BlockingIOError:
                        pass
                    time.sleep(0.01)
            th = threading.Thread(target=read_all, daemon=True)
            th.start()
            deadline = time.time() + 20
            text = ""
            while time.time() < deadline and "log lines dropped" not in text:
                self.assertEqual(m.request("GET", "/healthz").status, 200)
                time.sleep(0.2)
                text = b"".join(drained).decode(errors="replace")
            self.assertIn("log lines dropped", text)
            reported = sum(int(x) for x in re.findall(
                r"log lines dropped[^\n]*count=(\d+)", text))
            self.assertEqual(reported, int(m.metric("matd_log_lines_dropped_total")))
            # Every line that reached the reader is whole.
            for line in text.splitlines():
                self.assertTrue(line.startswith("ts=") or line.startswith("level="), line)
        finally:
            code = m.stop()
            stop_reading.set()
            os.close(reader)
            self.assertEqual(code, 0)


if __name__ == "__main__":
    harness.main()
