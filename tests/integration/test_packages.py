"""tests/integration/test_packages.py - the Debian packages.

One build of the tree for /usr (without the tests), then cpack: a package
per component, tged, tged-dev and one per SQL plugin. Each holds its own
files and depends on the libraries its own files link (tged on no database
client), and /etc is conffiles. Then, as root, dpkg installs them all in a
throw-away copy of this machine (a mount namespace whose /usr, /etc and
/var are overlays on the real ones, and a network namespace of its own):
tged alone first, whose tgedd must find its own /etc/tged/tged.conf good;
then all of them, and the installed tgedd checks and serves it,
the installed tged gets an answer on loopback, and dpkg purges them.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import SRC, main

DB_CLIENTS = re.compile(r"^(libpq|libmariadb|libmysqlclient|libsqlite3)")
# The SQL plugins: component, plugin, the client library package.
SQL = {"sqlite": ("sql_sqlite", "libsqlite3-0"),
       "pgsql": ("sql_pgsql", "libpq5"),
       "mysql": ("sql_mysql", "libmariadb3")}
TOOLS = ("cmake", "cpack", "dpkg-deb", "dpkg-shlibdeps")


def run(*cmd, cwd=None, timeout=300, both=False):
    """Run a command that must succeed; its output (stdout, or both)."""
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s"
                             % (" ".join(cmd), p.returncode, p.stdout[-4000:],
                                p.stderr[-4000:]))
    return p.stdout + p.stderr if both else p.stdout


def depends(deb):
    """Depends of a package: {name: constraint}."""
    field = run("dpkg-deb", "-f", deb, "Depends").strip()
    out = {}
    for dep in filter(None, (d.strip() for d in field.split(","))):
        m = re.match(r"^([\w.+-]+)(?::\w+)?\s*(\(.*\))?$", dep)
        assert m, "Depends: cannot read %r" % dep
        out[m.group(1)] = m.group(2) or ""
    return out


def files(deb):
    """The files and links of a package, without folders, as /path."""
    out = set()
    for line in run("dpkg-deb", "-c", deb).splitlines():
        perms, path = line.split()[0], line.split()[5]
        if not perms.startswith("d"):
            out.add(path[1:])
    return out


def control_member(deb, name):
    p = subprocess.run(["dpkg-deb", "-I", deb, name], capture_output=True,
                       text=True, timeout=60)
    return p.stdout if p.returncode == 0 else None


@unittest.skipUnless(all(shutil.which(t) for t in TOOLS),
                     "needs cmake, cpack, dpkg-deb and dpkg-shlibdeps "
                     "(Debian packages cmake, dpkg and dpkg-dev)")
class Packages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tged-packages-")
        cls.build = os.path.join(cls.tmp, "build")
        try:
            run("cmake", "-S", SRC, "-B", cls.build,
                "-DCMAKE_INSTALL_PREFIX=/usr", "-DBUILD_TESTING=OFF")
            run("cmake", "--build", cls.build, "-j2", timeout=600)
            if not os.path.exists(os.path.join(cls.build,
                                               "CPackConfig.cmake")):
                raise AssertionError("no CPackConfig.cmake: the top-level "
                                     "CMakeLists.txt must include "
                                     "cmake/TgedPackaging.cmake")
            cls.cpack_log = run("cpack", "-G", "DEB", cwd=cls.build,
                                both=True)
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.debs = {}
        for deb in glob.glob(os.path.join(cls.build, "*.deb")):
            name = run("dpkg-deb", "-f", deb, "Package").strip()
            cls.debs[name] = deb
        with open(os.path.join(cls.build, "CMakeCache.txt")) as f:
            cache = f.read()
        cls.libdir = "/usr/" + re.search(r"^CMAKE_INSTALL_LIBDIR:\w+=(.*)$",
                                         cache, re.M).group(1)
        cls.version = re.search(r"^CMAKE_PROJECT_VERSION:\w+=(.*)$", cache,
                                re.M).group(1)
        cls.plugins = cls.libdir + "/tged/plugins"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def deb(self, name):
        self.assertIn(name, self.debs, "no package %s among %s"
                      % (name, sorted(self.debs)))
        return self.debs[name]

    def built(self, plugin):
        return os.path.exists(os.path.join(self.build, "plugins",
                                           plugin + ".so"))

    def test_cpack_is_quiet(self):
        self.assertNotRegex(self.cpack_log, r"(?i)warning|error")

    def test_one_package_per_component(self):
        expected = {"tged", "tged-dev"}
        expected |= {"tged-" + c for c, (p, _) in SQL.items()
                     if self.built(p)}
        # Any other package is a plugin of a component of its own.
        self.assertEqual(expected - set(self.debs), set(),
                         "packages missing (does each SQL plugin pass "
                         "COMPONENT to tged_add_plugin?)")
        for name in set(self.debs) - expected:
            self.assertTrue(name.startswith("tged-"), name)
        for name, deb in self.debs.items():
            with self.subTest(name):
                self.assertEqual(run("dpkg-deb", "-f", deb, "Version").strip(),
                                 self.version)
                if name != "tged":
                    self.assertEqual(depends(deb).get("tged"),
                                     "(= %s)" % self.version)

    def test_tged(self):
        deb = self.deb("tged")
        have = files(deb)
        for f in ("/usr/sbin/tgedd", "/usr/bin/tged",
                  self.libdir + "/libtged.so.1",
                  self.libdir + "/libtged.so." + self.version,
                  "/etc/tged/tged.conf", "/etc/tged/records.conf",
                  "/etc/tged/conf.d/README",
                  "/usr/lib/systemd/system/tgedd.service",
                  "/usr/share/man/man1/tged.1", "/usr/share/man/man5/tged.conf.5",
                  "/usr/share/man/man8/tgedd.8"):
            self.assertIn(f, have)
        for plugin in ("static", "json", "env", "dhcp"):
            self.assertIn("%s/%s.so" % (self.plugins, plugin), have)
        for f in have:
            # No SQL plugin, and nothing of the development package.
            self.assertNotRegex(f, r"/sql_[^/]*\.so$|^/usr/include/|"
                                   r"/pkgconfig/|/cmake/|libtged\.so$|"
                                   r"tged-plugin\.7")
        dep = depends(deb)
        for lib in ("libc6", "libconfig9", "libjansson4"):
            self.assertIn(lib, dep)
        self.assertEqual([d for d in dep if DB_CLIENTS.match(d)], [],
                         "tged must not depend on a database client")
        self.assertFalse([d for d in dep if d.startswith("tged")], dep)
        # The library is public: programs linked with it depend on tged.
        self.assertEqual(control_member(deb, "shlibs").strip(),
                         "libtged 1 tged (>= %s)" % self.version)

    def test_conffiles(self):
        for name, deb in self.debs.items():
            with self.subTest(name):
                etc = {f for f in files(deb) if f.startswith("/etc/")}
                listed = control_member(deb, "conffiles")
                self.assertEqual(set((listed or "").split()), etc)
        self.assertIn("/etc/tged/tged.conf",
                      control_member(self.deb("tged"), "conffiles").split())

    def test_no_script_touches_the_service(self):
        # CPack's ldconfig calls for libtged.so.1 are the only scripts.
        for name, deb in self.debs.items():
            for script in ("preinst", "postinst", "prerm", "postrm"):
                text = control_member(deb, script)
                if text is None:
                    continue
                with self.subTest(name=name, script=script):
                    self.assertEqual(name, "tged")
                    self.assertNotRegex(text, r"systemctl|deb-systemd|"
                                              r"invoke-rc")
                    self.assertEqual(re.findall(r"^\s*(\w[\w-]*)", text,
                                                re.M),
                                     ["set", "if", "ldconfig", "fi"])

    def test_dev(self):
        deb = self.deb("tged-dev")
        have = files(deb)
        for f in ("/usr/include/tged/plugin.h", "/usr/include/tged/protocol.h",
                  "/usr/include/tged/client.h", self.libdir + "/libtged.so",
                  self.libdir + "/pkgconfig/tged.pc",
                  self.libdir + "/pkgconfig/tged-plugin.pc",
                  self.libdir + "/cmake/tged/tgedConfig.cmake",
                  self.libdir + "/cmake/tged/tgedConfigVersion.cmake",
                  self.libdir + "/cmake/tged/tgedTargets.cmake",
                  "/usr/share/man/man7/tged-plugin.7"):
            self.assertIn(f, have)
        for f in have:
            self.assertNotRegex(f, r"\.so\.|/plugins/|/s?bin/|^/etc/")
        self.assertEqual(depends(deb), {"tged": "(= %s)" % self.version})

    def check_sql(self, comp):
        plugin, lib = SQL[comp]
        if not self.built(plugin):
            self.skipTest("plugin %s is not built here" % plugin)
        deb = self.deb("tged-" + comp)
        # The plugin, and maybe configuration of its own (conffiles).
        self.assertEqual({f for f in files(deb) if not f.startswith("/etc/")},
                         {"%s/%s.so" % (self.plugins, plugin)})
        dep = depends(deb)
        self.assertEqual(dep.get("tged"), "(= %s)" % self.version)
        self.assertIn(lib, dep)
        self.assertEqual([d for d in dep if DB_CLIENTS.match(d)], [lib])

    def test_sqlite(self):
        self.check_sql("sqlite")

    def test_pgsql(self):
        self.check_sql("pgsql")

    def test_mysql(self):
        self.check_sql("mysql")

    def test_install_and_run(self):
        if os.geteuid() != 0:
            self.skipTest("installing with dpkg needs root")
        if not all(shutil.which(t) for t in ("unshare", "setpriv", "ip")):
            self.skipTest("needs unshare, setpriv and ip (util-linux, "
                          "iproute2)")
        if not os.path.exists("/proc/net/if_inet6"):
            self.skipTest("the installed tged.conf listens on [::]:4745; "
                          "this kernel has no IPv6")
        scratch = tempfile.mkdtemp(prefix="root-", dir=self.tmp)
        probe = subprocess.run(
            ["unshare", "--mount", "--net", "--fork", "sh", "-c",
             'mount -t tmpfs tmpfs "$1" && mkdir "$1/l" "$1/u" "$1/w" && '
             'mount -t overlay overlay -o "lowerdir=$1/l,upperdir=$1/u,'
             'workdir=$1/w" "$1/l"', "probe", scratch],
            capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            self.skipTest("cannot make a mount namespace with overlays here: "
                          + probe.stderr.strip())
        names = sorted(self.debs, key=lambda n: (n != "tged", n))
        script = os.path.join(SRC, "tests", "integration", "packages_root.sh")
        p = subprocess.run(
            ["unshare", "--mount", "--net", "--fork", "sh", script, scratch,
             " ".join(names)] + [self.debs[n] for n in names],
            capture_output=True, text=True, timeout=300)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        steps = dict(re.findall(r"^== (\S+)\n(.*?)(?=^== |\Z)", p.stdout,
                                re.M | re.S))
        self.assertIn("tgedd: /etc/tged/tged.conf: configuration is good",
                      steps["check-core"],
                      "with tged alone installed, its configuration must "
                      "check good:\n" + out)
        for n in names:
            self.assertIn("%s install ok installed %s" % (n, self.version),
                          steps["installed"], out)
        for name, deb in self.debs.items():
            for so in sorted(f for f in files(deb) if f.endswith(".so")
                             and "/tged/plugins/" in f):
                self.assertIn("%s: plugin '%s'" % (so, so[:-3].split("/")[-1]),
                              steps["plugins"], out)
        self.assertIn("tgedd: /etc/tged/tged.conf: configuration is good",
                      steps["check"], out)
        self.assertRegex(steps["ask"], r"^RQ: SQL\nHOST: test\n", out)
        self.assertIn("SVR: 127.0.0.1\n", steps["ask"], out)
        self.assertIn("config /etc/tged/tged.conf\n", steps["status"], out)
        self.assertIn("backend site module=static", steps["status"], out)
        self.assertEqual(steps["purged"].strip(), "nothing left", out)


if __name__ == "__main__":
    main()
