#!/usr/bin/env python3
"""The connection budget under a flood of connections that do nothing (SPEC §8: slow or
garbage clients cannot stall others). Bare TCP connections from several addresses, each
under its per-address cap, fill max_connections; matd closes idle and embryonic connections
of the busiest addresses to make room for a real client, never one with a request in
progress (server/conn.c, lib/reusable.c). Attackers bind to other loopback addresses than
the real client (127.0.0.1), as they would be other hosts."""
import collections
import json
import select
import threading
import time
import unittest

import harness
from harness import Matd, school_body
from test_hostile import attacker_socket, log_tail
from test_http import Wire

ATTACKERS = ["127.0.0.%d" % i for i in range(2, 10)]  # 8 x 16: twice the budget
PER_ADDRESS = 16
BUDGET = 64


def closed_of(socks, wait):
    """The sockets of socks that the server has closed, waiting up to wait seconds for one."""
    out = []
    ready, _, _ = select.select(socks, [], [], wait) if socks else ([], [], [])
    for s in ready:
        try:
            if s.recv(1) == b"":
                out.append(s)
        except OSError:
            out.append(s)
    return out


class Flood:
    """Keeps every attacker address at its cap of bare TCP connections that never send a
    byte, opening a new one for each one matd closes, until stopped."""

    def __init__(self, port):
        self.port = port
        self.held = collections.defaultdict(list)
        self.opened = self.closed = 0
        self.stop = threading.Event()
        self.thread = None

    def fill(self):
        for a in ATTACKERS:
            while len(self.held[a]) < PER_ADDRESS:
                self.held[a].append(attacker_socket(self.port, a))
                self.opened += 1

    def _run(self):
        while not self.stop.is_set():
            every = [s for a in ATTACKERS for s in self.held[a]]
            gone = set(closed_of(every, 0.01))
            for a in ATTACKERS:
                for s in [s for s in self.held[a] if s in gone]:
                    s.close()
                    self.held[a].remove(s)
                    self.closed += 1
            self.fill()
            time.sleep(0.01)

    def start(self):
        self.fill()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(30)
        for a in ATTACKERS:
            for s in self.held[a]:
                s.close()


class Budget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # header_timeout_ms at its default (10 s): a worker that made no room would keep a
        # real client in the kernel's backlog until the idle connections were cut.
        cls.m = Matd(harness.fresh_database("e2e_connection_budget"), extra_config=(
            "[server]\nmax_connections = %d\nmax_connections_per_address = %d\n"
            % (BUDGET, PER_ADDRESS)))
        cls.admin = cls.m.token("admin")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0, log_tail(cls.m)  # a sanitizer finding fails the run

    def upload(self, urn):
        """A request in progress: a new school's POST from 127.0.0.10, its head admitted
        (100 Continue) and the start of its body sent. Returns the connection and the rest."""
        w = Wire(self.m.port, source="127.0.0.10")
        body = json.dumps(school_body(urn)).encode()
        w.send(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + self.admin.encode() + b"\r\n"
               b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        self.assertEqual(w.reply()[0], 100)
        w.send(body[:20])
        return w, body[20:]

    def test_idle_connections_make_room_for_a_real_client(self):
        m = self.m
        evicted0 = m.metric("matd_connections_evicted_total")
        uploads = [self.upload("1002%02d" % i) for i in range(4)]
        flood = Flood(m.port)
        flood.start()
        try:
            # Twice the budget opened: every worker is at its share, and has closed idle
            # connections to take the rest.
            harness.wait_for(lambda: m.metric("matd_connections_evicted_total") - evicted0 >=
                             len(ATTACKERS) * PER_ADDRESS + len(uploads) - BUDGET,
                             "the flood to fill the budget")
            self.assertLessEqual(m.metric("matd_open_connections"), BUDGET)
            times = []
            for _ in range(5):
                t0 = time.time()
                self.assertEqual(m.request("GET", "/healthz").status, 200)
                self.assertEqual(m.request("GET", "/v1/me", token=self.admin).status, 200)
                times.append(time.time() - t0)
            evicted = m.metric("matd_connections_evicted_total") - evicted0
        finally:
            flood.finish()
        self.assertLess(max(times), 1.0, times)
        # The uploads were never taken for room: each finishes and is answered.
        for w, rest in uploads:
            w.send(rest)
            self.assertEqual(w.reply()[0], 201)
            w.close()
        self.assertGreater(flood.closed, 0)  # matd closed the flood's connections, not us
        # Logged as counts, not a line per connection closed.
        lines = [l for l in m.synced_log().splitlines() if "idle connections" in l]
        self.assertTrue(lines)
        self.assertLessEqual(len(lines), 2 * m.workers, lines)
        print("budget: %d idle connections closed for newcomers (%d reopened by the flood); "
              "/healthz + /v1/me in %.0f ms at most (median %.0f ms)"
              % (evicted, flood.closed, 1000 * max(times), 1000 * sorted(times)[2]))


if __name__ == "__main__":
    harness.main()
