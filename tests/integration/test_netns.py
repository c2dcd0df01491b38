"""tests/integration/test_netns.py - broadcast and IPv6 multicast between
two network namespaces that the test creates (a veth pair) and removes.

Needs root and iproute2; skipped otherwise. Nothing leaves the namespaces:
the addresses below exist only on the test's own veth pair.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import PLUGINS, TGED, TGEDD, main, rec, static_backend

NS_A = "tgedA%d" % os.getpid()  # the responder's host
NS_B = "tgedB%d" % os.getpid()  # the client's host
A4, B4 = "10.47.45.1", "10.47.45.2"
A4_2, B4_2 = "10.47.46.1", "10.47.46.2"  # a second subnet on the same link

DESIGN_NOTE_CLIENT = r'''
import json, socket, sys
HEADER = "TGED DISCOVERY 1.0"
DIS_IP = sys.argv[2] if len(sys.argv) > 2 else '255.255.255.255'
PORT = 4745
def get_discovery_response(service, timeout=10):
    data = '\r\n'.join([HEADER, f"RQ:{service}", '', ''])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.settimeout(timeout)
        sock.sendto(data.encode(), (DIS_IP, PORT))
        data, addr = sock.recvfrom(1024)
        reply = dict(l.split(": ", 1) for l in data.decode().splitlines()[1:] if l)
    reply['SVR'] = addr[0]
    return reply
print(json.dumps(get_discovery_response(sys.argv[1])))
'''


def sh(*cmd, ns=None, check=True, timeout=30):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    return subprocess.run(cmd, capture_output=True, text=True, check=check,
                          timeout=timeout)


def can_run():
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip"):
        return "needs iproute2 (ip)"
    p = subprocess.run(["ip", "netns", "add", NS_A + "probe"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "cannot create a network namespace: " + p.stderr.strip()
    subprocess.run(["ip", "netns", "del", NS_A + "probe"])
    return None


WHY_NOT = can_run()


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class Namespaces(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tged-netns-")
        try:
            cls.make_link()
            cls.start_responder()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def make_link(cls):
        sh("ip", "netns", "add", NS_A)
        sh("ip", "netns", "add", NS_B)
        sh("ip", "link", "add", "veth-a", "netns", NS_A, "type", "veth",
           "peer", "name", "veth-b", "netns", NS_B)
        for ns, dev, a1, a2 in ((NS_A, "veth-a", A4, A4_2),
                                (NS_B, "veth-b", B4, B4_2)):
            # No duplicate address detection: link-local addresses are
            # usable at once.
            sh("sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % dev, ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "addr", "add", a1 + "/24", "brd", "+", "dev", dev, ns=ns)
            sh("ip", "addr", "add", a2 + "/24", "brd", "+", "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
        # The limited broadcast needs a route out of the client's host.
        sh("ip", "route", "add", "default", "dev", "veth-b", ns=NS_B)
        cls.a6 = cls.link_local(NS_A, "veth-a")

    @staticmethod
    def link_local(ns, dev):
        for _ in range(100):
            out = sh("ip", "-6", "-o", "addr", "show", "dev", dev, "scope",
                     "link", ns=ns).stdout
            if "inet6" in out and "tentative" not in out:
                return out.split("inet6 ")[1].split("/")[0]
            time.sleep(0.05)
        raise RuntimeError("no link-local address on %s" % dev)

    @classmethod
    def start_responder(cls):
        conf = os.path.join(cls.dir, "tged.conf")
        with open(conf, "w") as f:
            f.write('responder = { workers = 2; run_as_root = true; '
                    'control = "control"; };\nplugin_dir = "%s";\n'
                    'backends = ( %s );\n'
                    % (PLUGINS, static_backend("site", rec(
                        "SQL", HOST="test", IP="192.168.0.34", PORT=3306))))
        cls.log = open(os.path.join(cls.dir, "tgedd.log"), "w+")
        cls.proc = subprocess.Popen(
            ["ip", "netns", "exec", NS_A, TGEDD, "-f", "-c", conf],
            stdin=subprocess.DEVNULL, stdout=cls.log, stderr=cls.log)
        for _ in range(200):
            cls.log.seek(0)
            if "serving with" in cls.log.read():
                return
            if cls.proc.poll() is not None:
                break
            time.sleep(0.05)
        cls.log.seek(0)
        raise RuntimeError("tgedd did not start:\n" + cls.log.read())

    @classmethod
    def tearDownClass(cls):
        proc = getattr(cls, "proc", None)
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def client(self, *args):
        return sh(TGED, *args, ns=NS_B, check=False)

    def test_design_note_client_by_broadcast(self):
        p = sh("python3", "-c", DESIGN_NOTE_CLIENT, "SQL", ns=NS_B)
        reply = json.loads(p.stdout)
        self.assertEqual(reply["HOST"], "test")
        self.assertEqual(reply["SVR"], A4)

    def test_broadcast_answered_once(self):
        # Two workers: a broadcast reaches both sockets, one answers. Count
        # datagrams (the tged client would drop duplicates).
        count = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.settimeout(1)
s.sendto(b"TGED DISCOVERY 1.0\r\nRQ: SQL\r\n\r\n", ("255.255.255.255", 4745))
n = 0
try:
    while True:
        s.recvfrom(2048)
        n += 1
except socket.timeout:
    pass
print(n)
"""
        p = sh("python3", "-c", count, ns=NS_B)
        self.assertEqual(p.stdout.strip(), "1")
        p = self.client("-a", "-t", "1", "--json", "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)[0]["SVR"], A4)

    def test_directed_broadcast_answered_from_that_subnet(self):
        p = self.client("-s", "10.47.46.255", "--json", "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["SVR"], A4_2)

    def test_unicast_to_second_address(self):
        p = self.client("-s", A4_2, "--json", "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["SVR"], A4_2)

    def test_ipv6_multicast(self):
        p = self.client("-a", "-t", "1", "--json", "-s", "ff02::4745%veth-b",
                        "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        answers = json.loads(p.stdout)
        self.assertEqual(len(answers), 1, answers)
        self.assertEqual(answers[0]["SVR"], self.a6 + "%veth-b")
        self.assertEqual(answers[0]["HOST"], "test")

    def test_ipv6_unicast_link_local(self):
        p = self.client("-s", "[%s%%veth-b]:4745" % self.a6, "--json", "SQL")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["SVR"], self.a6 + "%veth-b")


if __name__ == "__main__":
    main()
