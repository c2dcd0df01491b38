"""tests/integration/test_sdk.py - a plugin written outside the tree builds
against the installed SDK (CMake package and pkg-config), and the
installed tgedd loads it and answers from it."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Responder, ResponderTest, main, SRC

BUILD = os.environ.get("TGED_BUILD_DIR", "build")
EXAMPLE = os.path.join(SRC, "docs", "examples", "hosts")

HOSTS = """# a hosts file
127.0.0.1   localhost
192.168.0.10  nas  nas.home   # the file server
192.168.0.11  printer
"""


def run(*cmd, env=None, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s"
                             % (" ".join(cmd), p.returncode, p.stdout,
                                p.stderr))
    return p


class InstalledSdk(ResponderTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tged-sdk-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run("cmake", "--install", BUILD, "--prefix", cls.prefix)
        libdirs = glob.glob(os.path.join(cls.prefix, "lib*", "**",
                                         "libtged.so*"), recursive=True)
        cls.libdir = os.path.dirname(libdirs[0])
        cls.env = dict(os.environ, LD_LIBRARY_PATH=cls.libdir,
                       PKG_CONFIG_PATH=os.path.join(cls.libdir, "pkgconfig"))
        cls.tgedd = os.path.join(cls.prefix, "sbin", "tgedd")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, plugin):
        r = Responder('{ name = "h"; module = "%s"; file = "hosts"; }' % plugin,
                      files={"hosts": HOSTS})
        self.addCleanup(r.cleanup)
        # The installed tgedd, not the build tree's.
        import harness
        old = harness.TGEDD
        harness.TGEDD = self.tgedd
        try:
            os.environ["LD_LIBRARY_PATH"] = self.libdir
            r.start()
        finally:
            harness.TGEDD = old
            del os.environ["LD_LIBRARY_PATH"]
        return r

    def check_answers(self, plugin):
        p = run(self.tgedd, "--check-plugin", plugin, env=self.env)
        self.assertIn("plugin 'hosts'", p.stdout)
        r = self.serve(plugin)
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: HOST\r\nHOST: nas\r\n")
        self.assertEqual(got, [("REPLY", [("RQ", "HOST"), ("HOST", "nas"),
                                          ("IP", "192.168.0.10")])])
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: HOST\r\n"
                           "IP: 192.168.0.10\r\n", count=2)
        self.assertEqual([dict(h)["HOST"] for _, h in got],
                         ["nas", "nas.home"])

    def test_installed_files(self):
        for f in ("sbin/tgedd", "bin/tged", "include/tged/plugin.h",
                  "include/tged/protocol.h", "include/tged/client.h"):
            self.assertTrue(os.path.exists(os.path.join(self.prefix, f)), f)
        self.assertTrue(glob.glob(os.path.join(self.libdir, "tged", "plugins",
                                               "static.so")))
        # The installed tgedd looks for plugins where they were installed.
        p = run(self.tgedd, "-h", env=self.env)
        self.assertNotIn(BUILD, p.stdout)

    def test_cmake_package(self):
        b = os.path.join(self.tmp, "cmake-build")
        run("cmake", "-S", EXAMPLE, "-B", b,
            "-DCMAKE_PREFIX_PATH=" + self.prefix)
        run("cmake", "--build", b)
        self.check_answers(os.path.join(b, "hosts.so"))

    def test_pkg_config(self):
        cflags = run("pkg-config", "--cflags", "tged-plugin",
                     env=self.env).stdout.split()
        self.assertTrue(any(self.prefix in f or "pkgconfig/../.." in f
                            for f in cflags), cflags)
        out = os.path.join(self.tmp, "pc", "hosts.so")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        run("cc", "-shared", "-fPIC", "-Wall", "-Werror", *cflags,
            os.path.join(EXAMPLE, "hosts.c"), "-o", out)
        self.check_answers(out)
        abi = run("pkg-config", "--variable=abi", "tged-plugin",
                  env=self.env).stdout.strip()
        self.assertEqual(abi, "1")


if __name__ == "__main__":
    main()
