"""tests/integration/test_pipe.py - the pipe backend: programs in shell (and
Python) answering over their stdin and stdout with the protocol of
docs/backends/pipe.md; restarted when they exit, hang or break the
protocol; refused when they cannot serve; reaped, never left behind."""

import os
import re
import select
import signal
import socket
import sys
import threading
import time
import unittest

from harness import (SRC, Responder, ResponderTest, main, rec, run_tgedd,
                     static_backend)

EX_CONFIG = 78
SANITIZER = re.compile(r"Sanitizer|runtime error:")

# The version line, then one request at a time: "Q id TYPE", the F lines
# up to the empty line in $filters (";"-separated), then the body's case.
SH_HEAD = r"""#!/bin/sh
IFS= read -r hello || exit 0
[ "$hello" = "TGED-PIPE 1" ] || { echo "ERROR wanted TGED-PIPE 1"; exit 1; }
echo "OK 1"
n=0
while IFS=' ' read -r tag id type; do
    [ "$tag" = Q ] || { echo "unexpected $tag" >&2; exit 3; }
    filters=
    flines=
    while IFS= read -r line && [ -n "$line" ]; do
        filters="$filters${filters:+;}$line"
        flines="$flines$line
"
    done
    n=$((n + 1))
"""
SH_TAIL = """
done
"""

# A backend of several types, records and filters.
SHOP = SH_HEAD + r"""
    case $type in
    SQL)
        printf 'R %s\nF HOST db1\nF PORT 5432\nF ROLE primary\n' "$id"
        printf 'R %s\nF HOST db2\nF PORT 5433\nF ROLE standby\n' "$id"
        printf 'END %s found\n' "$id" ;;
    WEB)
        printf 'R %s\nF URL http://intranet/  a  b\nF EMPTY\n' "$id"
        printf 'END %s found\n' "$id" ;;
    ECHO*)
        # What tgedd sent: the type, the filters in order, each filter
        # again as a field (so that the record matches them).
        printf 'R %s\nF TYPE %s\nF FILTERS %s\nF COUNT %s\n' \
            "$id" "$type" "$filters" "$n"
        printf '%s' "$flines"
        printf 'END %s found\n' "$id" ;;
    NOTHING) printf 'END %s no-match\n' "$id" ;;
    BROKEN) printf 'END %s failed\n' "$id" ;;
    *) printf 'END %s not-mine\n' "$id" ;;
    esac
""" + SH_TAIL


def read(path):
    with open(path) as f:
        return f.read()


def request(type_, **filters):
    return "TGED DISCOVERY 1.0\r\nRQ: %s\r\n%s\r\n" % (
        type_, "".join("%s: %s\r\n" % kv for kv in filters.items()))


def pipe_backend(name, command, extra=""):
    cmd = ", ".join('"%s"' % c for c in command)
    return '{ name = "%s"; module = "pipe"; command = [ %s ]; %s }' % (
        name, cmd, extra)


def proc_stat(pid):
    """(state, ppid, pgid) of a process, None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(ppid):
    """{pid: state} of the children of ppid."""
    out = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st and st[1] == ppid:
            out[pid] = st[0]
    return out


def running(path):
    """Processes whose command line holds path."""
    out = []
    for pid in all_pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if path.encode() in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def asked_from_many_ports(r, data, n):
    """Send data from n sockets at once; when each answer came, in
    seconds after the sending (all must come within 3 s)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
             for _ in range(n)]
    try:
        t0 = time.monotonic()
        for s in socks:
            s.sendto(data.encode(), ("127.0.0.1", r.port))
        took, waiting = [], set(socks)
        while waiting and time.monotonic() - t0 < 3:
            ready, _, _ = select.select(list(waiting), [], [], 0.05)
            for s in ready:
                s.recv(2048)
                took.append(time.monotonic() - t0)
                waiting.discard(s)
        assert not waiting, "%d of %d requests unanswered" % (len(waiting), n)
        return took
    finally:
        for s in socks:
            s.close()


def in_groups(pgids):
    """Processes whose process group is one of pgids."""
    return [pid for pid in all_pids()
            if (proc_stat(pid) or ("", 0, 0))[2] in pgids]


