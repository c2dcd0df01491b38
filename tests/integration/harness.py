"""tests/integration/harness.py - run the real tgedd and tged in tests.

A Responder writes a configuration into a temporary folder, starts
`tgedd -f` on free loopback ports, and collects its log. Requests go over
real UDP sockets to 127.0.0.1 and ::1 only.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import shutil

BIN = os.environ.get("TGED_BIN_DIR", "build/bin")
PLUGINS = os.environ.get("TGED_PLUGIN_DIR", "build/plugins")
BROKEN = os.environ.get("TGED_BROKEN_DIR", "build/tests/broken")
SRC = os.environ.get("TGED_SOURCE_DIR", ".")
TGEDD = os.path.join(BIN, "tgedd")
TGED = os.path.join(BIN, "tged")

SKIP = 77

# TGED_VALGRIND=1 runs every tgedd under valgrind memcheck: a leak or a
# memory error fails the test that started it. Timing checks are relaxed.
VALGRIND = os.environ.get("TGED_VALGRIND") == "1"
VALGRIND_CMD = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect",
                "--track-fds=no"]


def instrumented():
    """Why tgedd's memory is not its own here (valgrind, a sanitizer
    runtime), or None."""
    if VALGRIND:
        return "tgedd runs under valgrind"
    try:
        with open(TGEDD, "rb") as f:
            if b"__asan_init" in f.read():
                return "tgedd is built with AddressSanitizer"
    except OSError:
        pass
    return None


def resident_kib(pid):
    """VmRSS of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def free_port():
    """A UDP port free on both 127.0.0.1 and ::1."""
    for _ in range(50):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s6.bind(("::1", port))
            s6.close()
        except OSError:
            s4.close()
            continue
        s4.close()
        return port
    raise RuntimeError("no free port")


def parse(data):
    """(method, [(NAME, value), ...]) of an answer, names upper-cased."""
    text = data.decode("latin-1")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    method = lines[0].split()[1]
    headers = []
    for line in lines[1:]:
        name, value = line.split(": ", 1)
        headers.append((name.upper(), value))
    return method, headers


