"""Pupil-progress pushes over TLS: JSON and CSV, all-or-nothing with every bad row named,
idempotent re-push, pseudonymised pupils, summaries (school, trust, CSV), scope, and a push
cut off mid-body leaving the previous set intact."""
import csv
import hashlib
import hmac
import io
import json
import os
import signal
import socket
import subprocess
import threading
import unittest

import harness
from harness import Matd, kernel_at_least, school_body

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(la_est_year_serial):
    """A valid UPN for the 12 characters after the check letter."""
    total = sum(int(c) * (i + 2) for i, c in enumerate(la_est_year_serial))
    return LETTERS[total % 23] + la_est_year_serial


def records(n, school="801200", subjects=("reading", "writing", "maths")):
    out = []
    for i in range(n):
        ref = upn("%s%s%02d%03d" % (school[:3], "2000", 25, i))  # LA, establishment, year, serial
        for j, subject in enumerate(subjects):
            band = ["below", "towards", "expected", "greater_depth"][(i + j) % 4]
            out.append({"pupil": ref, "year_group": str(3 + i % 4), "subject": subject, "band": band,
                        "score": None, "attendance_pct": 94.5, "disadvantaged": i % 3 == 0,
                        "send": ["none", "support", "ehcp"][i % 5 % 3], "eal": i % 4 == 0,
                        "looked_after": False, "sex": "f" if i % 2 else "m",
                        "prior_attainment": ["low", "middle", "high"][i % 3]})
    return out


def to_csv(recs):
    cols = list(recs[0].keys())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    for r in recs:
        w.writerow(["" if r[c] is None else str(r[c]).lower() if isinstance(r[c], bool) else r[c]
                    for c in cols])
    return buf.getvalue()


