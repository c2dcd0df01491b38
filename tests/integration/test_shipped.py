"""tests/integration/test_shipped.py - the configuration in etc/, as the
README's first command runs it, answers at once from every sample source:
static records, JSON, DHCP leases and the SQLite database of conf.d."""

import os
import re
import shutil

from harness import Responder, ResponderTest, main, SRC, free_port


class Shipped(ResponderTest):
    def test_every_sample_answers(self):
        r = Responder(None, raw="")
        self.addCleanup(r.cleanup)
        shutil.rmtree(r.dir)
        shutil.copytree(os.path.join(SRC, "etc"), r.dir)
        conf = open(r.conf).read()
        # The same file, on a free loopback port and a control socket of
        # its own; nothing else changed.
        conf, n = re.subn(r'listen = \([^)]*\);',
                          'listen = ( "127.0.0.1:%d", "[::1]:%d" ); '
                          'control = "control";' % (r.port, r.port), conf)
        self.assertEqual(n, 1)
        r.write("tged.conf", conf)
        r.start()
        for args, field in ((["SQL"], "HOST: test"),
                            (["WEB", "HOST=web2"], "IP: 192.168.0.41"),
                            (["PRINTER"], "HOST: laser"),
                            (["LEASE", "HOST=mypc"], "MAC: 52:54:00:12:34:56"),
                            (["SSH", "HOST=bastion"], "PORT: 2222"),
                            (["RESERVATION", "HOST=vault"],
                             "MAC: 52:54:00:12:34:80")):
            with self.subTest(args=args):
                p = r.tged(*args)
                self.assertEqual(p.returncode, 0, p.stderr + r.log_text())
                self.assertIn(field, p.stdout)
        p = r.tged("NOSUCH")
        self.assertEqual(p.returncode, 1)


if __name__ == "__main__":
    main()
