"""Call transfers with real peers (docs/decisions.md 49): blind transfer to an agent (answered;
unanswered: back in line and offered to another) and consultations (complete, cancel, the
consultee not answering). Media is checked, not assumed: every phone sends its own pattern
(sipphone.Phone pattern=...), so who hears whom is counted at each far end; the customer sends
the G.711 recording SIPp ships. Bad input to the routes. Real server, stdlib phones."""
import time
import unittest

from flows import T
import sipphone
from voice_flows import PCAP, VoiceFlowTest, nonsilent

ALICE, BOB, SAM = b"HLAL", b"HLBO", b"HLSA"


def heard(payloads, tag):
    return sum(1 for p in payloads if p[:4] == tag)


class VoiceTransfer(VoiceFlowTest):
    def agent_phone(self, login, tag, mode="answer"):
        return self.phone(login, mode=mode, pattern=tag)

    def connected_to(self, login, exclude=()):
        return self.eventually(
            lambda: [i for i in self.voice_calls() if i["state"] == "connected"
                     and i["agent"] == self.uid(login) and i["id"] not in exclude],
            timeout=15, what=f"a call connected to {login}")[0]

    def grows(self, fn, by=15, what="media", timeout=10):
        n = fn()
        self.eventually(lambda: fn() >= n + by, timeout=timeout, what=what)

    def call_to_alice(self):
        """alice's phone answers the customer's call; both hear each other."""
        alice = self.agent_phone("alice", ALICE)
        self.available("alice")
        c = self.customer(payloads=sipphone.pcap_payloads(PCAP))
        ix = self.connected_to("alice")
        self.grows(lambda: heard(c.rx, ALICE), what="the customer hears alice")
        return alice, c, ix

    # ---- blind transfer to an agent ------------------------------------------------------------

    def test_blind_to_agent_answered(self):
        alice, c, ix = self.call_to_alice()
        bob = self.agent_phone("bob", BOB)
        self.available("bob")
        out = self.act("alice", ix["id"], "transfer", {"agent": self.uid("bob")})
        # alice wraps up at once; the call continues as a new interaction offered to bob alone.
        self.assertEqual(out["state"], "wrap_up")
        self.assertEqual(out["reason"], "transferred")
        nxt = out["continued_as"]
        self.assertEqual(nxt["origin"], ix["id"])
        self.assertEqual(nxt["directed_to"], self.uid("bob"))
        self.assertEqual(nxt["enqueued_at"], ix["enqueued_at"])
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        self.assertEqual(self.agent_view("alice")["activity"], "wrap_up")
        got = self.connected_to("bob")
        self.assertEqual(got["id"], nxt["id"])
        # Media both ways between the customer and bob, and no more alice.
        self.grows(lambda: heard(c.rx, BOB), what="the customer hears bob")
        self.grows(lambda: len(bob.rx_payloads), what="bob hears the customer")
        self.assertGreater(nonsilent(bob.rx_payloads[-20:]), 10, "the customer's recording, not silence")
        n = heard(c.rx, ALICE)
        time.sleep(0.5)
        self.assertEqual(heard(c.rx, ALICE), n)
        self.assertEqual(bob.rx_tags.get(ALICE, 0), 0)
        c.hangup()
        self.eventually(lambda: bob.byes_in == 1, what="bob's phone hung up")
        self.assertEqual(self.ix(nxt["id"])["state"], "wrap_up")
        # The call detail record: one call, alice's leg then bob's.
        call = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"][0]
        legs = [(l["role"], l["agent"], l["result"]) for l in call["legs"]]
        self.assertEqual(legs, [("customer", 0, "answered"), ("agent", self.uid("alice"), "answered"),
                                ("agent", self.uid("bob"), "answered")], call)

    def test_blind_to_agent_no_answer_goes_back_in_line_and_to_another(self):
        self.patch_queue("support", offer_timeout_s=2)
        alice, c, ix = self.call_to_alice()
        bob = self.agent_phone("bob", BOB, mode="ring")
        self.available("bob")
        sam = self.agent_phone("sam", SAM)  # a supervisor takes calls too (carol lacks the skill)
        self.available("sam")  # free too: the directed offer goes to bob all the same
        nxt = self.act("alice", ix["id"], "transfer", {"agent": self.uid("bob")})["continued_as"]
        self.eventually(lambda: bob.invites == 1, what="bob's phone rings")
        self.assertEqual(sam.invites, 0)
        # Rang out: CANCEL to bob, back in line with its place, offered to sam (alice wraps up).
        got = self.connected_to("sam")
        self.assertEqual(got["id"], nxt["id"])
        self.assertEqual(got["enqueued_at"], ix["enqueued_at"])
        self.eventually(lambda: bob.cancels == 1, what="bob's ring cancelled")
        self.grows(lambda: heard(c.rx, SAM), what="the customer hears sam")
        self.grows(lambda: len(sam.rx_payloads), what="sam hears the customer")
        self.assertEqual(self.agent_view("bob")["activity"], "available")
        c.hangup()

    # ---- consultations -------------------------------------------------------------------------

    def consult_bob(self, c, ix, mode="answer"):
        bob = self.agent_phone("bob", BOB, mode=mode)
        self.available("bob")
        k = self.act("alice", ix["id"], "consult", {"agent": self.uid("bob")}, expect=201)
        self.assertTrue(k["consult"])
        self.assertEqual(k["origin"], ix["id"])
        return bob, k

    def test_consult_agent_then_complete(self):
        alice, c, ix = self.call_to_alice()
        bob, k = self.consult_bob(c, ix)
        self.eventually(lambda: self.ix(k["id"])["state"] == "connected", what="bob answered")
        # alice and bob talk; the customer hears music, neither agent.
        self.grows(lambda: alice.rx_tags.get(BOB, 0), what="alice hears bob")
        self.grows(lambda: bob.rx_tags.get(ALICE, 0), what="bob hears alice")
        before = len(c.rx)
        time.sleep(1.0)
        held = c.rx[before:]
        self.assertEqual(heard(held, ALICE) + heard(held, BOB), 0, "the customer hears music only")
        self.assertGreater(nonsilent(held), 20)
        self.act("alice", ix["id"], "hold", expect=409)  # no hold games during a consultation
        out = self.act("alice", ix["id"], "consult/complete")
        self.assertEqual(out["state"], "wrap_up")
        self.assertEqual(out["reason"], "transferred")
        self.assertEqual(out["continued_as"]["id"], k["id"])
        self.assertFalse(out["continued_as"]["consult"])
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        self.grows(lambda: heard(c.rx, BOB), what="the customer hears bob")
        self.grows(lambda: len(bob.rx_payloads), what="bob hears the customer")
        self.assertEqual(self.ix(k["id"])["agent"], self.uid("bob"))
        c.hangup()
        self.eventually(lambda: bob.byes_in == 1, what="bob's phone hung up")
        self.eventually(lambda: self.ix(k["id"])["state"] == "wrap_up", what="bob wraps up")
        legs = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"][0]["legs"]
        self.assertEqual([(l["role"], l["result"]) for l in legs],
                         [("customer", "answered"), ("agent", "answered"), ("transfer", "answered")])

    def test_consult_a_queue_then_complete(self):
        """To a queue: the consultation waits in billing with the call's place and rings the
        agent routing picks (bob, the one logged in with the skill)."""
        alice, c, ix = self.call_to_alice()
        bob = self.agent_phone("bob", BOB)
        self.available("bob")
        k = self.act("alice", ix["id"], "consult", {"queue": self.queue("billing")["id"]}, expect=201)
        self.assertEqual((k["queue"], k["consult"], k["directed_to"]), (self.queue("billing")["id"], True, 0))
        self.assertEqual(k["enqueued_at"], ix["enqueued_at"])
        self.eventually(lambda: self.ix(k["id"])["state"] == "connected", what="bob answered")
        self.assertEqual(self.ix(k["id"])["agent"], self.uid("bob"))
        self.grows(lambda: alice.rx_tags.get(BOB, 0), what="alice hears bob")
        self.act("alice", ix["id"], "consult/complete")
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        self.grows(lambda: heard(c.rx, BOB), what="the customer hears bob")
        self.grows(lambda: len(bob.rx_payloads), what="bob hears the customer")
        c.hangup()

    def test_consult_then_cancel_back_to_the_customer(self):
        alice, c, ix = self.call_to_alice()
        bob, k = self.consult_bob(c, ix)
        self.grows(lambda: bob.rx_tags.get(ALICE, 0), what="bob hears alice")
        self.act("alice", ix["id"], "consult", {"agent": self.uid("carol")}, expect=409)  # one at a time
        self.act("alice", ix["id"], "consult/cancel")
        self.eventually(lambda: bob.byes_in == 1, what="bob's phone hung up")
        gone = self.ix(k["id"])
        self.assertEqual((gone["state"], gone["reason"]), ("closed", "cancelled"))
        self.grows(lambda: heard(c.rx, ALICE), what="the customer hears alice again")
        self.grows(lambda: len(alice.rx_payloads), what="alice hears the customer again")
        self.assertEqual(self.ix(ix["id"])["state"], "connected")
        self.assertEqual(self.agent_view("bob")["activity"], "available")  # no wrap-up
        self.act("alice", ix["id"], "consult/cancel", expect=409)
        c.hangup()

    def test_consultee_does_not_answer(self):
        self.patch_queue("support", offer_timeout_s=2)
        alice, c, ix = self.call_to_alice()
        bob, k = self.consult_bob(c, ix, mode="ring")
        self.eventually(lambda: bob.invites == 1, what="bob's phone rings")
        self.eventually(lambda: self.ix(k["id"])["state"] == "closed", timeout=10, what="consultation closed")
        self.assertEqual(self.ix(k["id"])["reason"], "consult_failed")
        self.eventually(lambda: bob.cancels == 1, what="bob's ring cancelled")
        self.grows(lambda: heard(c.rx, ALICE), what="the customer hears alice again")
        self.assertEqual(self.ix(ix["id"])["state"], "connected")
        c.hangup()

    # ---- bad input -----------------------------------------------------------------------------

    def test_bad_input(self):
        alice, c, ix = self.call_to_alice()
        self.phone("bob")
        self.available("bob")
        path = ix["id"]
        self.ok("POST", "/api/v1/tenants", {"slug": "initech", "name": "Initech"}, self.token("ada"))
        ian = self.ok("POST", "/api/v1/tenants/initech/users",
                      {"login": "ian", "password": "secret1", "role": "agent"}, self.token("ada"))
        for verb in ("transfer", "consult"):
            self.act("alice", path, verb, {"agent": ian["id"]}, expect=404)  # another tenant's
            self.act("alice", path, verb, {"agent": 99999999}, expect=404)
            self.act("alice", path, verb, {"agent": "bob"}, expect=400)
            self.act("alice", path, verb, {"agent": self.uid("bob"), "queue": 1}, expect=400)
            self.act("alice", path, verb, {}, expect=400)
            self.act("alice", path, verb, {"agent": self.uid("bob"), "x": 1}, expect=400)
            self.act("bob", path, verb, {"agent": self.uid("bob")}, expect=403)  # not bob's call
            self.act("alice", path, verb, {"agent": self.uid("alice")}, expect=409)
            self.act("alice", path, verb, {"agent": self.uid("carol")}, expect=409)  # not logged in
        self.act("alice", path, "consult/complete", expect=409)  # no consultation
        self.act("alice", path, "consult/cancel", {"x": 1}, expect=400)
        self.assertEqual(self.ix(path)["state"], "connected")  # nothing changed
        self.grows(lambda: heard(c.rx, ALICE), what="still talking")
        c.hangup()


if __name__ == "__main__":
    unittest.main()
