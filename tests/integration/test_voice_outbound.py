"""Outbound calls and calls to numbers (issue 3 item 5): an agent dials a number through the
API; Homeline rings the agent's registered phone, then calls the number through the tenant's
trunk (SIPp plays the carrier on a free loopback port: a 407 challenge answered with the
trunk's digest credentials, the caller id in From and P-Asserted-Identity), bridges, records
and writes CDR legs; a busy number ends the agent's leg and the agent wraps up "no answer";
blind transfer of an inbound call to a number; bad input. Real server, SIPp, stdlib phones."""
import os
import subprocess
import time
import unittest
import wave

from flows import T
import sipphone
from voice_flows import PCAP, SCENARIOS, VoiceFlowTest

NUMBER = "+1 555 0199"  # as an agent types it; E.164 +15550199


class VoiceOutbound(VoiceFlowTest):
    def carrier(self, scenario, user="acme", password="s3cret"):
        """SIPp as the carrier (a UAS on a free port); the demo trunk's outbound side points at
        it, with digest credentials."""
        port, mport = sipphone.free_udp_port(), sipphone.free_udp_port()
        proc = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SCENARIOS, scenario), "-i", "127.0.0.1", "-p", str(port),
             "-mp", str(mport), "-rtp_echo", "-m", "1", "-nostdin", "-timeout", "30s",
             "-timeout_error"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        trunk = self.ok("GET", f"{T}/trunks", token=self.token("ada"))[0]
        self.ok("PATCH", f"{T}/trunks/{trunk['id']}",
                {"outbound": {"host": "127.0.0.1", "port": port, "transport": "udp",
                              "username": user, "password": password, "caller_id": "+15550100"}},
                self.token("ada"))
        self.trunk_id = trunk["id"]
        return proc

    def dial(self, login, body, expect=201):
        return self.ok("POST", f"{T}/calls", body, self.token(login), expect=expect)

    def cdr_of(self, ix_id):
        def find():
            calls = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"]
            done = [c for c in calls if c["interaction"] == ix_id and all(l["ended"] for l in c["legs"])]
            return done[0] if done else None
        return self.eventually(find, what="CDR of the call")

    def test_outbound_call_challenged_bridged_recorded_wrapped_up(self):
        support = self.queue("support")["id"]
        self.ok("PUT", f"{T}/queues/{support}/voice", {"record": True}, self.token("ada"))
        carrier = self.carrier("carrier_auth.xml")
        alice = self.phone("alice", mode="hangup", talk_s=4.0)
        self.presence("alice", "break", reason="lunch")  # not ready may still dial
        ix = self.dial("alice", {"to": NUMBER, "queue": "support"})
        self.assertEqual((ix["channel"], ix["direction"], ix["state"], ix["agent"], ix["queue"]),
                         ("voice", "outbound", "connected", self.uid("alice"), support))
        self.assertEqual(ix["customer"]["phone"], "+15550199")
        self.assertEqual(self.agent_view("alice")["activity"], "busy")
        # Alice's phone rang first and shows the number; it answers, hears the carrier's
        # recording bit for bit; the carrier echoes her pattern back.
        self.eventually(lambda: alice.answered == 1, what="alice's phone answered")
        self.eventually(lambda: sipphone.contiguous_slice(alice.rx_payloads, sipphone.pcap_payloads(PCAP)) >= 75,
                        timeout=10, what="the carrier's audio at alice's phone")
        self.assertGreaterEqual(alice.rx_pattern, 25, "alice's audio came back through the carrier")
        # Alice hangs up: the carrier gets its BYE, alice wraps up.
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, f"carrier: 407, authenticated INVITE with caller id, 200, BYE\n{out}")
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "agent_hung_up")
        self.act("alice", ix["id"], "wrapup", {"disposition": "sale"})
        done = self.ix(ix["id"])
        self.assertEqual((done["state"], done["direction"]), ("completed", "outbound"))
        # Not inbound demand: the queue's figures are untouched.
        st = self.stats("support")
        self.assertEqual((st["entered"], st["answered"], st["handled"]), (0, 0, 0))
        call = self.cdr_of(ix["id"])
        legs = [(l["role"], l["result"], l["hung_up_by"]) for l in call["legs"]]
        self.assertEqual(legs, [("customer", "answered", "agent"), ("agent", "answered", "agent")])
        self.assertEqual((call["legs"][0]["to"], call["legs"][0]["from"]), ("+15550199", "+15550100"))
        self.assertTrue(call["legs"][0]["outbound"])
        self.assertEqual(call["legs"][0]["trunk"], self.trunk_id)
        # Recorded (the queue records): listed, ended, two channels, the customer (the carrier's
        # recording) on the left.
        recs = self.eventually(
            lambda: [r for r in self.ok("GET", f"{T}/recordings?interaction={ix['id']}",
                                        token=self.token("sam")) if r["ended"] is not None],
            what="recording listed")
        tenant = self.ok("GET", T, token=self.token("ada"))["id"]
        path = os.path.join(self.server.data_dir, "recordings", str(tenant), f"{ix['id']}.wav")
        self.eventually(lambda: os.path.exists(path) and os.path.getsize(path) > 8000 * 4, what="WAV written")
        time.sleep(0.3)
        with wave.open(path) as w:
            self.assertEqual((w.getnchannels(), w.getframerate()), (2, 8000))
            frames = w.readframes(w.getnframes())
        self.assertEqual(len(recs), 1)
        self.assertGreater(len(frames), 4 * 8000 * 2, "about 2 s or more recorded")

    def test_busy_number_ends_the_agents_leg_and_wrap_up_no_answer(self):
        carrier = self.carrier("carrier_busy.xml")
        alice = self.phone("alice")
        self.available("alice")
        ix = self.dial("alice", {"to": "+15550199", "queue": self.queue("support")["id"]})
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, out)
        self.eventually(lambda: self.ix(ix["id"])["state"] == "wrap_up", what="wrap-up")
        self.assertEqual(self.ix(ix["id"])["reason"], "customer_busy")
        self.eventually(lambda: alice.byes_in == 1, what="alice's leg hung up")
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"], l["cause"]) for l in call["legs"]],
                         [("customer", "busy", "486"), ("agent", "answered", "486")])
        self.act("alice", ix["id"], "wrapup", {"disposition": "no_sale"})
        self.assertEqual(self.agent_view("alice")["activity"], "available")

    def test_bad_input_and_conditions(self):
        support = self.queue("support")["id"]
        # Before any trunk has an outbound side: 409 (after the body checks).
        self.phone("alice")
        self.available("alice")
        self.dial("alice", {"to": "+15550199"}, expect=409)
        self.carrier("carrier_busy.xml")
        for body in ({"to": "555-0199"}, {"to": "+1555abc"}, {"to": 15550199}, {},
                     {"to": "+15550199", "queue": 1.5}, {"to": "+15550199", "extra": 1}):
            self.dial("alice", body, expect=400)
        # Another tenant's queue, an unknown name: 404.
        globex_q = self.ok("GET", "/api/v1/tenants/globex/queues", token=self.token("carol"))[0]["id"]
        self.dial("alice", {"to": "+15550199", "queue": globex_q}, expect=404)
        self.dial("alice", {"to": "+15550199", "queue": "nope"}, expect=404)
        # An agent without a registered phone, or logged out: 409.
        self.presence("bob", "available")
        self.dial("bob", {"to": "+15550199", "queue": support}, expect=409)
        self.presence("alice", "offline")
        self.dial("alice", {"to": "+15550199", "queue": support}, expect=409)
        self.assertEqual(self.voice_calls(live=False), [])
        # Transfer to a number: a bad number is 400, a task is not a call (409).
        task = self.create("task", "support")
        self.act("ada", task["id"], "transfer", {"number": "12"}, expect=400)
        self.act("ada", task["id"], "transfer", {"number": "+15550199", "queue": support}, expect=400)
        self.act("ada", task["id"], "transfer", {"number": "+15550199"}, expect=409)

    def test_blind_transfer_of_an_inbound_call_to_a_number(self):
        carrier = self.carrier("carrier_407.xml")  # a proxy challenge this time
        alice = self.phone("alice")
        self.available("alice")
        c = self.customer()  # silent: what it hears from the carrier is the carrier's recording
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        self.assertEqual(ix["direction"], "inbound")
        out = self.act("alice", ix["id"], "transfer", {"number": "+15550199"})
        self.assertEqual((out["state"], out["reason"]), ("wrap_up", "transferred"))
        self.eventually(lambda: alice.byes_in == 1, what="alice's leg ended")
        # The customer now hears the carrier's recording bit for bit (not music on hold).
        before = len(c.rx)
        sent = sipphone.pcap_payloads(PCAP)
        self.eventually(lambda: sipphone.contiguous_slice(c.rx[before:], sent) >= 50,
                        what="the carrier's audio at the customer")
        c.hangup()
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, out)
        call = self.cdr_of(ix["id"])
        self.assertEqual([(l["role"], l["result"]) for l in call["legs"]],
                         [("customer", "answered"), ("agent", "answered"), ("transfer", "answered")])
        self.assertEqual(call["legs"][2]["to"], "+15550199")


    def test_ivr_option_puts_the_caller_through_to_a_number(self):
        carrier = self.carrier("carrier_auth.xml")
        menu = next(m for m in self.ok("GET", f"{T}/ivr", token=self.token("ada")) if m["name"] == "main")
        options = dict(menu["options"], **{"0": {"number": "+15550199"}})
        self.ok("PATCH", f"{T}/ivr/{menu['id']}", {"options": options}, self.token("ada"))
        c = sipphone.Customer(self.sip_port, number="+15550101").start(40)
        self.addCleanup(c.join, 5)
        self.eventually(lambda: c.status == 200, what="menu answered")
        c.dtmf("0")
        # Put through: the caller hears the carrier's recording bit for bit; no interaction.
        sent = sipphone.pcap_payloads(PCAP)
        self.eventually(lambda: sipphone.contiguous_slice(c.rx, sent) >= 50, timeout=15,
                        what="the carrier's audio at the caller")
        self.assertEqual(self.voice_calls(live=False), [])
        c.hangup()
        rc, out = self.finished(carrier)
        self.assertEqual(rc, 0, out)
        def cdr():
            calls = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"]
            return calls if calls and all(l["ended"] for l in calls[0]["legs"]) else None
        call = self.eventually(cdr, what="CDR")[0]
        self.assertEqual([(l["role"], l["result"], l["to"]) for l in call["legs"]],
                         [("customer", "answered", "+15550101"), ("transfer", "answered", "+15550199")])

if __name__ == "__main__":
    unittest.main()
