"""tests/integration/test_sql_mysql.py - the sql_mysql backend against a
MariaDB server the test starts in a temporary folder: the common SQL
contract, TCP and socket connections with passwords, and the server slow,
stopped and restarted while requests flow."""

import os
import time

from harness import main, rec, static_backend
from sqlservers import (ASK, QUERY, Contract, LoadThread, MariaDB, Shared,
                        SqlBackend, SqlTest, ask, conf_str, rows_sql)

SCHEMA = ("CREATE TABLE services (type varchar(63) NOT NULL, "
          "host varchar(255) NOT NULL, ip varchar(64), port int, "
          "login varchar(64), note varchar(255)) CHARACTER SET utf8mb4; ")

SERVER = Shared(MariaDB, lambda db: db.sql(SCHEMA + rows_sql()))
DB = None


def tearDownModule():
    SERVER.cleanup()


def until(what, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = what()
        if v:
            return v
        time.sleep(0.05)
    return what()


class MyBase(SqlBackend, SqlTest):
    module = "sql_mysql"

    def setUp(self):
        global DB
        DB = SERVER.get(self)

    def connection(self):
        return ('socket = %s; database = "tged"; user = "tged"; '
                'password = "%s";' % (conf_str(DB.socket), DB.PASSWORD))

    def sql(self, text):
        return DB.sql(text)


class MyContract(Contract, MyBase):
    pass


class MyConnections(MyBase):
    def test_tcp_with_password_file(self):
        r = self.responder('{ name = "db"; module = "sql_mysql"; '
                           'host = "127.0.0.1"; port = %d; database = "tged"; '
                           'user = "tged"; password_file = "pw"; query = %s; }'
                           % (DB.port, conf_str(QUERY)), start=False)
        r.write("pw", DB.PASSWORD + "\n")
        os.chmod(r.path("pw"), 0o600)
        r.start()
        r.wait_log("connected to MariaDB database tged on 127.0.0.1 port %d "
                   "as tged" % DB.port, 10)
        self.assertEqual(ask(r, "WEB", HOST="web2")[0][1]["PORT"], "8080")

    def test_wrong_password_is_logged_and_unavailable(self):
        r = self.responder('{ name = "db"; module = "sql_mysql"; socket = %s; '
                           'database = "tged"; user = "tged"; '
                           'password = "wrong"; query = %s; }'
                           % (conf_str(DB.socket), conf_str(QUERY)))
        r.wait_log("Access denied for user 'tged'", 10)
        self.assertEqual(ask(r, "SQL")[0][1]["REASON"], "unavailable")

    def test_a_parameter_used_twice_binds_twice(self):
        # MariaDB's placeholders are positional: :host stands twice.
        r = self.serve(query="SELECT host, port FROM services WHERE "
                             "type = :rq AND (:host IS NULL OR host = :host) "
                             "AND (:port IS NULL OR port = :port) "
                             "ORDER BY host")
        self.assertEqual(ask(r, "WEB", HOST="web2")[0][1]["PORT"], "8080")
        self.assertEqual(ask(r, "WEB", PORT="80")[0][1]["HOST"], "web1")
        self.assertEqual(ask(r, "WEB", PORT="80", HOST="web2")[0][1]
                         ["REASON"], "no-match")

    def test_query_errors_are_logged_and_unavailable(self):
        r = self.responder(self.backend(query="SELECT host FROM nosuch "
                                              "WHERE type = :rq", types=None))
        r.wait_log("Table 'tged.nosuch' doesn't exist", 10)
        self.assertRegex(r.log_text(), r"tged\.conf:\d+: query: ")
        self.assertEqual(ask(r, "SQL")[0][1]["REASON"], "unavailable")


SLOW_QUERY = ("SELECT host, ip FROM services WHERE type = :rq AND "
              "(:sleep IS NULL OR SLEEP(:sleep) = 0) ORDER BY host")


class MyOutage(MyBase):
    def responder_with_static(self, extra):
        site = static_backend("site", rec("NTP", HOST="clock"))
        backend = ('{ name = "db"; module = "sql_mysql"; %s query = %s; '
                   'types_query = "SELECT DISTINCT type FROM services"; '
                   'timeout = 0.2; reconnect_max = 0.3; %s }'
                   % (self.connection(), conf_str(SLOW_QUERY), extra))
        r = self.responder(backend + ", " + site,
                           routes='{ type = "NTP"; backends = ( "site" ); '
                                  '}, { type = "*"; backends = ( "db" ); }')
        r.wait_log("connected to", 10)
        return r

    def test_a_slow_query_does_not_hold_up_other_types(self):
        r = self.responder_with_static("cache_ttl = 0;")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        t = time.monotonic()
        got = r.ask_parsed(ASK % ("SQL", "SLEEP: 2\r\n"), count=1)
        self.assertLess(time.monotonic() - t, 0.5)
        self.assertEqual(dict(got[0][1])["REASON"], "unavailable")
        t = time.monotonic()
        got = r.ask_parsed(ASK % ("NTP", ""), count=1)
        self.assertLess(time.monotonic() - t, 0.1)
        self.assertEqual(dict(got[0][1])["HOST"], "clock")
        self.assertTrue(until(lambda: ask(r, "WEB")[0][0] == "REPLY", 5))
        r.wait_log("database slow")
        r.wait_log("database answers in time again")

    def test_server_stopped_and_started_again(self):
        r = self.responder_with_static("cache_ttl = 0;")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        load = LoadThread(r.port, ["NTP", "SQL"])
        load.start()
        try:
            time.sleep(0.3)
            stopped = time.monotonic()
            DB.stop()
            time.sleep(1.0)
            restarting = time.monotonic()
            DB.start()
            ok = until(lambda: [e for e in load.log if e[0] > restarting and
                                e[2] == "SQL" and e[3] == "REPLY"], 10)
            self.assertTrue(ok, "no SQL answer after the restart:\n"
                            + r.log_text())
        finally:
            load.stop()
            if not DB.proc:
                DB.start()
        self.assertEqual(load.lost, {"NTP": 0, "SQL": 0})
        down = [e for e in load.log if stopped + 0.5 < e[0] < restarting]
        self.assertTrue([e for e in down if e[2] == "NTP"])
        self.assertLess(max(e[1] for e in down), 0.3)
        sql = [e for e in down if e[2] == "SQL"]
        self.assertTrue(sql and all(e[4] == "unavailable" for e in sql),
                        sql[:5])
        r.wait_log("connected again to MariaDB")


if __name__ == "__main__":
    main()
