"""Voice calls from the trunk's side: a customer calls the demo number through the trunk
(127.0.0.1); unknown sources and numbers are refused; Homeline answers with a greeting and
music, queues the call, follows a re-INVITE, counts an abandon and writes its CDR. A real server
with SIP on a free port; the callers are stdlib SIP peers (sipphone.py)."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from flows import T
import sipphone
from voice_flows import PCAP, SCENARIOS, VoiceFlowTest, nonsilent


class VoiceInbound(VoiceFlowTest):
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
        # Its call detail record: one leg, answered by Homeline, abandoned by the caller.
        cdrs = self.eventually(lambda: self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"],
                               what="CDR")
        self.assertEqual(len(cdrs), 1)
        call = cdrs[0]
        self.assertEqual((call["interaction"], call["result"], call["hung_up_by"], call["to"]),
                         (ix["id"], "abandoned", "customer", "+15550100"))
        self.assertEqual([l["role"] for l in call["legs"]], ["customer"])

    def test_reinvite_moves_the_callers_media(self):
        c = self.customer()
        self.eventually(lambda: nonsilent(c.rx) >= 20, what="greeting heard")
        first = c.media_to
        c.reinvite()
        self.eventually(lambda: c.reinvite_status, what="re-INVITE answered")
        self.assertEqual(c.reinvite_status, 200)
        self.assertIn(f"m=audio {first[1]} RTP/AVP 8", c.reinvite_sdp)  # same port and codec
        self.assertRegex(c.reinvite_sdp, r"(?m)^o=homeline \d+ 2 ")  # version bumped
        before = len(c.rx)
        self.eventually(lambda: len(c.rx) - before >= 25, what="audio on the new port")
        c.hangup()
        self.eventually(lambda: self.stats("support")["abandoned"] == 1, what="abandoned")


if __name__ == "__main__":
    unittest.main()
