"""No agent stuck: an agent whose desktop WebSocket went away is logged out when the presence
lease runs out, and their offer goes back to the queue; a desktop that reconnects in time keeps
the agent available and gets the outstanding offer again.
"""
import time
import unittest

from flows import T, Desk, FlowTest

LEASE_S = 5


class PresenceLease(FlowTest):
    def setUp(self):
        super().setUp()
        t = self.ok("PATCH", T, {"settings": {"presence_lease_s": LEASE_S}}, self.token("ada"))
        self.assertEqual(t["settings"]["presence_lease_s"], LEASE_S)
        self.ok("PATCH", T, {"settings": {"presence_lease_s": 1}}, self.token("ada"), expect=400)

    def test_closed_desk_and_lease_expiry_logs_out_and_requeues_the_offer(self):
        sam_desk = self.desk("sam")
        alice_desk = Desk(self.server, self.token("alice"))
        self.presence("alice", "available")
        ix = self.create("email", "support")
        self.assertEqual(ix["agent"], self.uid("alice"))
        alice_desk.offer(ix["id"])
        self.assertEqual(self.agent_view("alice")["connections"], 1)
        alice_desk.close()
        closed_at = time.time()

        # Until the lease runs out she stays (a blip must not log anyone out).
        time.sleep(LEASE_S / 2)
        self.assertEqual(self.agent_view("alice")["presence"], "available")
        self.assertEqual(self.ix(ix["id"])["state"], "offered")

        out = sam_desk.agent(lambda a: a["login"] == "alice" and a["presence"] == "offline",
                             timeout=LEASE_S + 5)
        self.assertGreaterEqual(time.time() - closed_at, LEASE_S - 0.5)
        self.assertEqual((out["reason"], out["work"]), ("lease_expired", []))
        back = self.ix(ix["id"])
        self.assertEqual((back["state"], back["agent"]), ("queued", 0))
        self.assertEqual(back["enqueued_at"], ix["enqueued_at"])
        self.assertEqual(self.stats("support")["waiting"], 1)

        # The contact goes to the next agent.
        bob_desk = self.desk("bob")
        self.presence("bob", "available")
        bob_desk.offer(ix["id"])
        self.assertEqual(self.act("bob", ix["id"], "accept")["agent"], self.uid("bob"))

    def test_reconnect_within_lease_keeps_agent_and_resends_offer(self):
        first = Desk(self.server, self.token("alice"))
        self.presence("alice", "available")
        ix = self.create("email", "support")
        first.offer(ix["id"])
        first.close()
        time.sleep(1)

        second = self.desk("alice")
        self.assertEqual(second.hello["agent"]["presence"], "available")
        self.assertEqual(second.hello["agent"]["work"], [ix["id"]])
        resent = second.offer(ix["id"], timeout=2)
        self.assertGreater(resent["expires_in_ms"], 0)
        self.assertEqual(resent["interaction"]["state"], "offered")

        # Past the first socket's lease, she is still there: the new socket holds it.
        time.sleep(LEASE_S + 1)
        view = self.agent_view("alice")
        self.assertEqual((view["presence"], view["work"], view["connections"]), ("available", [ix["id"]], 1))
        self.assertEqual(self.act("alice", ix["id"], "accept")["state"], "connected")

        # Two desks: closing one leaves the other holding the lease.
        third = self.desk("alice")
        self.assertEqual(self.agent_view("alice")["connections"], 2)
        second.close()
        time.sleep(LEASE_S + 1)
        view = self.agent_view("alice")
        self.assertEqual((view["presence"], view["connections"]), ("available", 1))
        third.ws.send({"type": "ping"})
        third.wait(lambda m: m.get("type") == "pong", timeout=2)

    def test_api_calls_keep_a_desk_less_agent_and_silence_logs_it_out(self):
        # No WebSocket at all: REST calls renew the lease; silence ends it.
        self.presence("carol", "available")
        for _ in range(3):
            time.sleep(LEASE_S / 2.5)
            self.assertEqual(self.ok("GET", f"{T}/me/presence", token=self.token("carol"))["presence"],
                             "available")
        self.eventually(lambda: self.agent_view("carol")["presence"] == "offline", timeout=LEASE_S + 5,
                        what="carol logged out after silence")
        self.assertEqual(self.agent_view("carol")["reason"], "lease_expired")


if __name__ == "__main__":
    unittest.main()
