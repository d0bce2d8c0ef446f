"""Voice calls to the agents' registered phones: ring, answer, busy, no answer, hang-up either
side (one phone behind NAT), hold, transfer, recording, hang-up through the API; media checked
at the far end (bit-exact payloads both ways), and baresip as a real softphone. Phones register
with digest auth (the demo password). Real server, SIPp, stdlib phones, baresip."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from flows import T
from harness import free_sip_port
import sipphone
from voice_flows import PCAP, SCENARIOS, VoiceFlowTest, nonsilent


class VoiceAgents(VoiceFlowTest):
    # ---- to the agent's phone ----------------------------------------------------------------

    def test_whole_call_media_both_ways_hang_up_and_wrap_up(self):
        """SIPp is the customer (the G.711 recording it ships, echoing what it hears); a phone
        of ours is alice: what the customer sends must reach her unchanged, and what she sends
        must come back through the customer's echo."""
        alice = self.phone("alice")
        self.available("alice")
        cust = subprocess.Popen(
            ["sipp", f"127.0.0.1:{self.sip_port}", "-sf", os.path.join(SCENARIOS, "customer.xml"),
             "-s", "+15550100", "-i", "127.0.0.1", "-p", str(sipphone.free_udp_port()),
             "-mp", str(sipphone.free_udp_port()), "-rtp_echo", "-d", "5000", "-m", "1",
             "-nostdin", "-timeout", "30s", "-timeout_error"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: cust.poll() is None and cust.kill())
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        self.assertEqual(ix["agent"], self.uid("alice"))
        rc, out = self.finished(cust)
        self.assertEqual(rc, 0, out)
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        done = self.ix(ix["id"])
        self.assertEqual(done["state"], "wrap_up")
        self.assertEqual(done["reason"], "customer_hung_up")
        # Customer -> agent: a contiguous run of the recording's packets, bit for bit, at least
        # 2 s of it (the recording plays from the answer; the bridge comes a moment later).
        sent = sipphone.pcap_payloads(PCAP)
        run = sipphone.contiguous_slice(alice.rx_payloads, sent)
        self.assertGreaterEqual(run, 100, f"{len(alice.rx_payloads)} packets, run {run}")
        # Agent -> customer -> (echo) -> agent: her own pattern came back.
        self.assertGreaterEqual(alice.rx_pattern, 100)
        # Wrap-up with a disposition through the API; alice is free again.
        self.act("alice", ix["id"], "wrapup", {"disposition": "resolved", "notes": "by phone"})
        self.assertEqual(self.ix(ix["id"])["state"], "completed")
        self.assertEqual(self.agent_view("alice")["activity"], "available")
        self.assertEqual(self.stats("support")["answered"], 1)
        call = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"][0]
        self.assertEqual([(l["role"], l["result"], l["hung_up_by"]) for l in call["legs"]],
                         [("customer", "answered", "customer"), ("agent", "answered", "customer")])
        self.assertEqual(call["legs"][1]["agent"], self.uid("alice"))

    def test_no_answer_goes_to_the_next_agent(self):
        """SIPp plays both phones: alice's rings until cancelled, bob's answers."""
        self.patch_queue("support", offer_timeout_s=2)
        alice = self.sipp("alice", "agent_noanswer.xml")
        self.available("alice")
        bob = self.sipp("bob", "agent_answer.xml", "-mp", str(sipphone.free_udp_port()), "-rtp_echo")
        self.available("bob")
        c = self.customer()
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             timeout=15, what="call connected")[0]
        self.assertEqual(ix["agent"], self.uid("bob"))
        rc, out = self.finished(alice)
        self.assertEqual(rc, 0, f"alice's phone: INVITE, 180, CANCEL, 487, ACK\n{out}")
        c.hangup()
        rc, out = self.finished(bob)
        self.assertEqual(rc, 0, f"bob's phone: answered, then BYE\n{out}")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")

    def test_busy_phone_then_next_agent_and_abandon_while_ringing(self):
        self.patch_queue("support", offer_timeout_s=10)
        alice = self.phone("alice", mode="busy")
        bob = self.phone("bob", mode="ring")
        self.available("alice")
        self.available("bob")
        c = self.customer()
        self.eventually(lambda: alice.invites == 1 and bob.invites == 1, what="both phones rung in turn")
        ix = self.voice_calls()[0]
        self.assertEqual(ix["state"], "offered")
        self.assertEqual(ix["agent"], self.uid("bob"))
        c.hangup()  # while bob's phone rings
        self.eventually(lambda: bob.cancels == 1, what="bob's phone cancelled")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "abandoned", what="abandoned")
        self.assertEqual(self.stats("support")["abandoned"], 1)
        self.assertEqual(self.agent_view("bob")["activity"], "available")

    def test_agent_behind_nat_hangs_up(self):
        """The phone registers from its real address but puts a private one in Contact and SDP
        (a home router): INVITE, ACK and BYE must still reach it, and media must flow."""
        alice = self.sipp("alice", "agent_hangup.xml", "-mp", str(sipphone.free_udp_port()),
                          "-d", "3000")
        self.available("alice")
        c = self.customer(payloads=sipphone.pcap_payloads(PCAP))
        rc, out = self.finished(alice)
        self.assertEqual(rc, 0, out)
        self.eventually(lambda: c.bye_in, what="the customer got BYE")
        ix = self.voice_calls(live=False)[0]
        self.assertEqual(ix["state"], "wrap_up")
        self.assertEqual(ix["reason"], "agent_hung_up")
        # What the phone said reached the customer, although its SDP named a private address:
        # the media leg latched on the packets' source.
        sent = sipphone.pcap_payloads(PCAP)
        self.assertGreaterEqual(sipphone.contiguous_slice([p for p in c.rx if p in set(sent)], sent), 50)

    def test_hold_resume_and_transfer_to_a_queue(self):
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer(payloads=sipphone.pcap_payloads(PCAP))  # alice answers where it comes from
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        pattern = lambda: sum(1 for p in c.rx if p[:4] == sipphone.PATTERN)
        self.eventually(lambda: pattern() > 10, what="alice heard")
        held = self.act("alice", ix["id"], "hold")
        self.assertTrue(held["on_hold"])
        self.act("alice", ix["id"], "hold", expect=409)
        time.sleep(0.3)
        before = len(c.rx)
        time.sleep(1.0)
        on_hold = c.rx[before:]
        self.assertGreaterEqual(len(on_hold), 30)
        self.assertEqual(sum(1 for p in on_hold if p[:4] == sipphone.PATTERN), 0, "music, not alice")
        self.assertGreater(nonsilent(on_hold), 20)
        self.assertFalse(self.act("alice", ix["id"], "resume")["on_hold"])
        n = pattern()
        self.eventually(lambda: pattern() > n + 10, what="alice heard again")
        # Blind transfer to billing: alice's phone is hung up, the caller waits with music.
        self.act("alice", ix["id"], "transfer", {"queue": self.queue("billing")["id"]})
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        moved = self.ix(ix["id"])
        self.assertEqual(moved["state"], "queued")
        self.assertEqual(moved["queue"], self.queue("billing")["id"])
        before = len(c.rx)
        self.eventually(lambda: nonsilent(c.rx[before:]) > 20, what="music again")
        self.assertFalse(c.bye_in)
        c.hangup()
        self.eventually(lambda: self.ix(ix["id"])["state"] == "abandoned", what="abandoned")

    def test_hang_up_through_the_api(self):
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer()
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        self.act("alice", ix["id"], "end")
        self.eventually(lambda: c.bye_in and alice.byes_in == 1, what="both legs got BYE")
        self.assertEqual(self.ix(ix["id"])["state"], "wrap_up")
        self.assertEqual(self.server.metric("homeline_voice_calls_live"), 0)

    def test_recording_per_queue_with_pause(self):
        support = self.queue("support")["id"]
        self.ok("PUT", f"{T}/queues/{support}/voice", {"record": True}, self.token("ada"))
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer(payloads=sipphone.pcap_payloads(PCAP))
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        time.sleep(1.0)
        self.assertTrue(self.act("alice", ix["id"], "recording/pause")["recording_paused"])
        self.act("alice", ix["id"], "recording/pause", expect=409)
        time.sleep(1.5)
        self.assertFalse(self.act("alice", ix["id"], "recording/resume")["recording_paused"])
        time.sleep(1.0)
        c.hangup()
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        tenant = self.ok("GET", T, token=self.token("ada"))["id"]
        path = os.path.join(self.server.data_dir, "recordings", str(tenant), f"{ix['id']}.wav")
        self.eventually(lambda: os.path.exists(path) and os.path.getsize(path) > 44, what=f"{path} written")
        import wave
        import struct as st
        time.sleep(0.5)  # the writer thread closes the file when the legs close
        with wave.open(path) as w:
            self.assertEqual((w.getnchannels(), w.getframerate(), w.getsampwidth()), (2, 8000, 2))
            frames = w.readframes(w.getnframes())
        samples = st.unpack(f"<{len(frames) // 2}h", frames)
        left, right = samples[0::2], samples[1::2]
        self.assertGreater(len(left), 8000 * 2.5, "about 3 s recorded")
        # Each half second: (customer energy, agent energy). The pause is written as silence.
        halves = [(sum(abs(x) for x in left[i:i + 4000]), sum(abs(x) for x in right[i:i + 4000]))
                  for i in range(0, len(left) - 4000, 2000)]
        self.assertTrue(any(l > 0 and r > 0 for l, r in halves), f"both channels heard: {halves}")
        self.assertTrue(any(l == 0 and r == 0 for l, r in halves), f"the pause is silent: {halves}")
        # The recordings API lists this call's recording, with its pause, ended with the call,
        # and serves exactly the file written.
        recs = self.eventually(
            lambda: [r for r in self.ok("GET", f"{T}/recordings?interaction={ix['id']}",
                                        token=self.token("sam")) if r["ended"] is not None],
            what="recording listed and ended")
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(len(recs[0]["paused"]), 1, recs)
        self.assertIsNotNone(recs[0]["paused"][0]["end"], recs)
        import urllib.request
        req = urllib.request.Request(self.server.base + f"{T}/recordings/{recs[0]['id']}/file",
                                     headers={"Authorization": "Bearer " + self.token("sam")})
        with urllib.request.urlopen(req, timeout=10) as r, open(path, "rb") as f:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), f.read())

    @unittest.skipUnless(shutil.which("baresip"), "baresip not installed")
    def test_baresip_registers_and_answers(self):
        """baresip, a real softphone, is bob's phone: it registers with digest, auto-answers
        and plays an 800 Hz tone, which the customer must hear through the bridge."""
        home = tempfile.mkdtemp(prefix="homeline-baresip-")
        self.addCleanup(shutil.rmtree, home, True)
        sipphone.write_tone_wav(os.path.join(home, "tone.wav"), 800)
        bs_port = free_sip_port()  # baresip listens on UDP and TCP
        rtp = 30000 + (os.getpid() % 300) * 100
        with open(os.path.join(home, "accounts"), "w") as f:
            f.write(f"<sip:bob@127.0.0.1:{self.sip_port};transport=udp>;auth_pass=demo;"
                    "answermode=auto;regint=600\n")
        with open(os.path.join(home, "config"), "w") as f:
            f.write("poll_method epoll\n"
                    f"sip_listen 127.0.0.1:{bs_port}\n"
                    "sip_trans_def udp\n"
                    "audio_player aubridge,nil\n"
                    f"audio_source aufile,{home}/tone.wav\n"
                    "audio_alert aufile,/dev/null\n"
                    "module_path /usr/lib/baresip/modules\n"
                    "module g711.so\nmodule aufile.so\nmodule aubridge.so\n"
                    "module_app account.so\nmodule_app menu.so\n"
                    f"rtp_ports {rtp}-{rtp + 99}\n")
        log = open(os.path.join(home, "baresip.log"), "wb")
        bs = subprocess.Popen(["baresip", "-f", home, "-t", "30"], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: bs.poll() is None and bs.kill())
        self.addCleanup(log.close)
        read_log = lambda: open(os.path.join(home, "baresip.log"), errors="replace").read()
        try:
            self.eventually(lambda: self.server.metric("homeline_sip_phones_registered") == 1,
                            timeout=20, what="baresip registered")
        except AssertionError:
            raise AssertionError(f"baresip did not register; its log:\n{read_log()[-3000:]}")
        self.available("bob")
        c = self.customer()
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             timeout=15, what="baresip answered")[0]
        self.assertEqual(ix["agent"], self.uid("bob"))
        before = len(c.rx)
        self.eventually(lambda: len(c.rx) - before >= 100, what="2 s of bridged audio")
        heard = c.rx[before:]
        self.assertGreater(sipphone.tone_power(heard, 800), 20 * sipphone.tone_power(heard, 1500),
                           "the customer hears baresip's 800 Hz tone")
        c.hangup()
        self.eventually(lambda: "terminated" in read_log(), what="baresip's call ended")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")


if __name__ == "__main__":
    unittest.main()
