"""End-to-end test harness: real PostgreSQL, real matd over real TLS, real HTTP client.

scripts/dev.sh test starts a throwaway PostgreSQL cluster and exports MATD_TEST_*; each
test module gets its own database (so modules run in parallel) and starts its own matd.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

ENV = os.environ
MATD = ENV.get("MATD_BIN")
MATCTL = ENV.get("MATCTL_BIN")
TLS = ENV.get("MATD_TEST_TLS")
SRC = ENV.get("MATD_SOURCE_DIR")


def require_env():
    missing = [k for k in ("MATD_BIN", "MATCTL_BIN", "MATD_TEST_PGHOST", "MATD_TEST_TLS")
               if not ENV.get(k)]
    if missing:
        raise SystemExit("run through scripts/dev.sh test (missing %s)" % ", ".join(missing))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(sql, db="postgres", host=None, port=None, check=True):
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host or ENV["MATD_TEST_PGHOST"],
           "-p", str(port or ENV["MATD_TEST_PGPORT"]), "-U", ENV.get("MATD_TEST_PGUSER", "postgres"),
           "-d", db, "-tAc", sql]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError("psql failed: %s" % out.stderr)
    return out.stdout.strip()


def fresh_database(name):
    psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    psql('CREATE DATABASE "%s"' % name)
    return name


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, for stopping and starting under matd."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="matd-pg-", dir=ENV.get("MATD_TEST_TMP"))
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        self.bindir = ENV.get("MATD_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin")
        self.runas = ENV.get("MATD_TEST_PG_RUNAS")
        self._run("initdb", "-D", self.dir + "/data", "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        psql("CREATE DATABASE matd", port=self.port)

    def _run(self, tool, *args):
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.runas:
            cmd = ["runuser", "-u", self.runas, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self):
        self._run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "-o",
                  "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.dir),
                  "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.dir + "/data", "-m", "immediate", "-w", "stop")

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class StandbyCluster(PrivateCluster):
    """A streaming replica of a PrivateCluster: `pg_basebackup -R` into a temporary directory,
    started on a port of its own (hot standby, so it answers reads). The primary needs
    nothing beyond initdb's defaults: wal_level=replica, max_wal_senders=10 and a
    `host replication all 127.0.0.1/32 trust` line in pg_hba.conf."""

    def __init__(self, primary, settings=None):
        self.dir = tempfile.mkdtemp(prefix="matd-pg-standby-", dir=ENV.get("MATD_TEST_TMP"))
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        self.bindir, self.runas = primary.bindir, primary.runas
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                  "-D", self.dir + "/data", "-R", "-X", "stream", "-c", "fast")
        if settings:  # e.g. {"log_statement": "'all'"}, after -R's primary_conninfo
            with open(self.dir + "/data/postgresql.auto.conf", "a") as f:
                f.write("".join("%s = %s\n" % kv for kv in settings.items()))
        self.start()

    def psql(self, sql, db="matd"):
        return psql(sql, db=db, host="127.0.0.1", port=self.port)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def tls_context(cert=None):
    ctx = ssl.create_default_context(cafile=os.path.join(TLS, "ca.crt"))
    if cert:
        ctx.load_cert_chain(os.path.join(TLS, cert + ".crt"), os.path.join(TLS, cert + ".key"))
    return ctx


class Matd:
    """One matd process on its own port and config."""

    def __init__(self, db, extra_config="", pg_host=None, pg_port=None, wait_ready=True,
                 tls_dir=None, trust="Test Trust", workers=2, prefix=()):
        """prefix: a command matd runs under (its argv is appended)."""
        self.tmp = tempfile.mkdtemp(prefix="matd-", dir=ENV.get("MATD_TEST_TMP"))
        self.port = free_port()
        self.workers = workers
        self.tls_dir = tls_dir or TLS
        self.db = db
        self.pg_host = pg_host or ENV["MATD_TEST_PGHOST"]
        self.pg_port = pg_port or ENV["MATD_TEST_PGPORT"]
        self.config = os.path.join(self.tmp, "matd.conf")
        secret = os.path.join(self.tmp, "trust.secret")
        shutil.copy(ENV["MATD_TEST_SECRET"], secret)
        os.chmod(secret, 0o600)
        with open(self.config, "w") as f:
            f.write("""[server]
