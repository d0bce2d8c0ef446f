"""Voice calls end to end: a customer calls the demo number through the trunk (127.0.0.1),
Homeline answers with a greeting and music and queues the call; agents' phones ring, answer,
refuse or let ring; the media is checked at the far end. Real homeline servers with SIP on a
free port, real SIP peers (a stdlib phone, SIPp, baresip)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from flows import T, FlowTest
from harness import Server
import sipphone

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "..", "sip", "scenarios")
PCAP = "/usr/share/sip-tester/g711a.pcap"


def nonsilent(payloads):
    # A-law silence is 0xD5/0x55; music and speech vary.
    return sum(1 for p in payloads if len(set(p)) > 4)


class VoiceTest(FlowTest):
    def setUp(self):
        self.server = Server(sip=True).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    @property
    def sip_port(self):
        return self.server.sip_port

    def voice_calls(self, live=True):
        out = self.ok("GET", f"{T}/interactions" + ("?live=1" if live else ""), token=self.token("sam"))
        return [ix for ix in out if ix["channel"] == "voice"]

    def customer(self, **kw):
        c = sipphone.Customer(self.sip_port, **kw).start(30)
        self.addCleanup(c.join, 5)
        return c

    # ---- inbound -----------------------------------------------------------------------------

    def test_unknown_source_is_forbidden_and_unknown_number_not_found(self):
        self.assertEqual(sipphone.invite_status(self.sip_port, "+15550100", source="127.0.0.2"), 403)
        self.assertEqual(sipphone.invite_status(self.sip_port, "+15559999"), 404)
        self.assertEqual(self.voice_calls(live=False), [])

    def test_queued_with_greeting_and_music_then_abandoned(self):
        c = self.customer()
        self.eventually(lambda: c.status == 200, what="call answered")
        ix = self.eventually(lambda: self.voice_calls(), what="voice interaction")[0]
        self.assertEqual(ix["state"], "queued")
        self.assertEqual(ix["queue"], self.queue("support")["id"])
        self.assertEqual(ix["customer"]["phone"], "15557654321")
        # What the caller hears while waiting: the greeting, 20 ms A-law packets (its codec).
        self.eventually(lambda: nonsilent(c.rx) >= 50, what="greeting heard")
        self.assertEqual(c.rx_pt, {8})
        c.hangup()
        self.eventually(lambda: self.ix(ix["id"])["state"] == "abandoned", what="abandoned")
        self.assertEqual(self.stats("support")["abandoned"], 1)
        self.assertEqual(self.server.metric("homeline_voice_calls_live"), 0)


if __name__ == "__main__":
    unittest.main()