class PipeTest(ResponderTest):
    """Responders with a pipe backend whose program the test writes."""

    def pipe_responder(self, script=SHOP, extra="", backends="", routes=None,
                       responder="", start=True, wait_pipes=1, name="p",
                       files=None):
        files = dict(files or {})
        if script is not None:
            files["backend.sh"] = script
        be = pipe_backend(name, ["backend.sh"], extra)
        if backends:
            be += ", " + backends
        r = Responder(be, routes=routes, responder=responder, files=files)
        # Cleanups run last first: this one after tgedd has exited.
        self.addCleanup(lambda: self.assertNotRegex(r.log_text(), SANITIZER))
        self.addCleanup(r.cleanup)
        if script is not None:
            os.chmod(r.path("backend.sh"), 0o755)
        if start:
            r.start()
            for i in range(wait_pipes):
                r.wait_log("pipe %d: %s" % (i, r.path("backend.sh")))
        return r

    def check(self, r):
        """tgedd -t on r's configuration."""
        p = run_tgedd("-t", "-c", r.conf)
        self.assertNotRegex(p.stderr, SANITIZER)
        return p

    def served(self, r, type_, count=1, **filters):
        """The records served (waiting for `count`; None: until no more
        come), each a list of (NAME, value) without RQ; fails on an
        INVALID answer."""
        got = r.ask_parsed(request(type_, **filters), count=count)
        self.assertTrue(got, "no answer:\n" + r.log_text())
        for method, headers in got:
            self.assertEqual(method, "REPLY", (headers, r.log_text()))
        return [h[1:] for _, h in got]

    def reason(self, r, type_, **filters):
        got = r.ask_parsed(request(type_, **filters), count=1)
        self.assertTrue(got, "no answer:\n" + r.log_text())
        method, headers = got[0]
        self.assertEqual(method, "INVALID", (headers, r.log_text()))
        return dict(headers)["REASON"]

    def program_pids(self, r):
        """The pids of the programs tgedd started, from its log."""
        return {int(p) for p in re.findall(r"\(pid (\d+)\) started",
                                           r.log_text())}

    def eventually(self, fn, timeout=5.0):
        end = time.monotonic() + timeout
        while True:
            try:
                return fn()
            except AssertionError:
                if time.monotonic() > end:
                    raise
            time.sleep(0.02)

    def no_zombies(self, r):
        zombies = {p: s for p, s in children(r.proc.pid).items() if s == "Z"}
        self.assertEqual(zombies, {}, r.log_text())

    def nothing_left(self, r, pids):
        """After tgedd stopped: none of its programs, nor anything they
        started in their process groups, is running."""
        self.assertIsNotNone(r.proc.poll())
        self.eventually(lambda: self.assertEqual(in_groups(pids), []))


