"""A tiny SIP user agent for tests (Python stdlib): builds requests, sends them over UDP or TCP,
parses responses, answers digest challenges (RFC 2617/7616 MD5, qop=auth).

Every receive has a timeout; nothing here retransmits (loopback does not lose datagrams).
"""
import hashlib
import os
import re
import socket
import time

TIMEOUT = 5.0


def md5hex(text):
    return hashlib.md5(text.encode()).hexdigest()


class Response:
    def __init__(self, raw):
        self.raw = raw
        head = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def __repr__(self):
        return f"<{self.status} {self.reason}>"


def parse_challenge(value):
    """Digest realm="x", nonce="y", ... -> dict (keys lower case)."""
    assert value.lower().startswith("digest "), value
    out = {}
    for m in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', value[7:]):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def digest(method, uri, user, password, challenge, nc=1, cnonce=None, realm=None):
    realm = realm or challenge["realm"]
    ha1 = md5hex(f"{user}:{realm}:{password}")
    ha2 = md5hex(f"{method}:{uri}")
    cnonce = cnonce or os.urandom(8).hex()
    ncs = f"{nc:08x}"
    if "qop" in challenge:
        resp = md5hex(f"{ha1}:{challenge['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{realm}", nonce="{challenge["nonce"]}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, '
                f'nc={ncs}')
    resp = md5hex(f"{ha1}:{challenge['nonce']}:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{challenge["nonce"]}", '
            f'uri="{uri}", response="{resp}", algorithm=MD5')


class Client:
    """One SIP endpoint on 127.0.0.1 (a UDP socket, or one TCP connection)."""

    def __init__(self, port, transport="udp", host="127.0.0.1", bind="127.0.0.1"):
        self.server = (host, port)
        self.transport = transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((bind, 0))
        else:
            self.sock = socket.create_connection(self.server, timeout=TIMEOUT, source_address=(bind, 0))
        self.sock.settimeout(TIMEOUT)
        self.local_host, self.local_port = self.sock.getsockname()[:2]
        self.call_id = os.urandom(8).hex() + "@test"
        self.cseq = 0
        self.tag = os.urandom(4).hex()
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def recv(self, timeout=TIMEOUT):
        """The next SIP message from the server (a Response), or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            if self.transport == "udp":
                data, _ = self.sock.recvfrom(65535)
                return Response(data)
            deadline = time.time() + timeout
            while b"\r\n\r\n" not in self.buf:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                chunk = self.sock.recv(65535)
                if not chunk:
                    return None
                self.buf += chunk
            head, rest = self.buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
            n = int(m.group(1)) if m else 0
            while len(rest) < n:
                rest += self.sock.recv(65535)
            self.buf = rest[n:]
            return Response(head + b"\r\n\r\n" + rest[:n])
        except (socket.timeout, TimeoutError):
            return None

    def request(self, method, uri, headers=(), body=b"", to=None, from_=None, cseq=None, contact=None):
        """Sends a request; returns its raw bytes."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        tp = "UDP" if self.transport == "udp" else "TCP"
        branch = "z9hG4bK" + os.urandom(6).hex()
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/{tp} {self.local_host}:{self.local_port};rport;branch={branch}",
                 "Max-Forwards: 70",
                 f"From: {from_ or '<' + uri + '>'};tag={self.tag}",
                 f"To: {to or '<' + uri + '>'}",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {cseq} {method}"]
        if contact:
            lines.append(f"Contact: {contact}")
        lines += list(headers)
        lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.send_raw(raw)
        return raw

    def transact(self, method, uri, **kw):
        """Sends a request and returns the first final (>= 200) response, or None."""
        timeout = kw.pop("timeout", TIMEOUT)
        self.request(method, uri, **kw)
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.recv(max(0.01, deadline - time.time()))
            if r is None:
                return None
            if r.status >= 200:
                return r
        return None

    def register(self, user, password, domain="homeline", expires=3600, contact=None, extra=()):
        """REGISTER with digest: the challenge, then the answer. Returns the final response."""
        uri = f"sip:{domain}"
        aor = f"<sip:{user}@{domain}>"
        tp = "" if self.transport == "udp" else ";transport=tcp"
        contact = contact or f"<sip:{user}@{self.local_host}:{self.local_port}{tp}>"
        hdrs = [f"Expires: {expires}", *extra]
        r = self.transact("REGISTER", uri, to=aor, from_=aor, contact=contact, headers=hdrs)
        if r is None or r.status != 401:
            return r
        ch = parse_challenge(r.header("www-authenticate"))
        auth = digest("REGISTER", uri, user, password, ch)
        return self.transact("REGISTER", uri, to=aor, from_=aor, contact=contact,
                             headers=hdrs + [f"Authorization: {auth}"])
