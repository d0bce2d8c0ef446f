"""Small SIP peers for the voice tests (Python stdlib only, UDP on loopback).

- Phone: an agent's softphone that registers with digest auth, answers (or refuses, or lets
  ring) INVITEs, records the RTP payloads it receives and sends a known pattern back
  (symmetric RTP: to where the media comes from), answers BYE or sends one.
- invite_status(): a one-shot INVITE that returns the final status (refused calls).
- pcap_payloads(): the RTP payloads of a pcap file (what SIPp plays as the customer).

Every wait is bounded. Not a SIP stack: just enough for Homeline's flows.
"""
import hashlib
import os
import random
import re
import select
import socket
import struct
import threading
import time

PATTERN = b"HLPT"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hdrs(msg, names):
    out = []
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        n = line.split(":", 1)[0].strip().lower()
        if n in names:
            out.append(line)
    return out


def _hdr(msg, name):
    h = _hdrs(msg, (name,))
    return h[0].split(":", 1)[1].strip() if h else ""


def _body(msg):
    i = msg.find("\r\n\r\n")
    return msg[i + 4:] if i >= 0 else ""


def _sdp_media(sdp):
    addr = re.search(r"^c=IN IP[46] (\S+)", sdp, re.M)
    port = re.search(r"^m=audio (\d+)", sdp, re.M)
    return (addr.group(1), int(port.group(1))) if addr and port else None