class Serving(PipeTest):
    def test_types_records_and_filters(self):
        r = self.pipe_responder()
        got = r.ask(request("sql"), count=2)
        self.assertEqual(got, [
            b"TGED REPLY 1.0\r\nRQ: sql\r\nHOST: db1\r\nPORT: 5432\r\n"
            b"ROLE: primary\r\n\r\n",
            b"TGED REPLY 1.0\r\nRQ: sql\r\nHOST: db2\r\nPORT: 5433\r\n"
            b"ROLE: standby\r\n\r\n"])
        # The program ignores filters: tgedd applies them to its records.
        self.assertEqual(self.served(r, "SQL", count=None, ROLE="STANDBY"),
                         [[("HOST", "db2"), ("PORT", "5433"),
                           ("ROLE", "standby")]])
        self.assertEqual(self.reason(r, "SQL", ROLE="none"), "no-match")
        self.assertEqual(self.served(r, "WEB"),
                         [[("URL", "http://intranet/  a  b"), ("EMPTY", "")]])
        self.assertEqual(self.reason(r, "NOTHING"), "no-match")
        self.assertEqual(self.reason(r, "BROKEN"), "unavailable")
        self.assertEqual(self.reason(r, "OTHER"), "unknown-type")
        # The ID is echoed; the program never sees it.
        got = r.ask(request("WEB", **{"ID": "abc"}))
        self.assertIn(b"RQ: WEB\r\nID: abc\r\nURL:", got[0])

    def test_what_the_program_is_sent(self):
        r = self.pipe_responder()
        got = self.served(r, "echo.Type_1", zone="LAN", Host="my  pc",
                          **{"A-B": ""})
        fields = dict(got[0])
        # The type and the filter names in upper case, filters sorted by
        # name, values as sent (white space around them is not part).
        self.assertEqual(fields["TYPE"], "ECHO.TYPE_1")
        self.assertEqual(fields["FILTERS"],
                         "F A-B ;F HOST my  pc;F ZONE LAN")
        self.assertEqual(got[0][3:], [("A-B", ""), ("HOST", "my  pc"),
                                      ("ZONE", "LAN")])
        self.assertEqual(fields["COUNT"], "1")
        self.assertEqual(dict(self.served(r, "ECHO")[0])["COUNT"], "2")

    def test_example_backend(self):
        example = os.path.join(SRC, "etc", "pipe-example.sh")
        self.assertTrue(os.access(example, os.X_OK), example)
        r = Responder(pipe_backend("ex", [os.path.abspath(example)]))
        self.addCleanup(r.cleanup)
        r.start()
        r.wait_log("pipe 0: %s" % os.path.abspath(example))
        got = self.served(r, "SQL", count=None)
        self.assertEqual([dict(g)["HOST"] for g in got], ["db1", "db2"])
        self.assertEqual(self.served(r, "sql", role="standby"),
                         [[("HOST", "db2"), ("IP", "192.168.0.35"),
                           ("PORT", "5432"), ("ROLE", "standby")]])
        self.assertEqual(self.served(r, "GREETING", NAME="Ada L."),
                         [[("NAME", "Ada L."), ("TEXT", "hello, Ada L.")]])
        self.assertEqual(self.reason(r, "GREETING"), "no-match")
        up = dict(self.served(r, "UPTIME")[0])
        self.assertEqual(up["HOST"], os.uname().nodename)
        self.assertTrue(up["SECONDS"].isdigit())
        self.assertEqual(self.reason(r, "NOSUCH"), "unknown-type")
        self.assertEqual(r.tged("-t", "1", "SQL", "HOST=db1").returncode, 0)

    def test_many_records_and_max_replies(self):
        many = SH_HEAD + r"""
    i=0
    while [ $i -lt 1500 ]; do
        printf 'R %s\nF N %s\n' "$id" "$i"
        i=$((i + 1))
    done
    printf 'END %s found\n' "$id"
""" + SH_TAIL
        r = self.pipe_responder(many, responder="max_replies = 5;")
        got = self.served(r, "ANY", count=None)
        self.assertEqual(got, [[("N", str(i))] for i in range(5)])
        # Past the 1024 records kept, a filter finds nothing more.
        self.assertEqual(self.served(r, "ANY", N="1023"), [[("N", "1023")]])
        self.assertEqual(self.reason(r, "ANY", N="1024"), "no-match")

    def test_types_setting(self):
        log = SH_HEAD + r"""
    echo "$type" >> asked.log
    printf 'R %s\nF T %s\nEND %s found\n' "$id" "$type" "$id"
""" + SH_TAIL
        r = self.pipe_responder(log, extra='types = [ "Sql", "web" ];')
        # RQ is written as `types` spells it.
        self.assertIn(b"RQ: Sql\r\n", r.ask(request("SQL"))[0])
        self.assertIn(b"RQ: web\r\n", r.ask(request("WEB"))[0])
        self.assertEqual(self.reason(r, "OTHER"), "unknown-type")
        with open(r.path("asked.log")) as f:
            self.assertEqual(f.read().split(), ["SQL", "WEB"])

    def test_environment_and_folder(self):
        show = SH_HEAD + r"""
    printf 'R %s\nF FOO %s\nF N %s\nF B %s\nF BACKEND %s\nF INSTANCE %s\n' \
        "$id" "$FOO" "$N" "$B" "$TGED_PIPE_BACKEND" "$TGED_PIPE_INSTANCE"
    printf 'F VERSION %s\nF DIR %s\nF KEPT %s\nF ARGS %s\nF ZERO %s\n' \
        "$TGED_PIPE_VERSION" "$(pwd)" "$KEPT_VAR" "$*" "$0"
    printf 'END %s found\n' "$id"
""" + SH_TAIL
        r = self.pipe_responder(
            None, extra='env = { FOO = "b a r"; N = 3; B = true; '
                        'KEPT_VAR = "mine"; }; concurrency = 2;',
            start=False)
        os.makedirs(r.path("sub"))
        r.write("sub/backend.sh", show)
        os.chmod(r.path("sub/backend.sh"), 0o755)
        text = read(r.conf).replace(
            '[ "backend.sh" ]', '[ "sub/backend.sh", "x  y", "z" ]')
        r.write("tged.conf", text)
        r.start(env={"KEPT_VAR": "tgedd's", "FOO": "tgedd's"})
        r.wait_log("pipe 1: ")
        f = dict(self.served(r, "ANY")[0])
        self.assertEqual(f["FOO"], "b a r")
        self.assertEqual(f["N"], "3")
        self.assertEqual(f["B"], "true")
        self.assertEqual(f["KEPT"], "mine")
        self.assertEqual(f["BACKEND"], "p")
        self.assertIn(f["INSTANCE"], ("0", "1"))
        self.assertEqual(f["VERSION"], "1")
        # Run in the configuration file's folder, argv[0] its full path.
        self.assertEqual(os.path.realpath(f["DIR"]), os.path.realpath(r.dir))
        self.assertEqual(f["ARGS"], "x  y z")
        self.assertEqual(f["ZERO"], r.path("sub/backend.sh"))

    def test_cache(self):
        r = self.pipe_responder(extra="cache_ttl_ms = 400;")
        first = dict(self.served(r, "ECHO", A="1", B="2")[0])["COUNT"]
        # The same question, filters in another order: from the cache.
        again = dict(self.served(r, "echo", b="2", a="1")[0])["COUNT"]
        self.assertEqual(first, again)
        other = dict(self.served(r, "ECHO", A="1")[0])["COUNT"]
        self.assertNotEqual(other, first)
        self.assertEqual(self.reason(r, "NOTHING"), "no-match")
        self.assertEqual(self.reason(r, "NOTHING"), "no-match")
        time.sleep(0.5)
        later = dict(self.served(r, "ECHO", A="1", B="2")[0])["COUNT"]
        self.assertNotEqual(later, first)
        # Filters still apply to a cached answer.
        self.assertEqual(len(self.served(r, "SQL", count=2)), 2)
        self.assertEqual(self.served(r, "SQL", HOST="db2")[0][0],
                         ("HOST", "db2"))

    def test_python_backend_of_the_documentation(self):
        code = self.doc_block("python")
        r = self.pipe_responder(None, start=False,
                                files={"backend.py": code})
        os.chmod(r.path("backend.py"), 0o755)
        text = read(r.conf).replace(
            '[ "backend.sh" ]', '[ "%s", "backend.py" ]' % sys.executable)
        r.write("tged.conf", text)
        r.start()
        r.wait_log("pipe 0: %s" % sys.executable)
        got = self.served(r, "SQL", count=2)
        self.assertEqual([dict(g)["HOST"] for g in got], ["db1", "db2"])
        self.assertEqual(self.served(r, "sql", host="DB2")[0][0],
                         ("HOST", "db2"))
        self.assertEqual(self.reason(r, "OTHER"), "unknown-type")

    def test_shell_backend_of_the_documentation(self):
        r = self.pipe_responder(self.doc_block("sh"))
        got = self.served(r, "SQL", count=2)
        self.assertEqual([dict(g)["HOST"] for g in got], ["db1", "db2"])
        self.assertEqual(self.reason(r, "OTHER"), "unknown-type")

    def doc_block(self, lang):
        """The first ```lang block of the documentation's examples."""
        with open(os.path.join(SRC, "docs", "backends", "pipe.md")) as f:
            doc = f.read()
        m = re.search(r"^```%s\n(#!.*?)^```$" % lang, doc, re.M | re.S)
        self.assertTrue(m, "no %s example in docs/backends/pipe.md" % lang)
        return m.group(1)