listen = 127.0.0.1:%d
workers = %d
tls_cert = %s/server.crt
tls_key = %s/server.key
request_timeout_ms = 20000
[database]
dsn = host=%s port=%s user=postgres dbname=%s connect_timeout=3
pool_size = 4
connect_timeout_ms = 3000
[trust]
name = %s
secret_file = %s
[log]
level = info
%s
""" % (self.port, workers, self.tls_dir, self.tls_dir, self.pg_host, self.pg_port, db, trust,
                secret, extra_config))
        self.log = open(os.path.join(self.tmp, "matd.log"), "w+")
        self.proc = subprocess.Popen(list(prefix) + [MATD, "-c", self.config], stdout=self.log,
                                     stderr=self.log)
        self.wait_healthy()
        if wait_ready:
            self.wait_ready()

    def wait_healthy(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("matd exited (%d): %s" % (self.proc.returncode, self.log_text()))
            try:
                if self.request("GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("matd did not become healthy: %s" % self.log_text())

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.request("GET", "/readyz").status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("matd did not become ready: %s" % self.log_text())

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-4000:]

    def full_log(self):
        """The whole log as written so far."""
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def synced_log(self):
        """The whole log once every line matd made before this call is in it. Lines go
        through a writer thread (server/log_writer.c), a few milliseconds behind. A pass of
        the writer reads and writes the rings one after another, in a fixed order, so the
        pass that wrote a first logged request may have read another ring before a line was
        made; but one pass can write at most one marker per worker's ring, each in a later
        ring than the one before, so the (workers + 1)th marker in a row is written by a
        later pass, which read every ring after the first marker was out."""
        for _ in range(self.workers + 1):
            rid = self.request("GET", "/healthz").header("X-Request-Id")
            wait_for(lambda: "request_id=" + rid in self.full_log(), "the log writer")
        return self.full_log()

    def connect(self, cert=None):
        return http.client.HTTPSConnection("localhost", self.port, context=tls_context(cert),
                                           timeout=30)

    def request(self, method, path, body=None, token=None, headers=None, conn=None,
                content_type=None, cert=None):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", content_type or "application/json")
            else:
                data = body if isinstance(body, bytes) else body.encode()
                hdrs.setdefault("Content-Type", content_type or "application/json")
        if token:
            hdrs["Authorization"] = "Bearer " + token
        own = conn is None
        c = conn or self.connect(cert)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            if own:
                c.close()

    def matctl(self, *args, check=True):
        out = subprocess.run([MATCTL, "-c", self.config, *args], capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError("matctl %s failed: %s" % (" ".join(args), out.stderr))
        return out

    def token(self, role, schools=None, name="test", expires_days=None):
        args = ["token", "create", "--role", role, "--name", name]
        if schools:
            args += ["--schools", ",".join(schools)]
        if expires_days:
            args += ["--expires-days", str(expires_days)]
        return self.matctl(*args).stdout.strip()

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def metric(self, name):
        """The value of an unlabelled metric in /metrics (asked from loopback)."""
        for line in self.request("GET", "/metrics").body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError("no metric " + name)

    def thread_nices(self):
        """The nice value of each of matd's threads."""
        return sorted(nice for nice, _, _ in self.thread_sched())

    def thread_sched(self):
        """(nice, policy, slice in ns or None) of each of matd's threads: fields 19 and 41 of
        /proc/PID/task/TID/stat (policy 0 SCHED_OTHER, 5 SCHED_IDLE) and se.slice of its
        sched file (Linux 6.6 and later)."""
        out = []
        for tid in os.listdir("/proc/%d/task" % self.proc.pid):
            base = "/proc/%d/task/%s/" % (self.proc.pid, tid)
            with open(base + "stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            slice_ns = None
            try:
                with open(base + "sched") as f:
                    for line in f:
                        if line.startswith("se.slice"):
                            slice_ns = int(line.split(":")[1])
            except OSError:
                pass
            out.append((int(fields[16]), int(fields[38]), slice_ns))
        return sorted(out)

    def with_school(self, urn="100001"):
        """An admin token, after creating school urn with it."""
        admin = self.token("admin")
        r = self.request("POST", "/v1/schools", school_body(urn), token=admin)
        assert r.status == 201, r
        return admin

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def psql(self, sql):
        return psql(sql, db=self.db, host=self.pg_host, port=self.pg_port)


def school_body(urn, **kw):
    body = {"urn": urn, "name": "School %s" % urn, "phase": "primary", "laestab": "8012001",
            "postcode": "CV1 2AB", "lat": 52.41, "lon": -1.51, "pupils_on_roll": 410,
            "joined_on": "2019-09-01", "category": False}
    body.update(kw)
    return body


def start_demo_trust(cls, name):
    """A matd on a fresh database holding the demo trust, with the tokens most suites use
    set on cls: admin, ceo, an executive head of 140002 and 140005, and school 140002."""
    require_env()
    cls.db = fresh_database(name)
    cls.a = Matd(cls.db)
    cls.a.matctl("demo", "load")
    cls.admin = cls.a.token("admin")
    cls.ceo = cls.a.token("ceo")
    cls.head = cls.a.token("executive_head", ["140002", "140005"])
    cls.school = cls.a.token("school", ["140002"])


def kernel_at_least(major, minor):
    """Whether the running Linux kernel is at least major.minor."""
    release = os.uname().release.split("-")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


def wait_for(condition, what, timeout=15.0, interval=0.05):
    """Polls condition() until it returns a true value, which it returns; fails naming what
    it waited for after timeout seconds. Tests wait for conditions, never for fixed times."""
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def main():
    require_env()
    unittest.main(verbosity=2)
