"""tests/integration/test_env.py - the env backend: records from tgedd's
own environment (what `env TGED_SQL__HOST=db tgedd ...` gives it) and from
a watched env file, as docs/backends/env.md says."""

import os
import re
import signal
import subprocess
import threading
import time

from harness import TGEDD, Responder, ResponderTest, main

EX_CONFIG = 78
SANITIZER = re.compile(r"Sanitizer|runtime error:")


def env_backend(extra=""):
    return '{ name = "e"; module = "env"; %s }' % extra


def request(type_, **filters):
    return "TGED DISCOVERY 1.0\r\nRQ: %s\r\n%s\r\n" % (
        type_, "".join("%s: %s\r\n" % kv for kv in filters.items()))


class EnvResponder(Responder):
    """A Responder whose tgedd runs with the variables given, and without
    the TGED_* variables of the test's own environment (the harness's
    TGED_BIN_DIR and friends), so each test says exactly what tgedd sees."""

    def __init__(self, *a, env=None, **kw):
        super().__init__(*a, **kw)
        self.env = env or {}

    def environ(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("TGED_")}
        e.update(self.env)
        return e

    def start(self, args=(), ready=True):
        self.proc = subprocess.Popen(
            [TGEDD, "-f", "-c", self.conf] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=self.environ())
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if ready:
            self.wait_log("serving with", 20)
        return self

    def check(self):
        """`tgedd -t` with this environment."""
        return subprocess.run([TGEDD, "-t", "-c", self.conf],
                              capture_output=True, text=True, timeout=30,
                              env=self.environ())


class EnvTest(ResponderTest):
    """Fails a test whose tgedd reported a sanitizer error (in a
    -DTGED_SANITIZE=ON build), leaks found at exit included."""

    def env_responder(self, env=None, extra="", files=None, start=True):
        r = EnvResponder(env_backend(extra), env=env, files=files)
        # Cleanups run last first: this one after tgedd has exited.
        self.addCleanup(lambda: self.assertNotRegex(r.log_text(), SANITIZER))
        self.addCleanup(r.cleanup)
        if start:
            r.start()
        return r

    def records(self, r, type_, count=None, **filters):
        """The answers to one request, as (method, [(NAME, value)...])."""
        return r.ask_parsed(request(type_, **filters), count=count)

    def served(self, r, type_, count=None, **filters):
        """The records served for a type, each as a list of (NAME, value)
        without RQ; fails on an INVALID answer."""
        got = self.records(r, type_, count=count, **filters)
        self.assertTrue(got, "no answer:\n" + r.log_text())
        for method, headers in got:
            self.assertEqual(method, "REPLY", (headers, r.log_text()))
        return [h[1:] for _, h in got]

    def refused(self, r, *texts):
        """tgedd -t exits 78, and its message holds each text."""
        p = r.check()
        self.assertNotRegex(p.stderr, SANITIZER)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        for t in texts:
            self.assertIn(t, p.stderr)
        return p.stderr


