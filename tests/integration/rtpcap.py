"""What SIPp sends and receives, seen on the wire (Python stdlib only).

SIPp 3.6 (Debian sip-tester) plays RTP (play_pcap_audio, -rtp_echo) but keeps nothing of
what it receives, so the tests where SIPp plays both the customer and the agent capture the
loopback interface instead:

- write_rtp_pcap(): a pcap file of G.711 RTP packets, one per 20 ms, that SIPp's
  play_pcap_audio sends (every payload tagged, so each one is recognised at the far end).
- Capture: an AF_PACKET socket on `lo` (needs CAP_NET_RAW: root, as the test machines run)
  keeping the UDP datagrams sent to the ports it watches, with their arrival time.
"""
import ctypes
import socket
import struct
import threading
import time

PACKET_OUTGOING = 4  # sll_pkttype: on lo every packet is seen leaving and arriving


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def write_rtp_pcap(path, payloads, pt=8, ssrc=0x51BB0001, sport=6000, dport=6002):
    """Writes one RTP packet per payload, 20 ms apart (8 kHz: 160 samples), as Ethernet/IPv4/
    UDP frames. SIPp replays them with this timing to the far end's SDP address; the ports and
    addresses in the file are replaced by its own."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    t0 = 1_700_000_000
    for i, pl in enumerate(payloads):
        rtp = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | pt, i & 0xFFFF, i * 160, ssrc) + pl
        udp_len = 8 + len(rtp)
        src, dst = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")
        pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
        udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + rtp
        csum = _checksum(pseudo + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp
        us = i * 20_000
        out.append(struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def tagged_payloads(tag, n, fill=None):
    """n A-law payloads of 160 bytes: tag (4 bytes), a 16-bit number, then audio (fill: a
    20 ms packet of a tone, so the stream is not silence)."""
    body = (fill or bytes([0x2A, 0xAA, 0x0A, 0x8A]) * 40)[:154]
    return [tag + struct.pack("!H", i) + body for i in range(n)]


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


SO_ATTACH_FILTER = 26
SO_TIMESTAMP = 29  # the kernel's arrival time with each packet: the capture thread may lag


def capture_available():
    """None when loopback can be captured here, else the reason."""
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        s.close()
        return None
    except (PermissionError, OSError, AttributeError) as e:
        return f"no packet capture on lo ({e}); it needs CAP_NET_RAW"


class Packet:
    __slots__ = ("t", "sport", "dport", "data")

    def __init__(self, t, sport, dport, data):
        self.t, self.sport, self.dport, self.data = t, sport, dport, data

    # RTP fields (valid when the datagram is RTP)
    @property
    def pt(self):
        return self.data[1] & 0x7F

    @property
    def ssrc(self):
        return struct.unpack("!I", self.data[8:12])[0]

    @property
    def payload(self):
        return self.data[12:]


class Capture:
    """Keeps the IPv4 UDP datagrams arriving at the watched ports of 127.0.0.1 (watch() may be
    called while it runs). Used as a context manager or with start()/close()."""

    def __init__(self):
        self.ports = set()
        self.packets = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        # Only IPv4 UDP reaches Python (the kernel drops the rest: HTTP, other tests' TCP).
        prog = [(0x28, 0, 0, 12),           # ldh [12]      ethertype
                (0x15, 0, 3, 0x0800),       # jeq IPv4
                (0x30, 0, 0, 23),           # ldb [23]      protocol
                (0x15, 0, 1, 17),           # jeq UDP
                (0x06, 0, 0, 0x40000),      # ret accept
                (0x06, 0, 0, 0)]            # ret drop
        arr = (_Filter * len(prog))(*[_Filter(*f) for f in prog])
        self._prog = _Prog(len(prog), arr)
        self._arr = arr
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(self._prog))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, *ports):
        with self.lock:
            self.ports.update(ports)
        return self

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _loop(self):
        while not self.stop.is_set():
            try:
                frame, anc, _, addr = self.sock.recvmsg(65535, 64)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING or len(frame) < 42:
                continue
            ihl = (frame[14] & 15) * 4
            udp = 14 + ihl
            sport, dport = struct.unpack("!HH", frame[udp:udp + 4])
            if dport not in self.ports:
                continue
            t = time.time()
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= 16:
                    sec, usec = struct.unpack("qq", data[:16])
                    t = sec + usec / 1e6
            with self.lock:
                self.packets.append(Packet(t, sport, dport, frame[udp + 8:]))

    def to(self, port, since=0.0):
        """The datagrams that arrived at port (after the time since)."""
        with self.lock:
            return [p for p in self.packets if p.dport == port and p.t >= since]

    def rtp_to(self, port, since=0.0, pt=None):
        out = [p for p in self.to(port, since) if len(p.data) > 12 and p.data[0] >> 6 == 2]
        return [p for p in out if pt is None or p.pt == pt]

    def sip_packets_to(self, port, method=None):
        """The SIP datagrams that arrived at port, requests of `method` only if given."""
        out = [p for p in self.to(port) if p.data[:1].isalpha()]
        return [p for p in out if method is None or p.data.startswith(method.encode() + b" ")]

    def sip_to(self, port, method=None):
        """The same as text."""
        return [p.data.decode(errors="replace") for p in self.sip_packets_to(port, method)]


def call_ids(messages):
    out = []
    for m in messages:
        for line in m.split("\r\n"):
            if line.lower().startswith(("call-id:", "i:")):
                cid = line.split(":", 1)[1].strip()
                if cid not in out:
                    out.append(cid)
    return out
