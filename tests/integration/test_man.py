"""tests/integration/test_man.py - the manual pages: each renders with man
at 80 columns with every groff warning on and none given; the options of
tgedd(8) and tged(1) are exactly those their -h prints; and each page is of
this version."""

import os
import re
import shutil
import subprocess
import unittest

from harness import TGED, TGEDD, SRC, main

MAN = os.path.join(SRC, "man")
PAGES = ("tgedd.8", "tged.1", "tged.conf.5", "tged-plugin.7")
# An option token: -x or --long, not part of a word or a number (1-64).
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")


def render(page):
    """The page as man shows it at 80 columns, and what groff warned."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANOPT="",
               MANPAGER="cat")
    p = subprocess.run(["man", "--warnings=w", "-E", "UTF-8", "-l",
                        os.path.join(MAN, page)],
                       capture_output=True, text=True, env=env, timeout=60)
    # Overstrikes (bold, underline) out, as col -b would.
    text = re.sub(r".\x08", "", p.stdout)
    return p.returncode, text, p.stderr


def help_options(prog):
    p = subprocess.run([prog, "-h"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0, p.stderr
    return set(OPTION.findall(p.stdout))


def section(text, name):
    """The lines of one section of a rendered page."""
    out, inside = [], False
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]*$", line):
            inside = line == name
            continue
        if inside:
            out.append(line)
    return out


def option_tags(page):
    """The options the OPTIONS section of a page describes: the tags of its
    .TP paragraphs, read from the roff source."""
    tags, sect, prev = set(), None, ""
    with open(os.path.join(MAN, page)) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".SH "):
                sect = line[4:].strip('"')
            elif sect == "OPTIONS" and prev == ".TP":
                plain = re.sub(r"\\f[BIRP]|\\%|\\&", "", line)
                plain = plain.replace("\\-", "-")
                tags.update(OPTION.findall(plain))
            prev = line
    return tags


@unittest.skipUnless(shutil.which("man") and shutil.which("groff"),
                     "needs man and groff (Debian packages man-db and "
                     "groff-base)")
class Pages(unittest.TestCase):
    def test_render_without_warnings(self):
        for page in PAGES:
            with self.subTest(page):
                rc, text, err = render(page)
                self.assertEqual(rc, 0, err)
                self.assertEqual(err, "", "%s: groff warned:\n%s" % (page, err))
                for head in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
                    self.assertIn("\n%s\n" % head, text, page)
                # No roff escape or request leaked into the text.
                for leak in ("\\f", "\\%", "\\-", "\\e", "\n."):
                    self.assertNotIn(leak, text, page)
                for line in text.splitlines():
                    self.assertLessEqual(len(line.expandtabs()), 80,
                                         "%s: %r" % (page, line))

    def check_options(self, prog, page):
        _, text, _ = render(page)
        told = help_options(prog)
        self.assertTrue({"-h", "--help", "-V", "--version"} <= told, told)
        words = set(OPTION.findall(text))
        self.assertEqual(told - words, set(),
                         "%s -h has options that %s does not mention"
                         % (os.path.basename(prog), page))
        tags = option_tags(page)
        self.assertEqual(tags - told, set(),
                         "%s describes options that %s -h does not print"
                         % (page, os.path.basename(prog)))
        # Every option -h prints has its own entry in OPTIONS.
        self.assertEqual(told - tags, set(),
                         "%s -h prints options that the OPTIONS of %s lack"
                         % (os.path.basename(prog), page))

    def test_tgedd_options(self):
        self.check_options(TGEDD, "tgedd.8")

    def test_tged_options(self):
        self.check_options(TGED, "tged.1")

    def test_version(self):
        p = subprocess.run([TGEDD, "-V"], capture_output=True, text=True,
                           timeout=10)
        version = p.stdout.split()[1]
        for page in PAGES:
            with self.subTest(page):
                with open(os.path.join(MAN, page)) as f:
                    th = next(line for line in f if line.startswith(".TH "))
                self.assertIn('"tged %s"' % version, th)

    def test_cross_references(self):
        # Every page named in a SEE ALSO is one of ours or a system page.
        ours = {"%s(%s)" % tuple(p.rsplit(".", 1)) for p in PAGES}
        others = {"systemd.service(5)"}
        for page in PAGES:
            with self.subTest(page):
                _, text, _ = render(page)
                refs = set(re.findall(r"\b[a-z][\w.-]*\(\d\)",
                                      "\n".join(section(text, "SEE ALSO"))))
                self.assertTrue(refs, page)
                self.assertEqual(refs - ours - others, set(), page)


if __name__ == "__main__":
    main()