class Environment(EnvTest):
    def test_one_record_fields_in_name_order(self):
        # Given in another order: the answer lists fields by name.
        r = self.env_responder({"TGED_SQL__USER": "john",
                                "TGED_SQL__HOST": "db1",
                                "TGED_SQL__PORT": "3306",
                                "TGED_SQL__FQDN": "db1.example.com"})
        got = r.ask(request("SQL"))
        self.assertEqual(got, [b"TGED REPLY 1.0\r\nRQ: SQL\r\n"
                               b"FQDN: db1.example.com\r\nHOST: db1\r\n"
                               b"PORT: 3306\r\nUSER: john\r\n\r\n"])
        self.assertIn("1 record of 1 type; environment: 4 variables",
                      r.log_text())

    def test_numbered_records_in_number_order(self):
        r = self.env_responder({"TGED_WEB__10__HOST": "web10",
                                "TGED_WEB__2__HOST": "web2",
                                "TGED_WEB__1__IP": "10.0.0.1",
                                "TGED_WEB__1__HOST": "web1",
                                "TGED_WEB__0__HOST": "web0"})
        got = self.served(r, "WEB", count=4)
        self.assertEqual(got, [[("HOST", "web0")],
                               [("HOST", "web1"), ("IP", "10.0.0.1")],
                               [("HOST", "web2")], [("HOST", "web10")]])

    def test_types_and_fields_with_dot_and_dash(self):
        r = self.env_responder({
            # Escapes, for shells and systemd:
            "TGED_PRINTER_x2EIPP__HOST": "lp1",
            "TGED_DB_x2DPRIMARY__1__MAC_x2DADDR": "52:54:00:12:34:56",
            "TGED_DB_x2DPRIMARY__2__MAC_x2DADDR": "52:54:00:12:34:57",
            "TGED__x5FIPP_x2E_x5FTCP__PORT": "631",
            # As they are, where the tool that sets them allows it:
            "TGED_cam.front__HOST": "cam1",
            "TGED_db-replica__X-ROLE": "standby",
        })
        self.assertEqual(self.served(r, "printer.ipp"), [[("HOST", "lp1")]])
        got = self.records(r, "db-primary", count=2)
        self.assertEqual([h for _, h in got],
                         [[("RQ", "DB-PRIMARY"),
                           ("MAC-ADDR", "52:54:00:12:34:56")],
                          [("RQ", "DB-PRIMARY"),
                           ("MAC-ADDR", "52:54:00:12:34:57")]])
        self.assertEqual(self.records(r, "_ipp._tcp")[0][1],
                         [("RQ", "_IPP._TCP"), ("PORT", "631")])
        self.assertEqual(self.records(r, "CAM.FRONT")[0][1],
                         [("RQ", "cam.front"), ("HOST", "cam1")])
        self.assertEqual(self.records(r, "db-replica")[0][1],
                         [("RQ", "db-replica"), ("X-ROLE", "standby")])

    def test_filters(self):
        r = self.env_responder({"TGED_WEB__1__HOST": "web1",
                                "TGED_WEB__1__ZONE": "lan",
                                "TGED_WEB__2__HOST": "web2",
                                "TGED_WEB__2__ZONE": "lan",
                                "TGED_WEB__3__HOST": "web3",
                                "TGED_WEB__3__ZONE": "dmz"})
        self.assertEqual(self.served(r, "WEB", HOST="WEB2"),
                         [[("HOST", "web2"), ("ZONE", "lan")]])
        got = self.served(r, "web", count=2, zone="lan")
        self.assertEqual([dict(h)["HOST"] for h in got], ["web1", "web2"])
        got = self.records(r, "WEB", HOST="web9")
        self.assertEqual(got[0][0], "INVALID")
        self.assertIn(("REASON", "no-match"), got[0][1])
        got = self.records(r, "NOSUCH")
        self.assertIn(("REASON", "unknown-type"), got[0][1])

    def test_type_case_and_its_spelling(self):
        # One type, spelled two ways: answered with the spelling that
        # comes first in byte order, whatever the order of the variables.
        r = self.env_responder({"TGED_Sql__2__HOST": "b",
                                "TGED_SQL__1__HOST": "a"})
        got = self.records(r, "sql", count=2)
        self.assertEqual([h for _, h in got],
                         [[("RQ", "SQL"), ("HOST", "a")],
                          [("RQ", "SQL"), ("HOST", "b")]])

    def test_empty_value_is_served(self):
        r = self.env_responder({"TGED_SQL__HOST": "db", "TGED_SQL__USER": ""})
        self.assertIn(b"\r\nUSER: \r\n", r.ask(request("SQL"))[0])

    def test_custom_prefix(self):
        r = self.env_responder({"SVC_SQL__HOST": "mine",
                                "TGED_SQL__HOST": "not-mine",
                                "TGED_WEB__HOST": "not-mine"},
                               extra='prefix = "SVC_";')
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "mine")]])
        self.assertIn(("REASON", "unknown-type"),
                      self.records(r, "WEB")[0][1])
        self.assertNotIn("TGED_", r.log_text())

    def test_prefix_without_underscore(self):
        r = self.env_responder({"svcSQL__HOST": "db"},
                               extra='prefix = "svc";')
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "db")]])

    def test_other_variables_with_the_prefix_are_warned_about(self):
        # Tools may share the prefix (this project's own tests set
        # TGED_BIN_DIR): a warning names each, and the rest is served.
        r = self.env_responder({"TGED_BIN_DIR": "/usr/bin",
                                "TGED_SQL_HOST": "typo",
                                "TGED_WEB___HOST": "typo",
                                "TGED_SQL__HOST": "db"})
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "db")]])
        log = r.log_text()
        self.assertIn("warning: backend e (env): environment: TGED_BIN_DIR: "
                      "not a record variable: no '__' separator", log)
        self.assertIn("environment: TGED_SQL_HOST: not a record variable",
                      log)
        self.assertIn("environment: TGED_WEB___HOST: not a record variable: "
                      "three or more '_' in a row", log)
        self.assertIn("; ignored", log)

    def test_no_records_is_a_warning(self):
        r = self.env_responder({})
        r.wait_log("no records: no variable named TGED_<TYPE>__<FIELD>")
        self.assertIn(("REASON", "unknown-type"),
                      self.records(r, "SQL")[0][1])

    def test_bad_records_refuse_to_start(self):
        long_type = "T" * 64
        cases = [
            ({"TGED_SQL__RQ": "x"},
             "environment: TGED_SQL__RQ: field name 'RQ' is reserved"),
            ({"TGED_SQL__X-TGED-KEY": "x"},
             "environment: TGED_SQL__X-TGED-KEY: field name 'X-TGED-KEY' is "
             "reserved"),
            ({"TGED_SQL__HOST": " db"},
             "environment: TGED_SQL__HOST: value of field 'HOST' is not "
             "valid"),
            ({"TGED_SQL__HOST": "x" * 256},
             "environment: TGED_SQL__HOST: value of field 'HOST' is not "
             "valid"),
            ({"TGED_SQL__HOST": "a\nb"},
             "environment: TGED_SQL__HOST: value of field 'HOST' is not "
             "valid"),
            ({"TGED_%s__HOST" % long_type: "x"},
             "environment: TGED_%s__HOST: type '%s" % (long_type,
                                                       long_type[:20])),
            ({"TGED_SQL__HOST.NAME": "x"},
             "field name 'HOST.NAME' is not valid"),
            ({"TGED_SQL__HOST": "a", "TGED_sql__host": "b"},
             "environment: TGED_sql__host: sets field host of the record of "
             "type sql again (see environment: TGED_SQL__HOST)"),
            ({"TGED_SQL__HOST": "a", "TGED_SQL__1__PORT": "1"},
             "environment: TGED_SQL__1__PORT: type SQL is written both with "
             "record numbers and without (environment: TGED_SQL__HOST)"),
            ({"TGED_SQL__1__HOST": "a", "TGED_SQL__01__PORT": "1"},
             "record number written '01' here and '1' in environment: "
             "TGED_SQL__1__HOST"),
            ({"TGED_BIG__%02d__F%d" % (0, i): "v" * 250 for i in range(5)},
             "environment: TGED_BIG__00__F0: record 0 of type BIG: record "
             "of"),
        ]
        for env, text in cases:
            with self.subTest(text=text[:60]):
                r = self.env_responder(env, start=False)
                self.refused(r, text)

    def test_every_problem_is_named_once_in_order(self):
        env = {"TGED_A__RQ": "1", "TGED_B__ID": "2", "TGED_C__HOST": " 3"}
        r = self.env_responder(env, start=False)
        err = self.refused(r)
        self.assertEqual(err.count("environment: TGED_"), 3, err)
        self.assertLess(err.index("TGED_A__RQ"), err.index("TGED_B__ID"))

    def test_errors_are_not_hidden_by_warnings(self):
        env = {"TGED_JUNK%d" % i: "x" for i in range(30)}
        env["TGED_SQL__RQ"] = "x"
        r = self.env_responder(env, start=False)
        err = self.refused(r, "environment: TGED_SQL__RQ: field name 'RQ' is "
                              "reserved", "11 more problems not shown")
        self.assertLess(err.index("TGED_SQL__RQ"), err.index("TGED_JUNK"))

    def test_sighup_reads_the_same_environment(self):
        r = self.env_responder({"TGED_SQL__HOST": "db"})
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "db")]])