class Responder:
    """A tgedd process on a configuration written for one test."""

    def __init__(self, backends, routes=None, responder="", files=None,
                 ipv6=True, plugin_dir=PLUGINS, raw=None):
        self.dir = tempfile.mkdtemp(prefix="tged-test-")
        self.port = free_port()
        for name, text in (files or {}).items():
            self.write(name, text)
        listen = '"127.0.0.1:%d"' % self.port
        if ipv6:
            listen += ', "[::1]:%d"' % self.port
        if raw is not None:
            conf = raw
        else:
            # Tests run as root in throw-away folders only root can read.
            conf = ('responder = { listen = ( %s ); control = "control"; '
                    'run_as_root = true; %s };\n' % (listen, responder))
            conf += 'plugin_dir = "%s";\n' % plugin_dir
            conf += "backends = ( %s );\n" % backends
            if routes is not None:
                conf += "routes = ( %s );\n" % routes
        self.conf = self.write("tged.conf", conf)
        self.proc = None
        self.log = []
        self._log_lock = threading.Lock()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start(self, args=(), ready=True, env=None):
        """Start tgedd -f; env adds variables to the environment."""
        full = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen(
            (VALGRIND_CMD if VALGRIND else []) +
            [TGEDD, "-f", "-c", self.conf] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=full)
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if ready:
            self.wait_log("serving with", 60 if VALGRIND else 20)
        return self

    def _read_log(self):
        for line in self.proc.stderr:
            with self._log_lock:
                self.log.append(line.rstrip("\n"))

    def log_text(self):
        with self._log_lock:
            return "\n".join(self.log)

    def wait_log(self, text, timeout=10, after=0):
        """Wait for a log line containing text (among lines from `after` on)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._log_lock:
                if any(text in line for line in self.log[after:]):
                    return True
            if self.proc.poll() is not None:
                time.sleep(0.1)
                with self._log_lock:
                    if any(text in line for line in self.log[after:]):
                        return True
                raise AssertionError(
                    "tgedd exited (%s) before logging %r:\n%s"
                    % (self.proc.returncode, text, self.log_text()))
            time.sleep(0.02)
        raise AssertionError("no log line %r within %ss:\n%s"
                             % (text, timeout, self.log_text()))

    def log_mark(self):
        with self._log_lock:
            return len(self.log)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if self.proc:
            self._reader.join(5)
            self.proc.stderr.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        try:
            code = self.stop(60 if VALGRIND else 10)
            if VALGRIND and code not in (0, None):
                raise AssertionError("tgedd under valgrind exited %s:\n%s"
                                     % (code, self.log_text()))
            # In a sanitizer build, a report fails the test that started
            # this tgedd, whatever it asserted.
            if re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                         r"runtime error:", self.log_text()):
                raise AssertionError("tgedd reported a sanitizer error:\n%s"
                                     % self.log_text())
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def ask(self, data, family=socket.AF_INET, count=None, wait=0.4,
            first_wait=3.0):
        """Send one datagram, return the list of datagrams answered.

        Waits up to first_wait for the first answer, then `wait` of quiet
        for more (or until `count` arrived)."""
        if isinstance(data, str):
            data = data.encode()
        addr = ("127.0.0.1", self.port) if family == socket.AF_INET \
            else ("::1", self.port)
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(data, addr)
            out = []
            s.settimeout(first_wait)
            while count is None or len(out) < count:
                try:
                    d, src = s.recvfrom(65535)
                except socket.timeout:
                    break
                self.last_source = src
                out.append(d)
                s.settimeout(wait)
            return out

    def ask_parsed(self, data, **kw):
        return [parse(d) for d in self.ask(data, **kw)]

    def control(self, *args):
        """Run tged --stats/--status/--reload on this responder."""
        return subprocess.run([TGED, "--control", self.path("control")] +
                              list(args), capture_output=True, text=True,
                              timeout=10)

    def stats(self):
        p = self.control("--stats")
        assert p.returncode == 0, p.stderr
        return {k: float(v) for k, v in
                (line.split() for line in p.stdout.splitlines())}

    def tged(self, *args, timeout=5, server=None):
        """Run the tged client against this responder."""
        srv = server or "127.0.0.1:%d" % self.port
        return subprocess.run([TGED, "-s", srv] + list(args),
                              capture_output=True, text=True, timeout=timeout)


def run_tgedd(*args, timeout=30):
    return subprocess.run([TGEDD] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def static_backend(name, records, extra=""):
    return '{ name = "%s"; module = "static"; records = ( %s ); %s }' % (
        name, records, extra)


def rec(type_, **fields):
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return '"%s"' % v
    body = " ".join("%s = %s;" % (k, val(v)) for k, v in fields.items())
    return '{ type = "%s"; fields = { %s }; }' % (type_, body)


class ResponderTest(unittest.TestCase):
    """Starts nothing itself; tests call self.responder(...)."""

    def responder(self, *a, start=True, **kw):
        r = Responder(*a, **kw)
        self.addCleanup(r.cleanup)
        if start:
            r.start()
        return r


def main():
    """Run the tests of the calling module; exit 77 when all skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    res = prog.result
    # A test with failing subtests appears once per subtest: count tests.
    failed = {t.id() if not hasattr(t, "test_case") else t.test_case.id()
               for t, _ in res.failures + res.errors}
    skipped = len(res.skipped)
    # A module or class that skips as a whole counts as one test run.
    run = max(res.testsRun, len(failed) + skipped)
    print("%d passed, %d failed, %d skipped" % (
        run - len(failed) - skipped, len(failed), skipped))
    if res.failures or res.errors:
        sys.exit(1)
    if skipped and skipped >= res.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