class Restarts(PipeTest):
    def test_program_that_exits_is_started_again(self):
        dies = SH_HEAD + r"""
    printf 'R %s\nF N %s\nF PID %s\nEND %s found\n' "$id" "$n" "$$" "$id"
    [ "$n" -lt 3 ] || exit 7
""" + SH_TAIL
        r = self.pipe_responder(dies, extra="restart_delay_ms = 50;")
        pids = [dict(self.served(r, "X")[0])["PID"] for _ in range(3)]
        self.assertEqual(len(set(pids)), 1)
        mark = r.log_mark()
        # The 4th finds it gone: unavailable, never a wait.
        self.assertEqual(self.reason(r, "X"), "unavailable")
        r.wait_log("it exited with status 7; starting it again in 50 ms",
                   after=mark)
        r.wait_log(") started again", after=mark)
        got = dict(self.served(r, "X")[0])
        self.assertEqual(got["N"], "1")
        self.assertNotEqual(got["PID"], pids[0])
        self.eventually(lambda: self.no_zombies(r))

    def test_exit_while_idle_is_reaped_and_restarted(self):
        idle = SH_HEAD + r"""
    printf 'R %s\nF PID %s\nEND %s found\n' "$id" "$$" "$id"
    [ "$type" != QUIT ] || { sleep 0.1; exit 0; }
""" + SH_TAIL
        r = self.pipe_responder(idle, extra="restart_delay_ms = 20;")
        first = dict(self.served(r, "QUIT")[0])["PID"]
        mark = r.log_mark()
        # No request comes: the idle check (once a second) finds it.
        r.wait_log("closed its output while idle; it exited with status 0",
                   timeout=5, after=mark)
        r.wait_log(") started again", after=mark)
        self.no_zombies(r)
        self.assertNotEqual(dict(self.served(r, "X")[0])["PID"], first)

    def test_backoff_doubles_then_resets(self):
        crash = SH_HEAD + r"""
    if [ "$type" = CRASH ]; then kill -9 $$; fi
    printf 'END %s no-match\n' "$id"
""" + SH_TAIL
        r = self.pipe_responder(crash, extra="restart_delay_ms = 40;")
        delays = []
        for i in range(3):
            mark = r.log_mark()
            self.assertEqual(self.reason(r, "CRASH"), "unavailable")
            r.wait_log(") started again", after=mark)
            line = [l for l in r.log[mark:] if "starting it again" in l][0]
            self.assertIn("was killed by signal 9 (SIGKILL)", line)
            delays.append(int(re.search(r"again in (\d+) ms", line).group(1)))
        self.assertEqual(delays, [40, 80, 160])
        # An answer makes it healthy: the next failure waits 40 ms again.
        self.assertEqual(self.reason(r, "FINE"), "no-match")
        mark = r.log_mark()
        self.reason(r, "CRASH")
        r.wait_log("starting it again in 40 ms", after=mark)

    def test_hung_program_is_killed_and_others_still_answer(self):
        hangs = SH_HEAD + r"""
    if [ "$type" = SLOW ]; then
        sleep 30 &
        echo $! > sleeper.pid
        wait
    fi
    printf 'R %s\nF PID %s\nEND %s found\n' "$id" "$$" "$id"
""" + SH_TAIL
        r = self.pipe_responder(
            hangs, extra="timeout_ms = 300; restart_delay_ms = 20;",
            backends=static_backend("s", rec("STATIC", HOST="fixed")),
            routes='{ type = "STATIC"; backends = ( "s" ); }, '
                   '{ type = "*"; backends = ( "p" ); }',
            responder="workers = 2;")
        pid = int(dict(self.served(r, "X")[0])["PID"])
        result = {}

        def slow():
            t = time.monotonic()
            result["slow"] = self.reason(r, "SLOW")
            result["took"] = time.monotonic() - t

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.1)
        # The kernel spreads requests over the workers by the client's
        # address and port: from 16 ports, some land on the worker that is
        # not waiting for the program, and are answered at once.
        took = asked_from_many_ports(r, request("STATIC"), 16)
        t.join()
        # Every static request is answered, none later than the pipe's
        # timeout plus a margin for a busy machine (a worker that waited for
        # the hung program answers what queued behind it right after).
        self.assertTrue(all(t < 1.5 for t in took), took)
        self.assertEqual(result["slow"], "unavailable")
        self.assertGreaterEqual(result["took"], 0.29)
        self.assertLess(result["took"], 1.5)
        r.wait_log("did not answer request 2 within 300 ms (timeout_ms) and "
                   "was killed; it was killed by signal 9 (SIGKILL)")
        # Its whole process group went with it: the sleep too.
        sleeper = int(read(r.path("sleeper.pid")))
        self.eventually(lambda: self.assertIsNone(proc_stat(sleeper)))
        self.assertEqual(in_groups({pid}), [])
        r.wait_log(") started again")
        self.assertNotEqual(int(dict(self.served(r, "X")[0])["PID"]), pid)
        self.eventually(lambda: self.no_zombies(r))

    def test_one_worker_is_held_up_to_timeout(self):
        # With one worker a hanging program delays every other answer by
        # up to timeout_ms: the static type answers, only later.
        hangs = SH_HEAD + r"""
    [ "$type" != SLOW ] || exec sleep 30
    printf 'END %s no-match\n' "$id"
""" + SH_TAIL
        r = self.pipe_responder(
            hangs, extra="timeout_ms = 300;",
            backends=static_backend("s", rec("STATIC", HOST="fixed")),
            routes='{ type = "STATIC"; backends = ( "s" ); }, '
                   '{ type = "*"; backends = ( "p" ); }')
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            t0 = time.monotonic()
            s.sendto(request("SLOW").encode(), ("127.0.0.1", r.port))
            s.sendto(request("STATIC").encode(), ("127.0.0.1", r.port))
            answers = [s.recv(2048), s.recv(2048)]
            took = time.monotonic() - t0
        self.assertIn(b"REASON: unavailable", answers[0])
        self.assertIn(b"HOST: fixed", answers[1])
        self.assertGreaterEqual(took, 0.29)

    def test_busy_pipes(self):
        slow = SH_HEAD + r"""
    sleep 0.2
    printf 'R %s\nF PID %s\nEND %s found\n' "$id" "$$" "$id"
""" + SH_TAIL
        for conc in (1, 4):
            with self.subTest(concurrency=conc):
                r = self.pipe_responder(
                    slow, extra="concurrency = %d;" % conc,
                    responder="workers = 4;", wait_pipes=conc)
                # From 8 ports: the kernel spreads them over the 4 workers,
                # which ask at once.
                socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                         for _ in range(8)]
                answers = []
                for s in socks:
                    s.sendto(request("X").encode(), ("127.0.0.1", r.port))
                for s in socks:
                    s.settimeout(3)
                    answers.append(s.recv(2048))
                    s.close()
                busy = [a for a in answers if b"REASON: unavailable" in a]
                if conc == 1:
                    self.assertTrue(busy, answers)
                    r.wait_log("answered unavailable: every pipe was busy")
                else:
                    # As many pipes as workers: never busy.
                    self.assertEqual(busy, [], r.log_text())