class Settings(EnvTest):
    def test_nothing_to_read(self):
        r = self.env_responder({"TGED_SQL__HOST": "db"},
                               extra="environment = false;", start=False)
        self.refused(r, "environment = false and no 'file': there is nothing "
                        "to read", r.conf + ":")

    def test_bad_prefix(self):
        for prefix in ("", "A=B", "A B"):
            with self.subTest(prefix=prefix):
                r = self.env_responder({}, extra='prefix = "%s";' % prefix,
                                       start=False)
                self.refused(r, "prefix: must be 1 to 200 visible ASCII "
                                "characters, without '='", r.conf + ":")

    def test_mistyped_settings(self):
        for extra, text in (("environment = 1;", "environment"),
                            ("prefix = 3;", "prefix"),
                            ("files = \"x\";", "unknown setting 'files'")):
            with self.subTest(extra=extra):
                r = self.env_responder({}, extra=extra, start=False)
                self.refused(r, text)


FILE = """\
# Records for tged: comments, blank lines, export, quotes.

export TGED_WEB__2__HOST=web2
  TGED_WEB__1__HOST = ignored-this-is-not-read
"""

FILE = """\
# Records for tged.
; a systemd-style comment line

TGED_WEB__2__HOST=web2
export TGED_WEB__1__HOST=web1
\texport\tTGED_WEB__1__IP='10.0.0.1'
TGED_WEB__1__NOTE="a # b, 'quoted'"
TGED_WEB__2__NOTE=  spaced out  \t
TGED_WEB__2__PATH='C:\\srv\\web'
TGED_WEB__2__URL=http://web2/#top
TGED_SQL__HOST=db\r
TGED_SQL__EMPTY=
TGED_SQL__QUOTED_EMPTY=""
TGED_PRINTER_x2EIPP__HOST=lp1
OTHER_APP_SETTING=1
OTHER_APP_PASSTHROUGH
"""


