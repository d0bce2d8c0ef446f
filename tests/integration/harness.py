"""Test harness for end-to-end tests: starts a real `homeline serve` on a free loopback port
with its own data directory, and talks to it over HTTP and WebSocket (Python stdlib only).

Every network call has a timeout; servers are killed when a test ends.
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("HOMELINE_BIN", "build/test/src/exe/homeline")
TIMEOUT = 10.0

# Servers started by tests have SIP off unless a test asks for it on a port of its own
# (Server(sip=True)): many servers run at once and would all want 127.0.0.1:5060. The variable
# reaches servers that tests start without the harness too (test_cli).
os.environ.setdefault("HOMELINE_SIP", "off")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def append_events(data_dir, events, time_order=False):
    """Writes events straight into a stopped server's log, after what it holds: for what no API
    creates (call records and recordings come from calls). events: (ts, tenant, type, payload)
    with payload a dict; time_order: sorted by time first (stable), as the server writes them."""
    import sqlite3
    if time_order:
        events = sorted(events, key=lambda e: e[0])
    db = sqlite3.connect(os.path.join(data_dir, "homeline.db"))
    try:
        seq = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        db.executemany("INSERT INTO events(seq, ts, tenant, type, payload) VALUES (?,?,?,?,?)",
                       [(seq + 1 + i, ts, tenant, typ, json.dumps(payload, separators=(",", ":")))
                        for i, (ts, tenant, typ, payload) in enumerate(events)])
        db.commit()
    finally:
        db.close()


def free_sip_port():
    """A port free on 127.0.0.1 for both UDP and TCP (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


class Server:
    """One homeline process. data_dir survives restarts so crash tests can reopen it."""

    def __init__(self, data_dir=None, demo=True, extra_args=(), tls=None, sip=False):
        self.own_dir = data_dir is None
        self.sip = sip  # True: SIP on a free port of its own (self.sip_port)
        self.sip_port = None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="homeline-test-")
        self.demo = demo
        self.extra_args = list(extra_args)
        self.tls = tls  # (cert, key) or None
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    @property
    def base(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, port=None):
        # A port picked by free_port() can be taken by another test's server before ours binds
        # it; then our process exits ("cannot bind") while /healthz answers from the other
        # one. So a server counts as up only when the listening socket is its own, and a lost
        # race is retried on a new port (unless the caller asked for this very port).
        for attempt in range(5):
            self.port = port or free_port()
            if self._launch():
                return self
            if port is not None:
                break
        raise RuntimeError("server did not start: " + self.read_log())

    def _launch(self):
        args = [BIN, "serve", "--http", f"127.0.0.1:{self.port}", "--data", self.data_dir,
                "--log-level", "warn"] + self.extra_args
        if not self.demo:
            args.append("--no-demo")
        if self.tls:
            args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        if self.sip:
            self.sip_port = free_sip_port()
            args += ["--sip", f"127.0.0.1:{self.sip_port}"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                code, self.proc = self.proc.returncode, None
                log = self.read_log()
                # Lost a race for the HTTP or the SIP port: try others.
                if "cannot bind" in log or "sip: cannot listen" in log:
                    return False
                raise RuntimeError(f"server exited with {code}: {self.read_log()}")
            try:
                status, _ = self.request("GET", "/healthz", timeout=1)
                if status == 200 and self._listens_on_port():
                    return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy: " + self.read_log())

    def _listens_on_port(self):
        """Whether our process owns the socket listening on self.port (Linux /proc)."""
        suffix = f":{self.port:04X}"
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        if fields[3] == "0A" and fields[1].endswith(suffix):  # 0A = LISTEN
                            inodes.add(fields[9])
            except OSError:
                pass
        fd_dir = f"/proc/{self.proc.pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            return False
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return True
        return False

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.log.close()
        code = self.proc.returncode if self.proc else None
        self.proc = None
        return code

    def stop(self):
        return self.kill(signal.SIGTERM)

    def cleanup(self):
        self.kill()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ---- HTTP ----

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=TIMEOUT):
        """Returns (status, parsed JSON or text). body: JSON-encodable; raw: bytes as is."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return r.status, _decode(r.read(), r.headers)
        except urllib.error.HTTPError as e:
            return e.code, _decode(e.read(), e.headers)

    def login(self, login, password="demo"):
        status, body = self.request("POST", "/api/v1/auth/login", {"login": login, "password": password})
        if status != 200:
            raise AssertionError(f"login {login}: {status} {body}")
        return body["token"]

    def ws(self, token, tenant="acme", origin=None):
        return WsClient("127.0.0.1", self.port, f"/api/v1/events?tenant={tenant}", token=token,
                        origin=origin, tls=bool(self.tls))

    def metric(self, name):
        """The value of an unlabelled /metrics sample, as a float (None if absent)."""
        status, text = self.request("GET", "/metrics")
        if status != 200:
            raise AssertionError(f"/metrics: {status} {text}")
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        return None

    def exchange(self, method, path, body=None, headers=None, source=None, timeout=TIMEOUT):
        """Like request, but returns (status, headers, body), headers as a list of
        (lower-case name, value); source: the local address to connect from (e.g. 127.0.0.2,
        to look like another client)."""
        source_address = (source, 0) if source else None
        if self.tls:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               source_address=source_address,
                                               context=_client_tls())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                              source_address=source_address)
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdrs = {"Content-Type": "application/json"} if data is not None else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            out = r.read()
            return r.status, [(k.lower(), v) for k, v in r.getheaders()], _decode(out, r.headers)
        finally:
            conn.close()

    def raw(self, data, timeout=TIMEOUT, source=None):
        """Sends bytes as they are on a fresh connection (TLS when the server speaks it) and
        returns every byte the server sent before it closed or went quiet."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        if self.tls:
            sock = _client_tls().wrap_socket(sock)
        out = b""
        try:
            sock.sendall(data)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            pass
        finally:
            sock.close()
        return out


