"""IPv6: with sip.ipv6 = "::1" (HOMELINE_SIP6) SIP also listens on ::1, and a customer calling
over IPv6 (the demo trunk allows ::1) gets a media leg on ::1 (SDP c=IN IP6) while the agent's
phone stays on IPv4: the relay crosses the families, both ways, payloads unchanged."""
import os
import socket
import unittest

from flows import T
import sipphone
from voice_flows import PCAP, VoiceFlowTest


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
