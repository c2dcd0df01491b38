"""tests/integration/test_privdrop.py - tgedd started as root becomes the
configured user once its sockets are open, keeps no capability, and still
reloads; and it will not stay root by accident."""

import os
import re
import signal
import unittest

from harness import (Responder, ResponderTest, main, rec, run_tgedd,
                     static_backend)

SQL = "TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n"


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
class Drop(ResponderTest):
    def responder_as(self, settings):
        r = Responder(static_backend("s", rec("SQL", HOST="a")),
                      responder=settings)
        self.addCleanup(r.cleanup)
        # The unprivileged user must be able to read what it reloads.
        os.chmod(r.dir, 0o755)
        text = open(r.conf).read().replace("run_as_root = true; ", "", 1)
        r.write("tged.conf", text)
        os.chmod(r.conf, 0o644)
        return r

    def test_becomes_nobody(self):
        r = self.responder_as('user = "nobody";')
        r.start()
        st = proc_status(r.proc.pid)
        self.assertEqual(st["Uid"].split(), ["65534"] * 4)
        self.assertEqual(st["Gid"].split()[:3], [st["Gid"].split()[0]] * 3)
        self.assertNotEqual(st["Gid"].split()[0], "0")
        self.assertEqual(st["Groups"].split(), [st["Gid"].split()[0]])
        self.assertEqual(int(st["CapEff"], 16), 0)
        self.assertEqual(int(st["CapPrm"], 16), 0)
        self.assertEqual(st["NoNewPrivs"], "1")
        # Every thread, not just the one that called setresuid.
        for tid in os.listdir("/proc/%d/task" % r.proc.pid):
            with open("/proc/%d/task/%s/status" % (r.proc.pid, tid)) as f:
                self.assertIn("Uid:\t65534\t65534\t65534\t65534", f.read())
        self.assertIn(b"HOST: a", r.ask(SQL)[0])
        # A reload reads the configuration as nobody.
        r.write("tged.conf", open(r.conf).read().replace('"a"', '"b"'))
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.assertIn(b"HOST: b", r.ask(SQL)[0])
        self.assertIn("running as user nobody", r.log_text())
        self.assertEqual(r.stats()["received"], 2)

    def test_refuses_to_stay_root(self):
        r = self.responder_as("")
        p = run_tgedd("-f", "-c", r.conf)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("tgedd runs as root: set responder.user", p.stderr)

    def test_run_as_root_when_told(self):
        r = self.responder_as("run_as_root = true;")
        r.start()
        self.assertEqual(proc_status(r.proc.pid)["Uid"].split()[0], "0")

    def test_unknown_user_or_group(self):
        for settings, msg in (('user = "no-such-user-x";',
                               "no user named 'no-such-user-x'"),
                              ('user = "nobody"; group = "no-such-group-x";',
                               "no group named 'no-such-group-x'"),
                              ('group = "nogroup";',
                               "responder.group needs responder.user")):
            with self.subTest(settings):
                r = self.responder_as(settings)
                p = run_tgedd("-t", "-c", r.conf)
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn(msg, p.stderr)

    def test_root_user_is_refused(self):
        r = self.responder_as('user = "root";')
        p = run_tgedd("-f", "-c", r.conf)
        self.assertEqual(p.returncode, 71, p.stderr)
        self.assertIn("is root: name an unprivileged user", p.stderr)


if __name__ == "__main__":
    main()
