"""IPv6: with sip.ipv6 = "::1" (HOMELINE_SIP6) SIP also listens on ::1, and a customer calling
over IPv6 (the demo trunk allows ::1) gets a media leg on ::1 (SDP c=IN IP6) while the agent's
phone stays on IPv4: the relay crosses the families, both ways, payloads unchanged. The other
legs follow their peer's family too: a supervisor's phone registered over IPv6 monitors a call
of IPv4 phones, and a trunk whose outbound host is ::1 (SIPp as the carrier on ::1) carries an
agent's outbound call and a blind transfer to a number, media on IPv6."""
import os
import socket
import subprocess
import unittest

from flows import T
import sipphone
from voice_flows import PCAP, SCENARIOS, VoiceFlowTest

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500, 1000, 1500


def free_udp6_port():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback here")
class VoiceIpv6(VoiceFlowTest):
    def setUp(self):
        os.environ["HOMELINE_SIP6"] = "::1"
        try:
            super().setUp()
        finally:
            del os.environ["HOMELINE_SIP6"]

    def test_v6_customer_and_v4_agent_are_bridged_with_media_both_ways(self):
        alice = self.phone("alice")  # registers and answers over IPv4
        self.available("alice")
        sent = sipphone.pcap_payloads(PCAP)
        c = self.customer(source="::1", payloads=sent)
        self.eventually(lambda: c.status == 200, what="call answered over IPv6")
        self.assertRegex(c.answer_sdp, r"(?m)^c=IN IP6 ::1\r?$")
        self.assertEqual(c.media_to[0], "::1")
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        self.assertEqual(ix["agent"], self.uid("alice"))
        # Customer (v6) -> agent (v4): the recording's packets, bit for bit.
        self.eventually(lambda: sipphone.contiguous_slice(alice.rx_payloads, sent) >= 50,
                        what="the customer's audio at the agent")
        # Agent (v4) -> customer (v6): the phone's pattern.
        self.eventually(lambda: sum(1 for p in c.rx if p[:4] == sipphone.PATTERN) >= 50,
                        what="the agent's audio at the customer")
        c.hangup()
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        self.assertEqual(self.ix(ix["id"])["state"], "wrap_up")

    def tone_share(self, rx, hz, seconds=0.6):
        """The power of tone hz in what arrives at rx in the next `seconds`, relative to the
        tone alone."""
        start = len(rx)
        self.eventually(lambda: len(rx) - start >= int(seconds * 50), what="audio flowing")
        window = list(rx[start:])
        return sipphone.tone_power(window, hz) / sipphone.tone_power([sipphone.tone_packet(hz)], hz)

    def test_v6_supervisor_phone_monitors_a_call_of_v4_phones(self):
        alice = self.phone("alice", payloads=[sipphone.tone_packet(AGENT_HZ)])
        self.available("alice")
        cust = self.customer(payloads=[sipphone.tone_packet(CUSTOMER_HZ)])
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]["id"]
        # Sam's phone registers over IPv6: the monitor leg is offered on ::1.
        sam = self.phone("sam", source="::1", payloads=[sipphone.tone_packet(SUPERVISOR_HZ)])
        self.ok("POST", f"{T}/interactions/{ix}/monitor", {"mode": "barge"}, self.token("sam"),
                expect=202)
        self.eventually(lambda: sam.in_call, what="sam's phone answered")
        self.assertRegex(sam.offer_sdp, r"(?m)^c=IN IP6 ::1\r?$")
        # Barge: sam (v6) hears both v4 parties, and both hear sam, through the mixer.
        self.eventually(lambda: self.tone_share(sam.rx_payloads, CUSTOMER_HZ) >= 0.25 and
                        self.tone_share(sam.rx_payloads, AGENT_HZ) >= 0.25, what="sam hears both")
        self.eventually(lambda: self.tone_share(cust.rx, SUPERVISOR_HZ) >= 0.25,
                        what="the customer hears sam")
        self.eventually(lambda: self.tone_share(alice.rx_payloads, SUPERVISOR_HZ) >= 0.25,
                        what="alice hears sam")
        self.ok("DELETE", f"{T}/interactions/{ix}/monitor", token=self.token("sam"), expect=(200, 202))
        self.eventually(lambda: sam.byes_in == 1, what="sam's phone got BYE")
        cust.hangup()
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")

    def carrier6(self):
        """SIPp as the carrier on ::1; the demo trunk's outbound host is "[::1]" (brackets are
        accepted as well as a bare ::1)."""
        port, mport = free_udp6_port(), free_udp6_port()
        proc = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SCENARIOS, "carrier_v6.xml"), "-i", "::1", "-p", str(port),
             "-mp", str(mport), "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "30s",
             "-timeout_error"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        trunk = self.ok("GET", f"{T}/trunks", token=self.token("ada"))[0]
        self.ok("PATCH", f"{T}/trunks/{trunk['id']}",
                {"outbound": {"host": "[::1]", "port": port, "transport": "udp",
                              "caller_id": "+15550100"}}, self.token("ada"))
        return proc

    def test_outbound_call_through_a_v6_trunk(self):
        carrier = self.carrier6()
        alice = self.phone("alice", mode="hangup", talk_s=4.0)  # an IPv4 phone
        self.available("alice")
        ix = self.ok("POST", f"{T}/calls", {"to": "+15550199", "queue": self.queue("support")["id"]},
                     self.token("alice"), expect=201)
        self.eventually(lambda: alice.answered == 1, what="alice's phone answered")
        # The carrier's recording reaches alice bit for bit; alice's pattern comes back through
        # the carrier's echo (v4 -> v6 -> v4).
        self.eventually(lambda: sipphone.contiguous_slice(alice.rx_payloads, sipphone.pcap_payloads(PCAP)) >= 75,
                        timeout=10, what="the carrier's audio at alice's phone")
        self.assertGreaterEqual(alice.rx_pattern, 25, "alice's audio came back through the carrier")
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, f"carrier: INVITE with c=IN IP6 ::1, 200, BYE\n{out}")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")

    def test_blind_transfer_to_a_number_through_a_v6_trunk(self):
        carrier = self.carrier6()
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer()  # an IPv4 customer
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        self.act("alice", ix["id"], "transfer", {"number": "+15550199"})
        self.eventually(lambda: alice.byes_in == 1, what="alice's leg ended")
        before = len(c.rx)
        sent = sipphone.pcap_payloads(PCAP)
        self.eventually(lambda: sipphone.contiguous_slice(c.rx[before:], sent) >= 50,
                        what="the carrier's audio at the customer")
        c.hangup()
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, out)
