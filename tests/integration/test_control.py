"""tests/integration/test_control.py - counters, status and reload through
the control socket (tged --stats, --status, --reload)."""

import signal
import time

from harness import ResponderTest, main, rec, static_backend

SQL = "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"


class Control(ResponderTest):
    def setUp(self):
        self.r = self.responder(
            static_backend("site", rec("SQL", HOST="a") + ", " +
                           rec("SQL", HOST="b")) + ", " +
            '{ name = "file"; module = "static"; file = "recs.conf"; }',
            files={"recs.conf": 'records = ( { type = "F"; fields = '
                                '{ V = 1; }; } );\n'})

    def test_counters_follow_requests(self):
        r = self.r
        for _ in range(3):
            self.assertEqual(len(r.ask(SQL, count=2)), 2)
        r.ask("TGED DISCOVERY 1.0\r\nRQ: NOPE\r\n")
        r.ask("TGED DISCOVERY 1.0\r\nRQ: SQL\r\nHOST: zzz\r\n")
        r.ask("TGED DISCOVERY 1.0\r\nRQ :SQL\r\n")
        r.ask("TGED DISCOVERY 9.0\r\n")
        for junk in (b"junk", b"TGED REPLY 1.0\r\n\r\n"):
            r.ask(junk, first_wait=0.2)
        st = r.stats()
        self.assertEqual(st["received"], 9)
        self.assertEqual(st["answered"], 3)
        self.assertEqual(st["replies"], 6)
        self.assertEqual(st["invalid.unknown-type"], 1)
        self.assertEqual(st["invalid.no-match"], 1)
        self.assertEqual(st["invalid.bad-request"], 1)
        self.assertEqual(st["invalid.version"], 1)
        self.assertEqual(st["dropped.not-tged"], 1)
        self.assertEqual(st["dropped.not-request"], 1)
        # The first backend answers SQL; NOPE and the no-match asked both.
        self.assertEqual(st["backend.site.lookups"], 5)
        self.assertEqual(st["backend.site.found"], 3)
        self.assertEqual(st["backend.file.lookups"], 2)
        self.assertEqual(st["backend.file.not-mine"], 2)
        self.assertGreater(st["backend.site.latency-us"], 0)

    def test_status_shows_a_failed_reload(self):
        r = self.r
        p = r.control("--status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"backend file module=static "
                                   r"data-changes=1 state=ok")
        mark = r.log_mark()
        r.write("recs.conf", "records = ( oops")
        r.wait_log("keeps serving", after=mark)
        p = r.control("--status")
        self.assertRegex(p.stdout, r"backend file .*state=stale")
        r.write("recs.conf", 'records = ( { type = "F"; fields = { V = 2; }; '
                             '} );\n')
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            p = r.control("--status")
            if "backend file module=static data-changes=2 " in p.stdout:
                break
            time.sleep(0.05)
        self.assertRegex(p.stdout, r"backend file .*data-changes=2 .*state=ok")

    def test_reload(self):
        r = self.r
        conf = open(r.conf).read()
        r.write("tged.conf", conf.replace('HOST = "a"', 'HOST = "c"'))
        p = r.control("--reload")
        self.assertEqual((p.returncode, p.stdout), (0, "reloaded\n"))
        self.assertIn(b"HOST: c", r.ask(SQL, count=2)[0])
        r.write("tged.conf", conf + "\nbroken\n")
        p = r.control("--reload")
        self.assertEqual(p.returncode, 1)
        self.assertIn("reload failed", p.stdout)
        self.assertIn(b"HOST: c", r.ask(SQL, count=2)[0])

    def test_sigusr1_logs_the_counters(self):
        mark = self.r.log_mark()
        self.r.signal(signal.SIGUSR1)
        self.r.wait_log("stats: backend.site.lookups 0", after=mark)

    def test_no_daemon(self):
        p = self.r.control("--stats", "--control", self.r.path("nothere"))
        self.assertEqual(p.returncode, 69)
        self.assertIn("is tgedd running", p.stderr)


if __name__ == "__main__":
    main()
