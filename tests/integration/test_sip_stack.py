"""The SIP stack as a peer sees it: UDP and TCP on --sip, OPTIONS answered, INVITE refused
without the calls code's say-so, garbage survived, --sip off binds nothing."""
import os
import socket
import subprocess
import unittest

import harness
from harness import Server
from sipclient import Client


class SipStack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(sip=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def options(self, transport):
        # Retransmitted like a UA does (RFC 3261 timer E): after a flood the kernel may have
        # dropped the first datagram with the socket's buffer full.
        c = Client(self.server.sip_port, transport)
        try:
            for _ in range(5):
                r = c.transact("OPTIONS", f"sip:127.0.0.1:{self.server.sip_port}", timeout=1)
                if r is not None or transport == "tcp":
                    return r
            return None
        finally:
            c.close()

    def test_options_answered_over_udp_and_tcp(self):
        for tp in ("udp", "tcp"):
            r = self.options(tp)
            self.assertIsNotNone(r, tp)
            self.assertEqual(r.status, 200, tp)
            self.assertIn("REGISTER", r.header("allow"))

    def test_unknown_method_is_not_implemented(self):
        c = Client(self.server.sip_port)
        r = c.transact("MESSAGE", "sip:x@127.0.0.1")
        c.close()
        self.assertEqual(r.status, 501)

    def test_garbage_and_huge_datagrams_leave_it_running(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = ("127.0.0.1", self.server.sip_port)
        junk = [b"", b"\x00" * 100, b"garbage\r\n\r\n", b"INVITE sip:a SIP/2.0\r\n",
                b"SIP/2.0 200 OK\r\n\r\n", b"REGISTER sip:x SIP/2.0\r\nVia: \r\n\r\n",
                b"OPTIONS sip:x SIP/2.0\r\n" + b"X: " + b"a" * 60000 + b"\r\n\r\n",
                bytes(range(256)) * 200]
        for _ in range(20):
            for j in junk:
                try:
                    s.sendto(j, target)
                except OSError:
                    pass  # over the datagram limit
        s.close()
        # TCP: a half message, then the connection dropped.
        t = socket.create_connection(target, timeout=5)
        t.sendall(b"REGISTER sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\nabc")
        t.close()
        self.assertEqual(self.options("udp").status, 200)
        self.assertEqual(self.options("tcp").status, 200)
        self.assertIsNone(self.server.proc.poll())


def udp_sockets(pid):
    """Local ports of the UDP sockets process pid holds (Linux /proc)."""
    ports = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                ports[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in ports:
            out.add(ports[target[8:-1]])
    return out


class SipOff(unittest.TestCase):
    def test_on_binds_the_port_and_off_binds_none(self):
        on = Server(sip=True).start()
        off = Server(extra_args=["--sip", "off"]).start()
        try:
            self.assertEqual(udp_sockets(on.proc.pid), {on.sip_port})
            self.assertEqual(udp_sockets(off.proc.pid), set())
        finally:
            on.cleanup()
            off.cleanup()

    def test_bad_value_refused(self):
        for value in ("nonsense", "127.0.0.1:70000", "on"):
            p = subprocess.run([harness.BIN, "serve", "--sip", value, "--data", "/nonexistent/x"],
                               capture_output=True, timeout=15)
            self.assertNotEqual(p.returncode, 0, value)
            self.assertIn(b"--sip", p.stderr)


if __name__ == "__main__":
    unittest.main()