class Refusals(PipeTest):
    def refused(self, script, *texts, extra=""):
        r = self.pipe_responder(script, extra=extra, start=False)
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        for t in texts:
            self.assertIn(t, p.stderr)
        # Nothing the check started is left.
        self.assertEqual(running(r.path("backend.sh")), [])
        return r, p.stderr

    def test_wrong_version(self):
        r, err = self.refused(
            '#!/bin/sh\nread -r hello\necho "OK 2"\nsleep 30\n',
            "speaks pipe protocol version 2, and this tgedd speaks version 1 "
            "(it sent 'TGED-PIPE 1', the program must answer 'OK 1'): "
            "refused",
            "cannot serve as a pipe backend",
            "init failed")
        self.assertRegex(err, r"tged\.conf:\d+: command: ")
        # A start is refused the same way.
        r.start(ready=False)
        self.assertEqual(r.proc.wait(10), EX_CONFIG)
        r.stop()
        self.assertIn("speaks pipe protocol version 2", r.log_text())

    def test_not_the_protocol(self):
        self.refused('#!/bin/sh\necho "Hello, world"\nsleep 30\n',
                     "does not speak the pipe protocol: it answered 'Hello, "
                     "world' to 'TGED-PIPE 1'")
        self.refused('#!/bin/sh\nprintf "OK 1\\r\\n"\nsleep 30\n',
                     "it answered 'OK 1\\x0d'")
        self.refused('#!/bin/sh\nexit 4\n',
                     "ended its output before answering the version line; "
                     "it exited with status 4")
        self.refused('#!/bin/sh\nexec sleep 30\n',
                     "did not answer the version line within 200 ms "
                     "(start_timeout_ms)",
                     extra="start_timeout_ms = 200;")
        self.refused('#!/bin/sh\nprintf "OK 1\\nextra\\n"\nsleep 30\n',
                     "wrote more than OK 1 before any request: 'extra")

    def test_missing_or_bad_command(self):
        r = self.pipe_responder(None, start=False)
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("command: %s: No such file or directory"
                      % r.path("backend.sh"), p.stderr)
        self.assertRegex(p.stderr, r"tged\.conf:\d+: command: ")
        r.write("backend.sh", "#!/bin/sh\n")
        os.chmod(r.path("backend.sh"), 0o644)
        p = self.check(r)
        self.assertIn("command: %s is not executable" % r.path("backend.sh"),
                      p.stderr)
        os.chmod(r.path("backend.sh"), 0o755)
        r.write("backend.sh", "#!/no/such/shell\n")
        p = self.check(r)
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("cannot run %s: No such file or directory (the "
                      "interpreter its #! line names?)" % r.path("backend.sh"),
                      p.stderr)
        conf = read(r.conf)
        for old, new, text in (
                ('[ "backend.sh" ]', "[ ]", "command must name the program"),
                ('[ "backend.sh" ]', '( "backend.sh", 3 )',
                 "command: element 2 must be a string"),
                ('[ "backend.sh" ]', '[ "." ]', "is not a regular file"),
                ("command", "comand", "comand"),
                ('module = "pipe";', 'module = "pipe"; timeout_ms = 0;',
                 "timeout_ms must be from 1 to 60000, not 0"),
                ('module = "pipe";', 'module = "pipe"; concurrency = 65;',
                 "concurrency must be from 1 to 64"),
                ('module = "pipe";', 'module = "pipe"; types = [ "a b" ];',
                 "types: element 1 is not a valid type"),
                ('module = "pipe";', 'module = "pipe"; types = [ "A", "a" ];',
                 "types: a is listed twice"),
                ('module = "pipe";', 'module = "pipe"; env = { X = 1.5; };',
                 "env: X must be a string")):
            with self.subTest(setting=new):
                r.write("tged.conf", conf.replace(old, new))
                p = self.check(r)
                self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
                self.assertIn(text, p.stderr)

    def test_error_line_starts_later(self):
        # ERROR is the program's "not now": tgedd starts, answers
        # unavailable, and tries again.
        script = r"""#!/bin/sh
read -r hello
if [ ! -e ready ]; then echo "ERROR the database is down"; exit 0; fi
echo "OK 1"
while read -r tag id type; do
    while read -r line && [ -n "$line" ]; do :; done
    printf 'R %s\nF UP yes\nEND %s found\n' "$id" "$id"
done
"""
        r = self.pipe_responder(script, extra="restart_delay_ms = 30;",
                                wait_pipes=0)
        self.assertEqual(self.check(r).returncode, 0)
        self.assertIn("pipe 0: the program (pid", r.log_text())
        self.assertIn("cannot serve: ERROR the database is down; it exited "
                      "with status 0; starting it again in 30 ms",
                      r.log_text())
        self.assertEqual(self.reason(r, "X"), "unavailable")
        r.wait_log("starting it again in 60 ms")
        open(r.path("ready"), "w").close()
        r.wait_log("pipe 0: %s (pid" % r.path("backend.sh"), timeout=5)
        self.assertEqual(self.served(r, "X"), [[("UP", "yes")]])


