"""tests/integration/sqlservers.py - real database servers for the sql_*
tests, and the tests every SQL driver must pass.

PostgreSQL and MariaDB are started from the Debian packages' binaries in a
temporary folder, on a Unix socket there and on 127.0.0.1 with a free port,
as an unprivileged user (the packages' own `postgres` or `mysql` user, or
`nobody`, when the tests run as root), and removed afterwards. They never
use the system's instances (5432, 3306), running or not.
"""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import Responder, ResponderTest, rec, static_backend

ASK = "TGED DISCOVERY 1.0\r\nRQ: %s\r\n%s\r\n"
SANITIZER = re.compile(r"Sanitizer|runtime error:")


class SqlTest(ResponderTest):
    """Fails a test whose tgedd reported a sanitizer error (in a
    -DTGED_SANITIZE=ON build), leaks found at exit included."""

    def responder(self, *a, start=True, **kw):
        r = Responder(*a, **kw)
        # Cleanups run last first: this one after tgedd has exited.
        self.addCleanup(lambda: self.assertNotRegex(r.log_text(), SANITIZER))
        self.addCleanup(r.cleanup)
        if start:
            r.start()
        return r


def ask(r, type_, **filters):
    """[(method, {field: value}, [names in order])] for one request."""
    extra = "".join("%s: %s\r\n" % kv for kv in filters.items())
    out = []
    for method, headers in r.ask_parsed(ASK % (type_, extra)):
        out.append((method, dict(headers), [n for n, _ in headers]))
    return out


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_user(preferred):
    """(uid, gid, name) to run a server as: the current user unless root."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_uid, pw.pw_gid, pw.pw_name
    for name in (preferred, "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid, name
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run a server as")


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        for n in [root] + [os.path.join(root, d) for d in dirs] + \
                [os.path.join(root, f) for f in files]:
            os.chown(n, uid, gid)


def run(cmd, user=None, timeout=60, **kw):
    """Run cmd (as user=(uid, gid)), raising with its output on failure."""
    extra = {}
    if user and os.geteuid() == 0:
        extra = dict(user=user[0], group=user[1], extra_groups=[])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       **extra, **kw)
    if p.returncode:
        raise RuntimeError("%s: exit %d\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


class Postgres:
    """A PostgreSQL server of its own: socket in self.dir, TCP on
    127.0.0.1:self.port. The superuser `tged` connects without password on
    the socket and with `secret` over TCP."""

    PASSWORD = "secret"

    @staticmethod
    def bindir():
        for d in ["/usr/lib/postgresql/15/bin"] + sorted(
                glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            if os.path.exists(os.path.join(d, "postgres")) and \
                    os.path.exists(os.path.join(d, "initdb")):
                return d
        return None

    def __init__(self):
        self.bin = self.bindir()
        if not self.bin:
            raise FileNotFoundError(
                "PostgreSQL server binaries not found in "
                "/usr/lib/postgresql/*/bin (apt-get install postgresql-15)")
        self.uid, self.gid, self.user = server_user("postgres")
        self.dir = tempfile.mkdtemp(prefix="tged-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = free_tcp_port()
        self.proc = None
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.PASSWORD + "\n")
        chown_tree(self.dir, self.uid, self.gid)
        run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "tged",
             "--auth-local=trust", "--auth-host=scram-sha-256",
             "--pwfile", pwfile, "-E", "UTF8", "--no-sync", "--locale=C"],
            user=(self.uid, self.gid))
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "a")
        extra = {}
        if os.geteuid() == 0:
            extra = dict(user=self.uid, group=self.gid, extra_groups=[])
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "postgres"), "-D", self.data,
             "-k", self.dir, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "shared_buffers=16MB", "-c", "max_connections=20"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, **extra)
        log.close()
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited:\n" + self.log())
            try:
                self.psql("SELECT 1", quiet=True)
                return
            except RuntimeError:
                time.sleep(0.05)
        raise RuntimeError("postgres did not start:\n" + self.log())

    def log(self):
        with open(os.path.join(self.dir, "server.log")) as f:
            return f.read()[-3000:]

    def stop(self, mode=signal.SIGINT):
        """Stop the server (SIGINT: PostgreSQL's fast shutdown)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(mode)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def psql(self, sql, quiet=False, db="postgres"):
        return run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t",
                    "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                    "-p", str(self.port), "-U", "tged", "-d", db, "-c", sql],
                   timeout=30)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class MariaDB:
    """A MariaDB server of its own: socket self.socket, TCP on
    127.0.0.1:self.port; user `tged` with password `secret` may read
    database `tged`."""

    PASSWORD = "secret"

    @staticmethod
    def binaries():
        server = shutil.which("mariadbd") or shutil.which(
            "mariadbd", path="/usr/sbin:/usr/libexec") or shutil.which(
            "mysqld", path="/usr/sbin")
        install = shutil.which("mariadb-install-db") or shutil.which(
            "mysql_install_db")
        client = shutil.which("mariadb") or shutil.which("mysql")
        if server and install and client:
            return server, install, client
        return None

    def __init__(self):
        b = self.binaries()
        if not b:
            raise FileNotFoundError(
                "MariaDB server binaries (mariadbd, mariadb-install-db, "
                "mariadb) not found (apt-get install mariadb-server)")
        self.server, install, self.client = b
        self.uid, self.gid, self.user = server_user("mysql")
        self.dir = tempfile.mkdtemp(prefix="tged-my-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "sock")
        self.port = free_tcp_port()
        self.proc = None
        chown_tree(self.dir, self.uid, self.gid)
        args = [install, "--no-defaults", "--datadir=" + self.data,
                "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve"]
        if os.geteuid() == 0:
            args.append("--user=" + self.user)
        run(args, user=(self.uid, self.gid), timeout=120)
        self.start()
        self.sql("CREATE DATABASE tged; "
                 "CREATE USER 'tged'@'localhost' IDENTIFIED BY '%s'; "
                 "CREATE USER 'tged'@'127.0.0.1' IDENTIFIED BY '%s'; "
                 "GRANT SELECT ON tged.* TO 'tged'@'localhost'; "
                 "GRANT SELECT ON tged.* TO 'tged'@'127.0.0.1';"
                 % (self.PASSWORD, self.PASSWORD), db=None)

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "a")
        args = [self.server, "--no-defaults", "--datadir=" + self.data,
                "--socket=" + self.socket, "--port=%d" % self.port,
                "--bind-address=127.0.0.1", "--skip-name-resolve",
                "--pid-file=" + os.path.join(self.dir, "pid"),
                "--innodb-buffer-pool-size=16M", "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0", "--max-connections=20"]
        if os.geteuid() == 0:
            args.append("--user=" + self.user)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited:\n" + self.log())
            try:
                self.sql("SELECT 1", db=None)
                return
            except RuntimeError:
                time.sleep(0.05)
        raise RuntimeError("mariadbd did not start:\n" + self.log())

    def log(self):
        with open(os.path.join(self.dir, "server.log")) as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def sql(self, sql, db="tged"):
        args = [self.client, "--no-defaults", "-S", self.socket, "-u", "root",
                "-N", "-B", "-e", sql]
        if db:
            args.append(db)
        return run(args, timeout=30)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Shared:
    """One server for a test module, started by the first test that needs
    it (so that a missing server skips each test, counted as skipped), and
    stopped by the module's tearDownModule()."""

    def __init__(self, make, load):
        self.make = make
        self.load = load
        self.server = None
        self.missing = None

    def get(self, test):
        if self.missing:
            test.skipTest(self.missing)
        if not self.server:
            try:
                self.server = self.make()
            except FileNotFoundError as e:
                self.missing = str(e)
                test.skipTest(self.missing)
            self.load(self.server)
        return self.server

    def cleanup(self):
        if self.server:
            self.server.cleanup()
            self.server = None


