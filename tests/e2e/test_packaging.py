"""Packaging artefacts are well-formed: docker-compose.yml, the Dockerfile, the systemd
unit and the example config (which matd must accept as it is)."""
import harness
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

SRC = harness.SRC


class Packaging(unittest.TestCase):
    def test_compose_config(self):
        tool = shutil.which("docker-compose")
        if not tool:
            self.skipTest("docker-compose not installed")
        out = subprocess.run([tool, "-f", os.path.join(SRC, "docker-compose.yml"), "config"],
                             capture_output=True, text=True, cwd=SRC)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("matd", out.stdout)
        self.assertIn("postgres:15", out.stdout)

    def test_dockerfile_instructions(self):
        known = {"FROM", "RUN", "COPY", "WORKDIR", "ENV", "ARG", "USER", "EXPOSE", "ENTRYPOINT",
                 "CMD", "HEALTHCHECK", "LABEL", "VOLUME", "ADD", "STOPSIGNAL", "SHELL"}
        text = open(os.path.join(SRC, "Dockerfile")).read()
        logical = re.sub(r"\\\n", " ", text)
        stages = 0
        for line in logical.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word = line.split()[0]
            self.assertIn(word, known, line)
            stages += word == "FROM"
            if word == "COPY" and "--from=" not in line:
                for src in line.split()[1:-1]:
                    self.assertTrue(os.path.exists(os.path.join(SRC, src)), src)
        self.assertEqual(stages, 2)

    def test_systemd_unit_verifies(self):
        tool = shutil.which("systemd-analyze")
        # scripts/dev.sh installs systemd: a missing verifier is a failure, not a skip.
        self.assertTrue(tool, "systemd-analyze not installed (scripts/dev.sh installs systemd)")
        text = open(os.path.join(SRC, "systemd/matd.service")).read()
        for key in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                    "RestrictAddressFamilies=", "StateDirectory=", "WatchdogSec="):
            self.assertIn(key, text)
        # Verify a copy whose binaries exist on this machine.
        text = text.replace("/usr/bin/matd ", "/bin/true ").replace("/usr/bin/matctl", "/bin/true")
        d = tempfile.mkdtemp()
        path = os.path.join(d, "matd.service")
        open(path, "w").write(text)
        out = subprocess.run([tool, "verify", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_matd_runs_under_the_units_syscall_filter(self):
        """matd started under the shipped unit's SystemCallFilter= (stricter than the unit:
        a forbidden call kills the process, as without SystemCallErrorNumber=) serves requests, a push (the offload pool's bulk
        threads lower their own priority with setpriority, which the unit's "~@resources"
        would forbid), a reload and a clean stop."""
        harness.require_env()
        wrapper = ["/usr/bin/python3", os.path.join(SRC, "tests/e2e/unit_seccomp_exec.py"),
                   "--strict", os.path.join(SRC, "systemd/matd.service")]
        m = harness.Matd(harness.fresh_database("e2e_packaging_seccomp"), prefix=wrapper)
        try:
            admin = m.with_school("100001")
            rows = "pupil,year_group,subject,band\r\n" + "".join(
                "%s,4,maths,expected\r\n" % p for p in ("A801200025001", "B801200025002"))
            r = m.request("PUT", "/v1/schools/100001/progress/2025-26/autumn", rows,
                          token=admin, content_type="text/csv")
            self.assertIn(r.status, (201, 422), r)  # answered, whatever it thought of the rows
            self.assertEqual(m.request("GET", "/v1/priorities?year=2025-26&term=autumn",
                                       token=admin).status, 200)
            m.proc.send_signal(signal.SIGHUP)
            self.assertEqual(m.request("GET", "/healthz").status, 200)
            self.assertIn(10, m.thread_nices(), "the bulk threads run below the loops")
            if harness.kernel_at_least(6, 12):
                self.assertIn(100000, [s for _, _, s in m.thread_sched()],
                              "the loops have their short slice under the unit's filter")
        finally:
            log = m.log_text()[-2000:]
            self.assertEqual(m.stop(), 0, ("a forbidden system call kills matd (-31)", log))

    def test_empty_trust_secret_is_refused(self):
        d = tempfile.mkdtemp()
        secret = os.path.join(d, "trust.secret")
        with open(secret, "w") as f:
            f.write("\n")
        conf = os.path.join(d, "matd.conf")
        with open(conf, "w") as f:
            f.write("[server]\ntls_cert = %s/server.crt\ntls_key = %s/server.key\n"
                    "[trust]\nsecret_file = %s\n" % (harness.TLS, harness.TLS, secret))
        out = subprocess.run([harness.MATD, "-c", conf], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("is empty", out.stderr)

    def test_version(self):
        out = subprocess.run([harness.MATD, "--version"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"^matd \d+\.\d+\.\d+ \(malloc: (mimalloc|system)\)$")
        # scripts/dev.sh runs the release build with MATD_TEST_ALLOCATOR=mimalloc.
        expected = os.environ.get("MATD_TEST_ALLOCATOR")
        if expected:
            self.assertIn("(malloc: %s)" % expected, out.stdout)

    def test_the_allocator_named_is_the_one_loaded(self):
        """A matd built with mimalloc has it mapped and serves with it (its malloc takes
        every library's allocations); the sanitizer builds have the system's."""
        harness.require_env()
        version = subprocess.run([harness.MATD, "--version"], capture_output=True,
                                 text=True).stdout
        m = harness.Matd(harness.fresh_database("e2e_packaging_malloc"))
        try:
            admin = m.with_school("100001")
            self.assertEqual(m.request("GET", "/v1/me", token=admin).status, 200)
            maps = open("/proc/%d/maps" % m.proc.pid).read()
            if "(malloc: mimalloc)" in version:
                self.assertIn("libmimalloc", maps)
            else:
                self.assertNotIn("libmimalloc", maps)
            self.assertIn("malloc=%s" % re.search(r"malloc: (\w+)", version).group(1),
                          m.synced_log())
        finally:
            log = m.log_text()[-2000:]
            self.assertEqual(m.stop(), 0, log)

    def test_bad_config_is_refused_with_the_key_named(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "bad.conf")
        open(path, "w").write("[server]\nworkers = lots\n")
        out = subprocess.run([harness.MATD, "-c", path], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("workers", out.stderr)
        open(path, "w").write("[server]\nlisten_on = 1\n")
        out = subprocess.run([harness.MATD, "-c", path], capture_output=True, text=True)
        self.assertIn("unknown key [server] listen_on", out.stderr)


if __name__ == "__main__":
    harness.main()
