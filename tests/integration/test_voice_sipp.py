"""Whole calls where SIPp (Debian sip-tester) plays both sides: the customer calling through the
trunk and the agents' phones (REGISTER with digest, auto-answer), as issue 3 asks: the whole
call (queued with music, rung, bridged, hung up, wrapped up), abandon while queued, hold and
resume, blind transfer to a queue and to an agent, a consultation (warm transfer), no
answer -> the next agent, and an outbound call (SIPp as the agent's phone and as the carrier).

SIPp keeps nothing of the RTP it receives, so what each SIPp hears is captured on the loopback
interface (rtpcap.Capture; it needs CAP_NET_RAW). Every SIPp plays its own tagged stream
(rtpcap.tagged_payloads: 4 bytes naming the speaker), so at each far end the test counts whom
it hears; music is what is neither silence nor anyone's tag. Homeline relays PCMA to PCMA
unchanged, so the tags survive the bridge."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from flows import T
import rtpcap
import sipphone
from voice_flows import SCENARIOS, VoiceFlowTest, nonsilent, udp_port_taken

CUST, ALICE, BOB = b"CUST", b"ALIC", b"BOBB"
TAGS = (CUST, ALICE, BOB)


def heard(packets, tag):
    return sum(1 for p in packets if p.payload[:4] == tag)


def ssrc_of(tag):
    return int.from_bytes(tag, "big")


def music(packets):
    """Packets that are audio but no party's stream: the prompts and music Homeline plays."""
    return nonsilent([p.payload for p in packets if p.payload[:4] not in TAGS])


class SippPeer:
    """One SIPp process: its SIP and media ports (what the capture watches) and its end."""

    def __init__(self, proc, sip_port, media_port):
        self.proc, self.sip_port, self.media_port = proc, sip_port, media_port


