"""tests/integration/test_static.py - the static backend's records file:
the fast reader serves exactly what libconfig reads, and whatever it does
not take is read by libconfig, with the same messages as ever."""

import re
import time

from harness import (ResponderTest, main, rec, run_tgedd, static_backend,
                     VALGRIND)

SLOW = 10 if VALGRIND else 1

BACKEND = '{ name = "s"; module = "static"; file = "recs.conf"; }'

# Every construct of the fast reader's subset (plugins/static/
# records_reader.h): the three kinds of comments, = and :, ; and , and
# nothing between settings, records in either order, hex and L integers,
# signs and leading zeros, escapes, a backslash kept, pieces side by side,
# booleans in any case.
EVERY_CONSTRUCT = r'''# comments of the first kind,
// of the second kind
/* and of the third kind,
   over lines */
records : (
  { type = "SQL"; fields = { HOST = "db" "1"; PORT = 3306, TLS = TRUE; }; },
  { fields: { HOST: "db2" /* between the pieces */ "x"
              PORT = 0x1F, BIG = 12345678901L; NEG = -42; POS = +7;
              HEX64 = 0x7fffffffffffffffL; ZERO = -0; LEAD = 000123;
              MIN = -2147483648; WIDE = 9LL;
              OFF = false; ON = True; }
    type: "sql" },
  { type = "ESC"; fields = { Q = "a\"b"; B = "back\\slash"; T = "tab\there";
                             X = "\x41\X42" "c"; L = "c:\Users\q";
                             U = "caf\xc3\xa9"; } }
);
'''

SQL_REPLIES = [
    b"TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: db1\r\nPORT: 3306\r\nTLS: true\r\n"
    b"\r\n",
    b"TGED REPLY 1.0\r\nRQ: SQL\r\nHOST: db2x\r\nPORT: 31\r\n"
    b"BIG: 12345678901\r\nNEG: -42\r\nPOS: 7\r\n"
    b"HEX64: 9223372036854775807\r\nZERO: 0\r\nLEAD: 123\r\n"
    b"MIN: -2147483648\r\nWIDE: 9\r\nOFF: false\r\nON: true\r\n\r\n",
]
ESC_REPLIES = [
    b'TGED REPLY 1.0\r\nRQ: ESC\r\nQ: a"b\r\nB: back\\slash\r\n'
    b"T: tab\there\r\nX: ABc\r\nL: c:\\Users\\q\r\n"
    b"U: caf\xc3\xa9\r\n\r\n",
]

# A comment that makes the fast reader give up (it leaves every file that
# mentions @include to libconfig) and changes nothing for libconfig.
TO_LIBCONFIG = "# no @include here: read by libconfig\n"

FAST = "recs.conf: read by the fast reader"
NOT_FAST = "not for the fast reader; reading it with libconfig"


def ask(r, type_):
    return r.ask("TGED DISCOVERY 1.0\r\nRQ: %s\r\n\r\n" % type_)