# The schema every driver's tests load (in each server's own dialect only
# for the types), and the rows.
ROWS = [
    # type, host, ip, port, login, note
    ("WEB", "web1", "192.168.0.40", 80, None, "first"),
    ("WEB", "web2", "192.168.0.41", 8080, "www", None),
    ("SQL", "db", "192.168.0.34", 3306, "john", "the database"),
    ("EMPTY", "none", "0.0.0.0", 0, None, None),
]


def rows_sql(table="services"):
    vals = []
    for r in ROWS:
        vals.append("(%s)" % ", ".join(
            "NULL" if v is None else str(v) if isinstance(v, int)
            else "'%s'" % v for v in r))
    return "INSERT INTO %s (type, host, ip, port, login, note) VALUES %s;" \
        % (table, ", ".join(vals))


QUERY = ("SELECT host, ip, port, login AS user, note FROM services "
         "WHERE type = :rq AND (:host IS NULL OR host = :host) "
         "AND type <> 'EMPTY' ORDER BY host")
TYPES = "SELECT DISTINCT type FROM services"


def conf_str(s):
    """A libconfig string literal."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


class SqlBackend:
    """A backend block of an sql_* plugin. A subclass (also a
    ResponderTest) sets `module`, and defines connection() -> settings
    text, sql(text) to run statements on the database as its owner, and
    may redefine started(r) to wait until the backend is connected."""

    module = None

    def connection(self):
        raise NotImplementedError

    def sql(self, text):
        raise NotImplementedError

    def started(self, r):
        r.wait_log("connected to", 20)
        return r

    def backend(self, name="db", query=QUERY, types=TYPES, extra=""):
        s = '{ name = "%s"; module = "%s"; %s query = %s; ' % (
            name, self.module, self.connection(), conf_str(query))
        if types:
            s += "types_query = %s; " % conf_str(types)
        return s + extra + " }"

    def serve(self, routes=None, **kw):
        r = self.responder(self.backend(**kw), routes=routes)
        return self.started(r)


class Contract(SqlBackend):
    """Tests every sql_* plugin passes."""

    def test_fields_in_column_order_named_upper_case_null_left_out(self):
        r = self.serve()
        got = ask(r, "WEB")
        self.assertEqual(got[0][0], "REPLY")
        self.assertEqual(got[0][2], ["RQ", "HOST", "IP", "PORT", "NOTE"])
        self.assertEqual(got[0][1], {"RQ": "WEB", "HOST": "web1",
                                     "IP": "192.168.0.40", "PORT": "80",
                                     "NOTE": "first"})
        got = ask(r, "WEB", HOST="web2")
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][2], ["RQ", "HOST", "IP", "PORT", "USER"])
        self.assertEqual(got[0][1]["USER"], "www")
        # Every row, in the query's order.
        got = r.ask_parsed(ASK % ("WEB", ""), count=2)
        self.assertEqual([dict(h)["HOST"] for _, h in got], ["web1", "web2"])

    def test_types_query_tells_unknown_type_from_no_match(self):
        r = self.serve()
        self.assertEqual(ask(r, "NOSUCH")[0][1]["REASON"], "unknown-type")
        self.assertEqual(ask(r, "EMPTY")[0][1]["REASON"], "no-match")
        self.assertEqual(ask(r, "WEB", HOST="web9")[0][1]["REASON"],
                         "no-match")
        # The type is matched case-insensitively and written as listed.
        got = ask(r, "web", HOST="web1")
        self.assertEqual(got[0][1]["RQ"], "WEB")
        # Without types_query every type is tried: no rows, no match.
        r2 = self.serve(types=None)
        self.assertEqual(ask(r2, "NOSUCH")[0][1]["REASON"], "no-match")

    def test_unknown_types_fall_through_to_the_next_backend(self):
        site = static_backend("site", rec("NTP", HOST="clock"))
        r = self.responder(self.backend() + ", " + site,
                           routes='{ type = "*"; backends = ( "db", '
                                  '"site" ); }')
        self.started(r)
        self.assertEqual(ask(r, "NTP")[0][1]["HOST"], "clock")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")

    def test_injection_attempts_find_nothing_and_change_nothing(self):
        r = self.serve()
        before = self.sql("SELECT count(*) FROM services").strip()
        for bad in ("x' OR '1'='1", "a;DROP TABLE services",
                    "web1' --", "web1'; DELETE FROM services; --",
                    "\\' OR 1=1 #", "$$ OR true $$", ":host"):
            with self.subTest(bad=bad):
                got = ask(r, "WEB", HOST=bad)
                self.assertEqual(got[0][0], "INVALID", got)
                self.assertEqual(got[0][1]["REASON"], "no-match")
        self.assertEqual(self.sql("SELECT count(*) FROM services").strip(),
                         before)
        self.assertEqual(ask(r, "WEB", HOST="web1")[0][1]["IP"],
                         "192.168.0.40")
        # A type that looks like SQL is only a type (RQ syntax forbids
        # quotes, so it is at most an unknown one).
        self.assertEqual(ask(r, "SQL--")[0][1]["REASON"], "unknown-type")

    def test_a_filter_the_query_does_not_name_filters_the_rows(self):
        r = self.serve(query="SELECT host, ip, port FROM services "
                             "WHERE type = :rq ORDER BY host")
        got = ask(r, "WEB", PORT="8080")
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][1]["HOST"], "web2")
        self.assertEqual(ask(r, "WEB", PORT="1")[0][1]["REASON"], "no-match")
        # A filter on a column that is NULL (absent) does not match.
        r2 = self.serve(query="SELECT host, note FROM services "
                              "WHERE type = :rq ORDER BY host")
        self.assertEqual(ask(r2, "WEB", NOTE="first")[0][1]["HOST"], "web1")
        self.assertEqual(ask(r2, "WEB", HOST="web2", NOTE="x")[0][1]
                         ["REASON"], "no-match")

    def test_an_rq_column_spells_the_type_and_selects_rows(self):
        r = self.serve(query="SELECT 'Web' AS rq, host FROM services "
                             "WHERE type = 'WEB' UNION ALL "
                             "SELECT 'Sql', host FROM services "
                             "WHERE type = 'SQL' ORDER BY 2",
                       types=None)
        got = r.ask_parsed(ASK % ("web", ""), count=2)
        self.assertEqual([(dict(h)["RQ"], dict(h)["HOST"]) for _, h in got],
                         [("Web", "web1"), ("Web", "web2")])
        self.assertEqual([n for n, _ in got[0][1]], ["RQ", "HOST"])
        self.assertEqual(ask(r, "SQL")[0][1], {"RQ": "Sql", "HOST": "db"})

    def test_cache_hits_do_not_touch_the_database(self):
        r = self.serve(extra="cache_ttl = 1.5;")
        self.assertEqual(ask(r, "SQL")[0][1]["IP"], "192.168.0.34")
        t = time.monotonic()
        self.sql("UPDATE services SET ip = '10.9.9.9' WHERE host = 'db'")
        try:
            # Still the old answer from the cache...
            self.assertEqual(ask(r, "SQL")[0][1]["IP"], "192.168.0.34")
            self.assertLess(time.monotonic() - t, 1.4)
            # ... the new one once cache_ttl passed.
            time.sleep(max(0, 1.6 - (time.monotonic() - t)))
            self.assertEqual(ask(r, "SQL")[0][1]["IP"], "10.9.9.9")
        finally:
            self.sql("UPDATE services SET ip = '192.168.0.34' "
                     "WHERE host = 'db'")

    def test_bad_column_names_are_reported(self):
        r = self.serve(query="SELECT host AS \"two words\" FROM services "
                             "WHERE type = :rq" if self.module != "sql_mysql"
                       else "SELECT host AS `two words` FROM services "
                            "WHERE type = :rq")
        self.assertEqual(ask(r, "WEB")[0][1]["REASON"], "unavailable")
        r.wait_log("column 1 'two words' is not a valid field name")


class LoadThread(threading.Thread):
    """Asks for some types in turn, as fast as answers come, and records
    (time, type, method, reason or field) for each."""

    def __init__(self, port, types, field="HOST"):
        super().__init__(daemon=True)
        self.port = port
        self.types = types
        self.field = field
        self.stopping = threading.Event()
        self.log = []
        self.lost = {t: 0 for t in types}

    def run(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            i = 0
            while not self.stopping.is_set():
                t = self.types[i % len(self.types)]
                i += 1
                msg = "TGED DISCOVERY 1.0\r\nRQ: %s\r\nID: %d\r\n\r\n" % (t, i)
                sent = time.monotonic()
                s.sendto(msg.encode(), ("127.0.0.1", self.port))
                try:
                    while True:
                        d = s.recv(2048).decode()
                        if "ID: %d\r\n" % i in d:
                            break
                except socket.timeout:
                    self.lost[t] += 1
                    continue
                took = time.monotonic() - sent
                kind = d.split("\r\n")[0].split()[1]
                what = ""
                for line in d.split("\r\n"):
                    if line.startswith("REASON: ") or \
                            line.startswith(self.field + ": "):
                        what = line.split(": ", 1)[1]
                self.log.append((sent, took, t, kind, what))
                time.sleep(0.002)

    def stop(self):
        self.stopping.set()
        self.join(5)


def sqlite_exec(path, sql):
    c = sqlite3.connect(path)
    try:
        c.executescript(sql)
        c.commit()
    finally:
        c.close()