class BadAnswers(PipeTest):
    BAD = SH_HEAD + r"""
    case $type in
    BADNAME) printf 'R %s\nF HOST:X y\nEND %s found\n' "$id" "$id" ;;
    RESERVED) printf 'R %s\nF Svr 1.2.3.4\nEND %s found\n' "$id" "$id" ;;
    REPEATED) printf 'R %s\nF A 1\nF a 2\nEND %s found\n' "$id" "$id" ;;
    NOFIELDS) printf 'R %s\nEND %s found\n' "$id" "$id" ;;
    ORPHAN) printf 'F A 1\nEND %s found\n' "$id" ;;
    WRONGID) printf 'R 999\nF A 1\nEND %s found\n' "$id" ;;
    WRONGEND) printf 'END 999 found\n' ;;
    CR) printf 'R %s\r\nF A 1\nEND %s found\n' "$id" "$id" ;;
    CONTROL) printf 'R %s\nF A x\033[2Jy\nEND %s found\n' "$id" "$id" ;;
    SPACES) printf 'R %s\nF A  padded\nEND %s found\n' "$id" "$id" ;;
    STATUS) printf 'END %s done\n' "$id" ;;
    NOMATCHREC) printf 'R %s\nF A 1\nEND %s no-match\n' "$id" "$id" ;;
    JUNK) printf 'here are your records\n' ;;
    EMPTYLINE) printf '\nEND %s found\n' "$id" ;;
    AFTER) printf 'END %s no-match\nEND %s no-match\n' "$id" "$id" ;;
    LONGVALUE) printf 'R %s\nF A %0300d\nEND %s found\n' "$id" 0 "$id" ;;
    HUGE)
        head -c 1048576 /dev/zero | tr '\0' 'x'
        printf '\nEND %s found\n' "$id" ;;
    *) printf 'R %s\nF GOOD %s\nEND %s found\n' "$id" "$$" "$id" ;;
    esac
""" + SH_TAIL

    CASES = [
        ("BADNAME", "the field name is not valid", "F HOST:X y"),
        ("RESERVED", "the field name is reserved", "F Svr 1.2.3.4"),
        ("REPEATED", "a field name repeated within the record", "F a 2"),
        ("NOFIELDS", "a record without any F line", "END "),
        ("ORPHAN", "an F line outside a record", "F A 1"),
        ("WRONGID", "R names another request's id", "R 999"),
        ("WRONGEND", "END names another request's id", "END 999 found"),
        ("CR", "carriage return (lines end with LF alone)", "\\x0d"),
        ("CONTROL", "it holds a control byte", "F A x\\x1b[2Jy"),
        ("SPACES", "the value starts or ends with a space", "F A  padded"),
        ("STATUS", "the status must be found, no-match", "done"),
        ("NOMATCHREC", "records with a status other than found", "no-match"),
        ("JUNK", "not an answer line", "here are your records"),
        ("EMPTYLINE", "an empty line", "''"),
        ("AFTER", "wrote more after END", "no-match"),
        ("LONGVALUE", "the value is longer than 255 bytes", "F A 000"),
        ("HUGE", "with a line longer than 1023 bytes", "xxxxxxxx..."),
    ]

    def test_malformed_answers_kill_and_restart(self):
        r = self.pipe_responder(self.BAD, extra="restart_delay_ms = 10;")
        good = dict(self.served(r, "GOOD")[0])["GOOD"]
        for type_, why, shown in self.CASES:
            with self.subTest(type=type_):
                mark = r.log_mark()
                self.assertEqual(self.reason(r, type_), "unavailable")
                r.wait_log(") started again", after=mark)
                text = "\n".join(r.log[mark:])
                self.assertIn(why, text)
                self.assertIn(shown, text)
                self.assertRegex(text, r"error: backend p \(pipe\): pipe 0: "
                                       r"the program \(pid \d+\) ")
                # One line says it all: what it sent, and what became of it.
                self.assertEqual(len([l for l in r.log[mark:]
                                      if why in l]), 1)
                # A new program answers.
                now = dict(self.served(r, "GOOD")[0])["GOOD"]
                self.assertNotEqual(now, good)
                good = now
        self.eventually(lambda: self.no_zombies(r))
        # Nothing of what the program sent reached the log raw.
        self.assertNotIn("\x1b", r.log_text())
        self.assertNotIn("\r", r.log_text())
        self.assertLess(max(len(l) for l in r.log), 1100)

    def test_writes_while_idle(self):
        chatty = SH_HEAD + r"""
    printf 'R %s\nF PID %s\nEND %s found\n' "$id" "$$" "$id"
    [ "$type" != CHAT ] || { sleep 0.2; echo "by the way"; }
""" + SH_TAIL
        r = self.pipe_responder(chatty, extra="restart_delay_ms = 10;")
        pid = dict(self.served(r, "CHAT")[0])["PID"]
        mark = r.log_mark()
        time.sleep(0.4)
        # Found by the next request (which then answers unavailable) or by
        # the check of idle pipes, whichever comes first.
        got = r.ask_parsed(request("X"), count=1)[0]
        r.wait_log("wrote while no request was asked (a program writes only "
                   "answers): 'by the way'", after=mark)
        if got[0] == "INVALID":
            self.assertEqual(dict(got[1])["REASON"], "unavailable")
        r.wait_log(") started again", after=mark)
        self.assertNotEqual(dict(self.served(r, "X")[0])["PID"], pid)


