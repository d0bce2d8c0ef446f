"""Calls to numbers through several trunks (docs/decisions.md 52): trunk failover in priority
order on a trunk's own failure (503, no response at all) and not on the number's answer
(486); the trunk's dial timeout and the queue's offer timeout for the agent's own phone;
trunk field validation. Consultations with an external number (decisions.md 58): complete,
cancel, busy, no answer, the number hanging up, bad input; media checked per phone (each
phone and the customer send their own pattern, the carrier echoes what it hears and plays
SIPp's recording). SIPp plays the carriers on free loopback ports, a bound UDP socket that
never answers plays a dead carrier. Real server, SIPp, stdlib phones."""
import os
import socket
import subprocess
import time
import unittest

from flows import T
import sipphone
from voice_flows import PCAP, SCENARIOS, VoiceFlowTest, nonsilent

ALICE, CUST = b"HLAL", b"HLCU"


def heard(payloads, tag):
    return sum(1 for p in payloads if p[:4] == tag)


class DialFlowTest(VoiceFlowTest):
    """Carriers and trunks for the tests of calls to numbers."""

    def carrier(self, scenario, timeout=30):
        """SIPp as a carrier (a UAS on a free port, echoing what it hears); returns (proc, port)."""
        port, mport = sipphone.free_udp_port(), sipphone.free_udp_port()
        proc = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SCENARIOS, scenario), "-i", "127.0.0.1", "-p", str(port),
             "-mp", str(mport), "-rtp_echo", "-m", "1", "-nostdin", "-timeout", f"{timeout}s",
             "-timeout_error"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc, port

    def dead_carrier(self):
        """A UDP port that takes packets and never answers; returns (socket, port)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        self.addCleanup(s.close)
        return s, s.getsockname()[1]

    @staticmethod
    def received(sock):
        out = []
        while True:
            try:
                out.append(sock.recv(65535).decode(errors="replace").split("\r\n", 1)[0])
            except BlockingIOError:
                return out

    def demo_trunk(self):
        return self.ok("GET", f"{T}/trunks", token=self.token("ada"))[0]["id"]

    def outbound(self, trunk, port, **extra):
        """Points a trunk's outbound side at 127.0.0.1:port (the carrier's digest credentials:
        the ones carrier_auth.xml/carrier_407.xml check)."""
        out = {"host": "127.0.0.1", "port": port, "transport": "udp", "username": "acme",
               "password": "s3cret", "caller_id": "+15550100", **extra}
        return self.ok("PATCH", f"{T}/trunks/{trunk}", {"outbound": out}, self.token("ada"))

    def new_trunk(self, name, port, **extra):
        t = self.ok("POST", f"{T}/trunks", {"name": name}, self.token("ada"), expect=201)
        self.outbound(t["id"], port, **extra)
        return t["id"]

    def cdr_of(self, ix_id):
        def find():
            calls = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"]
            done = [c for c in calls if c["interaction"] == ix_id and all(l["ended"] for l in c["legs"])]
            return done[0] if done else None
        return self.eventually(find, timeout=15, what="CDR of the call")

    def dial(self, login, to="+15550199"):
        return self.ok("POST", f"{T}/calls", {"to": to, "queue": "support"}, self.token(login),
                       expect=201)


class VoiceDial(DialFlowTest):
    def test_outbound_fails_over_on_503_in_priority_order(self):
        # The demo trunk (lower id) has the higher priority number: the new trunk goes first.
        bad, bad_port = self.carrier("carrier_503.xml")
        good, good_port = self.carrier("carrier_answer.xml")
        demo = self.demo_trunk()
        self.outbound(demo, good_port, priority=10)
        first = self.new_trunk("cheap", bad_port, priority=1)
        alice = self.phone("alice", mode="hangup", talk_s=3.0)
        self.available("alice")
        ix = self.dial("alice")
        # The second carrier answers; alice hears its recording bit for bit.
        self.eventually(lambda: sipphone.contiguous_slice(alice.rx_payloads, sipphone.pcap_payloads(PCAP)) >= 50,
                        timeout=10, what="the second carrier's audio at alice's phone")
        for name, proc in (("503 carrier", bad), ("answering carrier", good)):
            rc, out = self.finished(proc)
            self.assertEqual(rc, 0, f"{name}\n{out}")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "agent_hung_up")
        call = self.cdr_of(ix["id"])
        legs = [(l["role"], l["trunk"], l["result"], l["cause"]) for l in call["legs"]]
        self.assertEqual(legs, [("customer", first, "failed", "503"),
                                ("agent", 0, "answered", "BYE"),
                                ("customer", demo, "answered", "BYE")], call)

    def test_transfer_to_number_fails_over_when_the_first_trunk_is_silent(self):
        dead, dead_port = self.dead_carrier()
        good, good_port = self.carrier("carrier_407.xml")
        demo = self.demo_trunk()
        self.outbound(demo, dead_port)  # priority 0, lowest id: first
        backup = self.new_trunk("backup", good_port)
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer()
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        t0 = time.time()
        self.act("alice", ix["id"], "transfer", {"number": "+15550199"})
        sent = sipphone.pcap_payloads(PCAP)
        before = len(c.rx)
        self.eventually(lambda: sipphone.contiguous_slice(c.rx[before:], sent) >= 50, timeout=15,
                        what="the backup carrier's audio at the customer")
        # No response for 4 s, then the next trunk (not libre's 32 s transaction timeout).
        self.assertLess(time.time() - t0, 9)
        self.assertTrue(any(l.startswith("INVITE sip:+15550199@") for l in self.received(dead)),
                        "the dead carrier got the INVITE first")
        c.hangup()
        rc, out = self.finished(good)
        self.assertEqual(rc, 0, out)
        call = self.cdr_of(ix["id"])
        legs = [(l["role"], l["trunk"], l["result"], l["cause"]) for l in call["legs"]]
        self.assertEqual(legs[2:], [("transfer", demo, "failed", "408"),
                                    ("transfer", backup, "answered", "BYE")], call)

    def test_busy_is_final_no_other_trunk(self):
        busy, busy_port = self.carrier("carrier_busy.xml")
        dead, dead_port = self.dead_carrier()
        self.outbound(self.demo_trunk(), busy_port)
        self.new_trunk("backup", dead_port)
        alice = self.phone("alice")
        self.available("alice")
        ix = self.dial("alice")
        rc, out = self.finished(busy)
        self.assertEqual(rc, 0, out)
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "customer_busy")
        time.sleep(0.5)
        self.assertEqual(self.received(dead), [], "a busy number is not tried on another trunk")
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"], l["cause"]) for l in call["legs"]],
                         [("customer", "busy", "486"), ("agent", "answered", "486")])

    def test_dial_timeout_and_agent_ring_timeout_are_configured(self):
        ringing, port = self.carrier("carrier_ring.xml")
        trunk = self.demo_trunk()
        view = self.outbound(trunk, port, dial_timeout_s=5)
        self.assertEqual((view["outbound"]["dial_timeout_s"], view["outbound"]["priority"]), (5, 0))
        alice = self.phone("alice")
        self.available("alice")
        t0 = time.time()
        ix = self.dial("alice")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", timeout=12, what="wrap-up")
        took = time.time() - t0
        self.assertEqual(self.ix(ix["id"])["reason"], "customer_no_answer")
        self.assertTrue(4.5 < took < 9, f"rang {took:.1f} s for a 5 s dial timeout")
        rc, out = self.finished(ringing)
        self.assertEqual(rc, 0, f"the carrier got our CANCEL\n{out}")
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"], l["cause"]) for l in call["legs"]][0],
                         ("customer", "no_answer", "487"))
        self.act("alice", ix["id"], "wrapup", {"disposition": "no_sale"})
        # The agent's own phone rings as long as the queue's offer timeout (3 s here, not 30).
        self.patch_queue("support", offer_timeout_s=3)
        bob = self.phone("bob", mode="ring")
        self.available("bob")
        t0 = time.time()
        ix = self.dial("bob")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", timeout=10, what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "agent_no_answer")
        self.assertLess(time.time() - t0, 7)
        self.eventually(lambda: bob.cancels == 1, what="bob's phone cancelled")

    def test_trunk_fields_validated(self):
        trunk = self.demo_trunk()
        for bad in ({"priority": -1}, {"priority": 1001}, {"priority": "1"}, {"dial_timeout_s": 4},
                    {"dial_timeout_s": 601}, {"dial_timeout_s": 7.5}, {"dial_timeout_s": 0},
                    {"dial_timeout_s": "60"}):
            self.ok("PATCH", f"{T}/trunks/{trunk}", {"outbound": bad}, self.token("ada"), expect=400)
        self.ok("PATCH", f"{T}/trunks/{trunk}", {"outbound": {"priority": 3}}, self.token("sam"), expect=403)
        got = self.ok("GET", f"{T}/trunks/{trunk}", token=self.token("ada"))["outbound"]
        self.assertEqual((got["priority"], got["dial_timeout_s"]), (0, 60))
        out = self.ok("PATCH", f"{T}/trunks/{trunk}", {"outbound": {"priority": 7, "dial_timeout_s": 600}},
                      self.token("ada"))["outbound"]
        self.assertEqual((out["priority"], out["dial_timeout_s"]), (7, 600))


class VoiceConsultNumber(DialFlowTest):
    def grows(self, fn, by=15, what="media", timeout=10):
        n = fn()
        self.eventually(lambda: fn() >= n + by, timeout=timeout, what=what)

    def call_to_alice(self):
        """alice's phone answers the customer's call; each hears the other's pattern."""
        alice = self.phone("alice", pattern=ALICE)
        self.available("alice")
        c = self.customer(payloads=[CUST + bytes(156)])
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             timeout=15, what="call connected")[0]
        self.grows(lambda: heard(c.rx, ALICE), what="the customer hears alice")
        self.grows(lambda: alice.rx_tags.get(CUST, 0), what="alice hears the customer")
        return alice, c, ix

    def consult(self, ix, expect=201, login="alice", number="+1 555 0199"):
        return self.act(login, ix["id"], "consult", {"number": number}, expect=expect)

    def consult_state(self, ix, state):
        return self.eventually(
            lambda: (k := self.ix(ix["id"]).get("consult_number")) and k["state"] == state and k,
            timeout=12, what=f"consultation {state}")

    def talking_to_carrier(self, alice, c):
        """alice talks to the carrier (her pattern comes back, its recording reaches her); the
        customer hears music only."""
        self.grows(lambda: alice.rx_pattern, what="alice's audio echoed by the carrier")
        self.eventually(lambda: sipphone.contiguous_slice(alice.rx_payloads, sipphone.pcap_payloads(PCAP)) >= 50,
                        what="the carrier's recording at alice's phone")
        before = len(c.rx)
        time.sleep(1.0)
        held = c.rx[before:]
        self.assertEqual(heard(held, ALICE) + heard(held, CUST), 0, "on hold: neither alice nor the carrier")
        self.assertGreater(nonsilent(held), 20, "music on hold")

    def back_with_alice(self, alice, c):
        self.grows(lambda: heard(c.rx, ALICE), what="the customer hears alice again")
        self.grows(lambda: alice.rx_tags.get(CUST, 0), what="alice hears the customer again")

    def test_consult_number_then_complete(self):
        carrier, port = self.carrier("carrier_answer.xml")
        trunk = self.demo_trunk()
        self.outbound(trunk, port)
        alice, c, ix = self.call_to_alice()
        desk = self.desk("alice")
        out = self.consult(ix)
        self.assertEqual(out["id"], ix["id"])  # no consultation interaction: the call itself
        self.assertEqual({k: out["consult_number"][k] for k in ("number", "trunk", "state", "result")},
                         {"number": "+15550199", "trunk": trunk, "state": "ringing", "result": None})
        self.consult_state(ix, "answered")
        desk.wait(lambda m: m.get("type") == "consult_number" and m["interaction"] == ix["id"]
                  and m["consult_number"]["state"] != "ringing")
        self.talking_to_carrier(alice, c)
        self.act("alice", ix["id"], "hold", expect=409)  # no hold games during a consultation
        self.consult(ix, expect=409)                      # one at a time
        done = self.act("alice", ix["id"], "consult/complete")
        self.assertEqual((done["state"], done["reason"]), ("wrap_up", "transferred"))
        self.assertEqual((done["consult_number"]["state"], done["consult_number"]["result"]), ("ended", "completed"))
        self.eventually(lambda: alice.byes_in == 1, what="alice's phone hung up")
        # The customer now talks to the carrier (whose 4.7 s recording has played out to alice
        # by now): the carrier echoes the customer's own audio back, and no more alice.
        self.grows(lambda: heard(c.rx, CUST), by=25, what="the customer's audio echoed by the carrier")
        n = heard(c.rx, ALICE)
        time.sleep(0.5)
        self.assertEqual(heard(c.rx, ALICE), n)
        c.hangup()
        rc, log = self.finished(carrier)
        self.assertEqual(rc, 0, f"the carrier gets the customer's BYE\n{log}")
        call = self.cdr_of(ix["id"])
        legs = [(l["role"], l["result"], l["cause"], l["trunk"], l["to"]) for l in call["legs"]]
        self.assertEqual([l[:2] for l in legs], [("customer", "answered"), ("agent", "answered"),
                                                  ("transfer", "answered")], call)
        self.assertEqual(legs[1][2], "transfer")
        self.assertEqual(legs[2][3:], (trunk, "+15550199"))
        self.act("alice", ix["id"], "wrapup", {"disposition": "sale"})

    def test_consult_number_then_cancel(self):
        carrier, port = self.carrier("carrier_answer.xml")
        self.outbound(self.demo_trunk(), port)
        alice, c, ix = self.call_to_alice()
        self.consult(ix)
        self.consult_state(ix, "answered")
        self.talking_to_carrier(alice, c)
        out = self.act("alice", ix["id"], "consult/cancel")
        self.assertEqual(out["state"], "connected")
        self.assertEqual((out["consult_number"]["state"], out["consult_number"]["result"]), ("ended", "cancelled"))
        rc, log = self.finished(carrier)
        self.assertEqual(rc, 0, f"the carrier gets our BYE\n{log}")
        self.back_with_alice(alice, c)
        echoed = alice.rx_pattern
        time.sleep(0.5)
        self.assertLessEqual(alice.rx_pattern, echoed + 2, "the carrier no longer echoes alice")
        self.assertFalse(self.ix(ix["id"])["on_hold"] if "on_hold" in self.ix(ix["id"]) else False)
        self.act("alice", ix["id"], "consult/cancel", expect=409)
        c.hangup()
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"]) for l in call["legs"]],
                         [("customer", "answered"), ("agent", "answered"), ("transfer", "answered")])
        self.assertEqual(call["legs"][2]["cause"], "cancelled")

    def test_consult_number_busy_no_answer_hang_up_return_to_the_customer(self):
        trunk = self.demo_trunk()
        alice, c, ix = self.call_to_alice()
        desk = self.desk("alice")
        cases = (("carrier_busy.xml", {}, "busy", 486),
                 ("carrier_ring.xml", {"dial_timeout_s": 5}, "no_answer", 487),
                 ("carrier_hangup.xml", {}, "hung_up", 0))
        for scenario, extra, result, status in cases:
            with self.subTest(result=result):
                carrier, port = self.carrier(scenario)
                self.outbound(trunk, port, **extra)
                mark = desk.mark()
                self.consult(ix)
                if result == "hung_up":
                    self.consult_state(ix, "answered")
                k = self.consult_state(ix, "ended")
                self.assertEqual((k["result"], k["status"]), (result, status))
                frame = desk.wait(lambda m: m.get("type") == "consult_number"
                                  and m["consult_number"]["state"] == "ended", since=mark, timeout=12)
                self.assertEqual(frame["consult_number"]["result"], result)
                rc, log = self.finished(carrier)
                self.assertEqual(rc, 0, log)
                self.assertEqual(self.ix(ix["id"])["state"], "connected")
                self.back_with_alice(alice, c)
        c.hangup()
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"], l["cause"]) for l in call["legs"]][2:],
                         [("transfer", "busy", "486"), ("transfer", "no_answer", "487"),
                          ("transfer", "answered", "BYE")], call)

    def test_consult_number_bad_input(self):
        alice, c, ix = self.call_to_alice()
        # No trunk with an outbound side yet: 409 (nothing dialled, the customer not on hold).
        self.consult(ix, expect=409)
        self.assertEqual(self.ix(ix["id"]).get("consult_number"), None)
        self.back_with_alice(alice, c)
        carrier, port = self.carrier("carrier_busy.xml")
        self.outbound(self.demo_trunk(), port)
        for body in ({"number": "555-0199"}, {"number": "12"}, {"number": 15550199},
                     {"number": "+15550199", "agent": self.uid("bob")},
                     {"number": "+15550199", "queue": self.queue("support")["id"]}, {"number": ""}):
            self.act("alice", ix["id"], "consult", body, expect=400)
        # Someone else than the call's agent: 403; another tenant's path: 404.
        self.presence("bob", "available")
        self.consult(ix, login="bob", expect=403)
        self.ok("POST", f"/api/v1/tenants/globex/interactions/{ix['id']}/consult", {"number": "+15550199"},
                self.token("carol"), expect=404)
        self.ok("POST", f"{T}/interactions/999999/consult", {"number": "+15550199"},
                self.token("alice"), expect=404)
        self.assertIsNone(self.ix(ix["id"]).get("consult_number"))
        self.assertEqual(carrier.poll(), None, "nothing was dialled")


if __name__ == "__main__":
    unittest.main()
