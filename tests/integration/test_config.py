"""tests/integration/test_config.py - configuration errors and plugin
refusals: each names the file, the line and the setting, and tgedd exits
non-zero."""

import os
import re
import shutil
import signal
import subprocess
import tempfile

from harness import (BROKEN, PLUGINS, TGEDD, Responder, ResponderTest, main,
                     rec, run_tgedd, static_backend)

EX_USAGE = 64
EX_CONFIG = 78


class Checker(ResponderTest):
    def check(self, backends, routes=None, responder="", raw=None, files=None):
        r = Responder(backends, routes=routes, responder=responder, raw=raw,
                      files=files)
        self.addCleanup(r.cleanup)
        p = run_tgedd("-t", "-c", r.conf)
        return r, p

    def assertRefused(self, p, pattern, line=None, conf=None):
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertRegex(p.stderr, pattern)
        if line is not None:
            self.assertIn("%s:%d:" % (conf, line), p.stderr)


class Check(Checker):
    def test_good(self):
        r, p = self.check(static_backend("s", rec("SQL", HOST="h")))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration is good", p.stderr)

    def test_shipped_configuration_is_good(self):
        p = run_tgedd("-t", "-c", os.path.join(
            os.environ.get("TGED_SOURCE_DIR", "."), "etc", "tged.conf"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unknown_top_level_setting(self):
        raw = ('plugin_dir = "%s";\nbackends = ( %s );\nbakends = ();\n'
               % (PLUGINS, static_backend("s", rec("A", B="c"))))
        r, p = self.check(None, raw=raw)
        self.assertRefused(p, "unknown setting 'bakends'", 3, r.conf)

    def test_responder_typo(self):
        raw = ('plugin_dir = "%s";\nresponder = {\n  max_reply = 3;\n};\n'
               'backends = ( %s );\n'
               % (PLUGINS, static_backend("s", rec("A", B="c"))))
        r, p = self.check(None, raw=raw)
        self.assertRefused(p, r"responder: unknown setting 'max_reply'", 3,
                           r.conf)

    def test_mistyped_and_out_of_range(self):
        for setting, msg in (('max_replies = "8";', "must be an integer"),
                             ("max_replies = 0;", "from 1 to 1024"),
                             ("max_reply_size = 100;", "from 512 to 65507"),
                             ("answer_unknown = 1;", "must be true or false"),
                             ('log_level = "loud";', "log_level must be")):
            with self.subTest(setting):
                r, p = self.check(static_backend("s", rec("A", B="c")),
                                  responder=setting)
                self.assertRefused(p, re.escape(msg))
                self.assertIn(r.conf + ":1:", p.stderr)

    def test_bad_listen_address(self):
        for addr in ("nowhere:1", "127.0.0.1:0", "127.0.0.1:65536",
                     "[::1", "[fe80::1%nosuchif]:1"):
            with self.subTest(addr):
                raw = ('plugin_dir = "%s";\nresponder = {\n  listen = ( "%s" );'
                       '\n};\nbackends = ( %s );\n'
                       % (PLUGINS, addr, static_backend("s", rec("A", B="c"))))
                r, p = self.check(None, raw=raw)
                self.assertRefused(p, "responder.listen: '.*' is not ADDR", 3,
                                   r.conf)

    def test_syntax_error_names_the_line(self):
        raw = 'backends = (\n  { name = "s"; module = ; }\n);\n'
        r, p = self.check(None, raw=raw)
        self.assertRefused(p, "syntax error", 2, r.conf)

    def test_backend_unknown_setting_lists_the_plugin_keys(self):
        r, p = self.check('{ name = "s"; module = "static";\n'
                          '  fiel = "x.conf"; }')
        self.assertRefused(p, r"backend 's': unknown setting 'fiel' \(module "
                           r"static takes: records, file\)", 4, r.conf)

    def test_backend_mistyped_setting(self):
        r, p = self.check('{ name = "s"; module = "static"; file = 3; }')
        self.assertRefused(p, r"backend 's': setting 'file' must be a string")

    def test_backend_needs_module(self):
        r, p = self.check('{ name = "s"; }')
        self.assertRefused(p, "'name' and 'module' .* are required")

    def test_duplicate_instance_name(self):
        r, p = self.check(static_backend("s", rec("A", B="c")) + ",\n" +
                          static_backend("s", rec("A", B="d")))
        self.assertRefused(p, "backend 's': the name is used by another "
                           "backend", 4, r.conf)

    def test_route_errors(self):
        b = static_backend("s", rec("A", B="c"))
        for routes, msg in (
                ('{ type = "A"; backends = ( "nope" ); }',
                 "no backend is named 'nope'"),
                ('{ type = "A"; backends = ( "s" ); policy = "all"; }',
                 'policy must be "first" or "merge"'),
                ('{ type = "A"; backends = ( "s" ); }, '
                 '{ type = "a"; backends = ( "s" ); }',
                 "type 'a' has a route already"),
                ('{ type = "A B"; backends = ( "s" ); }', "is not valid"),
                ('{ type = "A"; backends = ( "s" ); weight = 1; }',
                 "unknown setting 'weight'")):
            with self.subTest(routes):
                r, p = self.check(b, routes=routes)
                self.assertRefused(p, re.escape(msg))

    def test_static_record_errors(self):
        for record, msg in (
                ('{ type = "A"; fields = { RQ = "x"; }; }', "reserved"),
                ('{ type = "A"; fields = { ID = "x"; }; }', "reserved"),
                ('{ type = "A"; fields = { X-TGED-K = "x"; }; }', "reserved"),
                ('{ type = "A"; fields = { F = 1.5; }; }',
                 "must be a string, an integer or a boolean"),
                ('{ type = "A"; fields = { F = ( 1 ); }; }',
                 "must be a string, an integer or a boolean"),
                ('{ type = "A B"; fields = { F = 1; }; }', "is not valid"),
                ('{ type = "A"; fields = { }; }', "at least one"),
                ('{ type = "A"; fields = { F = "a\\nb"; }; }', "not valid"),
                ('{ type = "A"; field = { F = 1; }; }',
                 "unknown setting 'field'"),
                ('{ type = "A"; fields = { %s }; }' % " ".join(
                    'F%d = "%s";' % (i, "v" * 255) for i in range(4)),
                 "does not fit a REPLY")):
            with self.subTest(record):
                r, p = self.check('{ name = "s"; module = "static";\n'
                                  '  records = ( %s ); }' % record)
                self.assertRefused(p, re.escape(msg), 4, r.conf)
                self.assertIn("backend s (static)", p.stderr)

    def test_static_file_errors_name_the_file(self):
        r, p = self.check('{ name = "s"; module = "static"; '
                          'file = "recs.conf"; }',
                          files={"recs.conf": "records = (\n"
                                 '  { type = "A"; fields = { F = 1; }; },\n'
                                 '  { type = "A"; fields = { RP = 1; }; }\n);'})
        self.assertRefused(p, re.escape(r.path("recs.conf") + ":3: records: "
                                        "record 2 (A): field name 'RP' is "
                                        "reserved"))

    def test_static_missing_file(self):
        r, p = self.check('{ name = "s"; module = "static"; '
                          'file = "missing.conf"; }')
        self.assertRefused(p, re.escape(r.path("missing.conf")) +
                           ": cannot read")

    def test_relative_paths_follow_the_naming_file(self):
        r = Responder(None, raw="")
        self.addCleanup(r.cleanup)
        os.mkdir(r.path("sub"))
        r.write("sub/recs.conf",
                'records = ( { type = "A"; fields = { F = 1; }; } );\n')
        r.write("sub/part.conf",
                '{ name = "s"; module = "static"; file = "recs.conf"; }\n')
        # An @include'd block's paths are relative to its own folder.
        r.write("tged.conf", 'plugin_dir = "%s";\nbackends = (\n'
                '@include "sub/part.conf"\n);\n' % PLUGINS)
        p = run_tgedd("-t", "-c", r.conf)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_daemon_refuses_to_start(self):
        r = Responder('{ name = "s"; module = "static"; file = 3; }')
        self.addCleanup(r.cleanup)
        p = run_tgedd("-f", "-c", r.conf)
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn("not starting", p.stderr)


class Loader(Checker):
    def load(self, module):
        return self.check('{ name = "b"; module = "%s"; }' % module)

    def assertOneLine(self, p, path, pattern):
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        lines = [l for l in p.stderr.splitlines() if path in l]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertRegex(lines[0], pattern)

    def test_missing_file(self):
        r, p = self.load("nosuchplugin")
        path = os.path.join(PLUGINS, "nosuchplugin.so")
        self.assertOneLine(p, path, "No such file or directory")

    def test_not_a_shared_object(self):
        path = os.path.join(BROKEN, "notelf.so")
        r, p = self.load(path)
        self.assertOneLine(p, path, "cannot load: .*(invalid ELF header|"
                           "file too short)")

    def test_no_descriptor(self):
        path = os.path.join(BROKEN, "nodesc.so")
        r, p = self.load(path)
        self.assertOneLine(p, path, "no 'tged_plugin' descriptor")

    def test_other_abi(self):
        path = os.path.join(BROKEN, "oldabi.so")
        r, p = self.load(path)
        self.assertOneLine(p, path, "built for plugin ABI 99, this tgedd has "
                           "ABI 1")

    def test_name_mismatch(self):
        path = os.path.join(BROKEN, "misnamed.so")
        r, p = self.load(path)
        self.assertOneLine(p, path, "names the plugin 'othername', but the "
                           "file is 'misnamed.so'")

    def test_init_failure(self):
        path = os.path.join(BROKEN, "initfail.so")
        r, p = self.load(path)
        self.assertOneLine(p, path, "init failed: Invalid argument")
        self.assertIn("refusing to start, as this test plugin must", p.stderr)

    def test_same_plugin_name_from_two_files(self):
        other = tempfile.mkdtemp(prefix="tged-test-")
        self.addCleanup(shutil.rmtree, other)
        shutil.copy(os.path.join(PLUGINS, "static.so"), other)
        r, p = self.check(static_backend("a", rec("A", B="c")) + ", " +
                          '{ name = "b"; module = "%s/static.so"; '
                          'records = (); }' % other)
        self.assertRefused(p, "a plugin named 'static' is already loaded")

    def test_module_path_relative_to_config(self):
        d = tempfile.mkdtemp(prefix="tged-test-")
        self.addCleanup(shutil.rmtree, d)
        os.mkdir(os.path.join(d, "p"))
        shutil.copy(os.path.join(BROKEN, "scripted.so"), os.path.join(d, "p"))
        conf = os.path.join(d, "tged.conf")
        with open(conf, "w") as f:
            f.write('backends = ( { name = "x"; module = "p/scripted.so"; } );\n')
        p = run_tgedd("-t", "-c", conf)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_check_plugin(self):
        p = run_tgedd("--check-plugin", os.path.join(PLUGINS, "static.so"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("plugin 'static'", p.stdout)
        self.assertRegex(p.stdout, r"file\s+a string \(a path\)")
        p = run_tgedd("--check-plugin", os.path.join(BROKEN, "oldabi.so"))
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn("built for plugin ABI 99", p.stderr)


class DropIn(Checker):
    """conf.d/*.conf beside the main file add backends and routes."""

    def test_files_are_read_in_name_order(self):
        r = Responder(static_backend("main", rec("A", FROM="main")),
                      routes='{ type = "A"; backends = ( "main" ); }')
        self.addCleanup(r.cleanup)
        os.mkdir(r.path("conf.d"))
        r.write("conf.d/20-second.conf",
                "backends = ( %s );\nroutes = ( { type = \"B\"; backends = "
                "( \"one\", \"two\" ); policy = \"merge\"; } );\n"
                % static_backend("two", rec("B", FROM="two")))
        r.write("conf.d/10-first.conf", "backends = ( %s );\n"
                % static_backend("one", rec("B", FROM="one")))
        r.write("conf.d/README", "not a .conf file: ignored\n")
        r.start()
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: B\r\n\r\n")
        self.assertEqual([dict(h)["FROM"] for _, h in got], ["one", "two"])

    def test_errors_name_the_dropped_in_file(self):
        r = Responder(static_backend("main", rec("A", B="c")))
        self.addCleanup(r.cleanup)
        os.mkdir(r.path("conf.d"))
        r.write("conf.d/pkg.conf", 'backends = ();\nresponder = { };\n')
        p = run_tgedd("-t", "-c", r.conf)
        self.assertRefused(p, re.escape(r.path("conf.d/pkg.conf")) +
                           ":2: configuration: unknown setting 'responder'")

    def test_explicit_conf_dir_must_exist(self):
        r = Responder(None, raw='plugin_dir = "%s";\nconf_dir = "nope.d";\n'
                      'backends = ( %s );\n'
                      % (PLUGINS, static_backend("s", rec("A", B="c"))))
        self.addCleanup(r.cleanup)
        p = run_tgedd("-t", "-c", r.conf)
        self.assertRefused(p, re.escape(r.path("nope.d")) + ": cannot read")

    def test_backends_may_all_come_from_conf_dir(self):
        r = Responder(None, raw='plugin_dir = "%s";\nconf_dir = "sites";\n'
                      % PLUGINS)
        self.addCleanup(r.cleanup)
        os.mkdir(r.path("sites"))
        r.write("sites/a.conf", "backends = ( %s );\n"
                % static_backend("s", rec("A", B="c")))
        p = run_tgedd("-t", "-c", r.conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        os.unlink(r.path("sites/a.conf"))
        p = run_tgedd("-t", "-c", r.conf)
        self.assertRefused(p, "no backend")

    def test_sighup_reads_new_files(self):
        r = self.responder(static_backend("main", rec("A", FROM="main")))
        os.mkdir(r.path("conf.d"))
        r.write("conf.d/new.conf", "backends = ( %s );\n"
                % static_backend("new", rec("N", FROM="new")))
        mark = r.log_mark()
        r.signal(signal.SIGHUP)
        r.wait_log("reloaded: 2 backends", after=mark)
        got = r.ask_parsed("TGED DISCOVERY 1.0\r\nRQ: N\r\n\r\n")
        self.assertEqual(dict(got[0][1])["FROM"], "new")


class Options(ResponderTest):
    def test_help_and_version(self):
        p = run_tgedd("-h")
        self.assertEqual(p.returncode, 0)
        for opt in ("-c", "-t", "-f", "-V", "-h", "--check-plugin"):
            self.assertIn(opt, p.stdout)
        p = run_tgedd("-V")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^tgedd \d+\.\d+\.\d+ \(plugin ABI 1\)")

    def test_usage(self):
        self.assertEqual(run_tgedd("--nope").returncode, EX_USAGE)
        self.assertEqual(run_tgedd("extra").returncode, EX_USAGE)

    def test_missing_config(self):
        p = run_tgedd("-t", "-c", "/nonexistent/tged.conf")
        self.assertEqual(p.returncode, EX_CONFIG)
        self.assertIn("/nonexistent/tged.conf", p.stderr)


if __name__ == "__main__":
    main()