class File(EnvTest):
    def file_responder(self, text, env=None, extra="", start=True):
        return self.env_responder(env, extra='file = "records.env"; ' + extra,
                                  files={"records.env": text}, start=start)

    def test_file_format(self):
        r = self.file_responder(FILE)
        self.assertEqual(self.served(r, "WEB", count=2), [
            [("HOST", "web1"), ("IP", "10.0.0.1"),
             ("NOTE", "a # b, 'quoted'")],
            [("HOST", "web2"), ("NOTE", "spaced out"),
             ("PATH", "C:\\srv\\web"), ("URL", "http://web2/#top")]])
        self.assertEqual(self.served(r, "SQL"), [
            [("EMPTY", ""), ("HOST", "db"), ("QUOTED_EMPTY", "")]])
        self.assertEqual(self.served(r, "PRINTER.IPP"), [[("HOST", "lp1")]])
        self.assertIn("records.env: 11 variables (lines of other names "
                      "ignored)", r.log_text())

    def test_byte_order_mark_is_skipped(self):
        r = self.file_responder("\ufeffTGED_SQL__HOST=db\n")
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "db")]])

    def test_file_only(self):
        r = self.file_responder("TGED_WEB__HOST=from-file\n",
                                env={"TGED_SQL__HOST": "from-env"},
                                extra="environment = false;")
        self.assertEqual(self.served(r, "WEB"), [[("HOST", "from-file")]])
        self.assertIn(("REASON", "unknown-type"),
                      self.records(r, "SQL")[0][1])
        self.assertNotIn("environment", r.log_text())

    def test_file_and_environment_together(self):
        r = self.file_responder("TGED_WEB__2__HOST=from-file\n"
                                "TGED_WEB__3__HOST=from-file-too\n",
                                env={"TGED_WEB__1__HOST": "from-env",
                                     "TGED_SQL__HOST": "db"})
        got = self.served(r, "WEB", count=3)
        self.assertEqual([dict(h)["HOST"] for h in got],
                         ["from-env", "from-file", "from-file-too"])
        self.assertEqual(self.served(r, "SQL"), [[("HOST", "db")]])

    def test_a_record_in_both_sources_is_refused(self):
        r = self.file_responder("\nTGED_SQL__PORT=1\n",
                                env={"TGED_SQL__HOST": "db"}, start=False)
        self.refused(r, "records.env:2: TGED_SQL__PORT: the record of type "
                        "SQL is also set in the environment (environment: "
                        "TGED_SQL__HOST); a record is written in one place")

    def test_bad_lines_refuse_to_start(self):
        cases = [
            ("TGED_SQLHOST=db", "TGED_SQLHOST: not a record variable: no '__' "
                                "separator"),
            ("TGED_A___B=1", "TGED_A___B: not a record variable: three or "
                             "more '_' in a row"),
            ("TGED_A__B__C=1", "TGED_A__B__C: not a record variable: 'B' "
                               "between the two '__' is not a record number"),
            ("TGED_A_x2F__B=1", "TGED_A_x2F__B: not a record variable: "
                                "'_x2F' is not one of the escapes"),
            ("TGED_SQL__HOST", "TGED_SQL__HOST: not NAME=value"),
            ("TGED_SQL__HOST =db", "TGED_SQL__HOST: white space before '='"),
            ("TGED_SQL__HOST='db", "TGED_SQL__HOST: no closing '"),
            ("TGED_SQL__HOST=\"db\"x", "text after the closing \""),
            ("TGED_SQL__HOST=\"db\" # primary",
             "text after the closing \""),
            ("TGED_SQL__HOST=\"C:\\db\"", "'\\' inside double quotes"),
            ("TGED_SQL__HOST=C:\\db", "'\\' outside single quotes"),
            ("TGED_SQL__HOST=it's", "' inside an unquoted value"),
            ("TGED_SQL__HOST=db # primary", "'#' after white space"),
            ("TGED_SQL__RQ=x", "TGED_SQL__RQ: field name 'RQ' is reserved"),
            ("TGED_SQL__HOST=a\x01b", "value of field 'HOST' is not valid"),
            ("TGED_SQL__HOST=\x00", "a NUL byte"),
        ]
        for line, text in cases:
            with self.subTest(line=line):
                r = self.file_responder("# first\n" + line + "\n",
                                        start=False)
                if not text.startswith("TGED_") and "NUL" not in text:
                    text = "TGED_SQL__HOST: " + text
                self.refused(r, "records.env:2: " + text)

    def test_same_variable_twice_is_refused(self):
        r = self.file_responder("TGED_SQL__HOST=a\n#\nTGED_SQL__HOST=b\n",
                                start=False)
        self.refused(r, "records.env:3: TGED_SQL__HOST: sets field HOST of "
                        "the record of type SQL again (see %s:1: "
                        "TGED_SQL__HOST)" % r.path("records.env"))

    def test_missing_file_is_refused(self):
        r = self.env_responder({}, extra='file = "nowhere.env";', start=False)
        self.refused(r, "nowhere.env: cannot open: No such file or directory")

    def test_many_problems_are_cut_short(self):
        text = "".join("TGED_A%d__RQ=x\n" % i for i in range(30))
        r = self.file_responder(text, start=False)
        err = self.refused(r, "records.env:1: TGED_A0__RQ",
                           "records.env:20: TGED_A19__RQ",
                           "10 more problems not shown")
        self.assertNotIn("records.env:21:", err)


