"""Cached priorities served like a static server: each view rendered once per data version
as identity, gzip and brotli bytes with an ETag each, chosen by Accept-Encoding (Vary),
304 on a matching If-None-Match; filtered and scoped views come from a bounded cache whose
answers equal those rendered afresh by another matd that has never seen them, are dropped
by a push, and whose caps hold.

Oracles: Python's gzip and Debian's libbrotlidec (not matd's encoder) decode the bytes;
"rendered afresh" is a second matd started on the same database after the first has cached
the view; filters are also checked against filtering the full list here."""
import ctypes
import ctypes.util
import gzip
import json
import socket
import unittest

import harness
from harness import Matd

YEAR, TERM = "2025-26", "spring"
BASE = "/v1/priorities?year=%s&term=%s" % (YEAR, TERM)


def brotli_decode(data):
    lib = ctypes.CDLL(ctypes.util.find_library("brotlidec") or "libbrotlidec.so.1")
    for cap in (len(data) * 20, len(data) * 200):
        out = ctypes.create_string_buffer(cap)
        size = ctypes.c_size_t(cap)
        ok = lib.BrotliDecoderDecompress(ctypes.c_size_t(len(data)), data, ctypes.byref(size), out)
        if ok == 1:  # BROTLI_DECODER_RESULT_SUCCESS
            return out.raw[:size.value]
    raise AssertionError("not a brotli stream")