class Phone:
    """An agent's phone on 127.0.0.1 (or ::1 with source="::1": it registers and talks over
    IPv6; the server must listen on ::1 too, sip.ipv6). mode: 'answer' (after answer_delay s), 'busy' (486),
    'ring' (never answers), 'hangup' (answers, then sends BYE after talk_s). payloads: what it
    sends once answered (A-law, one per 20 ms, in turn), instead of its numbered pattern."""

    def __init__(self, user, password, server_port, mode="answer", answer_delay=0.2,
                 talk_s=2.0, sip_port=0, payloads=None, pattern=PATTERN, source="127.0.0.1",
                 contact_port=None):
        self.v6 = ":" in source
        family = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.ip = source                                  # in SDP
        self.host = f"[{source}]" if self.v6 else source  # in URIs and Via
        self.user, self.password, self.server = user, password, (source, server_port)
        self.mode, self.answer_delay, self.talk_s = mode, answer_delay, talk_s
        self.sip = socket.socket(family, socket.SOCK_DGRAM)
        self.sip.bind((source, sip_port))
        self.rtp = socket.socket(family, socket.SOCK_DGRAM)
        self.rtp.bind((source, 0))
        self.port = self.sip.getsockname()[1]
        self.rtp_port = self.rtp.getsockname()[1]
        # The port the phone believes it has, written in Via and Contact: another one than its
        # socket's plays a phone behind a NAT that rewrites its source port (rport, RFC 3581).
        self.contact_port = contact_port or self.port
        self.register_replies = []  # the final replies to our REGISTERs (401, then 200)
        self.options_in = 0    # OPTIONS received (qualify)
        self.answer_options = True  # False: a phone gone quiet (its OPTIONS go unanswered)
        self.invites = 0       # INVITEs received (retransmissions not counted)
        self.offer_sdp = ""    # the body of the last INVITE received
        self.cancels = 0
        self.answered = 0
        self.byes_in = 0
        self.byes_out = 0
        self.rx_payloads = []  # PCMA payloads received (not our own pattern)
        self.pattern = pattern  # the 4 bytes our packets start with (phones told apart by it)
        self.rx_pattern = 0    # our pattern packets that came back (echoed by the customer)
        self.rx_tags = {}      # other phones' patterns heard (b"HL.."), by pattern
        self.rx_other = 0      # other payload types (telephone-event, PCMU)
        self.tx = 0
        self.payloads = list(payloads) if payloads else None
        self.stop = threading.Event()
        self._hangup = threading.Event()
        self.thread = None
        self._call = None      # the current dialog: dict
        self._seen = set()
        self.log = []

    # ---- registration -----------------------------------------------------------------------
    def _send(self, text, addr=None):
        self.sip.sendto(text.encode(), addr or self.server)

    def _recv(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.sip], [], [], max(0, end - time.time()))
            if r:
                data, addr = self.sip.recvfrom(65535)
                return data.decode(errors="replace"), addr
        return None, None

    def register(self, expires=300, timeout=5.0):
        """REGISTER with digest auth; returns the final status code."""
        call_id = f"reg-{random.getrandbits(48):x}@{self.host}"
        tag = f"{random.getrandbits(32):x}"
        auth = ""
        for cseq in (1, 2):
            branch = f"z9hG4bK{random.getrandbits(48):x}"
            uri = f"sip:{self.host}:{self.server[1]}"
            self._send(
                f"REGISTER {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.host}:{self.contact_port};branch={branch};rport\r\n"
                f"From: <sip:{self.user}@{self.host}>;tag={tag}\r\n"
                f"To: <sip:{self.user}@{self.host}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{self.user}@{self.host}:{self.contact_port}>\r\n"
                f"{auth}Expires: {expires}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            end = time.time() + timeout
            while True:
                msg, _ = self._recv(max(0.01, end - time.time()))
                if msg is None:
                    return 0
                if not msg.startswith("SIP/2.0 ") or _hdr(msg, "call-id") != call_id:
                    continue
                code = int(msg.split()[1])
                if code < 200:
                    continue
                self.register_replies.append(msg)
                break
            if code != 401 or cseq == 2:
                return code
            chal = _hdr(msg, "www-authenticate")
            f = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
            realm, nonce = f.get("realm", ""), f.get("nonce", "")
            ha1 = hashlib.md5(f"{self.user}:{realm}:{self.password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
            cnonce = f"{random.getrandbits(32):x}"
            if "auth" in f.get("qop", ""):
                resp = hashlib.md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
                auth = (f'Authorization: Digest username="{self.user}", realm="{realm}", '
                        f'nonce="{nonce}", uri="{uri}", response="{resp}", algorithm=MD5, '
                        f'qop=auth, nc=00000001, cnonce="{cnonce}"\r\n')
            else:
                resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
                auth = (f'Authorization: Digest username="{self.user}", realm="{realm}", '
                        f'nonce="{nonce}", uri="{uri}", response="{resp}", algorithm=MD5\r\n')
        return 0

    # ---- calls ------------------------------------------------------------------------------
    def start(self, seconds=30):
        self.deadline = time.time() + seconds
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def join(self, timeout=30):
        self.stop.set()
        if self.thread:
            self.thread.join(timeout)
        self.sip.close()
        self.rtp.close()

    def hangup(self):
        """Sends BYE on the current (answered) call."""
        self._hangup.set()

    @property
    def in_call(self):
        return bool(self._call and self._call.get("up"))

    def _reply(self, msg, addr, code, extra="", body="", to_tag=None):
        h = _hdrs(msg, ("via", "from", "call-id", "cseq", "record-route"))
        to = _hdrs(msg, ("to",))[0]
        if ";tag=" not in to and to_tag:
            to += f";tag={to_tag}"
        self._send(f"SIP/2.0 {code}\r\n" + "\r\n".join(h) + f"\r\n{to}\r\n{extra}"
                   f"Content-Length: {len(body)}\r\n\r\n{body}", addr)

    def _loop(self):
        peer = None
        last_tx = 0.0
        seq = 0
        pending = []  # (due, fn)
        while not self.stop.is_set() and time.time() < self.deadline:
            now = time.time()
            for item in [p for p in pending if p[0] <= now]:
                pending.remove(item)
                item[1]()
            if self._hangup.is_set() and self._call and self._call["up"]:
                self._hangup.clear()
                self._bye(self._call)
            r, _, _ = select.select([self.sip, self.rtp], [], [], 0.005)
            if self.sip in r:
                data, addr = self.sip.recvfrom(65535)
                msg = data.decode(errors="replace")
                first = msg.split("\r\n", 1)[0]
                self.log.append(first)
                if first.startswith("INVITE"):
                    key = (_hdr(msg, "call-id"), _hdr(msg, "cseq"))
                    tag = f"pp{random.getrandbits(32):x}"
                    if key in self._seen:
                        continue  # retransmission
                    self._seen.add(key)
                    self.invites += 1
                    self.offer_sdp = _body(msg)
                    self._call = {"invite": msg, "addr": addr, "tag": tag, "up": False}
                    if self.mode == "busy":
                        self._reply(msg, addr, "486 Busy Here", to_tag=tag)
                        continue
                    self._reply(msg, addr, "180 Ringing",
                                f"Contact: <sip:{self.user}@{self.host}:{self.contact_port}>\r\n", to_tag=tag)
                    if self.mode in ("answer", "hangup"):
                        call = self._call
                        pending.append((now + self.answer_delay, lambda call=call: self._answer(call)))
                elif first.startswith("CANCEL"):
                    self.cancels += 1
                    self._reply(msg, addr, "200 OK", to_tag=self._call["tag"] if self._call else None)
                    if self._call:
                        inv = self._call["invite"]
                        self._reply(inv, self._call["addr"], "487 Request Terminated",
                                    to_tag=self._call["tag"])
                        self._call = None
                elif first.startswith("ACK"):
                    if self._call and self._call.get("answered") and not self._call["up"]:
                        self._call["up"] = True
                        self._call["ack"] = msg
                        if self.mode == "hangup":
                            call = self._call
                            pending.append((now + self.talk_s, lambda call=call: self._bye(call)))
                elif first.startswith("BYE"):
                    self.byes_in += 1
                    self._reply(msg, addr, "200 OK")
                    self._call = None
                elif first.startswith("OPTIONS"):
                    self.options_in += 1
                    if self.answer_options:
                        self._reply(msg, addr, "200 OK", to_tag="opt")
            if self.rtp in r:
                data, addr = self.rtp.recvfrom(2048)
                peer = addr  # symmetric RTP: answer where the media comes from
                if len(data) > 12:
                    pl = data[12:]
                    if pl[:4] == self.pattern:
                        self.rx_pattern += 1
                    elif pl[:2] == PATTERN[:2]:
                        self.rx_tags[pl[:4]] = self.rx_tags.get(pl[:4], 0) + 1
                    elif data[1] & 0x7F == 8:
                        self.rx_payloads.append(pl)
                    else:
                        self.rx_other += 1
            if peer and self._call and self._call["up"] and time.time() - last_tx >= 0.02:
                last_tx = time.time()
                seq += 1
                self.tx += 1
                if self.payloads:
                    pl = self.payloads[seq % len(self.payloads)]
                else:
                    pl = self.pattern + struct.pack("!I", seq) + bytes(152)
                self.rtp.sendto(struct.pack("!BBHII", 0x80, 8, seq & 0xFFFF, seq * 160, 0x1234) + pl, peer)

    def _answer(self, call):
        if self._call is not call:
            return  # cancelled meanwhile
        ip = f"IP6 {self.ip}" if self.v6 else f"IP4 {self.ip}"
        sdp = (f"v=0\r\no=agent 1 1 IN {ip}\r\ns=-\r\nc=IN {ip}\r\nt=0 0\r\n"
               f"m=audio {self.rtp_port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\n")
        call["answered"] = True
        self.answered += 1
        self._reply(call["invite"], call["addr"], "200 OK",
                    f"Contact: <sip:{self.user}@{self.host}:{self.contact_port}>\r\n"
                    "Content-Type: application/sdp\r\n", sdp, to_tag=call["tag"])

    def _bye(self, call):
        if self._call is not call:
            return
        inv = call["invite"]
        # We are the callee: From/To swap; the request goes by the recorded route set.
        rr = [h.split(":", 1)[1].strip() for h in _hdrs(inv, ("record-route",))]
        route = "".join(f"Route: {r}\r\n" for r in rr)
        contact = re.search(r"<([^>]+)>", _hdr(inv, "contact")).group(1)
        frm = _hdr(inv, "to") + f";tag={call['tag']}"
        self._send(f"BYE {contact} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{random.getrandbits(48):x};rport\r\n"
                   f"{route}From: {frm}\r\nTo: {_hdr(inv, 'from')}\r\nCall-ID: {_hdr(inv, 'call-id')}\r\n"
                   "CSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", call["addr"])
        self.byes_out += 1
        self._call = None


def invite_status(server_port, number, source="127.0.0.1", timeout=5.0):
    """Sends one INVITE for `number` from `source` and returns the final status (0: none)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    port = s.getsockname()[1]
    call_id = f"inv-{random.getrandbits(48):x}@{source}"
    branch = f"z9hG4bK{random.getrandbits(48):x}"
    sdp = (f"v=0\r\no=- 1 1 IN IP4 {source}\r\ns=-\r\nc=IN IP4 {source}\r\nt=0 0\r\n"
           "m=audio 4000 RTP/AVP 0\r\n")
    via = f"Via: SIP/2.0/UDP {source}:{port};branch={branch};rport\r\n"
    frm = f"From: <sip:15557654321@{source}>;tag=x1\r\n"
    to = f"<sip:{number}@127.0.0.1:{server_port}>"
    s.sendto((f"INVITE sip:{number}@127.0.0.1:{server_port} SIP/2.0\r\n{via}{frm}To: {to}\r\n"
              f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:c@{source}:{port}>\r\n"
              f"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
              ).encode(), ("127.0.0.1", server_port))
    end = time.time() + timeout
    code = 0
    try:
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.time()))
            if not r:
                break
            msg = s.recv(65535).decode(errors="replace")
            if not msg.startswith("SIP/2.0 "):
                continue
            code = int(msg.split()[1])
            if code >= 200:
                to_tagged = _hdr(msg, "to")
                s.sendto((f"ACK sip:{number}@127.0.0.1:{server_port} SIP/2.0\r\n{via}{frm}"
                          f"To: {to_tagged}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
                          "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(),
                         ("127.0.0.1", server_port))
                break
    finally:
        s.close()
    return code


def pcap_payloads(path, pt=8):
    """RTP payloads of payload type pt in a pcap file (Ethernet, Linux cooked or raw IP)."""
    d = open(path, "rb").read()
    linktype = struct.unpack("<I", d[20:24])[0]
    l2 = 14 if linktype == 1 else (16 if linktype == 113 else 0)
    off, out = 24, []
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
        pkt = d[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = pkt[l2:]
        ihl = (ip[0] & 15) * 4
        rtp = ip[ihl + 8:]
        if len(rtp) > 12 and (rtp[1] & 0x7F) == pt:
            out.append(rtp[12:])
    return out


def contiguous_slice(received, sent):
    """How many received packets, after any leading packets that are not the sender's, form
    one contiguous run of the sent packets, in order; -1 if they do not."""
    sent_set = set(sent)
    i = 0
    while i < len(received) and received[i] not in sent_set:
        i += 1
    run = received[i:]
    if not run:
        return 0
    for start in (k for k, p in enumerate(sent) if p == run[0]):
        if sent[start:start + len(run)] == run:
            return len(run)
    return -1


class Customer:
    """A caller through the trunk: INVITE (PCMA), ACK on 200, records what it hears, sends
    payloads given to it at 20 ms, hangs up on hangup() or answers Homeline's BYE. An IPv6
    source ("::1") calls over IPv6 (the server must listen on ::1 too: sip.ipv6) with an IPv6
    SDP."""

    def __init__(self, server_port, number="+15550100", source="127.0.0.1", payloads=()):
        self.v6 = ":" in source
        self.family = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.server = ("::1" if self.v6 else "127.0.0.1", server_port)
        self.server_host = "[::1]" if self.v6 else "127.0.0.1"
        self.host = f"[{source}]" if self.v6 else source  # as written in SIP URIs and Via
        self.number = number
        self.sip = socket.socket(self.family, socket.SOCK_DGRAM)
        self.sip.bind((source, 0))
        self.rtp = socket.socket(self.family, socket.SOCK_DGRAM)
        self.rtp.bind((source, 0))
        self.source = source
        self.port = self.sip.getsockname()[1]
        self.rtp_port = self.rtp.getsockname()[1]
        self.payloads = list(payloads)
        self.call_id = f"cust-{random.getrandbits(48):x}@{source}"
        self.tag = f"c{random.getrandbits(32):x}"
        self.status = 0         # final status of the INVITE
        self.provisional = []
        self.to = None          # the To header with Homeline's tag
        self.rx = []            # payloads heard
        self.rx_t = []          # when each one arrived (time.time())
        self.rx_pt = set()
        self.bye_in = False
        self.bye_answered = 0
        self.media_to = None
        self.answer_sdp = ""    # the SDP of our INVITE's final answer
        self.info_status = []   # final statuses of the INFOs sent
        self._dtmf = []         # (key, "rfc4733" | "info" | "dtmf") to send once answered
        self._dtmf_lock = threading.Lock()
        self._hangup = threading.Event()
        self._reinvite = threading.Event()
        self.reinvite_status = 0  # final status of a re-INVITE
        self.reinvite_sdp = ""
        self.cseq = 1
        self.stop = threading.Event()
        self.thread = None

    def reinvite(self):
        """Moves our media to a new port with a re-INVITE (as a phone changing networks)."""
        self._reinvite.set()

    def _via(self):
        return f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{random.getrandbits(48):x};rport\r\n"

    def _req(self, method, cseq, extra="", body=""):
        to = self.to or f"<sip:{self.number}@{self.server_host}:{self.server[1]}>"
        return (f"{method} sip:{self.number}@{self.server_host}:{self.server[1]} SIP/2.0\r\n{self._via()}"
                f"From: \"Vera Customer\" <sip:15557654321@{self.host}>;tag={self.tag}\r\n"
                f"To: {to}\r\nCall-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:15557654321@{self.host}:{self.port}>\r\nMax-Forwards: 70\r\n"
                f"{extra}Content-Length: {len(body)}\r\n\r\n{body}")

    def start(self, seconds=30):
        self.deadline = time.time() + seconds
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def hangup(self):
        self._hangup.set()

    def dtmf(self, key, how="rfc4733"):
        """Presses a key once the call is answered: an RFC 4733 event (payload type 101, three
        end packets), or a SIP INFO (how="info": application/dtmf-relay; "dtmf": application/dtmf)."""
        with self._dtmf_lock:
            self._dtmf.append((key, how))

    def _send_dtmf(self, key, how, cseq):
        if how in ("info", "dtmf", "text"):
            if how == "info":
                ctype, body = "application/dtmf-relay", f"Signal={key}\r\nDuration=160\r\n"
            elif how == "dtmf":
                ctype, body = "application/dtmf", key
            else:
                ctype, body = "text/plain", key
            self.sip.sendto(self._req("INFO", cseq, f"Content-Type: {ctype}\r\n", body).encode(),
                            self.server)
            return
        event = "0123456789*#ABCD".index(key)
        ts = random.getrandbits(24)
        seq = random.getrandbits(12)
        for i, (dur, end) in enumerate([(160, 0), (320, 0), (480, 0), (640, 1), (640, 1), (640, 1)]):
            pl = struct.pack("!BBH", event, (0x80 if end else 0) | 10, dur)
            marker = 0x80 if i == 0 else 0
            self.rtp.sendto(struct.pack("!BBHII", 0x80, marker | 101, (seq + i) & 0xFFFF, ts, 0x5678) + pl,
                            self.media_to)
            time.sleep(0.02)

    def join(self, timeout=30):
        self.stop.set()
        if self.thread:
            self.thread.join(timeout)
        self.sip.close()
        self.rtp.close()

    def _loop(self):
        ip = "IP6" if self.v6 else "IP4"
        sdp = (f"v=0\r\no=- 1 1 IN {ip} {self.source}\r\ns=-\r\nc=IN {ip} {self.source}\r\nt=0 0\r\n"
               f"m=audio {self.rtp_port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\n")
        invite = self._req("INVITE", 1, "Content-Type: application/sdp\r\n", sdp)
        self.sip.sendto(invite.encode(), self.server)
        last_invite, last_tx, seq, sent_bye = time.time(), 0.0, 0, False
        while time.time() < self.deadline and not self.stop.is_set():
            if self.status == 0 and time.time() - last_invite > 0.5:
                self.sip.sendto(invite.encode(), self.server)  # retransmission (timer A)
                last_invite = time.time()
            if self.status == 200 and self.media_to and self._dtmf:
                with self._dtmf_lock:
                    key, how = self._dtmf.pop(0)
                self.cseq += 1
                self._send_dtmf(key, how, self.cseq)
            if self._hangup.is_set() and self.status == 200 and not sent_bye and not self.bye_in:
                self.cseq += 1
                self.sip.sendto(self._req("BYE", self.cseq).encode(), self.server)
                sent_bye = True
            if self._reinvite.is_set() and self.status == 200:
                self._reinvite.clear()
                self.rtp.close()
                self.rtp = socket.socket(self.family, socket.SOCK_DGRAM)
                self.rtp.bind((self.source, 0))
                self.rtp_port = self.rtp.getsockname()[1]
                sdp = sdp.replace(sdp.split("m=audio ")[1].split(" ")[0], str(self.rtp_port), 1)
                self.cseq += 1
                self.sip.sendto(self._req("INVITE", self.cseq, "Content-Type: application/sdp\r\n", sdp).encode(),
                                self.server)
            r, _, _ = select.select([self.sip, self.rtp], [], [], 0.005)
            if self.sip in r:
                msg = self.sip.recv(65535).decode(errors="replace")
                first = msg.split("\r\n", 1)[0]
                if first.startswith("SIP/2.0 ") and "INVITE" in _hdr(msg, "cseq"):
                    code = int(first.split()[1])
                    if code < 200:
                        self.provisional.append(code)
                        continue
                    seq_no = int(_hdr(msg, "cseq").split()[0])
                    if seq_no > 1:  # the answer to our re-INVITE
                        self.reinvite_status, self.reinvite_sdp = code, _body(msg)
                        self.sip.sendto(self._req("ACK", seq_no).encode(), self.server)
                        continue
                    self.to = _hdr(msg, "to")
                    if self.status == 0:
                        self.status = code
                        self.answer_sdp = _body(msg)
                        m = _sdp_media(self.answer_sdp)
                        if m:
                            self.media_to = m
                    self.sip.sendto(self._req("ACK", 1).encode(), self.server)
                    if code >= 300:
                        return
                elif first.startswith("SIP/2.0 ") and "INFO" in _hdr(msg, "cseq"):
                    self.info_status.append(int(first.split()[1]))
                    continue
                elif first.startswith("SIP/2.0 ") and "BYE" in _hdr(msg, "cseq"):
                    return
                elif first.startswith("BYE"):
                    self.bye_in = True
                    h = _hdrs(msg, ("via", "from", "to", "call-id", "cseq"))
                    self.sip.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(h) +
                                     "\r\nContent-Length: 0\r\n\r\n").encode(), self.server)
                    self.bye_answered += 1
                    return
            if self.rtp in r:
                data, addr = self.rtp.recvfrom(2048)
                if len(data) > 12:
                    self.rx_pt.add(data[1] & 0x7F)
                    self.rx.append(data[12:])
                    self.rx_t.append(time.time())
            if self.status == 200 and self.payloads and self.media_to and time.time() - last_tx >= 0.02:
                last_tx = time.time()
                pl = self.payloads[seq % len(self.payloads)]
                seq += 1
                self.rtp.sendto(struct.pack("!BBHII", 0x80, 8, seq & 0xFFFF, seq * 160, 0x5678) + pl,
                                self.media_to)


def alaw_to_linear(b):
    """G.711 A-law byte to a 16-bit sample (ITU-T G.711)."""
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


_ALAW = None


def tone_packet(freq, amplitude=4000, rate=8000):
    """20 ms of a sine at freq as A-law (a whole number of cycles when freq is a multiple of
    50 Hz, so the same packet repeats seamlessly)."""
    import math
    global _ALAW
    if _ALAW is None:
        _ALAW = sorted((alaw_to_linear(b), b) for b in range(256))
    keys = [v for v, _ in _ALAW]
    import bisect
    out = bytearray()
    for i in range(160):
        x = amplitude * math.sin(2 * math.pi * freq * i / rate)
        j = bisect.bisect_left(keys, x)
        cands = [k for k in (j - 1, j) if 0 <= k < len(keys)]
        out.append(_ALAW[min(cands, key=lambda k: abs(keys[k] - x))][1])
    return bytes(out)


def tone_power(payloads, freq, rate=8000):
    """Mean Goertzel power at freq over A-law packets (relative; compare two frequencies)."""
    import math
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    total = 0.0
    for p in payloads:
        s1 = s2 = 0.0
        for b in p:
            s0 = alaw_to_linear(b) + coeff * s1 - s2
            s2, s1 = s1, s0
        total += s1 * s1 + s2 * s2 - coeff * s1 * s2
    return total / max(1, len(payloads))


def write_tone_wav(path, freq, seconds=10, rate=8000):
    import math
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(rate * seconds)))
