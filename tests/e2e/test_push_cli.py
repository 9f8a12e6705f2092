"""`matctl push` against a real matd over TLS: a data manager's file stored, a dry run, a
profile and a CTF; a bad file exits non-zero with the errors as a table and nothing
stored; the token comes from MATD_TOKEN or --token-file, never the command line."""
import json
import os
import subprocess
import tempfile
import unittest

import harness
from harness import Matd, school_body

DOCS = os.path.join(harness.SRC or os.path.join(os.path.dirname(__file__), "..", ".."), "docs",
                    "imports")


class PushCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_env()
        cls.m = Matd(harness.fresh_database("e2e_push_cli"))
        cls.admin = cls.m.token("admin")
        assert cls.m.request("POST", "/v1/schools", school_body("100001"), token=cls.admin).status == 201
        cls.school = cls.m.token("school", ["100001"])
        with open(os.path.join(DOCS, "tracker-wide.json")) as f:
            assert cls.m.request("PUT", "/v1/import-profiles/tracker-wide", json.load(f),
                                 token=cls.admin).status == 201
        cls.tmp = tempfile.mkdtemp(prefix="matd-push-", dir=os.environ.get("MATD_TEST_TMP"))

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def push(self, path, *extra, token=None, term="summer", env_token=True):
        env = dict(os.environ, MATD_CACERT=os.path.join(harness.TLS, "ca.crt"))
        env.pop("MATD_TOKEN", None)
        if env_token:
            env["MATD_TOKEN"] = token or self.school
        return subprocess.run([harness.MATCTL, "-c", self.m.config, "push", "--school", "100001",
                               "--year", "2025-26", "--term", term, *extra, path],
                              capture_output=True, text=True, env=env)

    def rows(self, term):
        return int(self.m.psql("SELECT count(*) FROM progress WHERE term = '%s'" % term))

    def test_stores_a_good_file(self):
        out = self.push(os.path.join(DOCS, "matd-long.csv"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("stored: submission", out.stdout)
        self.assertIn("36 rows", out.stdout)
        self.assertEqual(self.rows("summer"), 36)
        again = self.push(os.path.join(DOCS, "matd-long.csv"))
        self.assertEqual(again.returncode, 0)
        self.assertIn("unchanged", again.stdout)

    def test_a_bad_file_exits_non_zero_with_the_errors_as_a_table(self):
        path = os.path.join(self.tmp, "bad.csv")
        with open(path, "w") as f:
            f.write("pupil,year_group,subject,band\nP1,6,reading,EXS\nP2,6,reading,SUPERB\n"
                    "P3,14,writing,WTS\n")
        out = self.push(path, term="autumn")
        self.assertEqual(out.returncode, 1, out)
        lines = out.stdout.splitlines()
        self.assertIn("WHERE", lines[2])
        self.assertTrue(any(l.startswith("row 3:band") for l in lines), out.stdout)
        self.assertTrue(any(l.startswith("row 4:year_group") for l in lines), out.stdout)
        self.assertEqual(self.rows("autumn"), 0)
        # A file with a name column: refused, named, nothing stored.
        out = self.push(os.path.join(DOCS, "tracker-wide.csv"), term="autumn")
        self.assertEqual(out.returncode, 1)
        self.assertIn("row 1:Name", out.stdout)
        self.assertEqual(self.rows("autumn"), 0)

    def test_dry_run_profile_and_ctf(self):
        out = self.push(os.path.join(DOCS, "tracker-wide.csv"), "--profile", "tracker-wide",
                        "--dry-run", term="spring")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run: nothing was stored. 36 rows, 12 pupils", out.stdout)
        self.assertIn("reading", out.stdout)
        self.assertEqual(self.rows("spring"), 0)
        out = self.push(os.path.join(DOCS, "sample-ctf.xml"), "--progress", term="spring")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("100%", out.stderr)  # the progress bar
        self.assertEqual(self.rows("spring"), 36)

    def test_tokens(self):
        out = self.push(os.path.join(DOCS, "matd-long.csv"), env_token=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("MATD_TOKEN", out.stderr)
        tf = os.path.join(self.tmp, "token")
        with open(tf, "w") as f:
            f.write(self.school + "\n")
        out = self.push(os.path.join(DOCS, "matd-long.csv"), "--token-file", tf, "--dry-run",
                        env_token=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.push(os.path.join(DOCS, "matd-long.csv"), token="mat_" + "0" * 64)
        self.assertEqual(out.returncode, 3)
        self.assertIn("401", out.stderr)


if __name__ == "__main__":
    harness.main()
