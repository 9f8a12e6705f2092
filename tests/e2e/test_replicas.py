"""Read replicas ([database] replica_dsn) against a real streaming replica: a private primary,
`pg_basebackup -R` into a temporary directory, the standby started on its own port. GET
routes are served by the replica; a client reads its own writes (the Matd-Lsn header echoed,
or tracked per token), also while replay is paused; a lagging or stopped replica is skipped
and reads still succeed; writes never reach the replica (its own statement log says so)."""
import copy
import random
import re
import time
import unittest

import harness
from bodies import SEF_2025
from harness import Matd, PrivateCluster, StandbyCluster, school_body, wait_for
from test_progress import records

SEF_PATH = "/v1/schools/100001/sef/2025-26"
MAX_LAG_MS = 3000


def sef(n):
    """A SEF that differs in every round, so that every PUT makes a new version."""
    body = copy.deepcopy(SEF_2025)
    body["areas"]["achievement"]["strengths"] = "Phonics, round %d." % n
    return body


def lsn_value(text):
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


class Replicas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.primary = PrivateCluster()
        cls.standby = cls.m = None
        try:
            cls.standby = StandbyCluster(cls.primary, {"log_statement": "'all'"})
            wait_for(lambda: cls.primary_sql("SELECT count(*) FROM pg_stat_replication "
                                             "WHERE state = 'streaming'") == "1",
                     "the standby to stream from the primary")
            cls.m = Matd("matd", pg_host="127.0.0.1", pg_port=cls.primary.port, extra_config=(
                "[database]\nreplica_dsn = host=127.0.0.1 port=%d user=postgres dbname=matd "
                "connect_timeout=3\nreplica_max_lag_ms = %d\n" % (cls.standby.port, MAX_LAG_MS)))
            cls.admin = cls.m.token("admin")
            r = cls.m.request("POST", "/v1/schools", school_body("100001"), token=cls.admin)
            assert r.status == 201, r
            cls.writer = cls.m.token("school", ["100001"], name="writer")
            cls.reader = cls.m.token("ceo", name="reader")  # never writes
        except Exception:
            cls.tearDownClass()
            raise
        cls.round = 0

    @classmethod
    def tearDownClass(cls):
        code = cls.m.stop() if cls.m else 0
        if cls.standby:
            cls.standby.destroy()
        cls.primary.destroy()
        # A clean exit: the replica pools and their polls end with the workers (ASan would
        # report a leak or a use after free here).
        assert code == 0, "matd exited %s: %s" % (code, cls.m.log_text())

    @classmethod
    def primary_sql(cls, sql):
        return harness.psql(sql, db="postgres", host="127.0.0.1", port=cls.primary.port)

    def setUp(self):
        # Every test starts from a replica that serves reads.
        self.wait_served_by(self.reader, "replica-1")

    def get(self, token, path=SEF_PATH, lsn=None):
        headers = {"Matd-Lsn": lsn} if lsn is not None else None
        return self.m.request("GET", path, token=token, headers=headers)

    def wait_served_by(self, token, where, path="/v1/schools", version=None, timeout=30):
        """Waits until eight reads in a row, each on a new connection (so on either worker,
        each of which keeps its own view of the replica), are served by where."""
        def served():
            for _ in range(8):
                r = self.get(token, path)
                self.assertEqual(r.status, 200, r)
                if r.header("Matd-Read-From") != where:
                    return False
                if version is not None and r.json["version"] != version:
                    return False
            return True
        wait_for(served, "reads served by %s" % where, timeout=timeout)

    def put_sef(self):
        Replicas.round += 1
        r = self.m.request("PUT", SEF_PATH, sef(Replicas.round), token=self.writer)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("Matd-Read-From"))
        lsn = r.header("Matd-Lsn")
        self.assertRegex(lsn or "", r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
        return r.json["version"], lsn

    def metric(self, line_prefix):
        text = self.m.request("GET", "/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.split()[-1])
        self.fail("no metric %s in %s" % (line_prefix, text[-2000:]))

    def replica_states(self):
        r = self.m.request("GET", "/readyz")
        self.assertEqual(r.status, 200, r)
        return [x["state"] for x in r.json["replicas"]]

    def test_reads_go_to_the_replica_and_writes_to_the_primary(self):
        r = self.get(self.reader, "/v1/schools")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Matd-Read-From"), "replica-1")
        self.assertEqual([s["urn"] for s in r.json["items"]], ["100001"])
        self.assertGreater(self.metric('matd_db_reads_total{served_by="replica-1"}'), 0)
        wait_for(lambda: self.replica_states() == ["ok"], "/readyz to show the replica ok")
        self.assertEqual(self.metric('matd_db_replica_up{replica="1"}'), 1)
        version, lsn = self.put_sef()
        # The position is the primary's, and the standby reaches it.
        self.assertEqual(self.primary_sql("SELECT pg_current_wal_lsn() >= '%s'::pg_lsn" % lsn), "t")
        wait_for(lambda: self.standby.psql("SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn"
                                           % lsn) == "t", "the standby to replay the write")
        # A progress push (COPY) and a school update go to the primary too.
        push = self.m.request("PUT", "/v1/schools/100001/progress/2025-26/autumn",
                              {"records": records(5, school="100001")}, token=self.writer)
        self.assertEqual(push.status, 201, push)
        self.assertTrue(push.header("Matd-Lsn"))
        patch = self.m.request("PATCH", "/v1/schools/100001", {"name": "Renamed"}, token=self.admin)
        self.assertEqual(patch.status, 200, patch)
        # The standby's own log: it ran matd's reads, and no statement that writes.
        self.standby_log_has("SELECT pg_last_wal_replay_lsn()")
        self.standby_log_has("schools")
        log = self.standby_log()
        statements = [l for l in log.splitlines() if re.search(r"(statement|execute [^:]*):", l)]
        self.assertTrue(statements)
        writes = [l for l in statements
                  if re.search(r"\b(INSERT|UPDATE|DELETE|COPY|TRUNCATE|MERGE)\b", l, re.I)]
        self.assertEqual(writes, [])

    def standby_log(self):
        with open(self.standby.dir + "/log", errors="replace") as f:
            return f.read()

    def standby_log_has(self, text):
        wait_for(lambda: text in self.standby_log(), "the standby's log to show %r" % text)

    def test_own_writes_are_read_back_never_older(self):
        served = {"primary": 0, "replica-1": 0}
        for i in range(120):
            version, lsn = self.put_sef()
            if i % 4 == 3:
                time.sleep(0.25)  # long enough for the replica to be known to have caught up
            how = i % 3
            if how == 0:
                r = self.get(self.writer)  # no header: the token's own last write counts
            elif how == 1:
                r = self.get(self.reader, lsn=lsn)  # another client, handed the position
            else:
                r = self.get(self.writer, lsn=lsn)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["version"], version, (i, how, r.header("Matd-Read-From")))
            served[r.header("Matd-Read-From")] += 1
        # Both ways were taken: the loop tested the replica, not only the primary.
        self.assertGreater(served["replica-1"], 0, served)
        self.assertGreater(served["primary"], 0, served)
        # A push, then its submission listed at once.
        for i in range(5):
            push = self.m.request("PUT", "/v1/schools/100001/progress/2025-26/spring",
                                  {"records": records(3 + i, school="100001")}, token=self.writer)
            self.assertEqual(push.status, 201, push)
            got = self.get(self.writer, "/v1/submissions?school=100001&kind=progress")
            self.assertEqual(got.status, 200)
            self.assertEqual(got.json["items"][0]["id"], push.json["submission"]["id"])

    def test_paused_replay_sends_reads_to_the_primary(self):
        stranger = self.m.token("ceo", name="stranger")  # has never written
        before, _ = self.put_sef()
        wait_for(lambda: self.get(stranger).json["version"] == before,
                 "the replica to show the version before the pause")
        self.standby.psql("SELECT pg_wal_replay_pause()")
        try:
            wait_for(lambda: self.standby.psql("SELECT pg_get_wal_replay_pause_state()")
                     == "paused", "replay to pause")
            version, lsn = self.put_sef()
            self.assertEqual(version, before + 1)
            # The writer and anyone handed the position read from the primary.
            for r in (self.get(self.writer), self.get(self.reader, lsn=lsn),
                      self.get(stranger, lsn=lsn)):
                self.assertEqual((r.status, r.json["version"]), (200, version))
                self.assertEqual(r.header("Matd-Read-From"), "primary")
            # A client that knows of no write may read the replica, bounded by the lag:
            # while it is within the bound it sees the older version (which shows this test
            # would see a stale read), then the replica is skipped for everyone.
            r = self.get(stranger)
            if r.header("Matd-Read-From") == "replica-1":
                self.assertEqual(r.json["version"], before)
            self.wait_served_by(stranger, "primary", SEF_PATH, version,
                                timeout=MAX_LAG_MS / 1000 + 10)
            wait_for(lambda: "lagging" in self.replica_states(), "/readyz to show it lagging")
            self.assertEqual(self.metric('matd_db_replica_up{replica="1"}'), 0)
        finally:
            self.standby.psql("SELECT pg_wal_replay_resume()")
        self.wait_served_by(stranger, "replica-1", SEF_PATH, version)

    def test_stopped_replica_is_skipped_and_comes_back(self):
        version, lsn = self.put_sef()
        wait_for(lambda: self.standby.psql("SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn"
                                           % lsn) == "t", "the standby to replay the write")
        self.standby.stop()
        try:
            # Every read succeeds, whether it was already on its way to the replica or not.
            deadline = time.time() + 3
            seen = set()
            while time.time() < deadline:
                r = self.get(self.reader)
                self.assertEqual((r.status, r.json["version"]), (200, version), r)
                seen.add(r.header("Matd-Read-From"))
            self.assertIn("primary", seen)
            wait_for(lambda: self.replica_states() == ["down"], "/readyz to show the replica down")
            self.assertEqual(self.m.request("GET", "/readyz").status, 200)
            version, _ = self.put_sef()  # writes do not care
            self.assertEqual(self.get(self.reader).json["version"], version)
        finally:
            self.standby.start()
        self.wait_served_by(self.reader, "replica-1")
        r = self.get(self.writer)  # its own last write: from the replica only once replayed
        self.assertEqual((r.status, r.json["version"]), (200, version))

    def test_bad_lsn_header_is_400_and_writes_nothing(self):
        count = lambda: self.m.psql("SELECT count(*) FROM sef_versions")
        before = count()
        for bad in ("", "16", "0/", "/0", "g/1", "1/2/3", "100000000/0", "0x1/0", "-1/0"):
            for method, body in (("GET", None), ("PUT", sef(9999))):
                r = self.m.request(method, SEF_PATH, body, token=self.writer,
                                   headers={"Matd-Lsn": bad})
                self.assertEqual(r.status, 400, (bad, method, r))
                self.assertEqual([e["path"] for e in r.json["errors"]], ["Matd-Lsn"], r)
        self.assertEqual(count(), before)
        # Well formed but in the future: only the primary can answer it.
        r = self.get(self.reader, "/v1/schools", lsn="FFFFFFFF/0")
        self.assertEqual((r.status, r.header("Matd-Read-From")), (200, "primary"))

    def test_without_replicas_neither_header_is_sent(self):
        plain = Matd("matd", pg_host="127.0.0.1", pg_port=self.primary.port)
        try:
            Replicas.round += 1
            r = plain.request("PUT", SEF_PATH, sef(Replicas.round), token=self.writer)
            self.assertEqual(r.status, 201, r)
            self.assertIsNone(r.header("Matd-Lsn"))
            got = plain.request("GET", SEF_PATH, token=self.writer, headers={"Matd-Lsn": "0/1"})
            self.assertEqual((got.status, got.json["version"]), (200, r.json["version"]))
            self.assertIsNone(got.header("Matd-Read-From"))
            bad = plain.request("GET", SEF_PATH, token=self.writer, headers={"Matd-Lsn": "x"})
            self.assertEqual(bad.status, 400)
            self.assertNotIn("replicas", plain.request("GET", "/readyz").json)
            self.assertNotIn("matd_db_reads_total", plain.request("GET", "/metrics").body.decode())
        finally:
            self.assertEqual(plain.stop(), 0)

    def test_bad_replica_list_refuses_to_start(self):
        with self.assertRaises(RuntimeError) as cm:
            Matd("matd", pg_host="127.0.0.1", pg_port=self.primary.port,
                 extra_config="[database]\nreplica_dsn = host=127.0.0.1 | password='x\n")
        self.assertIn("replica_dsn: a quote is not closed in entry 2", str(cm.exception))


if __name__ == "__main__":
    harness.main()
