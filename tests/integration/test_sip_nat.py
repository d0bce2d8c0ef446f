"""Agents' phones at home, behind NAT and on TCP (issue 3: "behind home NAT: rport, symmetric
RTP, keep-alive/qualify"): the registrar answers a REGISTER to where it came from and says so
(rport/received), calls go to that address and not to the Contact's; a phone that stops
answering OPTIONS loses its registration within the configured time, the API shows it and no
voice is offered to it; a phone registered over TCP (baresip) is rung over that connection and
the audio flows both ways. Real server with SIP on a free port, stdlib phones, baresip."""
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import wave

from flows import T
from harness import Server, free_sip_port
import sipphone
from voice_flows import VoiceFlowTest


def via_params(msg):
    """The parameters of the top Via of a SIP message, as a dict (flags map to "")."""
    via = sipphone._hdr(msg, "via")
    return {k.lower(): v for k, v in re.findall(r";\s*([\w-]+)(?:=([^;\s,]*))?", via)}


def tcp_connections_to(port):
    """Local ports of the established IPv4 TCP connections to 127.0.0.1:port (/proc/net/tcp)."""
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "01" and remote == f"0100007F:{port:04X}":
                out.append(int(local.split(":")[1], 16))
    return out


def wav_tone_power(path, freq, skip_s=0.5):
    """Mean Goertzel power at freq over 20 ms blocks of a 16-bit mono WAV (relative)."""
    with wave.open(path, "rb") as w:
        rate, n = w.getframerate(), w.getnframes()
        channels = w.getnchannels()
        data = w.readframes(n)
    samples = struct.unpack(f"<{len(data) // 2}h", data)[::channels]
    samples = samples[int(skip_s * rate):]
    block = rate // 50
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    total, blocks = 0.0, 0
    for i in range(0, len(samples) - block + 1, block):
        s1 = s2 = 0.0
        for x in samples[i:i + block]:
            s0 = x + coeff * s1 - s2
            s2, s1 = s1, s0
        total += s1 * s1 + s2 * s2 - coeff * s1 * s2
        blocks += 1
    return total / max(1, blocks), blocks


class PhonesAtHome(VoiceFlowTest):
    """A fresh demo server per test, with `config` added to its configuration."""
    config = ""  # extra server configuration (TOML) for a test

    def setUp(self):
        args = []
        if self.config:
            d = tempfile.mkdtemp(prefix="homeline-nat-")
            self.addCleanup(shutil.rmtree, d, True)
            path = os.path.join(d, "homeline.toml")
            with open(path, "w") as f:
                f.write(self.config)
            args = ["--config", path]
        self.server = Server(sip=True, extra_args=args).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    def agent(self, login):
        return next(a for a in self.ok("GET", f"{T}/agents", token=self.token("sam")) if a["login"] == login)


class Rport(PhonesAtHome):
    def test_rport_answer_and_calls_go_to_the_source_port(self):
        """bob's phone writes port P in Via and Contact (what it believes behind its router) but
        sends from port S. The replies go to S with rport=S and received= filled in, and the
        call's INVITE, its BYE and its media go to S: nothing ever arrives at P."""
        trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        trap.bind(("127.0.0.1", 0))
        trap.setblocking(False)
        self.addCleanup(trap.close)
        p_port = trap.getsockname()[1]
        bob = sipphone.Phone("bob", "demo", self.sip_port, contact_port=p_port)
        self.addCleanup(bob.join, 5)
        self.assertNotEqual(bob.port, p_port)
        self.assertEqual(bob.register(), 200)
        self.assertEqual(len(bob.register_replies), 2)  # the challenge, then the 200
        for reply in bob.register_replies:
            v = via_params(reply)
            self.assertEqual(v.get("rport"), str(bob.port), reply)
            self.assertEqual(v.get("received"), "127.0.0.1", reply)
        self.assertIn(f"127.0.0.1:{p_port}", sipphone._hdr(bob.register_replies[1], "contact"))
        self.assertEqual(self.agent("bob")["phone"], "registered")
        bob.start(40)
        self.available("bob")
        c = self.customer(payloads=[sipphone.tone_packet(1000)])
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="bob's phone answered on its source port")[0]
        self.assertEqual(ix["agent"], self.uid("bob"))
        self.assertEqual(bob.invites, 1)
        # Both ways: bob's pattern reaches the customer, the customer's tone reaches bob.
        self.eventually(lambda: sum(1 for p in c.rx if p[:4] == sipphone.PATTERN) >= 25,
                        what="the customer hears bob")
        self.eventually(lambda: len(bob.rx_payloads) >= 25, what="bob hears the customer")
        self.assertTrue(all(p == sipphone.tone_packet(1000) for p in bob.rx_payloads[-20:]))
        c.hangup()
        self.eventually(lambda: bob.byes_in == 1, what="BYE to bob's source port")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        try:
            data = trap.recv(65535)
        except BlockingIOError:
            data = None
        self.assertIsNone(data, "a request went to the Contact's port instead of the source")