class FastReader(ResponderTest):
    def served(self, text, **kw):
        r = self.responder(BACKEND, files={"recs.conf": text}, start=False,
                           **kw)
        r.start(args=["-d"])
        return r

    def test_every_construct_answers_as_libconfig_does(self):
        fast = self.served(EVERY_CONSTRUCT)
        fast.wait_log(FAST)
        self.assertNotIn(NOT_FAST, fast.log_text())
        slow = self.served(EVERY_CONSTRUCT + TO_LIBCONFIG)
        slow.wait_log("recs.conf: " + NOT_FAST)
        self.assertNotIn(FAST, slow.log_text())
        for type_, replies in (("SQL", SQL_REPLIES), ("sql", SQL_REPLIES),
                               ("ESC", ESC_REPLIES)):
            with self.subTest(type_):
                self.assertEqual(ask(slow, type_), replies)
                self.assertEqual(ask(fast, type_), replies)
        self.assertIn("3 records of 2 types", fast.log_text())

    def test_filters_find_fast_read_records(self):
        r = self.served(EVERY_CONSTRUCT)
        got = r.ask("TGED DISCOVERY 1.0\r\nRQ: SQL\r\nbig: 12345678901\r\n"
                    "\r\n")
        self.assertEqual(got, SQL_REPLIES[1:])

    def test_inline_records_come_first(self):
        r = self.responder(
            static_backend("s", rec("SQL", HOST="inline"),
                           'file = "recs.conf";'),
            files={"recs.conf": EVERY_CONSTRUCT}, start=False)
        r.start(args=["-d"])
        r.wait_log(FAST)
        got = ask(r, "SQL")
        self.assertEqual(got[0], b"TGED REPLY 1.0\r\nRQ: SQL\r\n"
                         b"HOST: inline\r\n\r\n")
        self.assertEqual(got[1:], SQL_REPLIES)

    def test_an_edit_is_read_by_the_fast_reader_too(self):
        r = self.served('records = ( { type = "A"; fields = { V = 1; }; } );'
                        '\n')
        mark = r.log_mark()
        with open(r.path("recs.conf"), "w") as f:
            f.write('records = ( { type = "A"; fields = { V = 2; }; } );\n')
        r.wait_log("reloaded, 1 records of 1 types", 5 * SLOW, after=mark)
        self.assertTrue(any(FAST in line for line in r.log[mark:]))
        self.assertIn(b"V: 2\r\n", ask(r, "A")[0])

    def test_empty_file_and_no_records(self):
        for text in ("", "# nothing yet\n", "records = ();\n"):
            with self.subTest(text=text):
                r = self.served(text)
                r.wait_log(FAST)
                r.wait_log("0 records of 0 types")

    def test_include_is_read_by_libconfig(self):
        r = self.responder(BACKEND, start=False, files={
            "recs.conf": 'records = (\n@include "more.conf"\n);\n',
            "more.conf": '{ type = "INC"; fields = { A = 0x10; }; }\n'})
        r.start(args=["-d"])
        r.wait_log("recs.conf: " + NOT_FAST)
        self.assertEqual(ask(r, "INC"), [b"TGED REPLY 1.0\r\nRQ: INC\r\n"
                                         b"A: 16\r\n\r\n"])

    def test_outside_the_subset_is_read_by_libconfig(self):
        # Each is valid, and read by libconfig: a value libconfig 1.5
        # wraps, an empty array, \x00 (dropped), a lone backslash
        # before x.
        for text, reply in (
                ('records = ( { type = "A"; fields = { V = 0xFFFFFFFF; }; } );'
                 '\n', b"V: -1\r\n"),
                ('records = ( { type = "A"; fields = { V = 2147483648; }; } );'
                 '\n', b"V: -2147483648\r\n"),
                ('records = ( { type = "A"; fields = { V = "a\\x00b"; }; } );'
                 '\n', b"V: ab\r\n"),
                ('records = [ ];\nrecords2 = ();\n', None)):
            with self.subTest(text=text):
                r = self.responder(BACKEND, files={"recs.conf": text},
                                   start=False)
                if reply is None:
                    p = run_tgedd("-t", "-d", "-c", r.conf)
                    self.assertIn("unknown setting 'records2'", p.stderr)
                    self.assertIn(NOT_FAST, p.stderr)
                    continue
                r.start(args=["-d"])
                r.wait_log("recs.conf:1: " + NOT_FAST)
                self.assertEqual(ask(r, "A"), [b"TGED REPLY 1.0\r\nRQ: A\r\n"
                                               + reply + b"\r\n"])


class Errors(ResponderTest):
    """Files with an error: the messages are libconfig's and static's, as
    before the fast reader."""

    def check(self, text, message, stopped_at):
        r = self.responder(BACKEND, files={"recs.conf": text}, start=False)
        p = run_tgedd("-t", "-d", "-c", r.conf)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn(r.path("recs.conf") + message, p.stderr)
        self.assertIn(r.path("recs.conf") + stopped_at + NOT_FAST, p.stderr)
        self.assertNotIn(FAST, p.stderr)
        # Exactly one error from the backend: the fast reader says nothing
        # but at debug level.
        errors = [line for line in p.stderr.splitlines()
                  if re.match(r"tgedd: error: backend s \(static\)", line)]
        self.assertEqual(len(errors), 1, p.stderr)

    def test_messages_are_unchanged(self):
        good = '  { type = "A"; fields = { F = 1; }; }'
        second = ("records = (\n" + good +
                  ',\n  { type = "A"; fields = %s }\n);\n')
        for text, message, stopped_at in (
                (second % "{ F = 1.5; };",
                 ":3: records: record 2 (A): field 'F' must be a string, an "
                 "integer or a boolean (write a decimal number as a string)",
                 ":3: "),
                (second % "{ RP = 1; };",
                 ":3: records: record 2 (A): field name 'RP' is reserved by "
                 "the protocol", ":3: "),
                (second % "{ F = 1; F = 2; };",
                 ":3: duplicate setting name", ":3: "),
                (second % "{ F = 1; } extra = 2;",
                 ":3: records: record 2: unknown setting 'extra' (a record "
                 "takes type and fields)", ":3: "),
                ("records = (\n" + good + "\n);\nextra = 1;\n",
                 ":4: unknown setting 'extra' (the file holds records = "
                 "( ... );)", ":4: "),
                ("records = (\n" + good + "\n);\n# no newline at the end",
                 ":4: syntax error", ":4: "),
                ("records = (\n" + good + ",\n);\n", ":3: syntax error",
                 ":3: "),
                ("records = (\n" + good + "\n", ":3: syntax error",
                 ":3: ")):
            with self.subTest(text=text):
                self.check(text, message, stopped_at)


if __name__ == "__main__":
    main()