def _client_tls():
    """A client context that trusts any certificate (tests use self-signed ones)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _decode(data, headers):
    ctype = headers.get("Content-Type", "") if headers else ""
    if "json" in ctype:
        try:
            return json.loads(data)
        except ValueError:
            return data.decode(errors="replace")
    return data.decode(errors="replace")


class WsClient:
    """A minimal RFC 6455 client: text frames, masking, ping/close handling."""

    def __init__(self, host, port, path, token=None, origin=None, timeout=TIMEOUT, tls=False,
                 headers=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = _client_tls().wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if origin:
            lines.append(f"Origin: {origin}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        self.closed = self.status != 101

    def send(self, obj):
        payload = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=TIMEOUT):
        """Next text message as parsed JSON; None when the server closed."""
        self.sock.settimeout(timeout)
        while True:
            try:
                b0, b1 = self._read(2)
            except ConnectionError:
                self.closed = True
                return None
            opcode = b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            if opcode == 0x8:
                self.closed = True
                return None
            if opcode == 0x9:  # ping: answer with pong
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask +
                                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if opcode in (0x1, 0x0):
                return json.loads(payload)

    def recv_until(self, pred, timeout=TIMEOUT):
        """Reads messages until pred(msg) is true; returns that message or raises."""
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            msg = self.recv(timeout=max(0.05, deadline - time.time()))
            if msg is None:
                raise AssertionError(f"socket closed; seen {seen[-5:]}")
            seen.append(msg)
            if pred(msg):
                return msg
        raise AssertionError(f"no matching message; last seen {seen[-5:]}")

    def close(self):
        try:
            self.sock.sendall(bytes([0x88, 0x80]) + os.urandom(4))
        except OSError:
            pass
        self.sock.close()


class ServerTest(unittest.TestCase):
    """A test case with a fresh demo server per test class."""

    server_args = ()
    demo = True

    @classmethod
    def setUpClass(cls):
        cls.server = Server(demo=cls.demo, extra_args=cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def api(self, method, path, body=None, token=None, **kw):
        return self.server.request(method, path, body, token=token, **kw)

    def ok(self, method, path, body=None, token=None, expect=(200, 201)):
        status, out = self.api(method, path, body, token)
        if isinstance(expect, int):
            expect = (expect,)
        self.assertIn(status, expect, f"{method} {path}: {status} {out}")
        return out
