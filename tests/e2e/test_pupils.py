"""POST /v1/schools/{urn}/pupils/lookup (SPEC 6.6) on the demo trust: a school's own
references come back with their key (HMAC recomputed here), bands, groups and stuck
subjects as stored; another school's pupils give nothing; only the school itself and admin
may ask; the references reach no table and no log line."""
import csv
import hashlib
import hmac
import io
import os
import subprocess
import unittest

import harness
import openapi_check
from harness import ENV, Matd

URN, OTHER = "140002", "140003"
PATH = "/v1/schools/%s/pupils/lookup"


def upn(digits):
    """A UPN with its DfE check letter: weights 2..13 on the 12 characters, mod 23."""
    total = sum(int(d) * (i + 2) for i, d in enumerate(digits))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23] + digits


UPN = upn("801200005001")
BAD_UPN = ("A" if UPN[0] != "A" else "C") + UPN[1:]  # the wrong check letter


def ref(urn, i):
    return "DEMO-%s-%04d" % (urn, i)


class PupilsLookup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.db = harness.fresh_database("e2e_pupils")
        cls.a = Matd(cls.db)
        cls.a.matctl("demo", "load")
        cls.admin = cls.a.token("admin")
        cls.ceo = cls.a.token("ceo")
        cls.head = cls.a.token("executive_head", [URN])
        cls.school = cls.a.token("school", [URN])
        cls.other = cls.a.token("school", [OTHER])
        cls.checker = openapi_check.Checker()
        with open(ENV["MATD_TEST_SECRET"], "rb") as f:
            cls.secret = f.read().rstrip(b"\r\n ")

    @classmethod
    def tearDownClass(cls):
        assert cls.a.stop() == 0

    def key(self, reference):
        canon = reference.upper() if len(reference) == 13 else reference
        return hmac.new(self.secret, canon.encode(), hashlib.sha256).digest()[:16].hex()

    def lookup(self, urn, refs, token, expect=200, **kw):
        r = self.a.request("POST", PATH % urn, {"pupils": refs}, token=token, **kw)
        self.checker.check("POST", PATH % urn, r)
        self.assertEqual(r.status, expect, r)
        return r

    def stored(self, urn, key):
        out = self.a.psql(
            "COPY (SELECT subject, year, term, band, year_group, disadvantaged, send, eal, "
            "looked_after, coalesce(sex, '') FROM progress WHERE urn = '%s' AND "
            "encode(pupil_key, 'hex') = '%s' ORDER BY subject, substr(year, 1, 4), "
            "array_position(ARRAY['autumn', 'spring', 'summer'], term)) TO STDOUT WITH CSV"
            % (urn, key))
        return list(csv.reader(io.StringIO(out)))

    def test_own_pupils_come_back_as_stored(self):
        refs = [ref(URN, i) for i in range(1, 41)] + ["NOT-ON-ROLL-1"]
        items = self.lookup(URN, refs, self.school).json["items"]
        self.assertEqual([i["pupil"] for i in items], refs, "in request order")
        stuck_seen = 0
        for it in items:
            self.assertEqual(it["key"], self.key(it["pupil"]))
            rows = self.stored(URN, it["key"])
            self.assertEqual(it["found"], bool(rows), it["pupil"])
            if not rows:
                self.assertEqual((it["subjects"], it["stuck"], it["groups"]), ([], [], None))
                continue
            bands = {}
            for subject, year, term, band, *_ in rows:
                bands.setdefault(subject, []).append({"year": year, "term": term, "band": band})
            self.assertEqual({s["subject"]: s["bands"] for s in it["subjects"]}, bands)
            window = [("2024-25", "summer"), ("2025-26", "autumn"), ("2025-26", "spring")]
            stuck = sorted(s for s, b in bands.items()
                           if sum(1 for x in b if (x["year"], x["term"]) in window
                                  and x["band"] in ("below", "towards")) == 3)
            self.assertEqual(it["stuck"], stuck, it["pupil"])
            stuck_seen += bool(stuck)
            last = [r for r in rows if (r[1], r[2]) == ("2025-26", "spring")][0]
            g = it["groups"]
            self.assertEqual((g["year"], g["term"], g["year_group"], g["disadvantaged"], g["send"]),
                             ("2025-26", "spring", last[4], last[5] == "t", last[6]))
        self.assertFalse(items[-1]["found"])
        self.assertGreater(stuck_seen, 0, "the demo plants stuck pupils at Brookside")

    def test_another_schools_pupils_return_nothing(self):
        refs = [ref(OTHER, i) for i in range(1, 31)]
        # They exist (admin asking at their own school finds them)...
        there = self.lookup(OTHER, refs, self.admin).json["items"]
        self.assertTrue(all(i["found"] for i in there))
        # ...but asked at Brookside, by Brookside, nothing comes back.
        mine = self.lookup(URN, refs, self.school).json["items"]
        for i in mine:
            self.assertEqual((i["found"], i["subjects"], i["stuck"], i["groups"]), (False, [], [], None))

    def test_only_the_school_itself_and_admin(self):
        refs = [ref(URN, 1)]
        self.lookup(URN, refs, self.admin)
        self.lookup(URN, refs, self.other, expect=403)
        self.lookup(URN, refs, self.head, expect=403)
        self.lookup(URN, refs, self.ceo, expect=403)
        self.lookup(OTHER, refs, self.school, expect=403)
        self.lookup("199999", refs, self.admin, expect=404)

    def test_csv(self):
        refs = [ref(URN, 1), "NOT-ON-ROLL-2"]
        r = self.lookup(URN, refs, self.school, headers={"Accept": "text/csv"})
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        subjects = self.stored(URN, self.key(refs[0]))
        self.assertEqual(len(rows), len({s[0] for s in subjects}) + 1)
        self.assertEqual({x["pupil"] for x in rows}, set(refs))
        self.assertEqual([x["found"] for x in rows if x["pupil"] == refs[1]], ["false"])
        for x in rows:
            self.assertEqual(x["key"], self.key(x["pupil"]))

    def test_upn_is_canonical(self):
        r = self.a.request("POST", "/v1/schools", harness.school_body("140099"), token=self.admin)
        self.assertEqual(r.status, 201, r)
        body = {"records": [{"pupil": UPN, "year_group": "6", "subject": "writing", "band": "towards"}]}
        r = self.a.request("PUT", "/v1/schools/140099/progress/2025-26/spring", body, token=self.admin)
        self.assertEqual(r.status, 201, r)
        items = self.lookup("140099", [UPN.lower(), UPN], self.admin).json["items"]
        self.assertTrue(items[0]["found"] and items[1]["found"])
        self.assertEqual(items[0]["key"], items[1]["key"])
        self.assertEqual(items[0]["key"], self.key(UPN))

    def test_bad_bodies_are_named_and_not_echoed(self):
        r = self.lookup(URN, [ref(URN, 1), "has space", BAD_UPN], self.school, expect=422)
        self.assertEqual([e["path"] for e in r.json["errors"]], ["/pupils/1", "/pupils/2"])
        self.assertNotIn("has space", r.body.decode())
        self.assertNotIn(BAD_UPN, r.body.decode())
        r = self.lookup(URN, ["X%d" % i for i in range(5001)], self.school, expect=422)
        self.assertIn("/pupils", [e["path"] for e in r.json["errors"]])
        r = self.a.request("POST", PATH % URN, {"pupils": [ref(URN, 1)], "names": []}, token=self.school)
        self.assertEqual(r.status, 422, r)
        self.assertEqual(self.lookup(URN, [], self.school).json["items"], [])

    def test_zz_references_in_no_table_and_no_log_line(self):
        # Runs last (by name): every reference sent above must have left no trace.
        sent = [ref(URN, 1), ref(OTHER, 1), "NOT-ON-ROLL-1", "NOT-ON-ROLL-2", UPN, BAD_UPN,
                "has space"]
        self.lookup(URN, sent[:4], self.school)
        dump = subprocess.run(
            ["pg_dump", "--data-only", "-h", ENV["MATD_TEST_PGHOST"], "-p", ENV["MATD_TEST_PGPORT"],
             "-U", ENV.get("MATD_TEST_PGUSER", "postgres"), self.db],
            capture_output=True, text=True, check=True).stdout
        self.assertGreater(len(dump), 100000, "the dump holds the demo")
        log = self.a.synced_log()  # the whole log, not the tail log_text() gives
        self.assertIn("route=pupils_lookup", log, "the requests were logged")
        for s in sent:
            self.assertNotIn(s, dump)
            self.assertNotIn(s.lower(), log.lower())


if __name__ == "__main__":
    harness.main()