class Qualify(PhonesAtHome):
    # OPTIONS every second; a phone that has not answered one after 2 s is unregistered.
    config = "[sip]\nqualify = 1\nqualify_timeout = 2\n"

    def test_a_phone_that_stops_answering_options_is_unregistered(self):
        bob = self.phone("bob")
        self.assertEqual(self.agent("bob")["phone"], "registered")
        # While it answers, the OPTIONS keep coming and it stays registered.
        self.eventually(lambda: bob.options_in >= 3, timeout=10, what="OPTIONS every second")
        self.assertEqual(self.agent("bob")["phone"], "registered")
        self.assertEqual(self.server.metric("homeline_sip_qualify_failed_total"), 0)
        self.available("bob")
        bob.answer_options = False  # the phone is gone (router rebooted, laptop closed)
        quiet = time.time()
        self.eventually(lambda: self.agent("bob")["phone"] == "unregistered", timeout=10,
                        what="unregistered after its OPTIONS went unanswered")
        # interval 1 s + timeout 2 s + the 1 s sweep: a few seconds, not libre's 32 s.
        self.assertLess(time.time() - quiet, 8)
        self.assertEqual(self.server.metric("homeline_sip_qualify_failed_total"), 1)
        self.assertEqual(self.server.metric("homeline_sip_phones_registered"), 0)
        # bob is still available, but a voice call is not offered to a phone that is gone.
        self.assertEqual(self.agent("bob")["presence"], "available")
        invites = bob.invites
        c = self.customer()
        self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "queued"],
                        what="the call waits in the queue")
        time.sleep(1.0)
        self.assertEqual([i["state"] for i in self.voice_calls()], ["queued"])
        self.assertEqual(bob.invites, invites)
        # The phone back (registering again) gets the waiting call.
        bob_again = self.phone("bob")
        self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                        what="offered once the phone registered again")
        self.assertEqual((bob.invites, bob_again.invites), (invites, 1))
        c.hangup()


@unittest.skipUnless(shutil.which("baresip"), "baresip not installed")
class TcpPhone(PhonesAtHome):
    def test_baresip_over_tcp_is_rung_and_audio_flows_both_ways(self):
        """baresip registers over TCP only; the call reaches it over that connection. It plays an
        800 Hz tone the customer must hear; the customer plays 1000 Hz, which baresip must
        receive (its sndfile module writes the decoded audio to a WAV)."""
        home = tempfile.mkdtemp(prefix="homeline-baresip-tcp-")
        self.addCleanup(shutil.rmtree, home, True)
        dumps = os.path.join(home, "dumps")
        os.mkdir(dumps)
        sipphone.write_tone_wav(os.path.join(home, "tone.wav"), 800)
        bs_port = free_sip_port()
        rtp = 33000 + (os.getpid() % 300) * 100
        with open(os.path.join(home, "accounts"), "w") as f:
            f.write(f"<sip:bob@127.0.0.1:{self.sip_port};transport=tcp>;auth_pass=demo;"
                    "answermode=auto;regint=600\n")
        with open(os.path.join(home, "config"), "w") as f:
            f.write("poll_method epoll\n"
                    f"sip_listen 127.0.0.1:{bs_port}\n"
                    "sip_trans_def tcp\n"
                    "audio_player aubridge,nil\n"
                    f"audio_source aufile,{home}/tone.wav\n"
                    "audio_alert aufile,/dev/null\n"
                    "module_path /usr/lib/baresip/modules\n"
                    "module g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n"
                    f"snd_path {dumps}\n"
                    "module_app account.so\nmodule_app menu.so\n"
                    f"rtp_ports {rtp}-{rtp + 99}\n")
        log = open(os.path.join(home, "baresip.log"), "wb")
        bs = subprocess.Popen(["baresip", "-f", home, "-t", "30"], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: bs.poll() is None and (bs.kill(), bs.wait(5)))
        self.addCleanup(log.close)
        def read_log():
            with open(os.path.join(home, "baresip.log"), errors="replace") as f:
                return f.read()
        try:
            self.eventually(lambda: self.agent("bob")["phone"] == "registered", timeout=20,
                            what="baresip registered")
        except AssertionError:
            raise AssertionError(f"baresip did not register; its log:\n{read_log()[-3000:]}")
        self.available("bob")
        c = self.customer(payloads=[sipphone.tone_packet(1000)])
        try:
            ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                                 timeout=15, what="baresip answered over TCP")[0]
        except AssertionError:
            raise AssertionError(f"not answered; baresip's log:\n{read_log()[-3000:]}")
        self.assertEqual(ix["agent"], self.uid("bob"))
        # baresip's only connection to the server is TCP, from a port where it has no UDP
        # socket (its UDP listens on bs_port): the INVITE reached it over that connection.
        conns = tcp_connections_to(self.sip_port)
        self.assertEqual(len(conns), 1, conns)
        self.assertNotEqual(conns[0], bs_port)
        before = len(c.rx)
        self.eventually(lambda: len(c.rx) - before >= 100, what="2 s of bridged audio")
        heard = c.rx[before:]
        self.assertGreater(sipphone.tone_power(heard, 800), 20 * sipphone.tone_power(heard, 1500),
                           "the customer hears baresip's 800 Hz tone")
        time.sleep(1.0)
        c.hangup()
        self.eventually(lambda: "terminated" in read_log(), what="baresip's call ended")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        decoded = self.eventually(lambda: [f for f in os.listdir(dumps) if f.endswith("-dec.wav")],
                                  what="baresip's WAV of what it heard")
        tone, blocks = wav_tone_power(os.path.join(dumps, decoded[0]), 1000)
        other, _ = wav_tone_power(os.path.join(dumps, decoded[0]), 1500)
        self.assertGreaterEqual(blocks, 50, "at least 1 s of audio reached baresip")
        self.assertGreater(tone, 20 * other, "baresip hears the customer's 1000 Hz tone")


if __name__ == "__main__":
    unittest.main()
