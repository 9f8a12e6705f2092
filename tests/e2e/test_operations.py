"""What docs/operations.md promises an operator, each checked against a real matd:
systemd notifications, revocation seen by every instance, logs without secrets and with
one request id, concurrent migrations, the request deadline, the database queue bound,
the connection cap and idle timeout, SIGHUP applying limits, and the drain bound."""
import http.client
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import Matd, school_body



def hold_lock(m, table, seconds):
    """A psql session that takes an exclusive lock on table for seconds; returns it once the
    lock is really held."""
    p = subprocess.Popen(
        ["psql", "-X", "-q", "-h", m.pg_host, "-p", str(m.pg_port), "-U", "postgres", "-d", m.db],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    p.stdin.write("BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%d); COMMIT;\n"
                  % (table, seconds))
    p.stdin.flush()
    harness.wait_for(lambda: m.psql(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = '%s' AND l.mode = 'AccessExclusiveLock' AND l.granted" % table) == "1",
        "the lock on " + table)
    return p


def in_background(fn):
    out = {}

    def run():
        try:
            out["r"] = fn()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out["e"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, out


class Systemd(unittest.TestCase):
    def test_ready_watchdog_reloading_stopping(self):
        """matd speaks sd_notify on a NOTIFY_SOCKET it is given, as systemd's Type=notify and
        WatchdogSec= expect."""
        d = tempfile.mkdtemp(dir=os.environ.get("MATD_TEST_TMP"))
        path = os.path.join(d, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        os.chmod(path, 0o777)
        sock.settimeout(0.2)
        got = []

        def read_until(word, timeout=15):
            def seen():
                try:
                    got.extend(sock.recv(4096).decode().split("\n"))
                except socket.timeout:
                    pass
                return word in got
            harness.wait_for(seen, word + " on the notify socket", timeout=timeout, interval=0)

        saved = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        os.environ["NOTIFY_SOCKET"] = path
        os.environ["WATCHDOG_USEC"] = "600000"  # 0.6 s: matd pings every half of it
        try:
            m = Matd(harness.fresh_database("e2e_ops_notify"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            read_until("READY=1")
            got.clear()
            read_until("WATCHDOG=1", timeout=5)
            got.clear()
            read_until("WATCHDOG=1", timeout=5)  # and again: a heartbeat, not a one-off
            m.send_signal(signal.SIGHUP)
            got.clear()
            read_until("RELOADING=1")
            read_until("READY=1")
            m.send_signal(signal.SIGTERM)
            read_until("STOPPING=1")
            self.assertEqual(m.proc.wait(20), 0)
        finally:
            m.stop()
            sock.close()


class StopAtOnce(unittest.TestCase):
    def test_sigterm_as_soon_as_it_answers_drains(self):
        """A SIGTERM that comes as soon as matd has answered (a supervisor, a test harness)
        drains and exits 0: the signals are caught before the first connection is accepted.
        A SIGTERM in that window used to kill matd with the default action (exit -15; seen
        once in CI, after a request and an immediate stop)."""
        db = harness.fresh_database("e2e_ops_stop_at_once")
        for _ in range(5):
            m = Matd(db, wait_ready=False)
            try:
                deadline = time.time() + 30
                while time.time() < deadline:  # no pause: the first answer, then the signal
                    try:
                        if m.request("GET", "/healthz").status == 200:
                            break
                    except OSError:
                        pass
                m.send_signal(signal.SIGTERM)
                self.assertEqual(m.proc.wait(20), 0, m.log_text())
            finally:
                m.stop()


class TwoInstances(unittest.TestCase):
    def test_concurrent_migrations_then_revocation_seen_within_5s(self):
        db = harness.fresh_database("e2e_ops_two")
        # Both instances start on an empty database at once: one migrates, the other waits
        # on the migration lock, and both become ready on the same schema.
        a = Matd(db, wait_ready=False)
        b = Matd(db, wait_ready=False)
        try:
            a.wait_ready()
            b.wait_ready()
            files = [f for f in os.listdir(os.path.join(harness.SRC, "sql")) if f.endswith(".sql")]
            self.assertEqual(a.psql("SELECT count(*) FROM schema_migrations"), str(len(files)))
            self.assertNotIn("level=error", a.synced_log() + b.synced_log())
            admin = a.token("admin")
            r = a.request("POST", "/v1/tokens", {"role": "ceo", "name": "to revoke"}, token=admin)
            self.assertEqual(r.status, 201, r)
            ceo, ceo_id = r.json["token"], r.json["id"]
            # Both instances have the token cached.
            self.assertEqual(a.request("GET", "/v1/me", token=ceo).status, 200)
            self.assertEqual(b.request("GET", "/v1/me", token=ceo).status, 200)
            t0 = time.time()
            self.assertEqual(a.request("DELETE", "/v1/tokens/%d" % ceo_id, token=admin).status, 204)
            self.assertEqual(a.request("GET", "/v1/me", token=ceo).status, 401)  # at once here
            harness.wait_for(lambda: b.request("GET", "/v1/me", token=ceo).status == 401,
                             "the other instance to refuse the revoked token", timeout=10)
            # docs/operations.md: another instance stops honouring it within 5 s (its cache
            # lifetime); allow for the machine's scheduling.
            self.assertLess(time.time() - t0, 6.5)
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)


class Operations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.db = harness.fresh_database("e2e_ops")

    def test_logs_hold_no_secret_and_one_request_id(self):
        m = Matd(self.db)
        try:
            admin = m.token("admin")
            marker = "Zq7marker"
            r = m.request("POST", "/v1/schools", school_body("100001", name=marker + " School"),
                          token=admin)
            self.assertEqual(r.status, 201)
            bad = m.request("POST", "/v1/schools", school_body("1000", name=marker), token=admin)
            self.assertEqual(bad.status, 422)
            rid = bad.header("X-Request-Id")
            self.assertRegex(rid, "^[0-9a-f]{16}$")
            self.assertEqual(bad.json["request_id"], rid)  # the problem carries the same id
            harness.wait_for(lambda: "request_id=" + rid in m.synced_log(), "the request's log line")
            text = m.synced_log()
            lines = [l for l in text.splitlines() if "request_id=" + rid in l]
            self.assertEqual(len([l for l in lines if "msg=request " in l]), 1, lines)
            self.assertIn("status=422", lines[0])
            # Neither the token (nor its hash's hex) nor body content reaches the log.
            self.assertNotIn(admin, text)
            self.assertNotIn(admin[4:20], text)
            self.assertNotIn(marker, text)
            for line in text.splitlines():
                self.assertTrue(line.startswith("ts=") or not line.strip(), line)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_bodyless_route_ignores_a_small_body_and_refuses_a_large_one(self):
        m = Matd(self.db)
        try:
            admin = m.token("admin")
            r = m.request("POST", "/v1/tokens", {"role": "ceo", "name": "x"}, token=admin)
            self.assertEqual(r.status, 201, r)
            tid = r.json["id"]
            big = m.request("DELETE", "/v1/tokens/%d" % tid, "{" + " " * 4096 + "}", token=admin)
            self.assertEqual(big.status, 413, big)
            self.assertIn("takes no body", big.json["detail"])
            self.assertIsNone(m.psql("SELECT revoked_at FROM tokens WHERE id = %d" % tid) or None)
            # Clients send "{}" to bodyless writes (e.g. POST .../publish): read and ignored.
            self.assertEqual(m.request("DELETE", "/v1/tokens/%d" % tid, {}, token=admin).status, 204)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_deadline_answers_503_while_the_query_waits(self):
        m = Matd(self.db, extra_config="[server]\nrequest_timeout_ms = 1000\n")
        try:
            admin = m.token("admin")
            self.assertEqual(m.request("GET", "/v1/schools", token=admin).status, 200)
            locker = hold_lock(m, "schools", 8)
            t0 = time.time()
            r = m.request("GET", "/v1/schools", token=admin)
            took = time.time() - t0
            self.assertEqual(r.status, 503, r)
            self.assertTrue(r.header("Retry-After"))
            # The deadline answered, not the lock's release 8 s later.
            self.assertLess(took, 5.0)
            locker.stdin.close()
            locker.wait(20)
            # And the service is whole afterwards.
            harness.wait_for(lambda: m.request("GET", "/v1/schools", token=admin).status == 200,
                             "the list to answer again")
        finally:
            self.assertEqual(m.stop(), 0)

    def test_token_in_use_is_looked_up_again_in_the_background(self):
        """A busy client's requests never wait on the database for their token: after 3 s of
        the cache's 5 s the next request is answered from the cache and starts a lookup that
        renews the entry, so with the tokens table locked past the first entry's 5 s the
        requests still answer at once. Last use is written at most once a minute."""
        m = Matd(self.db, workers=1)  # one worker, one cache
        try:
            ceo = m.token("ceo", name="busy reader")
            tid = m.psql("SELECT id FROM tokens WHERE name = 'busy reader'")
            conn = m.connect()
            self.assertEqual(m.request("GET", "/v1/me", token=ceo, conn=conn).status, 200)
            t0 = time.time()
            before = m.metric("matd_auth_cache_refreshes_total")
            # Recent last use: the background lookup must not write it again.
            m.psql("UPDATE tokens SET last_used_at = now() - interval '30 seconds' "
                   "WHERE id = %s" % tid)
            recent = m.psql("SELECT last_used_at FROM tokens WHERE id = %s" % tid)
            time.sleep(max(0.0, t0 + 3.3 - time.time()))
            self.assertEqual(m.request("GET", "/v1/me", token=ceo, conn=conn).status, 200)
            harness.wait_for(lambda: m.metric("matd_auth_cache_refreshes_total") == before + 1,
                             "the background lookup to start")
            time.sleep(0.5)  # and to land
            self.assertEqual(m.psql("SELECT last_used_at FROM tokens WHERE id = %s" % tid),
                             recent)
            locker = hold_lock(m, "tokens", 4)
            time.sleep(max(0.0, t0 + 5.5 - time.time()))
            for _ in range(3):  # past the first entry's life, the lock still held
                t = time.time()
                r = m.request("GET", "/v1/me", token=ceo, conn=conn)
                self.assertEqual(r.status, 200, r)
                self.assertLess(time.time() - t, 1.0, "a request waited on the tokens table")
                time.sleep(0.3)
            locker.stdin.close()
            locker.wait(20)
            # An old last use is brought up to date by the next lookup.
            m.psql("UPDATE tokens SET last_used_at = now() - interval '2 minutes' WHERE id = %s"
                   % tid)
            harness.wait_for(lambda: m.request("GET", "/v1/me", token=ceo, conn=conn).status == 200
                             and m.psql("SELECT last_used_at > now() - interval '1 minute' "
                                        "FROM tokens WHERE id = %s" % tid) == "t",
                             "last use to be recorded", timeout=12)
            # Revoked on another instance (here: in the database): refused once the background
            # lookup has seen it, within the cache's 5 s.
            m.psql("UPDATE tokens SET revoked_at = now() WHERE id = %s" % tid)
            t = time.time()
            harness.wait_for(lambda: m.request("GET", "/v1/me", token=ceo, conn=conn).status == 401,
                             "the revoked token to be refused", timeout=10)
            self.assertLess(time.time() - t, 6.0)
            conn.close()
        finally:
            self.assertEqual(m.stop(), 0)

    def test_queue_max_answers_503(self):
        m = Matd(self.db, workers=1,
                 extra_config="[database]\npool_size = 1\nqueue_max = 2\n"
                              "[limits]\nrate_limit_per_minute = 0\n")
        try:
            admin = m.token("admin")
            self.assertEqual(m.request("GET", "/v1/schools", token=admin).status, 200)
            locker = hold_lock(m, "schools", 6)
            # One query runs (blocked), two queue; the rest find the queue full.
            threads = [in_background(lambda: m.request("GET", "/v1/schools", token=admin))
                       for _ in range(8)]
            for t, _ in threads:
                t.join(30)
            statuses = sorted(out["r"].status for _, out in threads if "r" in out)
            self.assertEqual(len(statuses), 8, [out for _, out in threads])
            self.assertIn(503, statuses)
            self.assertIn(200, statuses)  # the ones that fit were served once the lock went
            locker.stdin.close()
            locker.wait(20)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_sighup_applies_limits_and_drain_bound(self):
        m = Matd(self.db)  # the default drain bound is 10 s
        try:
            admin = m.token("admin")
            # 3 KB: under the default body limit it is read and refused for its unknown field.
            big = school_body("100002", padding="x" * 3000)
            self.assertEqual(m.request("POST", "/v1/schools", big, token=admin).status, 422)
            with open(m.config) as f:
                cfg = f.read()
            with open(m.config, "w") as f:
                f.write(cfg + "[limits]\nmax_body_bytes = 1024\n[server]\ndrain_timeout_ms = 1000\n"
                        "[database]\npool_size = 3\n[rota]\nlead_days = 30\n")
            m.send_signal(signal.SIGHUP)
            harness.wait_for(lambda: m.request("POST", "/v1/schools", big, token=admin).status == 413,
                             "the reloaded body limit")
            # Each key SIGHUP cannot apply is named; the ones it applied are not.
            harness.wait_for(lambda: "key=rota.lead_days" in m.synced_log(), "the restart-only warning")
            log = m.synced_log()
            self.assertIn("key=database.pool_size", log)
            self.assertNotIn("key=limits.max_body_bytes", log)
            self.assertNotIn("key=server.drain_timeout_ms", log)
            # SIGTERM with a request held in the database: matd gives up after the reloaded
            # drain bound (1 s), not the start-up one or when the lock goes (10 s).
            locker = hold_lock(m, "schools", 10)
            t, out = in_background(lambda: m.request("GET", "/v1/schools", token=admin))
            harness.wait_for(lambda: m.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()") != "0", "the list waiting on the lock")
            t0 = time.time()
            m.send_signal(signal.SIGTERM)
            m.proc.wait(15)
            self.assertLess(time.time() - t0, 6.0)
            t.join(15)
            locker.stdin.close()
            locker.wait(20)
        finally:
            m.stop()

    def test_connection_cap_and_idle_timeout(self):
        m = Matd(self.db, workers=1, extra_config=(
            "[server]\nmax_connections = 4\nidle_timeout_s = 2\nheader_timeout_ms = 2000\n"))
        try:
            ctx = harness.tls_context()

            def connect():
                return ctx.wrap_socket(socket.create_connection(("127.0.0.1", m.port), timeout=10),
                                       server_hostname="localhost")

            def closed(s, within):
                s.settimeout(within)
                try:
                    return s.recv(1) == b""
                except (ConnectionResetError, ssl.SSLError):
                    return True
                except (socket.timeout, TimeoutError):
                    return False

            # At the cap with idle keep-alive connections, a fifth client takes the place of
            # the oldest at once; the others are closed after idle_timeout_s.
            idle = []
            for _ in range(4):
                c = http.client.HTTPSConnection("localhost", m.port, context=ctx, timeout=10)
                self.assertEqual(m.request("GET", "/healthz", conn=c).status, 200)
                idle.append(c)
            t0 = time.time()
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.assertLess(time.time() - t0, 1.0, "the fifth client took an idle one's place")
            self.assertTrue(closed(idle[0].sock, 3), "the oldest idle connection made room")
            for c in idle[1:]:  # not taken for room (one was enough: the count below)
                self.assertTrue(closed(c.sock, 5), "the server closed the idle connection")
            for c in idle:
                c.close()
            # At the cap with every connection in a request (a body announced, 100 Continue
            # answered, nothing sent), a fifth client waits for a slot: the bodies are cut at
            # their rate once header_timeout_ms of grace has passed.
            admin = m.token("admin")
            busy = []
            for _ in range(4):
                s = connect()
                s.sendall(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: "
                          b"application/json\r\nAuthorization: Bearer " + admin.encode() +
                          b"\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n")
                self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 100 Continue"))
                busy.append(s)
            t0 = time.time()
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.assertGreater(time.time() - t0, 1.0, "the fifth client had to wait for a slot")
            for s in busy:
                self.assertTrue(closed(s, 5))
                s.close()
            self.assertEqual(m.metric("matd_connections_evicted_total"), 1)
        finally:
            self.assertEqual(m.stop(), 0)


if __name__ == "__main__":
    harness.main()
