#!/usr/bin/env python3
"""HTTP/1.1 as matd speaks it (server/conn.c, lib/http1.c), byte for byte over real TLS:
pipelined requests answered in order, HEAD, HTTP/1.0, Expect: 100-continue, keep-alive
idleness, the request target and header lines a server must refuse, query decoding."""
import harness
import json
import re
import socket
import ssl
import time
import unittest
from harness import Matd, school_body


class Wire:
    """One TLS connection, read as bytes: replies are split by their Content-Length."""

    def __init__(self, port, source=None):
        """source: the loopback address to connect from (another client), or the default."""
        self.s = harness.tls_context().wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=(source, 0) if source else None),
            server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("closed by matd")
        self.buf += chunk

    def reply(self, head_request=False):
        """(status, headers dict with lower-case names, body) of the next reply."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        self.buf = self.buf[end + 4:]
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        n = 0 if head_request or status in (100, 204, 304) else int(headers.get("content-length", 0))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, within=3.0):
        """True if matd closes the connection within the time (nothing else arrives)."""
        self.s.settimeout(within)
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        self.s.close()


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Matd(harness.fresh_database("e2e_http"),
                     extra_config="[server]\nidle_timeout_s = 1\n")
        cls.admin = cls.m.token("admin")
        cls.auth = b"Authorization: Bearer " + cls.admin.encode() + b"\r\n"

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0  # a sanitizer finding fails the run

    def wire(self):
        w = Wire(self.m.port)
        self.addCleanup(w.close)
        return w

    def test_tls_prefers_aes_128_gcm(self):
        # A client listing AES-256 first (OpenSSL's and Python's default order for TLS 1.3)
        # gets AES-128-GCM, in TLS 1.2 too.
        w = self.wire()
        self.assertEqual(w.s.version(), "TLSv1.3")
        self.assertEqual(w.s.cipher()[0], "TLS_AES_128_GCM_SHA256")
        ctx = harness.tls_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.m.port), timeout=10),
                             server_hostname="localhost") as s12:
            self.assertEqual(s12.version(), "TLSv1.2")
            self.assertIn("AES128-GCM", s12.cipher()[0])

    def test_pipelined_requests_are_answered_in_order(self):
        w = self.wire()
        w.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n"
               b"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n"
               b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
               self.auth + b"Content-Length: 3\r\n\r\n{x}"
               b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n")
        got = [w.reply() for _ in range(5)]
        self.assertEqual([g[0] for g in got], [200, 200, 404, 400, 200])
        self.assertEqual(json.loads(got[1][2])["role"], "admin")
        self.assertEqual(len({g[1]["x-request-id"] for g in got}), 5)
        for status, headers, body in got:
            self.assertEqual(int(headers["content-length"]), len(body))
            self.assertRegex(headers["date"], r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$")
            self.assertNotIn("connection", headers)

    def test_a_burst_of_pipelined_requests_is_answered_whole(self):
        # 300 requests in one write: answered 16 a turn of the loop (others get theirs
        # between), every one of them, in order.
        w = self.wire()
        w.send(b"".join(b"GET /v1/schools?limit=%d HTTP/1.1\r\nHost: x\r\n" % (i + 1) + self.auth +
                        b"\r\n" for i in range(300)))
        ids = []
        for _ in range(300):
            status, headers, _ = w.reply()
            self.assertEqual(status, 200)
            ids.append(headers["x-request-id"])
        self.assertEqual(len(set(ids)), 300)
        other = self.m.request("GET", "/healthz")
        self.assertEqual(other.status, 200)

    def test_head_has_the_length_of_get_and_no_body(self):
        w = self.wire()
        w.send(b"HEAD /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n"
               b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n")
        status, head, body = w.reply(head_request=True)
        self.assertEqual((status, body), (200, b""))
        status, get, body = w.reply()  # starts right after HEAD's head: no body came between
        self.assertEqual(status, 200)
        self.assertEqual(int(head["content-length"]), len(body))
        self.assertEqual(head["etag"], get["etag"])

    def test_http_1_0_closes_unless_asked_to_keep_alive(self):
        w = self.wire()
        w.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        status, headers, _ = w.reply()
        self.assertEqual((status, headers["connection"]), (200, "close"))
        self.assertTrue(w.closed())
        w = self.wire()
        for _ in range(2):
            w.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _ = w.reply()
            self.assertEqual((status, headers["connection"]), (200, "keep-alive"))
        # HTTP/1.1 asking to close is closed after its reply.
        w.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(w.reply()[1]["connection"], "close")
        self.assertTrue(w.closed())

    def test_expect_100_continue(self):
        body = json.dumps(school_body("100101")).encode()
        w = self.wire()
        w.send(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
               self.auth + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        self.assertEqual(w.reply()[0], 100)
        w.send(body)
        self.assertEqual(w.reply()[0], 201)
        # Refused on its head: the final answer comes at once, no 100, and the connection
        # closes (the client never sends the body it announced).
        w = self.wire()
        w.send(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        status, headers, _ = w.reply()
        self.assertEqual((status, headers["connection"]), (401, "close"))
        self.assertTrue(w.closed())
        # An expectation matd cannot meet.
        w = self.wire()
        w.send(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nExpect: gold\r\nContent-Length: 2\r\n\r\n{}")
        status, _, body = w.reply()
        self.assertEqual(status, 417)
        self.assertIn(b"100-continue", body)
        self.assertEqual(self.m.psql("SELECT count(*) FROM schools WHERE urn = '100101'"), "1")

    def test_idle_keep_alive_connections_are_closed(self):
        w = self.wire()
        w.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(w.reply()[0], 200)
        t0 = time.time()
        self.assertTrue(w.closed(within=5))
        self.assertLess(time.time() - t0, 3)  # idle_timeout_s = 1

    def test_malformed_heads_are_400_naming_why(self):
        cases = [
            (b"GET /v1/me\x01 HTTP/1.1\r\n\r\n", b"must be escaped"),
            (b"GET  /v1/me HTTP/1.1\r\n\r\n", b"request line"),
            (b"GET /v1/m\xe9 HTTP/1.1\r\n\r\n", b"must be escaped"),
            (b"GET v1/me HTTP/1.1\r\n\r\n", b"target is malformed"),
            (b"GET /v1/me HTTP/2.0\r\n\r\n", b"HTTP/1.1 and HTTP/1.0"),
            (b"GET /v1/me?a=<b> HTTP/1.1\r\n\r\n", b"query string"),
            (b"GET /v1/me HTTP/1.1\r\nContent-Length : 5\r\n\r\n", b"header name"),
            (b"GET /v1/me HTTP/1.1\r\nX: a\x01b\r\n\r\n", b"control character"),
            (b"GET /v1/me HTTP/1.1\r\nNoColon\r\n\r\n", b"no name and colon"),
            (b"POST /v1/schools HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"Transfer-Encoding"),
            (b"POST /v1/schools HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
             b"Content-Length"),
            (b"POST /v1/schools HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", b"HTTP/1.1"),
            # RFC 9112 §3.2: an HTTP/1.1 request without Host (with a body or not), any with
            # two Host lines or with one that is not a host[:port].
            (b"GET /v1/me HTTP/1.1\r\n" + self.auth + b"\r\n", b"needs a Host header"),
            (b"POST /v1/schools HTTP/1.1\r\nContent-Type: application/json\r\n" + self.auth +
             b"Content-Length: 2\r\n\r\n{}", b"needs a Host header"),
            (b"GET /v1/me HTTP/1.1\r\nHost: x\r\nHost: x\r\n" + self.auth + b"\r\n",
             b"more than one Host"),
            (b"GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", b"more than one Host"),
            (b"GET /v1/me HTTP/1.1\r\nHost: a b/c\r\n" + self.auth + b"\r\n",
             b"Host header is not"),
        ]
        for head, why in cases:
            w = self.wire()
            w.send(head)
            status, headers, body = w.reply()
            self.assertEqual(status, 400, head)
            self.assertIn(why, body, head)
            self.assertEqual(headers["connection"], "close")
            self.assertTrue(w.closed(), head)

    def test_every_405_carries_allow(self):
        # The route's Allow, whether the request has a body (refused on its head by the gate)
        # or not, and for a method matd does not serve at all; a path that is not there is 404.
        cases = [
            (b"POST /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n", "GET, HEAD"),
            (b"POST /v1/me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
             self.auth + b"Content-Length: 2\r\n\r\n{}", "GET, HEAD"),
            (b"PUT /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
             self.auth + b"Content-Length: 2\r\n\r\n{}", "GET, HEAD, POST"),
            (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
             b"urlencoded\r\nContent-Length: 1\r\n\r\nx", "GET, HEAD"),
            (b"FOO /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth + b"\r\n", "GET, HEAD"),
            (b"FOO /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", "GET, HEAD"),
            (b"DELETE /v1/schools/100001 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
             "GET, HEAD, PATCH"),
        ]
        w = self.wire()
        for req, allow in cases:
            w.send(req)
            status, headers, body = w.reply()
            self.assertEqual(status, 405, (req, body))
            self.assertEqual(headers.get("allow"), allow, req)
            self.assertIn(b"not allowed here; allowed: " + allow.encode(), body, req)
        for req in (b"FOO /v1/nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"FOO /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"):
            w.send(req)
            status, headers, _ = w.reply()
            self.assertEqual(status, 404, req)
            self.assertNotIn("allow", headers)

    def test_host_forms_accepted(self):
        # HTTP/1.0 may leave Host out (the refusals are in test_malformed_heads_...); names,
        # addresses and ports in the forms clients send are accepted.
        w = self.wire()
        w.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(w.reply()[0], 200)
        w = self.wire()
        for host in (b"localhost", b"localhost:8443", b"127.0.0.1:443", b"[::1]:8443"):
            w.send(b"GET /v1/me HTTP/1.1\r\nHost: " + host + b"\r\n" + self.auth + b"\r\n")
            self.assertEqual(w.reply()[0], 200, host)

    def test_target_forms_and_empty_lines(self):
        w = self.wire()
        # Empty lines before a request line are ignored; an absolute-form target is its path.
        w.send(b"\r\n\r\nGET https://localhost/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /healthz#frag HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(w.reply()[0], 200)
        self.assertEqual(w.reply()[0], 200)

    def test_query_is_percent_and_plus_decoded(self):
        w = self.wire()
        w.send(b"GET /v1/priorities?year=20+25&term=spring HTTP/1.1\r\nHost: x\r\n" + self.auth +
               b"\r\nGET /v1/priorities?year=2025-26&term=s%70ring&subject=%zz HTTP/1.1\r\n"
               b"Host: x\r\n" + self.auth + b"\r\n")
        status, _, body = w.reply()
        self.assertEqual(status, 422)
        self.assertIn(b'got \\"20 25\\"', body)
        status, _, body = w.reply()
        self.assertEqual(status, 200, body)

    def test_a_half_closed_client_still_gets_its_answers(self):
        # The request, then the end of the client's stream (TCP FIN, no close_notify, as
        # HTTP/1.0-era clients do): what came whole is answered, then matd closes.
        w = self.wire()
        w.send(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n" + self.auth +
               b"\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        socket.socket.shutdown(w.s, socket.SHUT_WR)  # the TCP stream only (SSLSocket.shutdown drops TLS)
        self.assertEqual(w.reply()[0], 200)
        self.assertEqual(w.reply()[0], 200)
        self.assertTrue(w.closed())

    def test_bad_token_body_is_drained_and_the_connection_goes_on(self):
        w = self.wire()
        w.send(b"POST /v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer mat_" + b"0" * 64 + b"\r\nContent-Length: 70000\r\n\r\n")
        status, headers, _ = w.reply()
        self.assertEqual(status, 401)
        self.assertNotIn("connection", headers)
        w.send(b"x" * 70000 + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(w.reply()[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
