"""tests/integration/test_sql_sqlite.py - the sql_sqlite backend on SQLite
files the tests make: the common SQL contract, the file written by another
program, in-memory databases from SQL text, and a database that stays
locked."""

import os
import sqlite3
import tempfile
import time

from harness import SRC, main, rec, run_tgedd, static_backend
from sqlservers import (ASK, QUERY, ROWS, SANITIZER, TYPES, Contract,
                        LoadThread, SqlBackend, SqlTest, ask, conf_str,
                        rows_sql, sqlite_exec)

SCHEMA = ("CREATE TABLE services (type TEXT, host TEXT, ip TEXT, "
          "port INTEGER, login TEXT, note TEXT);\n")


class SqliteBase(SqlBackend, SqlTest):
    """A services table in an SQLite file the test writes."""
    module = "sql_sqlite"

    def setUp(self):
        d = tempfile.TemporaryDirectory(prefix="tged-sqlite-")
        self.addCleanup(d.cleanup)
        self.db = os.path.join(d.name, "services.db")
        sqlite_exec(self.db, SCHEMA + rows_sql())

    def started(self, r):
        return r  # opened in init: up once tgedd serves

    def connection(self):
        return "database = %s;" % conf_str(self.db)

    def sql(self, text):
        c = sqlite3.connect(self.db)
        try:
            cur = c.execute(text)
            out = "\n".join("|".join(str(v) for v in row)
                            for row in cur.fetchall())
            c.commit()
            return out
        finally:
            c.close()


class SqliteContract(Contract, SqliteBase):
    pass


class SqliteFile(SqliteBase):
    def test_query_errors_stop_the_start_with_file_and_line(self):
        for query, why in (
                ("SELECT host FROM nosuch WHERE type = :rq",
                 "no such table: nosuch"),
                ("SELECT host FROM services WHERE type = 'a", "unterminated"),
                ("DELETE FROM services WHERE type = :rq",
                 "would write to the database"),
                ("SELECT host FROM services WHERE type = :rq; "
                 "DELETE FROM services", "only one statement may be given"),
                ("SELECT host FROM services WHERE type = ?",
                 "'?' is a placeholder"),
                ("SELECT host FROM services WHERE type = :id",
                 "parameter :id names no filter")):
            with self.subTest(query=query):
                r = self.responder(self.backend(query=query), start=False)
                p = run_tgedd("-t", "-c", r.conf)
                self.assertNotEqual(p.returncode, 0)
                self.assertNotRegex(p.stderr, SANITIZER)
                self.assertIn(why, p.stderr)
                self.assertRegex(p.stderr, r"tged\.conf:\d+: ")
        self.assertEqual(self.sql("SELECT count(*) FROM services"),
                         str(len(ROWS)))

    def test_values_that_are_not_tged_skip_their_row(self):
        self.sql("INSERT INTO services VALUES ('BAD', 'a', 'x' || char(10) "
                 "|| 'y', 1, NULL, NULL)")
        self.sql("INSERT INTO services VALUES ('BAD', 'b', '  padded  ', 2, "
                 "NULL, NULL)")
        r = self.serve()
        got = r.ask_parsed(ASK % ("BAD", ""), count=2)
        self.assertEqual(len(got), 1)
        # White space around a value is no part of it.
        self.assertEqual(dict(got[0][1])["IP"], "padded")
        r.wait_log("1 rows skipped for BAD: the value of IP is not valid")

    def test_a_replaced_file_is_opened_again(self):
        r = self.serve(extra="cache_ttl = 0;")
        self.assertEqual(ask(r, "SQL")[0][1]["IP"], "192.168.0.34")
        tmp = self.db + ".new"
        sqlite_exec(tmp, SCHEMA + "INSERT INTO services VALUES ('SQL', "
                    "'db', '10.1.1.1', 1, NULL, NULL);")
        os.rename(tmp, self.db)
        self.assertEqual(ask(r, "SQL")[0][1]["IP"], "10.1.1.1")

    def test_a_missing_file_is_unavailable_until_it_appears(self):
        os.unlink(self.db)
        r = self.responder(self.backend(extra="reconnect_max = 0.2;"))
        r.wait_log("answering unavailable until it can be opened")
        self.assertEqual(ask(r, "SQL")[0][1]["REASON"], "unavailable")
        sqlite_exec(self.db, SCHEMA + rows_sql())
        r.wait_log("connected to SQLite database", 5)
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")