class PrioritiesCache(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_demo_trust(cls, "e2e_priorities_cache")

    @classmethod
    def tearDownClass(cls):
        assert cls.a.stop() == 0

    def get(self, path, token=None, m=None, **headers):
        return (m or self.a).request("GET", path, token=token or self.ceo,
                                     headers={k.replace("_", "-"): v for k, v in headers.items()})

    def check_encodings(self, path, token=None, accept=None):
        # The whole list is compressed on the pool while its first answer goes out plain.
        harness.wait_for(lambda: self.get(path, token, Accept_Encoding="br",
                                          **({"Accept": accept} if accept else {}))
                         .header("Content-Encoding") == "br", "the compressed variants")
        plain = self.get(path, token, Accept_Encoding="identity", **({"Accept": accept} if accept else {}))
        self.assertEqual(plain.status, 200, plain)
        self.assertIsNone(plain.header("Content-Encoding"))
        extra = {"Accept": accept} if accept else {}
        gz = self.get(path, token, Accept_Encoding="gzip", **extra)
        br = self.get(path, token, Accept_Encoding="gzip, deflate, br", **extra)
        self.assertEqual(gz.header("Content-Encoding"), "gzip")
        self.assertEqual(br.header("Content-Encoding"), "br")
        self.assertEqual(gzip.decompress(gz.body), plain.body)
        self.assertEqual(brotli_decode(br.body), plain.body)
        self.assertLess(len(br.body), len(plain.body))
        self.assertLess(len(gz.body), len(plain.body))
        for r in (plain, gz, br):
            self.assertEqual(r.header("Vary"), "Accept, Accept-Encoding")
        tags = [r.header("ETag") for r in (plain, gz, br)]
        self.assertEqual(len(set(tags)), 3, tags)
        # Each variant revalidates with its own tag, and only with it.
        for r, ae in ((plain, "identity"), (gz, "gzip"), (br, "br")):
            again = self.get(path, token, Accept_Encoding=ae, If_None_Match=r.header("ETag"), **extra)
            self.assertEqual(again.status, 304, (path, ae))
            self.assertEqual(again.header("ETag"), r.header("ETag"))
            self.assertEqual(again.body, b"")
        stale = self.get(path, token, Accept_Encoding="gzip", If_None_Match=plain.header("ETag"), **extra)
        self.assertEqual(stale.status, 200)
        self.assertEqual(stale.body, gz.body)
        return plain

    def test_encodings_of_the_whole_list(self):
        plain = self.check_encodings(BASE)
        self.assertTrue(json.loads(plain.body)["items"])

    def test_encodings_of_a_filtered_view_and_of_csv(self):
        self.check_encodings(BASE + "&level=school")
        self.check_encodings(BASE, accept="text/csv")
        self.check_encodings("/v1/schools/140002/priorities?year=%s&term=%s" % (YEAR, TERM), self.school)

    def test_accept_encoding_preferences(self):
        harness.wait_for(lambda: self.get(BASE, Accept_Encoding="br").header("Content-Encoding") == "br",
                         "the compressed variants")
        for ae, want in (("gzip;q=0, br;q=0", None), ("*", "br"), ("br;q=0, *", "gzip"),
                         ("GZIP", "gzip"), ("br; q=0.5", "br"), ("compress", None), ("", None),
                         # the client's preference (q) decides; a tie goes to brotli
                         ("br;q=0.1, gzip", "gzip"), ("gzip;q=0.9, br;q=0.8", "gzip"),
                         ("gzip;q=0.5, br;q=0.5", "br"), ("*;q=0.2, gzip;q=0.1", "br")):
            r = self.get(BASE, Accept_Encoding=ae)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Encoding"), want, ae)
        r = self.a.request("GET", BASE, token=self.ceo)  # no Accept-Encoding at all
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.header("Vary"), "Accept, Accept-Encoding")

    def test_vary_names_accept_on_every_answer_304_and_head(self):
        # The priorities routes answer CSV or JSON by Accept as well as by Accept-Encoding:
        # a cache keyed on Accept-Encoding alone would give a JSON client the CSV bytes.
        for path in (BASE, BASE + "&level=school"):
            for accept in (None, "text/csv"):
                extra = {"Accept": accept} if accept else {}
                # once the variants exist (made off the loop): the ETag stays put below
                harness.wait_for(lambda: self.get(path, Accept_Encoding="gzip", **extra)
                                 .header("Content-Encoding") == "gzip", "the gzip variant")
                r = self.get(path, Accept_Encoding="gzip", **extra)
                self.assertEqual(r.status, 200, r)
                vary = {v.strip().lower() for v in (r.header("Vary") or "").split(",")}
                self.assertEqual(vary, {"accept", "accept-encoding"}, (path, accept))
                again = self.get(path, Accept_Encoding="gzip", If_None_Match=r.header("ETag"), **extra)
                self.assertEqual(again.status, 304)
                self.assertEqual(again.header("Vary"), r.header("Vary"))
                head = self.a.request("HEAD", path, token=self.ceo,
                                      headers=dict(extra, **{"Accept-Encoding": "gzip"}))
                self.assertEqual(head.status, 200)
                self.assertEqual(head.body, b"")
                self.assertEqual(head.header("ETag"), r.header("ETag"))
                self.assertEqual(head.header("Vary"), r.header("Vary"))

    def test_filtered_views_equal_the_full_list_filtered(self):
        full = json.loads(self.get(BASE).body)["items"]
        cases = {"&kind=gap": lambda i: i["kind"] == "gap",
                 "&level=school": lambda i: i["level"] == "school",
                 "&level=trust&kind=attainment": lambda i: (i["level"], i["kind"]) == ("trust", "attainment"),
                 "&school=140003": lambda i: "140003" in i["schools"]}
        for q, keep in cases.items():
            first = self.get(BASE + q)
            second = self.get(BASE + q)  # from the view cache
            self.assertEqual(first.body, second.body, q)
            self.assertEqual(json.loads(second.body)["items"], [i for i in full if keep(i)], q)

    def test_cached_views_equal_those_rendered_afresh(self):
        views = [(BASE + "&kind=gap", self.ceo), (BASE + "&kind=gap", self.head),
                 (BASE, self.head), (BASE + "&level=school", self.admin),
                 ("/v1/schools/140002/priorities?year=%s&term=%s" % (YEAR, TERM), self.school),
                 ("/v1/schools/140002/priorities?year=%s&term=%s" % (YEAR, TERM), self.head),
                 ("/v1/support?year=%s&term=%s" % (YEAR, TERM), self.ceo)]
        hits0 = self.a.metric("matd_priorities_view_hits_total")
        cached = []
        for path, token in views:  # render on A (or reuse), then serve from A's cache
            self.get(path, token)
            cached.append(self.get(path, token))
            cached.append(self.get(path, token, Accept="text/csv"))
        self.assertGreaterEqual(self.a.metric("matd_priorities_view_hits_total") - hits0, len(views))
        b = Matd(self.db)  # a matd that has rendered nothing yet
        try:
            i = 0
            for path, token in views:
                for accept in (None, "text/csv"):
                    fresh = self.get(path, token, m=b, **({"Accept": accept} if accept else {}))
                    self.assertEqual(fresh.status, 200, fresh)
                    self.assertEqual(fresh.body, cached[i].body, (path, accept))
                    self.assertEqual(fresh.header("ETag"), cached[i].header("ETag"))
                    i += 1
        finally:
            self.assertEqual(b.stop(), 0)
        # The executive head's view is not the CEO's: the key tells principals apart.
        self.assertNotEqual(cached[0].body, cached[2].body)
        own = json.loads(cached[8].body)["items"]
        self.assertTrue([i for i in own if "pupils" in i], "the school sees its pupil keys")
        self.assertFalse([i for i in json.loads(cached[10].body)["items"] if "pupils" in i])

    def test_a_push_drops_the_cached_views(self):
        path = "/v1/schools/140005/priorities?year=%s&term=%s&kind=trend" % (YEAR, TERM)
        before = self.get(path, self.admin)
        self.assertTrue(before.json["items"])
        self.assertEqual(self.get(path, self.admin).body, before.body)
        rows = self.a.psql("COPY (SELECT 'P' || substr(encode(pupil_key, 'hex'), 1, 20), year_group,"
                           " subject FROM progress WHERE urn = '140005' AND year = '%s' AND term = '%s')"
                           " TO STDOUT WITH CSV" % (YEAR, TERM))
        body = "pupil,year_group,subject,band\r\n" + "".join(
            "%s,%s,%s,expected\r\n" % tuple(line.split(",")) for line in rows.splitlines())
        r = self.a.request("PUT", "/v1/schools/140005/progress/%s/%s" % (YEAR, TERM), body,
                           token=self.admin, content_type="text/csv")
        self.assertEqual(r.status, 201, r)
        after = self.get(path, self.admin)
        self.assertEqual(after.json["items"], [], "Eastgate's decline is gone with the push")
        self.assertNotEqual(after.header("ETag"), before.header("ETag"))
        gz = self.get(path, self.admin, Accept_Encoding="gzip")
        self.assertNotEqual(gz.status, 304)

    def test_a_view_asked_once_costs_no_compression(self):
        # Compression (gzip 9 + brotli 9) costs several renderings: a client walking through
        # distinct filters must not buy it for every one. A view is compressed only once it
        # is asked for again, by a client that takes a compressed answer.
        views = [BASE + "&school=%s&kind=%s" % (urn, kind)
                 for urn in ("140001", "140002", "140003", "140004", "140005")
                 for kind in ("attainment", "gap", "trend", "sef")]
        big = None
        # the whole list of the current data version compressed first (it is, once per
        # version, without being asked twice): nothing else is in flight below
        harness.wait_for(lambda: self.get(BASE, Accept_Encoding="br").header("Content-Encoding") == "br",
                         "the whole list's variants")
        before = self.a.metric("matd_compressions_total")
        for path in views:
            r = self.get(path, Accept_Encoding="gzip, br")
            self.assertEqual(r.status, 200, r)
            self.assertIsNone(r.header("Content-Encoding"), path)
            if len(r.body) >= 1024 and not big:
                big = (path, r.body)
        self.assertTrue(big, "a view large enough to compress")
        self.assertEqual(self.a.metric("matd_compressions_total"), before)
        path, plain = big
        harness.wait_for(lambda: self.get(path, Accept_Encoding="br").header("Content-Encoding") == "br",
                         "the view compressed once asked again")
        self.assertEqual(brotli_decode(self.get(path, Accept_Encoding="br").body), plain)
        self.assertEqual(self.a.metric("matd_compressions_total"), before + 1)
        # A client that takes no compression never causes any.
        path2 = BASE + "&level=school&kind=gap"
        for _ in range(3):
            self.assertIsNone(self.get(path2, Accept_Encoding="identity").header("Content-Encoding"))
        self.assertEqual(self.a.metric("matd_compressions_total"), before + 1)

    def test_an_evicted_view_still_reaches_a_slow_client_whole(self):
        # The bytes go out by reference to the cached view; a client that reads slowly
        # still has most of them queued in matd when the view is evicted (and freed by the
        # cache). It must get every byte, and ASan must see no read of freed memory.
        path = BASE + "&level=school"
        want = self.get(path, Accept="text/csv", Accept_Encoding="identity").body
        self.assertGreater(len(want), 60000)  # more than the kernel buffers below take
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", self.a.port))
        s = harness.tls_context().wrap_socket(raw, server_hostname="localhost")
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                       "Accept: text/csv\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
                       % (path, self.ceo)).encode())
            got = s.recv(100)
            conn = self.a.connect()
            try:  # 300 other views: the slow one is the least recently used, so evicted
                for n in range(300):
                    r = self.a.request("GET", BASE + "&subject=evict%d" % n, token=self.ceo, conn=conn)
                    self.assertEqual(r.status, 200)
            finally:
                conn.close()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            s.close()
        head, _, body = got.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:100])
        self.assertEqual(len(body), len(want))
        self.assertEqual(body, want)

    def test_a_narrower_principal_first_never_narrows_or_widens_the_next(self):
        # Each principal asks for the same filter right after a narrower (or wider) one
        # cached it; each must get its own answer: the CEO all schools, the executive
        # head its two, the school its own pupil keys and nobody else's.
        full = json.loads(self.get(BASE).body)["items"]
        q = "&kind=trend"
        head_first = json.loads(self.get(BASE + q, self.head).body)["items"]
        ceo_after = json.loads(self.get(BASE + q, self.ceo).body)["items"]
        self.assertEqual(ceo_after, [i for i in full if i["kind"] == "trend"])
        self.assertNotEqual(ceo_after, head_first)
        for i in head_first:
            if i["level"] == "school":
                self.assertIn(i["schools"][0], ("140002", "140005"), i)
        school_path = "/v1/schools/140002/priorities?year=%s&term=%s" % (YEAR, TERM)
        for first, then in ((self.school, self.head), (self.head, self.school), (self.admin, self.ceo)):
            a = self.get(school_path + "&level=school", first)
            b = self.get(school_path + "&level=school", then)
            self.assertEqual(a.status, 200)
            self.assertEqual(b.status, 200)
            keys = lambda r: any("pupils" in i for i in r.json["items"])
            want_keys = {self.school: True, self.admin: True, self.head: False, self.ceo: False}
            self.assertEqual(keys(a), want_keys[first])
            self.assertEqual(keys(b), want_keys[then])
        # A revoked token gets nothing from the cache.
        tok = self.a.token("executive_head", ["140002", "140005"], name="revoked viewer")
        self.assertEqual(self.get(BASE + q, tok).status, 200)
        tid = self.get("/v1/me", tok).json["token_id"]
        self.assertEqual(self.a.request("DELETE", "/v1/tokens/%d" % tid, token=self.admin).status, 204)
        r = self.get(BASE + q, tok)
        self.assertEqual(r.status, 401)
        self.assertNotIn(b"items", r.body)

    def test_the_cap_on_entries_holds(self):
        cap = 256  # PRIO_VIEWS_MAX_ENTRIES
        conn = self.a.connect()
        try:
            first = None
            for n in range(cap + 40):
                r = self.a.request("GET", BASE + "&subject=nosuch%d" % n, token=self.ceo, conn=conn)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["items"], [])
                first = first or r
        finally:
            conn.close()
        self.assertLessEqual(self.a.metric("matd_priorities_view_cache_entries"), cap)
        self.assertGreater(self.a.metric("matd_priorities_view_cache_entries"), cap / 2)
        self.assertLessEqual(self.a.metric("matd_priorities_view_cache_bytes"), 64 << 20)
        # An evicted view is rendered again, the same.
        self.assertEqual(self.get(BASE + "&subject=nosuch0").body, first.body)
        full = json.loads(self.get(BASE).body)["items"]
        writing = json.loads(self.get(BASE + "&subject=writing").body)["items"]
        self.assertEqual(writing, [i for i in full if i.get("subject", i.get("theme")) == "writing"])


if __name__ == "__main__":
    harness.main()
