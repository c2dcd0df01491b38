"""tests/integration/test_sql_pgsql.py - the sql_pgsql backend against a
PostgreSQL server the test starts in a temporary folder: the common SQL
contract, TCP with passwords, and the server stopped, slow and restarted
while requests flow."""

import os
import time

from harness import main, rec, static_backend
from sqlservers import (ASK, QUERY, Contract, LoadThread, Postgres, Shared,
                        SqlBackend, SqlTest, ask, conf_str, rows_sql)

SCHEMA = ("CREATE TABLE services (type text NOT NULL, host text NOT NULL, "
          "ip text, port integer, login text, note text, up boolean); "
          "CREATE ROLE reader LOGIN PASSWORD 'readpw'; "
          "GRANT SELECT ON services TO reader;")

def load(pg):
    pg.psql("CREATE DATABASE tged")
    pg.psql(SCHEMA + rows_sql(), db="tged")


SERVER = Shared(Postgres, load)
PG = None


def tearDownModule():
    SERVER.cleanup()


class PgBase(SqlBackend, SqlTest):
    module = "sql_pgsql"

    def setUp(self):
        global PG
        PG = SERVER.get(self)

    def connection(self):
        return 'socket = %s; port = %d; database = "tged"; user = "tged";' \
            % (conf_str(PG.dir), PG.port)

    def sql(self, text):
        return PG.psql(text, db="tged")


class PgContract(Contract, PgBase):
    pass