class LockedDatabase(SqliteBase):
    """Another program holds the database's lock: the SQL types answer
    unavailable (or stale) within the timeout, the other types at full
    speed, and answers come back when the lock goes."""

    def lock(self):
        c = sqlite3.connect(self.db, isolation_level=None, timeout=0)
        c.execute("BEGIN EXCLUSIVE")
        c.execute("UPDATE services SET note = 'locked'")
        self.addCleanup(c.close)
        return c

    def test_locked_database_answers_unavailable_at_once(self):
        site = static_backend("site", rec("NTP", HOST="clock"))
        r = self.responder(
            self.backend(extra="timeout = 0.2; cache_ttl = 0;") + ", " + site,
            routes='{ type = "NTP"; backends = ( "site" ); }, '
                   '{ type = "*"; backends = ( "db" ); }')
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        load = LoadThread(r.port, ["NTP", "SQL", "WEB"])
        load.start()
        try:
            time.sleep(0.3)
            c = self.lock()
            locked_at = time.monotonic()
            time.sleep(1.0)
            c.execute("ROLLBACK")
            unlocked_at = time.monotonic()
            time.sleep(1.0)
        finally:
            load.stop()
        self.assertEqual(load.lost, {"NTP": 0, "SQL": 0, "WEB": 0})
        ntp = [e for e in load.log if e[2] == "NTP"]
        self.assertTrue(ntp and all(e[3] == "REPLY" for e in ntp))
        # While locked: at most one lookup waits the timeout, the rest of
        # the NTP answers come at once.
        during = [e for e in ntp if locked_at + 0.3 < e[0] < unlocked_at]
        self.assertGreater(len(during), 20)
        self.assertLess(max(e[1] for e in during), 0.15, during)
        sql = [e for e in load.log
               if e[2] == "SQL" and locked_at + 0.3 < e[0] < unlocked_at]
        self.assertTrue(sql and all(e[4] == "unavailable" for e in sql), sql)
        self.assertLess(max(e[1] for e in sql), 0.3)
        after = [e for e in load.log
                 if e[2] == "SQL" and e[0] > unlocked_at + 0.5]
        self.assertTrue(after and all(e[3] == "REPLY" for e in after), after)
        r.wait_log("database slow")
        r.wait_log("database answers in time again")

    def test_stale_answers_while_locked(self):
        r = self.serve(extra="timeout = 0.1; cache_ttl = 0.3; "
                             "stale_ttl = 30;")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        self.assertEqual(ask(r, "WEB", HOST="web2")[0][1]["HOST"], "web2")
        c = self.lock()
        time.sleep(0.4)
        t = time.monotonic()
        got = r.ask_parsed(ASK % ("SQL", ""), count=1)
        self.assertLess(time.monotonic() - t, 0.5)
        self.assertEqual(got[0][0], "REPLY")
        self.assertEqual(dict(got[0][1])["NOTE"], "the database")
        r.wait_log("serving the last good answer for SQL")
        # A request never answered before has nothing stale to serve.
        self.assertEqual(ask(r, "WEB", HOST="web1")[0][1]["REASON"],
                         "unavailable")
        c.execute("ROLLBACK")