class VoiceSipp(VoiceFlowTest):
    def setUp(self):
        why = rtpcap.capture_available()
        if why:
            self.skipTest(why)
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="homeline-sipp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cap = rtpcap.Capture().start()
        self.addCleanup(self.cap.close)

    def _run(self, name, scenario, args, tag, pcap_name, seconds, port=None):
        """SIPp in a directory of its own holding the stream it plays (pcap_name)."""
        home = os.path.join(self.tmp, name)
        os.makedirs(home, exist_ok=True)
        if tag:
            rtpcap.write_rtp_pcap(os.path.join(home, pcap_name),
                                  rtpcap.tagged_payloads(tag, seconds * 50, sipphone.tone_packet(400)),
                                  ssrc=ssrc_of(tag))
        port, mport = port or sipphone.free_udp_port(), sipphone.free_udp_port()
        self.cap.watch(port, mport)
        proc = subprocess.Popen(
            ["sipp", "-i", "127.0.0.1", "-p", str(port), "-mp", str(mport), "-m", "1", "-nostdin",
             "-timeout", "40s", "-timeout_error", "-sf", os.path.join(SCENARIOS, scenario), *args],
            cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # A phone must be listening before Homeline rings it: an INVITE to a closed port fails
        # at once (ICMP), and the agent would count as not answering.
        self.eventually(lambda: proc.poll() is not None or (udp_port_taken(port) and udp_port_taken(mport)),
                        what=f"SIPp {name} listening")
        return SippPeer(proc, port, mport)

    def sipp_customer(self, scenario="customer_talks.xml", tag=CUST, args=(), seconds=30):
        return self._run(f"customer-{time.monotonic_ns()}", scenario,
                         [f"127.0.0.1:{self.sip_port}", "-s", "+15550100", *args], tag, "caller.pcap", seconds)

    def sipp_agent(self, login, tag, scenario="agent_talks.xml", args=(), seconds=30):
        """An agent's phone: registers with digest (a SIPp run of its own), then waits for the
        call on the same port."""
        port = sipphone.free_udp_port()
        r = subprocess.run(["sipp", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin",
                            "-timeout", "20s", "-timeout_error", f"127.0.0.1:{self.sip_port}",
                            "-sf", os.path.join(SCENARIOS, "register.xml"),
                            "-s", login, "-au", login, "-ap", "demo"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"SIPp registers {login}: {r.stdout[-2000:]}")
        return self._run(login, scenario, ["-s", login, *args], tag, "agent.pcap", seconds, port=port)

    def done(self, peer, what, timeout=40):
        out, _ = peer.proc.communicate(timeout=timeout)
        self.assertEqual(peer.proc.returncode, 0, f"{what}:\n{out.decode(errors='replace')[-3000:]}")

    def connected_to(self, login, timeout=20):
        try:
            return self.eventually(
                lambda: [i for i in self.voice_calls() if i["state"] == "connected"
                         and i["agent"] == self.uid(login)],
                timeout=timeout, what=f"a call connected to {login}")[0]
        except AssertionError as e:
            raise AssertionError(f"{e}\ncalls: {self.voice_calls(live=False)}\n"
                                 f"agents: {self.ok('GET', f'{T}/agents', token=self.token('sam'))}\n"
                                 f"server log: {self.server.read_log()[-3000:]}")

    def hears(self, peer, tag, n=25, since=0.0, timeout=10, what=None):
        self.eventually(lambda: heard(self.cap.rtp_to(peer.media_port, since), tag) >= n, timeout=timeout,
                        what=what or f"{tag} heard at {peer.media_port}")

    def cdr(self, ix_id):
        def find():
            calls = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"]
            done = [c for c in calls if c["interaction"] == ix_id and all(l["ended"] for l in c["legs"])]
            return done[0] if done else None
        return self.eventually(find, what=f"the CDR of {ix_id}")

    def invites_to(self, peer):
        """The calls (Call-IDs) that rang this phone."""
        return rtpcap.call_ids(self.cap.sip_to(peer.sip_port, "INVITE"))

    # ---- the whole call ------------------------------------------------------------------------

    def test_queued_with_music_then_rung_bridged_hung_up_wrapped_up(self):
        """Nobody free: the customer (SIPp) waits with music; alice's phone (SIPp) registers, she
        becomes available, her phone rings and answers, both hear each other; the customer hangs
        up, alice's phone gets BYE, she wraps up with a disposition."""
        cust = self.sipp_customer("customer_talks_bye.xml", args=("-d", "8000"))
        ix = self.eventually(lambda: self.voice_calls(), what="the call queued")[0]
        self.assertEqual(ix["state"], "queued")
        self.eventually(lambda: music(self.cap.rtp_to(cust.media_port)) >= 50, what="1 s of greeting and music")
        alice = self.sipp_agent("alice", ALICE)
        self.assertEqual(self.invites_to(alice), [])
        self.available("alice")
        got = self.connected_to("alice")
        self.assertEqual(got["id"], ix["id"])
        self.hears(cust, ALICE, what="the customer hears alice")
        self.hears(alice, CUST, what="alice hears the customer")
        self.done(cust, "the customer: answered, 8 s, BYE")
        self.done(alice, "alice's phone: rung, answered, BYE")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "customer_hung_up")
        self.assertEqual(self.agent_view("alice")["activity"], "wrap_up")
        # Bridged: nothing but alice's stream reached the customer once she talked.
        t_alice = min(p.t for p in self.cap.rtp_to(cust.media_port) if p.payload[:4] == ALICE)
        after = self.cap.rtp_to(cust.media_port, t_alice)
        self.assertEqual(heard(after, ALICE), len(after), "alice only once bridged")
        self.act("alice", ix["id"], "wrapup", {"disposition": "resolved"})
        self.assertEqual(self.ix(ix["id"])["state"], "completed")
        self.assertEqual(self.agent_view("alice")["activity"], "available")
        call = self.cdr(ix["id"])
        self.assertEqual([(l["role"], l["result"], l["hung_up_by"]) for l in call["legs"]],
                         [("customer", "answered", "customer"), ("agent", "answered", "customer")], call)

    # ---- abandon while queued ------------------------------------------------------------------

    def test_abandon_while_queued(self):
        """alice (SIPp) talks to a first customer (SIPp); a second customer (SIPp) waits in line,
        hears the greeting, and hangs up: abandoned, and alice's phone never rings for it."""
        alice = self.sipp_agent("alice", ALICE)
        self.available("alice")
        first = self.sipp_customer()
        ix1 = self.connected_to("alice")
        second = self.sipp_customer("customer.xml", tag=None, args=("-d", "2500"))
        ix2 = self.eventually(lambda: [i for i in self.voice_calls() if i["id"] != ix1["id"]],
                              what="the second call queued")[0]
        self.assertEqual((ix2["state"], ix2["queue"]), ("queued", self.queue("support")["id"]))
        self.eventually(lambda: self.stats("support")["waiting"] == 1, what="one waiting")
        # What the waiting caller hears is Homeline's prompt (nobody's stream), from the answer.
        self.eventually(lambda: music(self.cap.rtp_to(second.media_port)) >= 25, what="greeting heard")
        self.done(second, "the second customer: answered, 2.5 s, BYE, 200")
        self.eventually(lambda: self.ix(ix2["id"])["state"] == "abandoned", what="abandoned")
        self.eventually(lambda: (self.stats("support")["abandoned"], self.stats("support")["waiting"]) == (1, 0),
                        what="one abandoned, none waiting")
        self.assertEqual(heard(self.cap.rtp_to(second.media_port), ALICE), 0)
        # Only the first call rang alice's phone; she still talks to the first customer.
        self.assertEqual(len(self.invites_to(alice)), 1, self.invites_to(alice))
        self.assertEqual(self.ix(ix1["id"])["state"], "connected")
        since = time.time()
        self.hears(first, ALICE, since=since, what="the first customer still hears alice")
        call = self.cdr(ix2["id"])
        self.assertEqual((call["result"], call["hung_up_by"]), ("abandoned", "customer"), call)
        self.assertEqual([(l["role"], l["result"]) for l in call["legs"]], [("customer", "abandoned")], call)
        self.act("alice", ix1["id"], "end")
        self.done(alice, "alice's phone: answered, BYE")
        self.done(first, "the first customer: BYE")
        self.assertEqual(self.ix(ix1["id"])["state"], "wrap_up")
        self.eventually(lambda: self.stats("support")["answered"] == 1, what="one answered")

    # ---- hold ----------------------------------------------------------------------------------

    def test_hold_and_resume(self):
        """On hold the customer hears music (Homeline's own stream, not alice's) and alice hears
        nothing of the customer; on resume both hear each other again."""
        alice = self.sipp_agent("alice", ALICE)
        self.available("alice")
        cust = self.sipp_customer()
        ix = self.connected_to("alice")
        self.hears(cust, ALICE, what="the customer hears alice")
        self.hears(alice, CUST, what="alice hears the customer")
        t_hold = time.time()
        self.assertTrue(self.act("alice", ix["id"], "hold")["on_hold"])
        self.act("alice", ix["id"], "hold", expect=409)
        # The switch: the first packet the customer gets that is not alice's (the API answers
        # before the media thread acts, and a loaded machine may lag).
        first = lambda since, pred: next((p.t for p in self.cap.rtp_to(cust.media_port, since) if pred(p)), None)
        t_music = self.eventually(lambda: first(t_hold, lambda p: p.payload[:4] != ALICE), what="music starts")
        self.eventually(lambda: time.time() >= t_music + 2.0, timeout=5, what="2 s on hold")
        t_resume = time.time()
        self.assertFalse(self.act("alice", ix["id"], "resume")["on_hold"])
        t_back = self.eventually(lambda: first(t_resume, lambda p: p.payload[:4] == ALICE), what="alice again")
        self.hears(cust, ALICE, since=t_resume, what="the customer hears alice again")
        self.hears(alice, CUST, since=t_resume, what="alice hears the customer again")
        to_cust = [p for p in self.cap.rtp_to(cust.media_port) if t_music <= p.t < t_resume]
        to_alice = [p for p in self.cap.rtp_to(alice.media_port) if t_music + 0.1 <= p.t < t_resume]
        # 100 packets in 2 s; an ASan build on a loaded machine may send fewer.
        self.assertGreaterEqual(len(to_cust), 25, "the customer gets a stream while held")
        self.assertEqual(heard(to_cust, ALICE), 0, "music, not alice")
        self.assertGreaterEqual(music(to_cust), 20, "music, not silence")
        self.assertNotIn(ssrc_of(ALICE), {p.ssrc for p in to_cust}, "Homeline's own stream")
        self.assertEqual(heard(to_alice, CUST), 0, "alice hears nothing of the customer")
        self.assertEqual(music(to_alice), 0, "nor the music")
        # Every packet the customer got came from the one port of its leg, and in the talk
        # before the hold and after the resume it was alice's stream, relayed as she sent it.
        everything = self.cap.rtp_to(cust.media_port)
        self.assertEqual(len({p.sport for p in everything}), 1, "one media port for the customer")
        relayed = [p for p in everything if p.payload[:4] == ALICE]
        self.assertEqual({p.ssrc for p in relayed}, {ssrc_of(ALICE)})
        self.assertTrue(any(p.t < t_hold for p in relayed) and any(p.t > t_resume for p in relayed))
        after = [p for p in everything if p.t >= t_back]
        self.assertEqual(heard(after, ALICE), len(after), "alice only after the resume")
        self.act("alice", ix["id"], "end")
        self.done(alice, "alice's phone: answered, BYE")
        self.done(cust, "the customer: BYE")
        self.assertEqual(self.ix(ix["id"])["state"], "wrap_up")
        call = self.cdr(ix["id"])
        self.assertEqual([(l["role"], l["result"]) for l in call["legs"]],
                         [("customer", "answered"), ("agent", "answered")], call)

    # ---- blind transfers ------------------------------------------------------------------------

    def transferred_to_bob(self, body, directed):
        alice = self.sipp_agent("alice", ALICE)
        self.available("alice")
        cust = self.sipp_customer()
        ix = self.connected_to("alice")
        self.hears(cust, ALICE, what="the customer hears alice")
        bob = self.sipp_agent("bob", BOB)
        self.available("bob")
        self.assertEqual(self.invites_to(bob), [], "bob's phone rings only for the transfer")
        out = self.act("alice", ix["id"], "transfer", body)
        if directed:  # a new interaction offered to bob alone; alice's goes to wrap-up
            self.assertEqual((out["state"], out["reason"]), ("wrap_up", "transferred"))
            nxt = out["continued_as"]
            self.assertEqual(nxt["directed_to"], self.uid("bob"))
        else:  # the same interaction, back in line in the other queue
            self.assertEqual(out["queue"], body["queue"])
            nxt = out
        # alice's phone gets its BYE and alice wraps up; bob's phone rings and is bridged.
        self.done(alice, "alice's phone: answered, BYE at the transfer")
        # To an agent alice's part of the call ends (wrap-up, decision 49); to a queue the same
        # interaction moves and alice is free at once (the engine's transfer of any channel).
        self.assertEqual(self.agent_view("alice")["activity"], "wrap_up" if directed else "available")
        got = self.connected_to("bob")
        self.assertEqual(got["id"], nxt["id"])
        self.assertEqual(len(self.invites_to(bob)), 1)
        self.hears(cust, BOB, what="the customer hears bob")
        self.hears(bob, CUST, what="bob hears the customer")
        t_bob = min(p.t for p in self.cap.rtp_to(cust.media_port) if p.payload[:4] == BOB)
        self.assertEqual(heard(self.cap.rtp_to(cust.media_port, t_bob), ALICE), 0, "no more alice")
        t_bye = min(p.t for p in self.cap.sip_packets_to(alice.sip_port, "BYE"))
        self.assertGreater(t_bob, t_bye, "bob's stream after alice's BYE")
        self.assertEqual(heard(self.cap.rtp_to(bob.media_port), ALICE), 0)
        self.act("bob", nxt["id"], "end")
        self.done(bob, "bob's phone: answered, BYE")
        self.done(cust, "the customer: BYE")
        self.assertEqual(self.ix(nxt["id"])["state"], "wrap_up")
        call = self.cdr(ix["id"])  # one call: the customer's leg, alice's, then bob's
        self.assertEqual([(l["role"], l["agent"], l["result"]) for l in call["legs"]],
                         [("customer", 0, "answered"), ("agent", self.uid("alice"), "answered"),
                          ("agent", self.uid("bob"), "answered")], call)
        return ix, nxt, cust

    def test_blind_transfer_to_a_queue(self):
        """To billing, where bob (SIPp, the one logged in with the skill) is free: his phone
        rings and is bridged with the customer."""
        billing = self.queue("billing")["id"]
        ix, nxt, cust = self.transferred_to_bob({"queue": billing}, directed=False)
        self.assertEqual(self.ix(nxt["id"])["queue"], billing)

    def test_blind_transfer_to_an_agent(self):
        ix, nxt, cust = self.transferred_to_bob({"agent": self.uid("bob")}, directed=True)
        self.assertEqual(nxt["origin"], ix["id"])
        self.assertEqual(nxt["enqueued_at"], ix["enqueued_at"])

    def test_consultation_then_complete(self):
        """Warm transfer: alice consults bob (both SIPp): the customer hears music and neither
        agent, alice and bob hear each other; completed, alice's phone gets BYE and the
        customer and bob talk."""
        alice = self.sipp_agent("alice", ALICE)
        self.available("alice")
        cust = self.sipp_customer()
        ix = self.connected_to("alice")
        self.hears(cust, ALICE, what="the customer hears alice")
        bob = self.sipp_agent("bob", BOB)
        self.available("bob")
        t_consult = time.time()
        k = self.act("alice", ix["id"], "consult", {"agent": self.uid("bob")}, expect=201)
        self.eventually(lambda: self.ix(k["id"])["state"] == "connected", what="bob answered")
        self.hears(alice, BOB, what="alice hears bob")
        self.hears(bob, ALICE, what="bob hears alice")
        # The customer is on hold meanwhile: from the switch (its first packet not alice's), music
        # only, and bob hears nothing of the customer.
        t_switch = next(p.t for p in self.cap.rtp_to(cust.media_port, t_consult) if p.payload[:4] != ALICE)
        self.eventually(lambda: music(self.cap.rtp_to(cust.media_port, t_switch)) >= 50, what="1 s of music")
        t_complete = time.time()
        out = self.act("alice", ix["id"], "consult/complete")
        self.assertEqual((out["state"], out["reason"]), ("wrap_up", "transferred"))
        consult = self.cap.rtp_to(cust.media_port, t_switch)
        consult = [p for p in consult if p.t < t_complete]
        self.assertEqual(heard(consult, ALICE) + heard(consult, BOB), 0, "music only")
        self.assertEqual(heard([p for p in self.cap.rtp_to(bob.media_port) if p.t < t_complete], CUST), 0)
        self.done(alice, "alice's phone: answered, BYE at the completion")
        self.hears(cust, BOB, what="the customer hears bob")
        self.hears(bob, CUST, what="bob hears the customer")
        self.act("bob", k["id"], "end")
        self.done(bob, "bob's phone: answered, BYE")
        self.done(cust, "the customer: BYE")
        call = self.cdr(ix["id"])
        self.assertEqual([(l["role"], l["result"]) for l in call["legs"]],
                         [("customer", "answered"), ("agent", "answered"), ("transfer", "answered")], call)

    # ---- no answer -----------------------------------------------------------------------------

    def test_no_answer_goes_to_the_next_agent(self):
        """alice's phone rings out (CANCEL at the offer timeout, 487); the call keeps its place
        and bob's phone answers. With max_missed_offers 1 alice goes to missed."""
        self.ok("PATCH", T, {"settings": {"max_missed_offers": 1}}, self.token("ada"))
        self.patch_queue("support", offer_timeout_s=2)
        alice = self.sipp_agent("alice", None, "agent_noanswer.xml")
        self.available("alice")
        cust = self.sipp_customer()
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "offered"],
                             what="offered to alice")[0]
        self.assertEqual(ix["agent"], self.uid("alice"))
        # alice's offer keeps its 2 s; bob's (made later) gets time to answer on a loaded machine.
        self.patch_queue("support", offer_timeout_s=20)
        bob = self.sipp_agent("bob", BOB)
        self.available("bob")
        self.done(alice, "alice's phone: INVITE, 180, CANCEL, 487, ACK")
        got = self.connected_to("bob")
        self.assertEqual((got["id"], got["enqueued_at"]), (ix["id"], ix["enqueued_at"]))
        self.assertEqual(self.agent_view("alice")["activity"], "missed")
        self.hears(cust, BOB, what="the customer hears bob")
        self.hears(bob, CUST, what="bob hears the customer")
        self.act("bob", ix["id"], "end")
        self.done(bob, "bob's phone: answered, BYE")
        self.done(cust, "the customer: BYE")
        call = self.cdr(ix["id"])
        self.assertEqual([(l["role"], l["agent"], l["result"]) for l in call["legs"]],
                         [("customer", 0, "answered"), ("agent", self.uid("alice"), "no_answer"),
                          ("agent", self.uid("bob"), "answered")], call)

    # ---- outbound ------------------------------------------------------------------------------

    def test_outbound_call(self):
        """alice (SIPp) dials through the API: her phone rings first, then the carrier (SIPp,
        digest challenge, echoing what it hears) answers; alice hears the carrier's recording
        and her own stream back through it."""
        carrier = self._run("carrier", "carrier_auth.xml", ["-rtp_echo"], None, None, 0)
        trunk = self.ok("GET", f"{T}/trunks", token=self.token("ada"))[0]
        self.ok("PATCH", f"{T}/trunks/{trunk['id']}",
                {"outbound": {"host": "127.0.0.1", "port": carrier.sip_port, "transport": "udp",
                              "username": "acme", "password": "s3cret", "caller_id": "+15550100"}},
                self.token("ada"))
        alice = self.sipp_agent("alice", ALICE)
        self.presence("alice", "break", reason="lunch")  # not ready may still dial
        ix = self.ok("POST", f"{T}/calls", {"to": "+15550199", "queue": "support"}, self.token("alice"),
                     expect=201)
        self.assertEqual((ix["direction"], ix["agent"]), ("outbound", self.uid("alice")))
        self.hears(carrier, ALICE, what="the carrier hears alice")
        self.hears(alice, ALICE, what="alice's stream echoed back by the carrier")
        # The carrier's recording (the payloads it holds once), bit for bit and in order; a
        # packet may be lost on a loaded machine.
        sent = sipphone.pcap_payloads("/usr/share/sip-tester/g711a.pcap")
        once = {p: i for i, p in enumerate(sent) if sent.count(p) == 1}
        order = lambda: [once[p.payload] for p in self.cap.rtp_to(alice.media_port) if p.payload in once]
        self.eventually(lambda: len(order()) >= 50, what="alice hears the carrier's recording")
        self.assertEqual(order(), sorted(order()), "in order")
        first_invite = lambda peer: min(p.t for p in self.cap.sip_packets_to(peer.sip_port, "INVITE"))
        self.assertLess(first_invite(alice), first_invite(carrier), "alice's phone rang first")
        self.assertEqual(len(self.invites_to(alice)), 1)
        self.act("alice", ix["id"], "end")
        self.done(alice, "alice's phone: answered, BYE")
        self.done(carrier, "the carrier: 401, authenticated INVITE with the caller id, 200, BYE")
        self.assertEqual(self.ix(ix["id"])["state"], "wrap_up")


if __name__ == "__main__":
    unittest.main()
