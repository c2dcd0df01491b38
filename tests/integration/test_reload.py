"""tests/integration/test_reload.py - signals, reloads and watched files:
new data is served whole, bad data never replaces good data, and nothing is
lost while it happens."""

import os
import signal
import socket
import threading
import time

from harness import ResponderTest, main, rec, static_backend, VALGRIND

# Under valgrind everything is some 30 times slower: time limits grow.
SLOW = 10 if VALGRIND else 1

ASK = "TGED DISCOVERY 1.0\r\nRQ: A\r\n\r\n"


def record_file(value, extra=""):
    return ('records = (\n  { type = "A"; fields = { V = "%s"; }; }%s\n);\n'
            % (value, extra))


class Signals(ResponderTest):
    def test_sigterm_exits_0_at_once(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                r = self.responder(static_backend("s", rec("A", V="1")))
                t = time.monotonic()
                r.signal(sig)
                r.proc.wait(5 * SLOW)
                self.assertLess(time.monotonic() - t, 1.0 * SLOW)
                self.assertEqual(r.proc.returncode, 0, r.log_text())

    def test_sighup_reloads_the_configuration(self):
        r = self.responder(static_backend("s", rec("A", V="old")))
        self.assertIn(b"V: old", r.ask(ASK)[0])
        conf = open(r.conf).read().replace('"old"', '"new"')
        r.write("tged.conf", conf)
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.assertIn(b"V: new", r.ask(ASK)[0])

    def test_bad_configuration_on_sighup_keeps_the_old(self):
        r = self.responder(static_backend("s", rec("A", V="old")))
        good = open(r.conf).read()
        for bad in (good.replace("module", "modul"),
                    good.replace('"old"', '"old"; X-TGED-Y = "1"'),
                    good + "\nsyntax error here\n"):
            with self.subTest(bad=bad[-40:]):
                r.write("tged.conf", bad)
                mark = r.log_mark()
                r.signal(signal.SIGHUP)
                r.wait_log("running configuration keeps serving", after=mark)
                self.assertIn(b"V: old", r.ask(ASK)[0])
        self.assertRegex(r.log_text(), r"tged\.conf:\d+: ")

    def test_sighup_under_load_loses_nothing(self):
        r = self.responder(static_backend("s", rec("A", V="1")))
        stop = threading.Event()
        result = {"sent": 0, "lost": 0, "wrong": 0}

        def load():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                i = 0
                while not stop.is_set():
                    i += 1
                    msg = "TGED DISCOVERY 1.0\r\nRQ: A\r\nID: %d\r\n" % i
                    s.sendto(msg.encode(), ("127.0.0.1", r.port))
                    result["sent"] += 1
                    try:
                        d = s.recv(2048)
                    except socket.timeout:
                        result["lost"] += 1
                        continue
                    if ("ID: %d\r\n" % i).encode() not in d or \
                            not d.startswith(b"TGED REPLY"):
                        result["wrong"] += 1

        t = threading.Thread(target=load)
        t.start()
        try:
            for i in range(10):
                conf = open(r.conf).read()
                r.write("tged.conf", conf.replace('V = "%d"' % (i + 1),
                                                  'V = "%d"' % (i + 2)))
                mark = r.log_mark()
                r.signal(signal.SIGHUP)
                r.wait_log("reloaded", after=mark)
        finally:
            stop.set()
            t.join()
        self.assertGreater(result["sent"], 100)
        self.assertEqual(result["lost"], 0, result)
        self.assertEqual(result["wrong"], 0, result)
        self.assertIn(b"V: 11", r.ask(ASK)[0])


class WatchedFile(ResponderTest):
    def setUp(self):
        self.r = self.responder('{ name = "s"; module = "static"; '
                                'file = "recs.conf"; }',
                                files={"recs.conf": record_file("1")})
        self.path = self.r.path("recs.conf")

    def served(self, value, timeout=5 * SLOW):
        """Wait until the record has V = value; return the seconds taken."""
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            got = self.r.ask(ASK, first_wait=0.5)
            if got and ("V: %s\r\n" % value).encode() in got[0]:
                return time.monotonic() - t
            time.sleep(0.02)
        self.fail("V = %s not served within %ss:\n%s"
                  % (value, timeout, self.r.log_text()))

    def test_edit_in_place(self):
        with open(self.path, "r+") as f:
            f.seek(0)
            f.write(record_file("2"))
            f.truncate()
        self.assertLess(self.served("2"), 1.0 * SLOW)

    def test_truncate_then_write(self):
        with open(self.path, "w") as f:
            f.write(record_file("3"))
        self.served("3")

    def test_replace_by_rename(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(record_file("4"))
        os.rename(tmp, self.path)
        self.assertLess(self.served("4"), 1.0 * SLOW)

    def test_delete_and_recreate(self):
        os.unlink(self.path)
        time.sleep(0.2)
        # Deleted: the last good records keep serving.
        self.assertIn(b"V: 1\r\n", self.r.ask(ASK)[0])
        with open(self.path, "w") as f:
            f.write(record_file("5"))
        self.served("5")

    def test_folder_replaced(self):
        # The watched file lives in a folder that another tool swaps whole.
        r = self.responder('{ name = "s"; module = "static"; '
                           'file = "data/recs.conf"; }', start=False)
        os.mkdir(r.path("data"))
        r.write("data/recs.conf", record_file("1"))
        r.start()
        os.mkdir(r.path("data.new"))
        r.write("data.new/recs.conf", record_file("6"))
        os.rename(r.path("data"), r.path("data.old"))
        os.rename(r.path("data.new"), r.path("data"))
        self.r = r
        self.assertLess(self.served("6"), 2.0 * SLOW)

    def test_bad_edit_keeps_the_last_good_records(self):
        mark = self.r.log_mark()
        with open(self.path, "w") as f:
            f.write(record_file("7", ',\n  { type = "A"; fields = { RQ = "x"; '
                                     '}; }'))
        self.r.wait_log("recs.conf:3: records: record 2 (A): field name 'RQ' "
                        "is reserved", after=mark)
        self.r.wait_log("the data loaded before keeps serving", after=mark)
        self.assertIn(b"V: 1\r\n", self.r.ask(ASK)[0])
        with open(self.path, "w") as f:
            f.write("records = ( { type = \n")
        time.sleep(0.3)
        self.assertIn(b"V: 1\r\n", self.r.ask(ASK)[0])
        with open(self.path, "w") as f:
            f.write(record_file("8"))
        self.served("8")

    def test_slow_writer_is_read_once_done(self):
        # A tool that writes in place, in pieces: the file is valid after
        # the first piece too, but holds only half the records. It is read
        # when the writer closes it, not before.
        stop = threading.Event()
        seen = set()

        def watch():
            while not stop.is_set():
                got = self.r.ask(ASK, wait=0.05, first_wait=0.5)
                seen.add(tuple(sorted(d.split(b"V: ")[1].split(b"\r\n")[0]
                                      for d in got)))

        t = threading.Thread(target=watch)
        t.start()
        try:
            with open(self.path, "w") as f:
                f.write('records = ( { type = "A"; fields = { V = "n1"; }; } );'
                        '\n')
                f.flush()
                time.sleep(0.15)
                f.seek(0)
                f.write('records = ( { type = "A"; fields = { V = "n1"; }; },'
                        ' { type = "A"; fields = { V = "n2"; }; } );\n')
            deadline = time.monotonic() + 5 * SLOW
            while (b"n1", b"n2") not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            t.join()
        self.assertNotIn((b"n1",), seen, seen)
        self.assertIn((b"n1", b"n2"), seen)

    def test_reader_sees_old_or_new_never_a_mix(self):
        # Rewrite a file of many records by rename while asking: every
        # answer is all-old or all-new.
        def many(tag):
            return "records = (\n%s\n);\n" % ",\n".join(
                '{ type = "A"; fields = { V = "%s"; N = %d; }; }' % (tag, i)
                for i in range(8))
        with open(self.path, "w") as f:
            f.write(many("a"))
        self.served("a")
        stop = threading.Event()

        def writer():
            n = 0
            while not stop.is_set():
                n += 1
                tmp = self.path + ".tmp"
                with open(tmp, "w") as f:
                    f.write(many("ab"[n % 2]))
                os.rename(tmp, self.path)
                time.sleep(0.03)

        t = threading.Thread(target=writer)
        t.start()
        try:
            for _ in range(150):
                got = self.r.ask(ASK, count=8, wait=0.3)
                self.assertEqual(len(got), 8)
                tags = {d.split(b"V: ")[1].split(b"\r\n")[0] for d in got}
                self.assertEqual(len(tags), 1, got)
        finally:
            stop.set()
            t.join()


if __name__ == "__main__":
    main()