class WatchedFile(EnvTest):
    def setUp(self):
        self.r = self.env_responder(
            {"TGED_SQL__HOST": "db"}, extra='file = "records.env";',
            files={"records.env": "TGED_WEB__HOST=v1\n"})
        self.path = self.r.path("records.env")

    def write(self, text, rename=False):
        if rename:
            with open(self.path + ".tmp", "w") as f:
                f.write(text)
            os.rename(self.path + ".tmp", self.path)
        else:
            with open(self.path, "w") as f:
                f.write(text)

    def wait_served(self, host, timeout=5):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            got = self.r.ask(request("WEB"), first_wait=0.5)
            if got and ("HOST: %s\r\n" % host).encode() in got[0]:
                return time.monotonic() - t
            time.sleep(0.02)
        self.fail("HOST %s not served within %ss:\n%s"
                  % (host, timeout, self.r.log_text()))

    def test_edit_is_served(self):
        self.write("# edited\nTGED_WEB__HOST=v2\n")
        self.assertLess(self.wait_served("v2"), 1.0)
        self.write("TGED_WEB__HOST=v3\n", rename=True)
        self.assertLess(self.wait_served("v3"), 1.0)
        # The environment's records stay.
        self.assertEqual(self.served(self.r, "SQL"), [[("HOST", "db")]])

    def test_bad_edit_keeps_the_last_good_records(self):
        mark = self.r.log_mark()
        self.write("TGED_WEB__HOST=v2\nTGED_WEB__RQ=bad\n")
        self.r.wait_log("records.env:2: TGED_WEB__RQ: field name 'RQ' is "
                        "reserved", after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertIn(b"HOST: v1\r\n", self.r.ask(request("WEB"))[0])
        mark = self.r.log_mark()
        self.write("TGED_WEB__HOST=v2\nTGED_WEB_PORT=80\n")
        self.r.wait_log("records.env:2: TGED_WEB_PORT: not a record "
                        "variable: no '__' separator", after=mark)
        self.assertIn(b"HOST: v1\r\n", self.r.ask(request("WEB"))[0])
        # A record the environment already has.
        mark = self.r.log_mark()
        self.write("TGED_SQL__PORT=1\n")
        self.r.wait_log("records.env:1: TGED_SQL__PORT: the record of type "
                        "SQL is also set in the environment", after=mark)
        self.assertIn(b"HOST: v1\r\n", self.r.ask(request("WEB"))[0])
        self.write("TGED_WEB__HOST=v4\n")
        self.wait_served("v4")

    def test_deleted_file_keeps_the_records(self):
        mark = self.r.log_mark()
        os.unlink(self.path)
        self.r.wait_log("records.env: cannot open", after=mark)
        self.assertIn(b"HOST: v1\r\n", self.r.ask(request("WEB"))[0])
        self.write("TGED_WEB__HOST=v5\n")
        self.wait_served("v5")

    def test_emptied_file_serves_the_environment_only(self):
        self.write("# nothing here now\n")
        t = time.monotonic()
        while time.monotonic() - t < 5:
            got = self.r.ask_parsed(request("WEB"), first_wait=0.5)
            if got and got[0][0] == "INVALID":
                break
            time.sleep(0.02)
        self.assertIn(("REASON", "unknown-type"), got[0][1])
        self.assertEqual(self.served(self.r, "SQL"), [[("HOST", "db")]])


if __name__ == "__main__":
    main()
