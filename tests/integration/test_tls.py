"""HTTPS and WSS with a self-signed certificate made by the openssl CLI."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import TIMEOUT, Server, free_port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_cert(directory, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", cwd=directory)
    return os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("the openssl CLI is not installed")
        cls.dir = tempfile.mkdtemp(prefix="homeline-tls-")
        cls.cert, cls.key = make_cert(cls.dir, "server")
        cls.server = Server(tls=(cls.cert, cls.key)).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def exits_with_error(self, *args):
        """Runs `homeline serve` with these TLS arguments; asserts it exits non-zero."""
        data = tempfile.mkdtemp(prefix="homeline-tls-data-", dir=self.dir)
        cmd = [harness.BIN, "serve", "--http", f"127.0.0.1:{free_port()}", "--data", data,
               "--log-level", "warn", *args]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail(f"{args}: the server started instead of refusing")
        self.assertNotEqual(p.returncode, 0, f"{args}: exit 0")

    def test_https_login_with_a_secure_cookie(self):
        status, headers, body = self.server.exchange(
            "POST", "/api/v1/auth/login", {"login": "ada", "password": "demo"})
        self.assertEqual(status, 200, body)
        cookie = [v for k, v in headers if k == "set-cookie"][0]
        attrs = [a.strip().lower() for a in cookie.split(";")]
        self.assertIn("secure", attrs, "over HTTPS the session cookie must be Secure")
        self.assertIn("httponly", attrs)
        status, me = self.server.request("GET", "/api/v1/me", token=body["token"])
        self.assertEqual((status, me["user"]["login"]), (200, "ada"))

    def test_the_configured_certificate_is_served(self):
        with open(self.cert) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        ctx = ssl.create_default_context(cafile=self.cert)  # verification on: trust only ours
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.getpeercert(binary_form=True), want)
                self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))

    def test_plain_http_to_the_tls_port_fails(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            out = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    out += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        self.assertNotIn(b'"status":"ok"', out)
        self.assertFalse(out.startswith(b"HTTP/1.1 2"), out)
        # The server is fine afterwards.
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_wss_hello_and_ping(self):
        token = self.server.login("alice")
        ws = self.server.ws(token)
        try:
            self.assertEqual(ws.status, 101)
            hello = ws.recv_until(lambda m: m["type"] == "hello")
            self.assertEqual(hello["role"], "agent")
            ws.send({"type": "ping"})
            ws.recv_until(lambda m: m["type"] == "pong")
        finally:
            ws.close()

    def test_bad_tls_files_stop_the_server(self):
        missing = os.path.join(self.dir, "missing.key")
        self.exits_with_error("--tls-cert", self.cert, "--tls-key", missing)
        self.exits_with_error("--tls-cert", os.path.join(self.dir, "missing.crt"),
                              "--tls-key", self.key)
        self.exits_with_error("--tls-cert", self.cert)  # a key is needed too
        garbage = os.path.join(self.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        self.exits_with_error("--tls-cert", self.cert, "--tls-key", garbage)
        # A key that is not the certificate's.
        other = tempfile.mkdtemp(prefix="other-", dir=self.dir)
        _, other_key = make_cert(other, "other")
        self.exits_with_error("--tls-cert", self.cert, "--tls-key", other_key)


if __name__ == "__main__":
    unittest.main()
