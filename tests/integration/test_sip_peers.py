"""The registrar against real SIP software: SIPp registering with digest over UDP and TCP,
baresip registering as a softphone, and sipvicious scanning (svmap, svwar) and guessing a
password (svcrack) without finding anything. Every tool runs under a timeout."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Server

ACME = "/api/v1/tenants/acme"
HERE = os.path.dirname(os.path.abspath(__file__))
REGISTER_XML = os.path.join(HERE, "..", "sip", "scenarios", "register.xml")


def run(args, timeout):
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{args[0]} ran longer than {timeout} s")
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


class PeersTest(unittest.TestCase):
    def setUp(self):
        self.server = Server(sip=True).start()
        self.addCleanup(self.server.cleanup)
        self.ada = self.server.login("ada")

    def phone(self, login):
        agents = self.server.request("GET", f"{ACME}/agents", token=self.ada)[1]
        return next(a["phone"] for a in agents if a["login"] == login)

    def wait_phone(self, login, state, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.phone(login) == state:
                return True
            time.sleep(0.1)
        return False


@unittest.skipUnless(shutil.which("sipp"), "sip-tester (SIPp) not installed")
class Sipp(PeersTest):
    def test_register_with_digest_over_udp_and_tcp(self):
        for transport, login in (("u1", "bob"), ("t1", "sam")):
            code, out = run(["sipp", f"127.0.0.1:{self.server.sip_port}", "-sf", REGISTER_XML,
                             "-t", transport, "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin",
                             "-s", login, "-au", login, "-ap", "demo",
                             "-timeout", "10s", "-timeout_error"], timeout=20)
            self.assertEqual(code, 0, f"{transport}: {out[-1500:]}")
            self.assertTrue(self.wait_phone(login, "registered"), transport)

    def test_wrong_password_fails(self):
        code, out = run(["sipp", f"127.0.0.1:{self.server.sip_port}", "-sf", REGISTER_XML,
                         "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-s", "bob",
                         "-au", "bob", "-ap", "wrong", "-timeout", "10s", "-timeout_error"], timeout=20)
        self.assertNotEqual(code, 0)
        self.assertEqual(self.phone("bob"), "unregistered")


@unittest.skipUnless(shutil.which("baresip"), "baresip not installed")
class Baresip(PeersTest):
    def test_baresip_registers(self):
        home = tempfile.mkdtemp(prefix="baresip-")
        self.addCleanup(shutil.rmtree, home, True)
        with open(os.path.join(home, "accounts"), "w") as f:
            f.write(f"<sip:alice@127.0.0.1:{self.server.sip_port};transport=tcp>;auth_pass=demo;"
                    "answermode=auto;regint=600\n")
        with open(os.path.join(home, "config"), "w") as f:
            f.write("poll_method epoll\nsip_listen 127.0.0.1:0\nmodule_path /usr/lib/baresip/modules\n"
                    "module g711.so\nmodule_app account.so\nmodule_app menu.so\n")
        proc = subprocess.Popen(["baresip", "-f", home, "-t", "20"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait(10)))
        self.assertTrue(self.wait_phone("alice", "registered", 15), "baresip did not register")
        self.assertGreaterEqual(self.server.metric("homeline_sip_phones_registered"), 1)


@unittest.skipUnless(shutil.which("svwar"), "sipvicious not installed")
class Sipvicious(PeersTest):
    def test_scan_finds_the_server_but_no_extension(self):
        port = str(self.server.sip_port)
        code, out = run(["svmap", "-p", port, "127.0.0.1"], timeout=60)
        self.assertIn("homeline", out)
        words = os.path.join(tempfile.mkdtemp(), "users.txt")
        self.addCleanup(shutil.rmtree, os.path.dirname(words), True)
        with open(words, "w") as f:
            f.write("alice\nbob\ncarol\nsam\nada\nnosuch\nadmin\n")
        for extra in ([], ["--force"]):
            code, out = run(["svwar", "-p", port, "-m", "REGISTER", "-d", words, *extra, "127.0.0.1"],
                            timeout=90)
            for login in ("alice", "bob", "carol", "sam", "ada"):
                self.assertNotIn(f"| {login} ", out, f"svwar {extra} told {login} apart:\n{out[-2000:]}")
        self.assertIsNone(self.server.proc.poll())

    def test_password_guessing_is_limited_and_finds_nothing(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        words = os.path.join(d, "words.txt")
        with open(words, "w") as f:
            f.write("".join(f"guess{i}\n" for i in range(30)) + "demo\n")  # the right one, too late
        t0 = time.time()
        code, out = run(["svcrack", "-p", str(self.server.sip_port), "-u", "bob", "-d", words,
                         "127.0.0.1"], timeout=120)
        self.assertNotIn("demo", out, out[-2000:])
        self.assertLess(time.time() - t0, 120)
        self.assertGreaterEqual(self.server.metric("homeline_sip_auth_limited_total"), 1)
        self.assertIsNone(self.server.proc.poll())


if __name__ == "__main__":
    unittest.main()
