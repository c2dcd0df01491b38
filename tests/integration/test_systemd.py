"""tests/integration/test_systemd.py - tgedd as a Type=notify service: it
says READY once serving, RELOADING/READY around a reload, STOPPING; and the
unit file passes systemd-analyze verify."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import ResponderTest, main, rec, static_backend, SRC

ASK = "TGED DISCOVERY 1.0\r\nRQ: A\r\n\r\n"


class Notify(ResponderTest):
    def setUp(self):
        d = tempfile.mkdtemp(prefix="tged-notify-")
        self.addCleanup(shutil.rmtree, d, True)
        self.path = os.path.join(d, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(self.path)
        self.sock.settimeout(10)

    def next(self):
        return self.sock.recv(4096).decode()

    def test_ready_reload_stopping(self):
        r = self.responder(static_backend("s", rec("A", V="1")), start=False)
        r.start(env={"NOTIFY_SOCKET": self.path})
        msg = self.next()
        self.assertIn("READY=1", msg)
        self.assertIn("MAINPID=%d" % r.proc.pid, msg)
        # READY means serving: the answer is there at once.
        self.assertEqual(len(r.ask(ASK, first_wait=1)), 1)
        r.signal(signal.SIGHUP)
        self.assertIn("RELOADING=1", self.next())
        self.assertIn("READY=1", self.next())
        r.write("tged.conf", open(r.conf).read() + "\nbroken\n")
        r.signal(signal.SIGHUP)
        self.assertIn("RELOADING=1", self.next())
        msg = self.next()
        self.assertIn("READY=1", msg)
        self.assertIn("reload failed", msg)
        r.signal(signal.SIGTERM)
        self.assertIn("STOPPING=1", self.next())
        self.assertEqual(r.proc.wait(10), 0)


@unittest.skipUnless(shutil.which("systemd-analyze"), "needs systemd-analyze")
class Unit(unittest.TestCase):
    def test_unit_verifies(self):
        d = tempfile.mkdtemp(prefix="tged-unit-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(SRC, "etc", "tgedd.service")) as f:
            unit = f.read()
        # The paths the installed unit has; only /bin/true needs to exist
        # for verify, so point ExecStart there.
        unit = unit.replace("@SBINDIR@/tgedd", "/bin/true")
        unit = unit.replace("@SYSCONFDIR@", "/etc")
        path = os.path.join(d, "tgedd.service")
        with open(path, "w") as f:
            f.write(unit)
        # The man pages are checked by their own test, not installed here.
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", p.stderr)


if __name__ == "__main__":
    main()