def until(what, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = what()
        if v:
            return v
        time.sleep(0.05)
    return what()


class PgConnections(PgBase):
    def test_tcp_with_password_or_password_file(self):
        tcp = 'host = "127.0.0.1"; port = %d; database = "tged"; ' \
              'user = "reader";' % PG.port
        for how, extra in (("password", 'password = "readpw";'),
                           ("file", 'password_file = "pw";')):
            with self.subTest(how=how):
                r = self.responder(
                    '{ name = "db"; module = "sql_pgsql"; %s %s query = %s; }'
                    % (tcp, extra, conf_str(QUERY)), start=False)
                r.write("pw", "readpw\n")
                os.chmod(r.path("pw"), 0o600)
                r.start()
                r.wait_log("connected to PostgreSQL database tged on "
                           "127.0.0.1 port %d as reader" % PG.port, 10)
                self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        r = self.responder('{ name = "db"; module = "sql_pgsql"; %s '
                           'password = "wrong"; query = %s; }'
                           % (tcp, conf_str(QUERY)))
        r.wait_log("password authentication failed", 10)
        self.assertEqual(ask(r, "SQL")[0][1]["REASON"], "unavailable")

    def test_password_file_only_root_reads_after_root_is_dropped(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to drop it")
        r = self.responder(
            '{ name = "db"; module = "sql_pgsql"; host = "127.0.0.1"; '
            'port = %d; database = "tged"; user = "reader"; '
            'password_file = "pw"; query = %s; }' % (PG.port, conf_str(QUERY)),
            responder='user = "nobody";', start=False)
        r.write("pw", "readpw\n")
        os.chmod(r.path("pw"), 0o600)
        r.start()
        r.wait_log("connected to", 10)
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        with open("/proc/%d/status" % r.proc.pid) as f:
            self.assertIn("Uid:\t65534\t", f.read())
        # A new connection, as nobody, who cannot read the file now.
        PG.stop()
        PG.start()
        self.assertEqual(ask(r, "SQL", HOST="db")[0][1]["HOST"], "db")
        self.assertNotIn("Permission denied", r.log_text())

    def test_socket_may_name_the_socket_file(self):
        sock = os.path.join(PG.dir, ".s.PGSQL.%d" % PG.port)
        r = self.responder('{ name = "db"; module = "sql_pgsql"; socket = %s; '
                           'database = "tged"; user = "tged"; query = %s; }'
                           % (conf_str(sock), conf_str(QUERY)))
        r.wait_log("connected to", 10)
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")

    def test_booleans_read_true_false(self):
        self.sql("UPDATE services SET up = (host = 'web1') "
                 "WHERE type = 'WEB'")
        r = self.serve(query="SELECT host, up FROM services "
                             "WHERE type = :rq ORDER BY host")
        got = r.ask_parsed(ASK % ("WEB", ""), count=2)
        self.assertEqual([dict(h)["UP"] for _, h in got], ["true", "false"])

    def test_query_errors_are_logged_and_unavailable(self):
        r = self.responder(self.backend(query="SELECT host FROM nosuch "
                                              "WHERE type = :rq", types=None))
        r.wait_log('relation "nosuch" does not exist', 10)
        self.assertRegex(r.log_text(), r"tged\.conf:\d+: query: ")
        self.assertEqual(ask(r, "SQL")[0][1]["REASON"], "unavailable")
        # A value the column's type refuses matches nothing.
        r2 = self.serve(query="SELECT host FROM services WHERE type = :rq "
                              "AND (:port IS NULL OR "
                              "port = CAST(:port AS integer))")
        self.assertEqual(ask(r2, "WEB", PORT="80")[0][1]["HOST"], "web1")
        self.assertEqual(ask(r2, "WEB", PORT="x'; --")[0][1]["REASON"],
                         "no-match")


SLOW_QUERY = ("SELECT host, ip FROM services WHERE type = :rq AND "
              "(:sleep IS NULL OR (SELECT true FROM "
              "pg_sleep(CAST(:sleep AS float)))) ORDER BY host")


class PgOutage(PgBase):
    """While PostgreSQL is down or slow, other types answer at full speed
    and the SQL type unavailable (or stale) at once; it answers again when
    the server is back, without restarting tgedd."""

    def responder_with_static(self, extra):
        site = static_backend("site", rec("NTP", HOST="clock"))
        backend = ('{ name = "db"; module = "sql_pgsql"; %s query = %s; '
                   'types_query = "SELECT DISTINCT type FROM services"; '
                   'timeout = 0.2; reconnect_max = 0.3; %s }'
                   % (self.connection(), conf_str(SLOW_QUERY), extra))
        r = self.responder(backend + ", " + site,
                           routes='{ type = "NTP"; backends = ( "site" ); '
                                  '}, { type = "*"; backends = ( "db" ); }')
        r.wait_log("connected to", 10)
        return r

    def outage(self, r, types):
        """Stop the server for 1.5 s under load; the load's log and the
        times the server stopped and started again."""
        until(lambda: ask(r, "SQL")[0][0] == "REPLY")
        load = LoadThread(r.port, types)
        load.start()
        try:
            time.sleep(0.5)
            stopped = time.monotonic()
            PG.stop()
            time.sleep(1.5)
            started = time.monotonic()
            PG.start()
            ok = until(lambda: [e for e in load.log if e[0] > started and
                                e[2] == "SQL" and e[3] == "REPLY"], 10)
            self.assertTrue(ok, "no SQL answer after the restart:\n"
                            + r.log_text())
            time.sleep(0.3)
        finally:
            load.stop()
            if not PG.proc:
                PG.start()
        return load, stopped, started

    def test_server_stopped_while_requests_flow(self):
        r = self.responder_with_static("cache_ttl = 0;")
        load, stopped, started = self.outage(r, ["NTP", "SQL"])
        self.assertEqual(load.lost, {"NTP": 0, "SQL": 0})
        ntp = [e for e in load.log if e[2] == "NTP"]
        self.assertTrue(all(e[3] == "REPLY" and e[4] == "clock" for e in ntp))
        down = [e for e in load.log
                if stopped + 0.2 < e[0] < started - 0.1]
        self.assertGreater(len([e for e in down if e[2] == "NTP"]), 20)
        # No request waits for the dead server longer than the timeout.
        self.assertLess(max(e[1] for e in down), 0.3, down)
        sql = [e for e in down if e[2] == "SQL"]
        self.assertTrue(sql and all(e[4] == "unavailable" for e in sql),
                        sql[:5])
        r.wait_log("database unavailable")
        r.wait_log("connected again to PostgreSQL")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")

    def test_stale_answers_while_the_server_is_down(self):
        r = self.responder_with_static("cache_ttl = 0.2; stale_ttl = 60;")
        load, stopped, started = self.outage(r, ["NTP", "SQL"])
        self.assertEqual(load.lost, {"NTP": 0, "SQL": 0})
        down = [e for e in load.log
                if stopped + 0.2 < e[0] < started - 0.1 and e[2] == "SQL"]
        self.assertTrue(down and all(e[3] == "REPLY" and e[4] == "db"
                                     for e in down),
                        [e for e in down if e[3] != "REPLY"][:5])
        self.assertLess(max(e[1] for e in down), 0.3)
        r.wait_log("serving the last good answer for SQL")

    def test_a_slow_query_does_not_hold_up_other_types(self):
        r = self.responder_with_static("cache_ttl = 0;")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        load = LoadThread(r.port, ["NTP"])
        load.start()
        try:
            time.sleep(0.2)
            t = time.monotonic()
            got = r.ask_parsed(ASK % ("SQL", "SLEEP: 2\r\n"), count=1)
            took = time.monotonic() - t
            # The lookup waited its timeout, no more.
            self.assertEqual(dict(got[0][1])["REASON"], "unavailable")
            self.assertLess(took, 0.5)
            # Slow now: the next misses answer at once...
            t = time.monotonic()
            got = r.ask_parsed(ASK % ("WEB", ""), count=1)
            self.assertLess(time.monotonic() - t, 0.1)
            # ... and answers come back once a query completes in time.
            self.assertTrue(until(lambda: ask(r, "WEB")[0][0] == "REPLY", 5))
            time.sleep(0.2)
        finally:
            load.stop()
        self.assertEqual(load.lost, {"NTP": 0})
        # One NTP request may have waited behind the SQL lookup that
        # waited its timeout (tgedd runs one worker thread); none longer,
        # and none once the database was known slow.
        slow = [e for e in load.log if e[0] > t - 0.3]
        self.assertGreater(len(slow), 10)
        self.assertLess(max(e[1] for e in slow), 0.3)
        self.assertLessEqual(len([e for e in slow if e[1] > 0.1]), 1)
        r.wait_log("database slow")
        r.wait_log("database answers in time again")


if __name__ == "__main__":
    main()
