"""Host names in the database DSN are resolved by the pool itself, asynchronously (evdns),
never by libpq on a worker's event loop: a name works and recovers after a database
restart, a name that does not resolve leaves /healthz answering and data routes 503, and a
resolver that never answers stalls nothing (checked against a DNS server of the test's own,
which the daemon reads through MATD_RESOLV_CONF)."""
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import Matd, PrivateCluster, school_body


class FakeDns(threading.Thread):
    """A DNS server on a loopback UDP port: answers A queries for its names with their
    address (AAAA with no data), anything else with NXDOMAIN, or in mode "silent" never
    answers at all. Records every query it receives."""

    def __init__(self, names):
        super().__init__(daemon=True)
        self.names = names
        self.mode = "answer"
        self.queries = []  # (monotonic time, name, qtype)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopped = False

    def queried(self, name):
        return [q for q in list(self.queries) if q[1] == name]

    def run(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            labels, i = [], 12
            while i < len(data) and data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace"))
                i += 1 + data[i]
            qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
            question = data[12:i + 5]
            name = ".".join(labels).lower()
            self.queries.append((time.monotonic(), name, qtype))
            if self.mode == "silent":
                continue
            answers = b""
            rcode = 3
            if name in self.names:
                rcode = 0
                if qtype == 1:
                    answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) +
                               socket.inet_aton(self.names[name]))
            header = data[:2] + struct.pack("!HHHHH", 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(header + question + answers, peer)

    def stop(self):
        self.stopped = True
        self.join(5)
        self.sock.close()


def pool_up(m):
    for line in m.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith("matd_db_pool_up "):
            return int(line.split()[1])
    raise AssertionError("no matd_db_pool_up in /metrics")



def timed_healthz(m):
    t0 = time.monotonic()
    status = m.request("GET", "/healthz").status
    return status, time.monotonic() - t0


class HostnameDsn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.pg = PrivateCluster()

    @classmethod
    def tearDownClass(cls):
        cls.pg.destroy()

    def test_localhost_name_connects_and_recovers_after_restart(self):
        m = Matd("matd", pg_host="localhost", pg_port=self.pg.port)
        try:
            admin = m.token("admin")
            self.assertEqual(m.request("GET", "/v1/schools", token=admin).status, 200)
            # The pool looked the name up itself (evdns reads the hosts file for localhost).
            resolved = 'msg="name resolved" name=localhost '
            before = m.synced_log().count(resolved)
            self.assertGreaterEqual(before, 1, m.synced_log()[-3000:])
            self.pg.stop()
            harness.wait_for(lambda: m.request("GET", "/v1/schools", token=admin).status == 503,
                             "data routes to answer 503 with the database down")
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.pg.start()
            harness.wait_for(lambda: m.request("GET", "/v1/schools", token=admin).status == 200,
                             "data routes to recover", timeout=30)
            r = m.request("POST", "/v1/schools", school_body("100001"), token=admin)
            self.assertEqual(r.status, 201, r)
            # The connections that failed asked for the address again.
            self.assertGreater(m.synced_log().count(resolved), before)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_unresolvable_name_keeps_healthz_fast_and_data_routes_503(self):
        m = Matd("matd", pg_host="no-such-host.invalid", pg_port=self.pg.port, wait_ready=False)
        try:
            def failures():
                log = m.synced_log()
                return (log.count("cannot resolve no-such-host.invalid") +
                        log.count("name resolution timeout"))
            harness.wait_for(lambda: failures() >= 2, "failed lookups of the DSN's host")
            start = failures()
            slowest = 0.0
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                status, took = timed_healthz(m)
                self.assertEqual(status, 200)
                slowest = max(slowest, took)
                time.sleep(0.05)
            self.assertGreater(failures(), start, "reconnects must go on while /healthz is timed")
            print("slowest /healthz during failed lookups: %.3f s" % slowest, file=sys.stderr)
            self.assertLess(slowest, 1.0)
            r = m.request("GET", "/v1/me", token="mat_" + "0" * 64)
            self.assertEqual(r.status, 503, r)
            self.assertTrue(r.header("Retry-After"))
            self.assertEqual(m.request("GET", "/readyz").status, 503)
            self.assertEqual(pool_up(m), 0)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_resolution_is_asynchronous_and_follows_the_resolver(self):
        dns = FakeDns({"db.matd.test": "127.0.0.1"})
        dns.start()
        tmp = tempfile.mkdtemp(prefix="matd-dns-", dir=os.environ.get("MATD_TEST_TMP"))
        conf = os.path.join(tmp, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver 127.0.0.1:%d\noptions timeout:5 attempts:1\n" % dns.port)
        # The C library cannot find this name: only the pool's own resolver can.
        with self.assertRaises(socket.gaierror):
            socket.getaddrinfo("db.matd.test", 5432)
        os.environ["MATD_RESOLV_CONF"] = conf
        try:
            m = Matd("matd", pg_host="db.matd.test", pg_port=self.pg.port, wait_ready=False,
                     workers=1)
        finally:
            del os.environ["MATD_RESOLV_CONF"]
        try:
            harness.wait_for(lambda: pool_up(m) == 4, "the pool to connect through the fake resolver")
            self.assertTrue(dns.queried("db.matd.test"))
            # The resolver goes silent and the pool's connections are cut: every reconnect
            # now waits for an answer that never comes.
            dns.mode = "silent"
            harness.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "datname = 'matd' AND pid <> pg_backend_pid()", port=self.pg.port)
            harness.wait_for(lambda: pool_up(m) == 0, "the pool to lose its connections")
            for _ in range(3):
                # A fresh query is outstanding at the silent server (for up to 5 s): the one
                # worker that sent it still answers at once.
                n = len(dns.queries)
                harness.wait_for(lambda: len(dns.queries) > n, "a lookup at the silent resolver",
                                 timeout=20)
                sent = dns.queries[-1][0]
                status, took = timed_healthz(m)
                print("/healthz with a lookup hanging: %.3f s" % took, file=sys.stderr)
                self.assertEqual(status, 200)
                self.assertLess(took, 1.0)
                self.assertLess(time.monotonic() - sent, 5.0, "answered while the query hung")
            r = m.request("GET", "/v1/me", token="mat_" + "0" * 64)
            self.assertEqual(r.status, 503, r)
            # PostgreSQL is up all along: without an answer nothing dials it.
            self.assertEqual(pool_up(m), 0)
            self.assertIn("name resolution timeout", m.synced_log())
            dns.mode = "answer"
            harness.wait_for(lambda: pool_up(m) == 4, "the pool to recover", timeout=40)
        finally:
            self.assertEqual(m.stop(), 0)
            dns.stop()


if __name__ == "__main__":
    harness.main()