class InMemory(SqlTest):
    """init_sql alone: the database is built in memory from SQL text."""

    def write_sql(self, r, extra=""):
        r.write("data.sql", SCHEMA + rows_sql() + extra)

    def backend(self, extra=""):
        return ('{ name = "mem"; module = "sql_sqlite"; '
                'init_sql = "data.sql"; query = %s; types_query = %s; %s }'
                % (conf_str(QUERY), conf_str(TYPES), extra))

    def test_built_from_sql_and_rebuilt_on_change(self):
        r = self.responder(self.backend(), start=False)
        self.write_sql(r)
        r.start()
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")
        self.assertEqual(ask(r, "NEW")[0][1]["REASON"], "unknown-type")
        mark = r.log_mark()
        self.write_sql(r, "INSERT INTO services (type, host, ip) VALUES "
                          "('NEW', 'n1', '10.0.0.1');")
        r.wait_log("reloaded", after=mark)
        # Served at once, though cache_ttl has not passed.
        self.assertEqual(ask(r, "NEW")[0][1]["HOST"], "n1")
        # A mistake: the error says where, the last good data serves.
        mark = r.log_mark()
        self.write_sql(r, "INSERT INTO services VALUES\n  (oops);\n")
        r.wait_log("data.sql:", after=mark)
        self.assertRegex(r.log_text(), r"data\.sql:3: no such column: oops")
        self.assertEqual(ask(r, "NEW")[0][1]["HOST"], "n1")
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "db")

    def test_mistakes_stop_the_start_with_file_and_line(self):
        r = self.responder(self.backend(), start=False)
        r.write("data.sql", SCHEMA + "\n\nINSERT INTO nosuch VALUES (1);\n")
        p = run_tgedd("-t", "-c", r.conf)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotRegex(p.stderr, SANITIZER)
        self.assertIn("data.sql:4: no such table: nosuch", p.stderr)

    def test_database_file_created_from_init_sql_once(self):
        r = self.responder('{ name = "db"; module = "sql_sqlite"; '
                           'database = "made.db"; init_sql = "data.sql"; '
                           'query = %s; }' % conf_str(QUERY), start=False)
        self.write_sql(r)
        r.start()
        r.wait_log("made.db: created from")
        self.assertEqual(ask(r, "WEB", HOST="web1")[0][1]["PORT"], "80")
        self.assertEqual(os.listdir(r.dir).count("made.db"), 1)
        self.assertFalse([n for n in os.listdir(r.dir) if ".tmp-" in n])
        # The file is the database from now on: init_sql is not run again.
        sqlite_exec(r.path("made.db"), "DELETE FROM services "
                                       "WHERE host = 'web1';")
        r.stop()
        mark = r.log_mark()
        r.start(ready=False)
        r.wait_log("serving with", after=mark)
        self.assertNotIn("created from", "\n".join(r.log[mark:]))
        self.assertEqual(ask(r, "WEB", HOST="web1")[0][1]["REASON"],
                         "no-match")


# The backends and route proposed for etc/tged.conf, word for word but for
# the path of services.sql.
DEFAULT_BACKENDS = """
  { name = "services"; module = "sql_sqlite"; init_sql = "services.sql";
    query = "SELECT host, fqdn, ip, port, user FROM services "
            "WHERE type = :rq AND (:host IS NULL OR host = :host COLLATE NOCASE) "
            "ORDER BY priority, host";
    types_query = "SELECT DISTINCT type FROM services"; },
  { name = "reservations"; module = "sql_sqlite"; init_sql = "services.sql";
    query = "SELECT host, ip, mac, comment FROM dhcp_reservations "
            "WHERE (:host IS NULL OR host = :host COLLATE NOCASE) "
            "AND (:mac IS NULL OR mac = lower(:mac)) ORDER BY host";
    types_query = "SELECT 'RESERVATION'"; }
"""
DEFAULT_ROUTES = """
  { type = "RESERVATION"; backends = ( "reservations" ); },
  { type = "*"; backends = ( "site", "services" ); policy = "first"; }
"""


class DefaultConfiguration(SqlTest):
    """The backends proposed for etc/tged.conf, on etc/services.sql."""

    def test_services_and_reservations(self):
        sql = os.path.join(SRC, "etc", "services.sql")
        if not os.path.exists(sql):
            self.skipTest("etc/services.sql not found under %s" % SRC)
        site = static_backend("site", rec("SQL", HOST="test"))
        r = self.responder(site + ", " + DEFAULT_BACKENDS.replace(
            '"services.sql"', conf_str(sql)), routes=DEFAULT_ROUTES)
        self.assertEqual(ask(r, "SQL")[0][1]["HOST"], "test")
        got = ask(r, "ssh", HOST="Bastion")
        self.assertEqual(got[0][1], {"RQ": "SSH", "HOST": "bastion",
                                     "FQDN": "bastion.example.com",
                                     "IP": "192.168.0.2", "PORT": "2222"})
        got = r.ask_parsed(ASK % ("SSH", ""), count=2)
        self.assertEqual([dict(h)["HOST"] for _, h in got],
                         ["gateway", "bastion"])
        got = ask(r, "RESERVATION", HOST="vault")
        self.assertEqual(got[0][1]["MAC"], "52:54:00:12:34:80")
        got = ask(r, "RESERVATION", MAC="52:54:00:12:34:35")
        self.assertEqual(got[0][1]["HOST"], "ledger")
        self.assertEqual(ask(r, "RESERVATION", HOST="nosuch")[0][1]
                         ["REASON"], "no-match")
        self.assertEqual(ask(r, "NOSUCH")[0][1]["REASON"], "unknown-type")


if __name__ == "__main__":
    main()
