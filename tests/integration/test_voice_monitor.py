"""Supervisor monitoring of a live call through the API (listen, whisper, barge), with real SIP
peers: the customer, alice's phone and sam's phone each send their own tone (500, 1000 and
1500 Hz, A-law), and what each far end receives is measured per frequency (Goertzel). Listen:
sam hears both parties and nobody hears sam (the parties' packets are even relayed unchanged);
whisper: alice hears sam, the customer does not; barge: both do. Mode changes live, the API's
stop, sam hanging up and the call's end (sam's phone gets BYE). Bad input: 403, 404, 400, 409.
Real server, stdlib phones (sipphone.py)."""
import json
import os
import sqlite3
import time
import unittest

from flows import T
import sipphone
from voice_flows import VoiceFlowTest

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500, 1000, 1500
TONES = (CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ)


class VoiceMonitor(VoiceFlowTest):
    def setUp(self):
        super().setUp()
        self.packets = {hz: sipphone.tone_packet(hz) for hz in TONES}
        # The power of one tone alone in a window (the same for every tone: same amplitude).
        self.full = sipphone.tone_power([self.packets[AGENT_HZ]], AGENT_HZ)

    # ---- helpers -------------------------------------------------------------------------------

    def heard(self, rx, seconds=0.6):
        """The power of each tone arriving in `seconds` from now, relative to a tone alone."""
        start = len(rx)
        time.sleep(seconds)
        window = list(rx[start:])
        self.assertGreaterEqual(len(window), 10, f"only {len(window)} packets in {seconds} s")
        return {hz: sipphone.tone_power(window, hz) / self.full for hz in TONES}

    def expect(self, rx, *tones, what=""):
        """The far end whose packets land in rx hears exactly `tones`: each loud (>= 1/4 of a
        tone alone), the others near silence (< 1/100). Waits up to 5 s for a change to apply
        (a window across the change is neither)."""
        got = None
        end = time.time() + 5
        while time.time() < end:
            got = self.heard(rx, 0.4)
            if all((p >= 0.25) if hz in tones else (p < 0.01) for hz, p in got.items()):
                return
        self.fail(f"{what}: heard {({hz: round(p, 3) for hz, p in got.items()})}, want {tones}")

    def monitor(self, method, ix, body=None, login="sam", expect=(200, 202)):
        return self.ok(method, f"{T}/interactions/{ix}/monitor", body, self.token(login), expect=expect)

    def error(self, method, ix, body, login, status, code):
        st, out = self.api(method, f"{T}/interactions/{ix}/monitor", body, token=self.token(login))
        self.assertEqual(st, status, out)
        self.assertEqual(out["error"]["code"], code, out)
        return out["error"]["message"]

    def monitor_events(self):
        db = sqlite3.connect(f"file:{os.path.join(self.server.data_dir, 'homeline.db')}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT type, payload FROM events WHERE type LIKE 'monitor.%' ORDER BY seq").fetchall()
        finally:
            db.close()
        return [(t, json.loads(p)) for t, p in rows]

    def connected_call(self):
        alice = self.phone("alice", payloads=[self.packets[AGENT_HZ]])
        self.available("alice")
        cust = self.customer(payloads=[self.packets[CUSTOMER_HZ]])
        ix = self.eventually(lambda: [i for i in self.voice_calls() if i["state"] == "connected"],
                             what="call connected")[0]
        return alice, cust, ix["id"]

    # ---- tests ---------------------------------------------------------------------------------

    def test_listen_whisper_barge_with_the_audio_checked_at_every_far_end(self):
        alice, cust, ix = self.connected_call()
        sam = self.phone("sam", payloads=[self.packets[SUPERVISOR_HZ]])
        self.expect(cust.rx, AGENT_HZ, what="customer before monitoring")

        out = self.monitor("POST", ix, {"mode": "listen"}, expect=202)
        self.assertEqual(out["monitor"]["supervisor"], self.uid("sam"))
        self.assertEqual(out["monitor"]["mode"], "listen")
        self.eventually(lambda: sam.in_call, what="sam's phone answered")
        view = self.eventually(lambda: ((v := self.ix(ix)).get("monitor") or {}).get("state") == "joined" and v,
                               what="the monitor joined")
        self.assertIsInstance(view["monitor"]["started"], int)
        # Agents are not told who listens.
        self.assertIsNone(self.ok("GET", f"{T}/interactions/{ix}", token=self.token("alice"))["monitor"])

        # Listen: sam hears both parties; neither hears sam, and the customer gets alice's very
        # packets (relayed as before: nothing changed for the parties).
        self.expect(sam.rx_payloads, CUSTOMER_HZ, AGENT_HZ, what="sam listening")
        self.expect(alice.rx_payloads, CUSTOMER_HZ, what="alice while sam listens")
        start = len(cust.rx)
        self.expect(cust.rx, AGENT_HZ, what="customer while sam listens")
        relayed = cust.rx[start:]
        self.assertGreater(sum(1 for p in relayed if p == self.packets[AGENT_HZ]), 0.9 * len(relayed))
        self.assertEqual(alice.invites, 1, "no re-INVITE to alice")
        self.assertEqual(cust.reinvite_status, 0)

        # Whisper: alice hears sam, the customer does not.
        self.assertEqual(self.monitor("PUT", ix, {"mode": "whisper"})["monitor"]["mode"], "whisper")
        self.expect(alice.rx_payloads, CUSTOMER_HZ, SUPERVISOR_HZ, what="alice while sam whispers")
        self.expect(cust.rx, AGENT_HZ, what="customer while sam whispers")
        self.expect(sam.rx_payloads, CUSTOMER_HZ, AGENT_HZ, what="sam whispering")

        # Barge: both hear sam.
        self.monitor("PUT", ix, {"mode": "barge"})
        self.expect(cust.rx, AGENT_HZ, SUPERVISOR_HZ, what="customer while sam barges")
        self.expect(alice.rx_payloads, CUSTOMER_HZ, SUPERVISOR_HZ, what="alice while sam barges")

        # Back to listen, live: sam is silent for both again.
        self.monitor("PUT", ix, {"mode": "listen"})
        self.expect(cust.rx, AGENT_HZ, what="customer after barge -> listen")
        self.expect(alice.rx_payloads, CUSTOMER_HZ, what="alice after barge -> listen")
        self.assertEqual(self.ix(ix)["monitor"]["mode"], "listen")

        # The API ends it: sam's phone gets BYE, the call goes on.
        self.monitor("DELETE", ix)
        self.eventually(lambda: sam.byes_in == 1, what="sam's phone got BYE")
        self.assertIsNone(self.ix(ix)["monitor"])
        self.assertEqual(self.ix(ix)["state"], "connected")
        self.expect(alice.rx_payloads, CUSTOMER_HZ, what="alice after the monitor")

        # Durable audit: who listened to which call, in which modes, and why it ended.
        events = self.eventually(lambda: (e := self.monitor_events()) and e[-1][0] == "monitor.ended" and e,
                                 what="monitor events stored")
        self.assertEqual([(t, p.get("mode"), p.get("reason")) for t, p in events],
                         [("monitor.started", "listen", None), ("monitor.changed", "whisper", None),
                          ("monitor.changed", "barge", None), ("monitor.changed", "listen", None),
                          ("monitor.ended", None, "stopped")])
        self.assertEqual(events[0][1]["supervisor"], self.uid("sam"))
        self.assertEqual({p["interaction"] for _, p in events}, {ix})

        # Sam again, barging; sam hangs up: the monitor ends, the call does not.
        self.monitor("POST", ix, {"mode": "barge"}, expect=202)
        self.eventually(lambda: (self.ix(ix).get("monitor") or {}).get("state") == "joined", what="joined again")
        self.expect(cust.rx, AGENT_HZ, SUPERVISOR_HZ, what="customer while sam barges again")
        sam.hangup()
        self.eventually(lambda: self.ix(ix)["monitor"] is None, what="the monitor ended with sam's BYE")
        self.expect(cust.rx, AGENT_HZ, what="customer after sam hung up")
        self.assertEqual(self.ix(ix)["state"], "connected")

        # And once more; the customer hangs up: sam's phone gets BYE with everyone's.
        self.monitor("POST", ix, {}, expect=202)  # listen by default
        self.eventually(lambda: (self.ix(ix).get("monitor") or {}).get("state") == "joined", what="joined a third time")
        cust.hangup()
        self.eventually(lambda: sam.byes_in == 2, what="the call's end BYEs sam")
        self.eventually(lambda: alice.byes_in == 1, what="and alice")
        done = self.ix(ix)
        self.assertEqual(done["state"], "wrap_up")
        self.assertIsNone(done["monitor"])
        events = self.eventually(lambda: (e := self.monitor_events()) and len(e) == 9 and e,
                                 what="all monitor events")
        reasons = [p.get("reason") for t, p in events if t == "monitor.ended"]
        self.assertEqual(reasons, ["stopped", "supervisor_hung_up", "call_ended"])
        self.assertEqual(self.server.metric("homeline_voice_monitors_total"), 3)
        # Each monitor is a supervisor leg of the call's CDR.
        call = self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"][0]
        sup = [(l["result"], l["hung_up_by"]) for l in call["legs"] if l["role"] == "supervisor"]
        self.assertEqual(sup, [("answered", "system"), ("answered", "supervisor"), ("answered", "customer")])

    def test_hold_keeps_the_customer_out_of_the_monitor(self):
        """Decision: on hold the supervisor hears the agent only, and a barge reaches the agent
        only; the customer hears music, not the supervisor."""
        alice, cust, ix = self.connected_call()
        sam = self.phone("sam", payloads=[self.packets[SUPERVISOR_HZ]])
        self.monitor("POST", ix, {"mode": "barge"}, expect=202)
        self.eventually(lambda: (self.ix(ix).get("monitor") or {}).get("state") == "joined", what="joined")
        self.expect(cust.rx, AGENT_HZ, SUPERVISOR_HZ, what="customer while sam barges")
        self.act("alice", ix, "hold")
        self.expect(sam.rx_payloads, AGENT_HZ, what="sam during hold")
        self.expect(alice.rx_payloads, SUPERVISOR_HZ, what="alice during hold")
        start = len(cust.rx)
        time.sleep(0.6)
        held = cust.rx[start:]
        self.assertLess(sipphone.tone_power(held, SUPERVISOR_HZ) / self.full, 0.01, "customer hears sam on hold")
        self.act("alice", ix, "resume")
        self.expect(cust.rx, AGENT_HZ, SUPERVISOR_HZ, what="customer after resume")
        self.expect(sam.rx_payloads, CUSTOMER_HZ, AGENT_HZ, what="sam after resume")
        # The agent hangs up: the call ends, and sam's phone gets BYE with the customer's.
        alice.hangup()
        self.eventually(lambda: sam.byes_in == 1, what="the agent's hang-up BYEs sam")
        self.eventually(lambda: cust.bye_in, what="and the customer")
        self.assertIsNone(self.ix(ix)["monitor"])
        events = self.eventually(lambda: (e := self.monitor_events()) and e[-1][0] == "monitor.ended" and e,
                                 what="monitor ended")
        self.assertEqual(events[-1][1]["reason"], "call_ended")

    def test_live_state_in_the_views_and_pushed_to_the_agent_and_supervisors(self):
        """Decision 51: hold, the recording and the monitor are in every view of the call, from
        engine events; their changes are pushed to the call's agent and the tenant's
        supervisors, a monitor's to supervisors only (agents always see monitor null)."""
        self.ok("PUT", f"{T}/queues/{self.queue('support')['id']}/voice", {"record": True}, self.token("ada"))
        alice_desk, sam_desk, bob_desk = self.desk("alice"), self.desk("sam"), self.desk("bob")
        alice, cust, ix = self.connected_call()
        sam = self.phone("sam", payloads=[self.packets[SUPERVISOR_HZ]])
        view = self.ok("GET", f"{T}/interactions/{ix}", token=self.token("alice"))
        self.assertEqual([view[k] for k in ("on_hold", "recorded", "recording_paused", "monitor")],
                         [False, True, False, None])
        mine = lambda d, since, **want: d.wait(
            lambda m: m.get("type") == "interaction" and m["interaction"]["id"] == ix
            and all(m["interaction"].get(k) == v for k, v in want.items()), since=since)["interaction"]

        # The supervisor holds the call through the API: both screens are told, bob's is not.
        a, s, b = alice_desk.mark(), sam_desk.mark(), bob_desk.mark()
        self.act("sam", ix, "hold")
        mine(alice_desk, a, on_hold=True)
        mine(sam_desk, s, on_hold=True)
        self.assertTrue(self.ok("GET", f"{T}/interactions/{ix}", token=self.token("alice"))["on_hold"])
        # A recording pause, by the agent this time.
        a, s = alice_desk.mark(), sam_desk.mark()
        self.act("alice", ix, "recording/pause")
        self.assertTrue(mine(alice_desk, a, recording_paused=True)["on_hold"])
        mine(sam_desk, s, recording_paused=True)

        # A monitor: its supervisor's screen follows it ringing, joined, whisper, stopped...
        a, s = alice_desk.mark(), sam_desk.mark()
        self.monitor("POST", ix, {"mode": "listen"}, expect=202)
        joined = sam_desk.wait(lambda m: m.get("type") == "interaction" and m["interaction"]["id"] == ix
                               and (m["interaction"]["monitor"] or {}).get("state") == "joined", since=s)["interaction"]
        self.assertEqual([joined["monitor"]["supervisor"], joined["monitor"]["mode"], joined["on_hold"]],
                         [self.uid("sam"), "listen", True])
        s = sam_desk.mark()
        self.monitor("PUT", ix, {"mode": "whisper"})
        self.assertEqual(mine(sam_desk, s, on_hold=True)["monitor"]["mode"], "whisper")
        s = sam_desk.mark()
        self.monitor("DELETE", ix)
        mine(sam_desk, s, monitor=None)
        # ...and the agent's screen gets nothing of it: the next frame alice gets is the resume.
        self.act("alice", ix, "resume")
        first = alice_desk.wait(lambda m: m.get("type") == "interaction", since=a)["interaction"]
        self.assertEqual([first["id"], first["on_hold"], first["monitor"]], [ix, False, None])
        self.assertEqual([m for m in bob_desk.seen[b:] if m.get("type") == "interaction"], [])
        # The events are the state: call.hold on and off, stored.
        db = sqlite3.connect(f"file:{os.path.join(self.server.data_dir, 'homeline.db')}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT payload FROM events WHERE type = 'call.hold' ORDER BY seq").fetchall()
        finally:
            db.close()
        self.assertEqual([(json.loads(p)["interaction"], json.loads(p)["on"]) for (p,) in rows],
                         [(ix, True), (ix, False)])

    def test_bad_requests(self):
        alice, cust, ix = self.connected_call()
        sam = self.phone("sam")
        self.error("POST", ix, {"mode": "listen"}, "alice", 403, "forbidden")  # agents may not
        self.error("DELETE", ix, None, "alice", 403, "forbidden")
        self.error("POST", ix, {"mode": "eavesdrop"}, "sam", 400, "bad_request")
        self.error("POST", ix, {"mode": "listen", "extra": 1}, "sam", 400, "bad_request")
        self.error("PUT", ix, {}, "sam", 400, "bad_request")  # the mode is required to change it
        self.error("POST", 987654321, {"mode": "listen"}, "sam", 404, "not_found")
        # Another tenant's user cannot see acme's call at all.
        st, out = self.api("POST", f"/api/v1/tenants/initech/interactions/{ix}/monitor", {"mode": "listen"},
                           token=self.token("sam"))
        self.assertEqual(st, 404, out)
        # ada (admin) has no registered phone: 409 saying so, nothing rung.
        msg = self.error("POST", ix, {"mode": "listen"}, "ada", 409, "conflict")
        self.assertIn("not registered", msg)
        # Not a bridged call: a chat, and a call waiting in the queue.
        chat = self.create("chat", "support")
        self.assertIn("not a bridged voice call", self.error("POST", chat["id"], {}, "sam", 409, "conflict"))
        # Nothing to change or stop yet.
        self.error("PUT", ix, {"mode": "barge"}, "sam", 409, "conflict")
        self.error("DELETE", ix, None, "sam", 409, "conflict")
        # One supervisor at a time: the second gets 409 naming the first.
        self.monitor("POST", ix, {"mode": "listen"}, expect=202)
        self.phone("ada")
        msg = self.error("POST", ix, {"mode": "barge"}, "ada", 409, "conflict")
        self.assertIn("sam", msg)
        self.monitor("PUT", ix, {"mode": "whisper"}, login="ada")  # another supervisor may change it
        self.error("PUT", ix, {"mode": "whisper"}, "sam", 409, "conflict")  # already whispering
        self.monitor("DELETE", ix, login="ada")
        self.assertIsNone(self.ix(ix)["monitor"])
        # A transfer to a queue ends the monitor with the agent's leg: sam's phone gets BYE.
        self.monitor("POST", ix, {"mode": "whisper"}, expect=202)
        self.eventually(lambda: (self.ix(ix).get("monitor") or {}).get("state") == "joined", what="joined")
        byes = sam.byes_in
        self.act("alice", ix, "transfer", {"queue": self.queue("billing")["id"]})
        self.eventually(lambda: sam.byes_in == byes + 1, what="the transfer BYEs sam")
        self.assertIsNone(self.ix(ix)["monitor"])
        self.eventually(lambda: self.monitor_events()[-1][1].get("reason") == "transferred",
                        what="monitor.ended (transferred) stored")


if __name__ == "__main__":
    unittest.main()