class Progress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_progress"),
                     extra_config="[limits]\nmax_push_bytes = 2000000\n")
        cls.admin = cls.m.token("admin")
        for urn in ("100001", "100002"):
            assert cls.m.request("POST", "/v1/schools", school_body(urn), token=cls.admin).status == 201
        cls.s1 = cls.m.token("school", ["100001"])
        cls.s2 = cls.m.token("school", ["100002"])
        cls.head = cls.m.token("executive_head", ["100001"])
        cls.base = records(40)
        r = cls.m.request("PUT", "/v1/schools/100001/progress/2025-26/autumn",
                          {"records": cls.base}, token=cls.s1)
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def put(self, body, token=None, term="autumn", urn="100001", ctype=None):
        return self.m.request("PUT", "/v1/schools/%s/progress/2025-26/%s" % (urn, term), body,
                              token=token or self.s1, content_type=ctype)

    def rows(self, term="autumn", urn="100001"):
        return int(self.m.psql("SELECT count(*) FROM progress WHERE urn = '%s' AND term = '%s'"
                               % (urn, term)))

    def assertRejected(self, r, status, needle, term="autumn"):
        self.assertEqual(r.status, status, (r, self.m.log_text()[-3000:]))  # the log says why
        self.assertTrue(r.header("Content-Type").startswith("application/problem+json"), r.headers)
        paths = [e["path"] for e in r.json["errors"]]
        if needle:
            self.assertTrue(any(needle in p for p in paths), (needle, r.json["errors"][:5]))
        self.assertEqual(self.rows(term), 120, "the previous set stays")

    def test_json_push_summary_and_idempotency(self):
        self.assertEqual(self.rows(), 120)
        again = self.put({"records": self.base})
        self.assertEqual(again.status, 200, again)
        self.assertTrue(again.json["unchanged"])
        first = self.m.request("GET", "/v1/submissions?school=100001&kind=progress", token=self.s1).json["items"]
        accepted = [s for s in first if s["outcome"] == "accepted" and s["term"] == "autumn"]
        self.assertEqual(accepted[-1]["id"], again.json["submission"]["id"])
        self.assertEqual(accepted[-1]["row_count"], 120)
        s = self.m.request("GET", "/v1/schools/100001/progress/2025-26/autumn/summary", token=self.s1)
        self.assertEqual(s.status, 200, s)
        cell = [c for c in s.json["cells"] if c["subject"] == "reading" and c["group"] == "all"
                and c["year_group"] == "all"][0]
        k = sum(1 for r in self.base if r["subject"] == "reading" and r["band"] in ("expected", "greater_depth"))
        self.assertEqual(cell["n"], 40)
        self.assertAlmostEqual(cell["p_expected"], round(k / 40, 4))
        gd = sum(1 for r in self.base if r["subject"] == "reading" and r["band"] == "greater_depth")
        self.assertAlmostEqual(cell["p_greater_depth"], round(gd / 40, 4))
        dis = [c for c in s.json["cells"] if c["subject"] == "reading" and c["group"] == "disadvantaged"
               and c["year_group"] == "all"][0]
        self.assertEqual(dis["n"], sum(1 for r in self.base if r["subject"] == "reading" and r["disadvantaged"]))

    def test_csv_push_equals_json_push(self):
        recs = records(30, subjects=("maths", "science"))
        r = self.put({"records": recs}, term="spring")
        self.assertEqual(r.status, 201, r)
        json_keys = self.m.psql("SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT encode(pupil_key,'hex') || subject || band AS x FROM progress WHERE term='spring') t")
        r = self.put(to_csv(recs), term="spring", ctype="text/csv")
        self.assertEqual(r.status, 201, r)  # different bytes: a new submission...
        csv_keys = self.m.psql("SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT encode(pupil_key,'hex') || subject || band AS x FROM progress WHERE term='spring') t")
        self.assertEqual(json_keys, csv_keys)  # ...with identical rows and pupil keys
        # Pupils are stored pseudonymised: the key is HMAC-SHA256(trust secret, UPN) cut to
        # 16 bytes, recomputed here from the secret file; the reference itself is in no
        # table (a dump of the whole database) and no log line.
        ref = recs[0]["pupil"]
        with open(os.environ["MATD_TEST_SECRET"], "rb") as f:
            secret = f.read().rstrip(b"\r\n ")
        key = hmac.new(secret, ref.upper().encode(), hashlib.sha256).digest()[:16].hex()
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE term = 'spring' AND "
                                     "pupil_key = decode('%s', 'hex')" % key), "2")  # 2 subjects
        dump = subprocess.run(
            ["pg_dump", "--data-only", "-h", os.environ["MATD_TEST_PGHOST"], "-p",
             os.environ["MATD_TEST_PGPORT"], "-U", os.environ.get("MATD_TEST_PGUSER", "postgres"),
             self.m.db], capture_output=True, text=True, check=True).stdout
        self.assertIn(key, dump.replace("\\x", ""), "the dump holds the keys")
        for r in recs:
            self.assertNotIn(r["pupil"], dump)
        self.assertNotIn(ref, self.m.synced_log())

    def test_replacing_push(self):
        r = self.put({"records": records(10)}, term="summer")
        self.assertEqual(r.status, 201)
        self.assertEqual(self.rows("summer"), 30)
        r = self.put({"records": records(5)}, term="summer")
        self.assertEqual(r.status, 201)
        self.assertEqual(self.rows("summer"), 15)

    def test_bad_json_pushes(self):
        good = self.base
        def variant(i, **kw):
            recs = json.loads(json.dumps(good))
            recs[i].update(kw)
            return {"records": recs}
        bad_upn = good[0]["pupil"]
        wrong_letter = [c for c in LETTERS if c != bad_upn[0]][0] + bad_upn[1:]
        cases = [
            (variant(3, band="excellent"), 422, "/records/3/band"),
            (variant(4, year_group=6), 422, "/records/4/year_group"),
            (variant(5, colour="blue"), 422, "/records/5/colour"),
            (variant(6, send="yes"), 422, "/records/6/send"),
            (variant(7, pupil=wrong_letter), 422, "/records/7/pupil"),
            (variant(8, attendance_pct=140), 422, "/records/8/attendance_pct"),
            ({"records": good + [good[0]]}, 422, "/records/120"),
            ({"rows": good}, 422, "/rows"),
        ]
        for body, status, path in cases:
            self.assertRejected(self.put(body), status, path)
        self.assertRejected(self.put('{"records": [', ctype="application/json"), 400, "")
        r = self.put(variant(9, band="x"))
        self.assertEqual(r.status, 422)

    def test_json_read_as_a_stream(self):
        """The push is read record by record: what breaks the JSON anywhere (a repeated key deep
        in a record, bytes after the object) is still a 400 naming where, as jansson names it;
        the body's own errors come before the records'; escapes decode as any JSON reader's."""
        good = json.dumps({"records": self.base})
        deep_dup = good.replace('"band": "towards"', '"band": "towards", "eal": true, "eal": false', 1)
        for body, needle in ((deep_dup, "duplicate object key"), (good + " x", "end of file expected"),
                             (good[:-2], "expected near end of file"),
                             (good.replace("94.5", "94.", 1), "invalid token")):
            r = self.put(body, ctype="application/json")
            self.assertRejected(r, 400, "")
            self.assertIn("malformed JSON at line 1", r.json["errors"][0]["message"])
            self.assertIn(needle, r.json["errors"][0]["message"])
        recs = json.loads(good)["records"]
        recs[2]["band"] = "superb"
        r = self.put(json.dumps({"records": recs, "extra": [1, {"a": 2}]}), ctype="application/json")
        self.assertRejected(r, 422, "")
        self.assertEqual([e["path"] for e in r.json["errors"]], ["/extra", "/records/2/band"])
        self.assertRejected(self.put('{"records": {"0": {}}}', ctype="application/json"), 422, "/records")
        # The same pupils written with \u escapes are the same pupils.
        escaped = json.dumps({"records": self.base})
        for ref in {rec["pupil"] for rec in self.base}:
            escaped = escaped.replace('"%s"' % ref, '"\\u%04x%s"' % (ord(ref[0]), ref[1:]))
        self.assertIn("\\u00", escaped)
        # (ORDER BY a column expression: a constant such as 1 sorts nothing in an aggregate)
        key_sql = "SELECT string_agg(k, ',' ORDER BY k) FROM (SELECT encode(pupil_key, 'hex') || subject AS k " \
                  "FROM progress WHERE urn = '100001' AND term = '%s') t"
        self.assertEqual(self.put(escaped, term="spring", ctype="application/json").status, 201)
        self.assertEqual(self.m.psql(key_sql % "spring"), self.m.psql(key_sql % "autumn"))

    def test_large_push_loads_while_it_parses(self):
        """A push big enough that its COPY is under way before the parse ends: a good one
        stores every row (the submission counts what was stored); one whose last row is bad
        is refused after data was sent, and the previous set stays whole."""
        recs = records(1000)  # 3,000 rows: well past one 256 KB chunk of COPY text
        text = to_csv(recs)
        r = self.put(text, term="spring", ctype="text/csv")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["submission"]["row_count"], 3000)
        self.assertEqual(self.rows("spring"), 3000)
        lines = text.rstrip("\r\n").split("\r\n")
        bad = "\r\n".join(lines[:-1] + [lines[-1].replace("greater_depth", "superb")
                                          .replace("expected", "superb").replace("towards", "superb")
                                          .replace("below", "superb")]) + "\r\n"
        r = self.put(bad, term="spring", ctype="text/csv")
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["row 3001:band"])
        self.assertEqual(self.rows("spring"), 3000)

    def test_two_writers_of_one_term_at_once(self):
        """Two different sets for the same school and term at once, and the same set twice:
        never a 5xx, and the term holds exactly one whole set, the one its last submission
        names, with the summary's cells counted from those rows."""
        a = to_csv(records(900, school="803300"))
        b = to_csv(records(600, school="804400", subjects=("reading", "maths")))
        c = to_csv(records(400, school="805500"))  # stored by neither: the pair is no repeat
        for bodies in ((a, b), (c, c)):
            out = []

            def push(body):
                out.append(self.m.request("PUT", "/v1/schools/100002/progress/2022-23/summer",
                                          body, token=self.admin, content_type="text/csv"))
            threads = [threading.Thread(target=push, args=(x,)) for x in bodies]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertTrue(all(r.status in (200, 201, 409) for r in out), out)
            self.assertTrue(any(r.status == 201 for r in out), out)
            stored = int(self.m.psql("SELECT count(*) FROM progress WHERE urn = '100002' AND "
                                     "year = '2022-23' AND term = 'summer'"))
            last = int(self.m.psql("SELECT row_count FROM submissions WHERE urn = '100002' AND "
                                   "year = '2022-23' AND term = 'summer' AND kind = 'progress' AND "
                                   "outcome = 'accepted' ORDER BY id DESC LIMIT 1"))
            self.assertIn(stored, (2700, 1200) if bodies[0] is a else (1200,))
            self.assertEqual(stored, last)
            counted = int(self.m.psql("SELECT coalesce(sum(n0), 0) FROM progress_counts WHERE "
                                      "urn = '100002' AND year = '2022-23' AND term = 'summer'"))
            self.assertEqual(counted, stored)

    def test_concurrent_large_pushes(self):
        """Pushes at once, more than the offload pool has threads (a load then waits for its
        parse instead of holding a connection): each good one stores exactly its rows, the bad
        one stores nothing."""
        text = to_csv(records(1000, school="802300"))  # pupils of their own
        bad = text.replace("greater_depth", "superb", 1)
        terms = ["autumn", "spring", "summer"]
        jobs = [("2024-25", t, text) for t in terms] + [("2023-24", "autumn", text),
                                                         ("2023-24", "spring", bad)]
        out = {}

        def push(year, term, body):
            out[(year, term)] = self.m.request(
                "PUT", "/v1/schools/100002/progress/%s/%s" % (year, term), body,
                token=self.admin, content_type="text/csv")
        threads = [threading.Thread(target=push, args=j) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for year, term, body in jobs:
            r = out[(year, term)]
            stored = int(self.m.psql("SELECT count(*) FROM progress WHERE urn = '100002' AND "
                                     "year = '%s' AND term = '%s'" % (year, term)))
            if body is bad:
                self.assertEqual(r.status, 422, r)
                self.assertEqual(stored, 0)
            else:
                self.assertEqual(r.status, 201, r)
                self.assertEqual((r.json["submission"]["row_count"], stored), (3000, 3000))

    def test_bad_csv_pushes(self):
        text = to_csv(self.base)
        lines = text.split("\r\n")
        broken_quote = "\r\n".join(lines[:5] + ['"' + lines[5]] + lines[6:])
        wrong_count = "\r\n".join(lines[:7] + [lines[7] + ",extra"] + lines[8:])
        dup = text + lines[1] + "\r\n"
        unknown_col = text.replace("band", "bands", 1)
        bad_band = "\r\n".join(lines[:9] + [lines[9].replace("below", "lowest").replace("towards", "lowest")] + lines[10:])
        for body, needle in ((broken_quote, "row "), (wrong_count, "row 8"), (dup, "row 122"),
                             (unknown_col, "bands"), (bad_band, "row 10:band")):
            self.assertRejected(self.put(body, ctype="text/csv"), 422, needle)
        r = self.m.request("GET", "/v1/submissions?school=100001&kind=progress&limit=1000", token=self.admin)
        self.assertTrue([s for s in r.json["items"] if s["outcome"] == "rejected"])

    def test_limits_and_types(self):
        big = {"records": records(3000)}
        self.assertRejected(self.put(big), 413, "")
        self.assertRejected(self.put("pupil,band\r\n", ctype="text/plain"), 415, "")

    def test_scope(self):
        self.assertEqual(self.put({"records": self.base}, token=self.s2).status, 403)
        self.assertEqual(self.put({"records": self.base}, token=self.head).status, 403)
        r = self.m.request("GET", "/v1/schools/100001/progress/2025-26/autumn/summary", token=self.s2)
        self.assertEqual(r.status, 403)
        self.assertEqual(self.m.request("GET", "/v1/progress/summary?year=2025-26&term=autumn",
                                        token=self.s1).status, 403)
        self.assertEqual(self.rows(), 120)

    def test_trust_summary(self):
        r = self.m.request("GET", "/v1/progress/summary?year=2025-26&term=autumn&by=school", token=self.admin)
        self.assertEqual(r.status, 200, r)
        pooled = [c for c in r.json["cells"] if c["school"] is None and c["subject"] == "writing"
                  and c["group"] == "all" and c["year_group"] == "all"][0]
        per_school = [c for c in r.json["cells"] if c["school"] and c["subject"] == "writing"
                      and c["group"] == "all" and c["year_group"] == "all"]
        self.assertEqual(pooled["n"], sum(c["n"] for c in per_school))
        self.assertEqual(pooled["benchmark"], None)  # no 2025-26 table: shown as unset
        c = self.m.request("GET", "/v1/progress/summary?year=2025-26&term=autumn", token=self.head,
                           headers={"Accept": "text/csv"})
        self.assertEqual(c.status, 200)
        self.assertTrue(c.body.startswith(b"school,subject,year_group,group,n,"))
        for q, name in (("year=2025&term=autumn", "year"), ("year=2025-26&term=winter", "term"),
                        ("year=2025-26&term=autumn&by=region", "by")):
            r = self.m.request("GET", "/v1/progress/summary?" + q, token=self.admin)
            self.assertEqual(r.status, 422)
            self.assertEqual(r.json["errors"][0]["path"], name)

    def test_subject_outside_the_vocabulary(self):
        recs = records(6, subjects=("history",))
        self.assertRejected(self.put({"records": recs}), 422, "/records/0/subject")

    def test_push_killed_during_its_copy_leaves_previous_set(self):
        """matd dies (SIGKILL) while a large push is being copied into PostgreSQL: the
        transaction never commits, so the term's previous set is whole, and a new matd on
        the same database serves it."""
        m = Matd(harness.fresh_database("e2e_progress_kill"))
        try:
            admin = m.token("admin")
            self.assertEqual(m.request("POST", "/v1/schools", school_body("100001"), token=admin).status, 201)
            path = "/v1/schools/100001/progress/2025-26/autumn"
            self.assertEqual(m.request("PUT", path, {"records": records(40)}, token=admin).status, 201)
            before = m.psql("SELECT count(*) || ':' || md5(string_agg(encode(pupil_key, 'hex') || "
                            "subject || band, ',' ORDER BY pupil_key, subject)) FROM progress")
            big = {"records": [dict(r, pupil=upn("8012000%02d%03d" % (i // 1000, i % 1000)))
                               for i in range(12000) for r in records(1)]}
            t = threading.Thread(target=lambda: self._swallow(m.request, "PUT", path, big, admin))
            t.start()
            # Kill matd once its COPY is under way (the copy is visible in pg_stat_activity).
            harness.wait_for(lambda: m.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY progress%%' "
                "AND datname = current_database()") != "0", "the push's COPY", timeout=60,
                interval=0.01)
            m.proc.kill()
            m.proc.wait(10)
            t.join(30)
            harness.wait_for(lambda: m.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY progress%%' "
                "AND datname = current_database()") == "0", "the aborted COPY to end")
            self.assertEqual(m.psql(
                "SELECT count(*) || ':' || md5(string_agg(encode(pupil_key, 'hex') || subject || "
                "band, ',' ORDER BY pupil_key, subject)) FROM progress"), before)
            # The aggregates the push would have changed are those of the previous set too.
            self.assertEqual(m.psql("SELECT sum(n0) FROM progress_counts"), "120")
        finally:
            m.stop(signal.SIGKILL)

    @staticmethod
    def _swallow(fn, *args):
        try:
            fn(*args[:3], token=args[3])
        except OSError:
            pass  # the server died mid-request, as intended

    def test_push_cut_off_mid_body_leaves_previous_set(self):
        body = json.dumps({"records": records(200)}).encode()
        ctx = harness.tls_context()
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.m.port)), server_hostname="localhost")
        s.sendall(b"PUT /v1/schools/100001/progress/2025-26/autumn HTTP/1.1\r\nHost: localhost\r\n"
                  b"Authorization: Bearer " + self.s1.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        s.sendall(body[: len(body) // 2])
        s.close()
        self.assertEqual(self.rows(), 120)
        self.assertEqual(self.m.request("GET", "/healthz").status, 200)


class PushGivesWayToReads(unittest.TestCase):
    """While requests are being answered, a push's COPY pauses between chunks to keep to
    [limits] push_busy_share_pct of the rate it reaches alone; with no requests it never
    pauses. Pausing loses nothing: every row is stored, a bad last row still stores none."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_push_pacing"),
                     extra_config="[limits]\nmax_push_bytes = 8000000\npush_busy_share_pct = 5\n")
        cls.admin = cls.m.with_school("100001")
        cls.text = to_csv(records(3000, school="806600"))  # 9,000 rows, about four COPY chunks

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def push(self, body, term):
        return self.m.request("PUT", "/v1/schools/100001/progress/2025-26/" + term, body,
                              token=self.admin, content_type="text/csv")

    def rows(self, term):
        return int(self.m.psql("SELECT count(*) FROM progress WHERE urn = '100001' AND "
                               "year = '2025-26' AND term = '%s'" % term))

    def push_while_reading(self, body, term):
        """Pushes while another connection asks for /healthz back to back."""
        stop = threading.Event()
        reads = []

        def reader():
            conn = self.m.connect()
            while not stop.is_set():
                reads.append(self.m.request("GET", "/healthz", conn=conn).status)
        t = threading.Thread(target=reader)
        t.start()
        try:
            return self.push(body, term), reads
        finally:
            stop.set()
            t.join()

    def test_quiet_push_never_pauses_and_busy_push_does(self):
        before = self.m.metric("matd_push_pauses_total")
        r = self.push(self.text, "autumn")  # nothing else asked meanwhile: flat out
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.m.metric("matd_push_pauses_total"), before)
        r, reads = self.push_while_reading(self.text, "spring")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["submission"]["row_count"], 9000)
        self.assertEqual(self.rows("spring"), 9000)
        self.assertTrue(reads and all(s == 200 for s in reads), reads[:5])
        self.assertGreater(self.m.metric("matd_push_pauses_total"), before)
        same = "SELECT string_agg(k, ',' ORDER BY k) FROM (SELECT encode(pupil_key, 'hex') || " \
               "subject || band AS k FROM progress WHERE urn = '100001' AND term = '%s') t"
        self.assertEqual(self.m.psql(same % "spring"), self.m.psql(same % "autumn"))

    def test_bulk_threads_run_below_the_loops(self):
        """The push's hashing and parsing run on the offload pool's bulk lane, whose
        threads are niced (+10); the loops and the reader lane are not, and the loops (two
        workers) ask for the kernel's shortest slice where it has them. No thread leaves
        SCHED_OTHER."""
        n = self.m.thread_nices()
        self.assertIn(10, n)
        self.assertIn(0, n)
        self.assertEqual(set(n), {0, 10}, n)
        threads = self.m.thread_sched()
        self.assertEqual({(nice, policy) for nice, policy, _ in threads}, {(0, 0), (10, 0)},
                         threads)
        if kernel_at_least(6, 12):  # a fair-class thread's own slice
            short = [t for t in threads if t[2] == 100000]
            self.assertEqual(len(short), 2, threads)
            self.assertTrue(all(t[:2] == (0, 0) for t in short), threads)

    def test_paced_push_with_a_bad_last_row_stores_nothing(self):
        self.assertEqual(self.push(self.text, "summer").status, 201)
        lines = self.text.rstrip("\r\n").split("\r\n")
        bad = "\r\n".join(lines[:-1] + [lines[-1].replace(",m,", ",q,").replace(",f,", ",q,")]) + "\r\n"
        r, _ = self.push_while_reading(bad, "summer")
        self.assertEqual(r.status, 422, r)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["row 9001:sex"])
        self.assertEqual(self.rows("summer"), 9000)


class PacedPushNeverHoldsAQueue(unittest.TestCase):
    """A paused COPY holds its database connection, so a push never pauses while other jobs
    wait for one: with one worker and one connection, a push under a busy foreground (health
    checks back to back) does pause, but not while a reader's query waits behind it."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_push_pacing_queue"), workers=1,
                     extra_config="[limits]\nmax_push_bytes = 8000000\npush_busy_share_pct = 5\n"
                                  "[database]\npool_size = 1\n")
        cls.admin = cls.m.with_school("100001")
        cls.text = to_csv(records(3000, school="806600"))

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def push_under(self, paths, term, year="2025-26"):
        """Pushes while one connection per path asks for it back to back."""
        stop = threading.Event()
        statuses = []

        def reader(path):
            conn = self.m.connect()
            while not stop.is_set():
                statuses.append(self.m.request("GET", path, token=self.admin, conn=conn).status)
        threads = [threading.Thread(target=reader, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        try:
            before = self.m.metric("matd_push_pauses_total")
            r = self.m.request("PUT", f"/v1/schools/100001/progress/{year}/{term}", self.text,
                               token=self.admin, content_type="text/csv")
            return r, self.m.metric("matd_push_pauses_total") - before, statuses
        finally:
            stop.set()
            for t in threads:
                t.join()

    def test_no_pause_while_a_query_waits_for_the_connection(self):
        # Whether the foreground is busy at the moments the push looks is timing: the Release
        # build can finish a push between two looks (one run in three), so up to three pushes,
        # at least one of which pauses.
        pauses = 0
        for year in ("2025-26", "2024-25", "2023-24"):
            r, paused, statuses = self.push_under(["/healthz"], "autumn", year)
            self.assertEqual(r.status, 201, r)
            pauses += paused
            if pauses:
                break
        self.assertGreater(pauses, 0, "busy and nobody waiting: the push pauses")
        r, pauses, statuses = self.push_under(["/healthz", "/v1/schools"], "spring")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["submission"]["row_count"], 9000)
        self.assertEqual(pauses, 0, "a reader's query waited for the connection")
        self.assertTrue(statuses and all(s == 200 for s in statuses), set(statuses))


class CancelledLoadLeavesTheNextJobAlone(unittest.TestCase):
    """A rejected push is answered while its load (DELETE, COPY, ...) still runs, and the
    load is cancelled. The cancel must not reach the next job on that connection: with one
    worker and one connection, every request right after a rejected push gets its answer,
    and the school's data is the last good push's."""

    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_push_cancel"), workers=1,
                     extra_config="[database]\npool_size = 1\n")
        cls.admin = cls.m.with_school("100001")

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def test_a_push_answered_503_for_its_timeout_stores_nothing(self):
        """The request timeout cancels the load: it must end there (its transaction rolled
        back), not run on to COMMIT after the client was told it failed."""
        m = Matd(harness.fresh_database("e2e_push_cancel_timeout"), workers=1,
                 extra_config="[server]\nrequest_timeout_ms = 400\n"
                              "[limits]\nmax_push_bytes = 40000000\n")
        try:
            admin = m.with_school("100001")
            r = m.request("PUT", "/v1/schools/100001/progress/2025-26/autumn",
                          to_csv(records(30000, school="806600")), token=admin,
                          content_type="text/csv")
            self.assertEqual(r.status, 503, r)
            import time
            time.sleep(4)  # long enough for a load left running to commit
            self.assertEqual(m.psql("SELECT count(*) FROM progress"), "0")
            self.assertEqual(m.psql("SELECT count(*) FROM submissions WHERE outcome = 'accepted'"),
                             "0")
            self.assertEqual(m.request("GET", "/v1/schools", token=admin).status, 200)
        finally:
            m.stop()

    def test_requests_after_rejected_pushes_are_answered(self):
        good = records(200)
        path = "/v1/schools/100001/progress/2025-26/autumn"
        self.assertEqual(self.m.request("PUT", path, {"records": good}, token=self.admin).status, 201)
        answers = []
        for i in range(40):
            bad = json.loads(json.dumps(good))
            bad[1]["band"] = "excellent-%d" % i  # refused at the second record
            r = self.m.request("PUT", path, {"records": bad}, token=self.admin)
            self.assertEqual(r.status, 422, (r, self.m.log_text()[-2000:]))
            answers.append(self.m.request("GET", "/v1/schools", token=self.admin).status)
            answers.append(self.m.request("GET", "/v1/submissions?school=100001&kind=progress",
                                          token=self.admin).status)
        self.assertEqual(set(answers), {200}, (answers, self.m.log_text()[-2000:]))
        self.assertEqual(self.m.psql("SELECT count(*) FROM progress WHERE urn = '100001'"), "600")
        rejected = self.m.psql("SELECT count(*) FROM submissions WHERE urn = '100001' AND "
                               "outcome = 'rejected'")
        self.assertEqual(rejected, "40", "every rejected push is on record")


class Vocabulary(unittest.TestCase):
    def test_configured_subjects(self):
        m = Matd(harness.fresh_database("e2e_vocabulary"),
                 extra_config="[trust]\nsubjects = history, maths\n")
        try:
            admin = m.token("admin")
            m.request("POST", "/v1/schools", school_body("100001"), token=admin)
            path = "/v1/schools/100001/progress/2025-26/autumn"
            r = m.request("PUT", path, {"records": records(6, subjects=("history", "maths"))}, token=admin)
            self.assertEqual(r.status, 201, r)
            r = m.request("PUT", path, {"records": records(6, subjects=("reading",))}, token=admin)
            self.assertEqual(r.status, 422)
            self.assertIn("history, maths", r.json["errors"][0]["message"])
        finally:
            self.assertEqual(m.stop(), 0)


if __name__ == "__main__":
    harness.main()