class Processes(PipeTest):
    def test_no_zombie_and_nothing_left_after_stop(self):
        script = SH_HEAD + r"""
    [ "$type" != DIE ] || exit 1
    [ "$type" != HANG ] || sleep 30
    sleep 60 &
    printf 'R %s\nF PID %s\nEND %s found\n' "$id" "$$" "$id"
""" + SH_TAIL
        r = self.pipe_responder(
            script, extra="concurrency = 3; timeout_ms = 200; "
                          "restart_delay_ms = 10;", wait_pipes=3)
        for t in ("A", "DIE", "B", "HANG", "C", "D"):
            r.ask(request(t), count=1)
        r.wait_log("within 200 ms")
        self.eventually(lambda: self.no_zombies(r))
        self.eventually(lambda: self.assertEqual(
            len([p for p, s in children(r.proc.pid).items()]), 3))
        # SIGHUP: new programs for the new configuration, the old stopped.
        before = set(children(r.proc.pid))
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded", after=mark)
        self.eventually(lambda: self.assertEqual(
            set(children(r.proc.pid)) & before, set()))
        self.eventually(lambda: self.no_zombies(r))
        self.assertEqual(len(self.served(r, "X")), 1)
        pids = self.program_pids(r)
        self.assertGreaterEqual(len(pids), 8)
        t0 = time.monotonic()
        self.assertEqual(r.stop(), 0)
        self.assertLess(time.monotonic() - t0, 2)
        # Their `sleep 60`s were in their process groups: gone too.
        self.nothing_left(r, pids)

    def test_program_ignoring_end_of_input_is_killed_at_stop(self):
        stubborn = r"""#!/bin/sh
trap '' TERM
read -r hello
echo "OK 1"
while :; do read -r line || sleep 1; done
"""
        r = self.pipe_responder(stubborn)
        pids = self.program_pids(r)
        t0 = time.monotonic()
        self.assertEqual(r.stop(), 0)
        self.assertLess(time.monotonic() - t0, 2)
        self.nothing_left(r, pids)

    def test_tgedd_t_leaves_nothing(self):
        r = self.pipe_responder(extra="concurrency = 2;", start=False)
        before = set(all_pids())
        p = self.check(r)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration is good", p.stderr)
        started = {int(x) for x in re.findall(r"\(pid (\d+)\) started",
                                              p.stderr)}
        self.assertEqual(len(started), 2)
        self.assertEqual(started & set(all_pids()) - before, set())

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
    def test_programs_run_as_the_user_tgedd_becomes(self):
        uid = SH_HEAD + r"""
    [ "$type" != SLOW ] || sleep 30
    printf 'R %s\nF UID %s\nEND %s found\n' "$id" "$(id -u)" "$id"
""" + SH_TAIL
        r = self.pipe_responder(uid, extra="timeout_ms = 200;", start=False)
        os.chmod(r.dir, 0o755)
        os.chmod(r.conf, 0o644)
        text = read(r.conf).replace("run_as_root = true; ",
                                           'user = "nobody"; ', 1)
        r.write("tged.conf", text)
        r.start()
        r.wait_log("runs as uid 0, and tgedd now as uid 65534: starting it "
                   "again as uid 65534")
        r.wait_log(") started again")
        self.assertEqual(self.served(r, "X"), [[("UID", "65534")]])
        # Its own user: tgedd can still kill it.
        self.assertEqual(self.reason(r, "SLOW"), "unavailable")
        r.wait_log("was killed by signal 9")
        r.wait_log("that started before tgedd gave up root exited")
        self.eventually(lambda: self.no_zombies(r))
        pids = self.program_pids(r)
        r.stop()
        self.nothing_left(r, pids)


if __name__ == "__main__":
    main()
