"""An agent's day through the real server: presence, offers pushed on the WebSocket, reject,
accept, wrap-up (timer, extension, supervisor force-complete), breaks, missed offers, callbacks
that keep their place in line, every channel, and capacity.
"""
import time
import unittest

from flows import T, FlowTest


def is_type(kind):
    return lambda m: m.get("type") == kind


class AgentDay(FlowTest):
    def test_offer_reject_accept_end_extend_wrapup_break(self):
        alice_desk, bob_desk = self.desk("alice"), self.desk("bob")
        self.assertEqual(alice_desk.hello["agent"]["presence"], "offline")
        self.assertEqual(alice_desk.hello["user"], self.uid("alice"))

        me = self.presence("alice", "available")
        self.assertEqual((me["presence"], me["activity"]), ("available", "available"))
        alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] == "available")
        self.presence("bob", "available")

        # Support wants proficiency 5: alice (8) ranks before bob (5).
        ix = self.create("voice", "support", customer={"name": "Carl", "phone": "+15550101"})
        self.assertEqual((ix["state"], ix["agent"]), ("offered", self.uid("alice")))
        offer = alice_desk.offer(ix["id"])
        self.assertGreater(offer["expires_in_ms"], 0)
        self.assertLessEqual(offer["expires_in_ms"], 20000)
        self.assertEqual(offer["interaction"]["channel"], "voice")

        # A rejected offer goes to the next eligible agent, and not back to alice.
        mark = bob_desk.mark()
        after = self.act("alice", ix["id"], "reject")
        self.assertEqual((after["state"], after["agent"]), ("offered", self.uid("bob")))
        ended = alice_desk.wait(lambda m: m.get("type") == "offer_ended" and m["interaction"] == ix["id"])
        self.assertEqual(ended["result"], "rejected")
        self.assertGreater(bob_desk.offer(ix["id"], since=mark)["expires_in_ms"], 0)
        self.act("alice", ix["id"], "accept", expect=409)  # no longer hers
        got = self.act("bob", ix["id"], "accept")
        self.assertEqual((got["state"], got["agent"]), ("connected", self.uid("bob")))
        self.assertGreater(got["answered_at"], 0)
        self.assertEqual(self.agent_view("bob")["activity"], "busy")

        # Bob is on a call, so the next contact is alice's.
        chat = self.create("chat", "support", subject="order 42")
        alice_desk.offer(chat["id"])
        self.assertEqual(self.act("alice", chat["id"], "accept")["state"], "connected")
        alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] == "busy")
        wrap = self.act("alice", chat["id"], "end")
        self.assertEqual(wrap["state"], "wrap_up")
        self.assertEqual(wrap["wrapup_until"], wrap["contact_ended_at"] + 30000)  # queue default
        alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] == "wrap_up")

        longer = self.act("alice", chat["id"], "wrapup/extend", {"seconds": 45})
        self.assertEqual(longer["wrapup_until"], wrap["wrapup_until"] + 45000)
        self.act("alice", chat["id"], "wrapup/extend", {"seconds": 100}, expect=409)  # max 120 s in all
        self.act("bob", chat["id"], "wrapup/extend", {"seconds": 5}, expect=409)  # not his

        self.act("alice", chat["id"], "wrapup", {"disposition": "no_such_code"}, expect=400)
        self.act("alice", chat["id"], "wrapup", {"notes": "no disposition"}, expect=400)
        mark = alice_desk.mark()
        done = self.act("alice", chat["id"], "wrapup",
                        {"disposition": "resolved", "notes": "refund issued"})
        self.assertEqual(done["state"], "completed")
        codes = {d["code"]: d["id"] for d in self.ok("GET", f"{T}/dispositions", token=self.token("alice"))}
        self.assertEqual(done["disposition"], codes["resolved"])
        self.assertEqual(done["notes"], "refund issued")
        self.assertGreaterEqual(done["finished_at"], done["contact_ended_at"])
        alice_desk.wait(lambda m: m.get("type") == "interaction" and m["interaction"]["id"] == chat["id"]
                        and m["interaction"]["state"] == "completed", since=mark)
        back = alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] != "wrap_up",
                                since=mark)
        self.assertEqual((back["presence"], back["activity"], back["work"]), ("available", "available", []))
        self.assertEqual(self.ok("GET", f"{T}/me/presence", token=self.token("alice"))["contacts_today"], 1)

        # Breaks need one of the tenant's reason codes.
        self.presence("alice", "break", "nap", expect=400)
        self.presence("alice", "break", expect=400)
        self.presence("alice", "sleeping", expect=400)
        lunch = self.presence("alice", "break", "lunch")
        self.assertEqual((lunch["presence"], lunch["reason"], lunch["activity"]), ("break", "lunch", "break"))
        alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] == "break")
        # On break, alice gets nothing even though she is the best fit.
        self.act("bob", ix["id"], "wrapup", {"disposition": "sale"})
        waiting = self.create("email", "support")
        self.assertEqual(waiting["agent"], self.uid("bob"))
        self.assertEqual(self.presence("alice", "offline")["presence"], "offline")

    def test_wrapup_timer_force_complete_and_supervisor_presence(self):
        alice_desk = self.desk("alice")
        self.patch_queue("sales", wrapup_s=1)
        self.presence("alice", "available")

        # The queue's wrap-up timer completes the wrap-up by itself.
        ix = self.create("email", "sales")
        self.assertEqual(ix["agent"], self.uid("alice"))
        self.act("alice", ix["id"], "accept")
        ended = self.act("alice", ix["id"], "end")
        self.assertEqual(ended["wrapup_until"], ended["contact_ended_at"] + 1000)
        done = self.eventually(lambda: (lambda x: x if x["state"] == "completed" else None)(self.ix(ix["id"])),
                               timeout=5, what="wrap-up timeout")
        self.assertEqual(done["reason"], "wrap_up_timeout")
        self.assertEqual(self.agent_view("alice")["activity"], "available")

        # A supervisor force-completes a wrap-up; an agent may not.
        task = self.create("task", "support")
        self.act("alice", task["id"], "accept")
        self.act("alice", task["id"], "end")
        self.act("alice", task["id"], "wrapup/complete", expect=403)
        self.act("bob", task["id"], "wrapup/complete", expect=403)
        mark = alice_desk.mark()
        forced = self.act("sam", task["id"], "wrapup/complete")
        self.assertEqual(forced["state"], "completed")
        self.act("sam", task["id"], "wrapup/complete", expect=409)  # already done
        alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["activity"] == "available",
                         since=mark)

        # A supervisor sets an agent's presence; agents cannot.
        path = f"{T}/agents/{self.uid('alice')}/presence"
        self.ok("PUT", path, {"state": "break", "reason": "training"}, self.token("bob"), expect=403)
        self.ok("PUT", path, {"state": "break", "reason": "unknown"}, self.token("sam"), expect=400)
        mark = alice_desk.mark()
        brk = self.ok("PUT", path, {"state": "break", "reason": "training"}, self.token("sam"))
        self.assertEqual((brk["presence"], brk["reason"]), ("break", "training"))
        alice_desk.agent(lambda a: a["presence"] == "break" and a["reason"] == "training", since=mark)
        self.assertEqual(self.ok("GET", f"{T}/me/presence", token=self.token("alice"))["presence"], "break")
        # Forced logout even with a contact in hand: the contact goes back to the queue.
        self.ok("PUT", path, {"state": "available"}, self.token("sam"))
        held = self.create("email", "sales")
        self.act("alice", held["id"], "accept")
        self.presence("alice", "offline", expect=409)
        off = self.ok("PUT", path, {"state": "offline"}, self.token("sam"))
        self.assertEqual((off["presence"], off["work"]), ("offline", []))
        back = self.ix(held["id"])
        self.assertEqual((back["state"], back["agent"]), ("queued", 0))
        self.assertEqual(back["enqueued_at"], held["enqueued_at"])
        self.ok("PUT", f"{T}/agents/999999/presence", {"state": "offline"}, self.token("sam"), expect=404)

    def test_offer_timeout_returns_to_queue_and_three_misses(self):
        alice_desk, bob_desk = self.desk("alice"), self.desk("bob")
        self.assertEqual(self.patch_queue("sales", offer_timeout_s=1)["offer_timeout_s"], 1)
        self.presence("alice", "available")
        self.presence("bob", "break", "meeting")

        first = self.create("email", "sales")
        offer = alice_desk.offer(first["id"])
        self.assertLessEqual(offer["expires_in_ms"], 1000)
        ended = alice_desk.wait(lambda m: m.get("type") == "offer_ended" and m["interaction"] == first["id"],
                                timeout=5)
        self.assertEqual(ended["result"], "expired")
        self.act("alice", first["id"], "accept", expect=409)  # too late
        back = self.ix(first["id"])
        self.assertEqual((back["state"], back["agent"]), ("queued", 0))
        self.assertEqual(back["enqueued_at"], first["enqueued_at"])
        self.assertEqual(self.agent_view("alice")["consecutive_misses"], 1)
        self.assertEqual(self.agent_view("alice")["presence"], "available")

        # The next agent gets it.
        self.presence("bob", "available")
        bob_desk.offer(first["id"])
        self.act("bob", first["id"], "accept")
        self.presence("bob", "break", "meeting")

        for n in (2, 3):
            ix = self.create("task", "sales")
            self.assertEqual(ix["agent"], self.uid("alice"))
            alice_desk.wait(lambda m: m.get("type") == "offer_ended" and m["interaction"] == ix["id"]
                            and m["result"] == "expired", timeout=5)
            self.assertEqual(self.ix(ix["id"])["state"], "queued")
        missed = alice_desk.agent(lambda a: a["user"] == self.uid("alice") and a["presence"] == "missed",
                                  timeout=5)
        self.assertEqual(missed["activity"], "missed")
        self.assertEqual(missed["consecutive_misses"], 3)
        # Missed agents get no offers; available again resets the count.
        later = self.create("task", "sales")
        self.assertEqual(later["state"], "queued")
        self.ok("PUT", f"{T}/me/presence", {"state": "missed"}, self.token("alice"), expect=400)
        again = self.presence("alice", "available")
        self.assertEqual(again["consecutive_misses"], 0)
        alice_desk.offer(later["id"])

    def test_callback_keeps_place_in_line(self):
        first = self.create("voice", "support", customer={"name": "Early", "phone": "+15550111"})
        time.sleep(0.05)
        second = self.create("voice", "support", customer={"name": "Late", "phone": "+15550122"})
        self.assertLess(first["enqueued_at"], second["enqueued_at"])

        nophone = self.create("chat", "support")
        self.act("ada", nophone["id"], "callback", {}, expect=400)
        time.sleep(0.05)
        cb = self.act("ada", first["id"], "callback", {"phone": "+15550199"}, expect=201)
        self.assertEqual(cb["channel"], "callback")
        self.assertEqual(cb["origin"], first["id"])
        self.assertEqual(cb["state"], "queued")
        self.assertEqual(cb["enqueued_at"], first["enqueued_at"])
        self.assertEqual(cb["customer"]["phone"], "+15550199")
        self.assertGreater(cb["created_at"], second["enqueued_at"])
        old = self.ix(first["id"])
        self.assertEqual((old["state"], old["reason"]), ("closed", f"continued_as_{cb['id']}"))
        self.act("ada", first["id"], "callback", {"phone": "+15550199"}, expect=409)  # already closed

        # The callback is served before the contact that came after the original call.
        alice_desk = self.desk("alice")
        self.presence("alice", "available")
        offer = alice_desk.wait(is_type("offer"))
        self.assertEqual(offer["interaction"]["id"], cb["id"])
        self.assertEqual(self.ix(second["id"])["state"], "queued")

    def test_priority_goes_ahead_in_line(self):
        plain = self.create("email", "sales", subject="plain")
        time.sleep(0.05)
        urgent = self.create("email", "sales", subject="urgent", priority=1)  # counts as 60 s more
        self.ok("PATCH", f"{T}/users/{self.uid('bob')}", {"capacity": {"email": 1}}, self.token("ada"))
        bob_desk = self.desk("bob")
        self.presence("bob", "available")
        self.assertEqual(bob_desk.wait(is_type("offer"))["interaction"]["id"], urgent["id"])
        self.assertEqual(self.ix(plain["id"])["state"], "queued")

    def test_every_channel_can_be_created(self):
        billing = self.queue("billing")["id"]
        for channel in ("voice", "chat", "email", "callback", "task"):
            ix = self.create(channel, "billing", subject=f"{channel} work", priority=3,
                             customer={"name": "Dee", "phone": "+15550133", "email": "dee@example.com"},
                             data={"ticket": channel})
            self.assertEqual(ix["channel"], channel)
            self.assertEqual((ix["queue"], ix["state"], ix["priority"]), (billing, "queued", 3))
            self.assertEqual(ix["subject"], f"{channel} work")
            self.assertEqual(ix["data"], {"ticket": channel})
            self.assertEqual(ix["customer"]["email"], "dee@example.com")
            self.assertEqual(ix["enqueued_at"], ix["created_at"])
            self.assertEqual(self.ix(ix["id"])["channel"], channel)
        for bad in ({"channel": "fax", "queue": billing}, {"channel": "chat"},
                    {"channel": "chat", "queue": 999999}, {"channel": "chat", "queue": billing, "x": 1}):
            status, _ = self.api("POST", f"{T}/interactions", bad, self.token("ada"))
            self.assertIn(status, (400, 404), bad)
        self.assertEqual(self.stats("billing")["waiting"], 5)

    def test_capacity_three_chats_but_voice_only_when_free(self):
        ada = self.token("ada")
        spanish = next(s["id"] for s in self.ok("GET", f"{T}/skills", token=ada) if s["name"] == "spanish")
        self.ok("POST", f"{T}/queues", {"name": "espanol", "skills": [{"skill": spanish, "min_proficiency": 1}]},
                ada, expect=201)
        member = self.ok("GET", f"{T}/users/{self.uid('alice')}", token=ada)
        self.assertEqual(member["capacity"]["chat"], 3)
        alice_desk = self.desk("alice")
        self.presence("alice", "available")

        chats = [self.create("chat", "espanol", subject=f"chat {i}") for i in range(3)]
        for c in chats:
            self.assertEqual((c["state"], c["agent"]), ("offered", self.uid("alice")))
            alice_desk.offer(c["id"])
            self.act("alice", c["id"], "accept")
        self.assertEqual(sorted(self.agent_view("alice")["work"]), sorted(c["id"] for c in chats))
        self.assertEqual(self.agent_view("alice")["activity"], "busy")
        voice = self.create("voice", "espanol")
        self.assertEqual(voice["state"], "queued")  # she is not free
        fourth = self.create("chat", "espanol", subject="chat 3")
        self.assertEqual(fourth["state"], "queued")  # three chats is her capacity

        self.act("alice", chats[0]["id"], "wrapup", {"disposition": "resolved"})
        # A chat slot freed: the waiting chat comes, the voice call still waits.
        self.assertEqual(self.ix(fourth["id"])["agent"], self.uid("alice"))
        self.assertEqual(self.ix(voice["id"])["state"], "queued")
        self.act("alice", fourth["id"], "reject")
        for c in chats[1:]:
            self.assertEqual(self.ix(voice["id"])["state"], "queued")
            self.act("alice", c["id"], "wrapup", {"disposition": "resolved"})
        # Free at last: the call is offered, and while she has it no chat comes.
        self.assertEqual((self.ix(voice["id"])["state"], self.ix(voice["id"])["agent"]),
                         ("offered", self.uid("alice")))
        alice_desk.offer(voice["id"])
        self.act("alice", voice["id"], "accept")
        late_chat = self.create("chat", "espanol")
        self.assertEqual(late_chat["state"], "queued")


if __name__ == "__main__":
    unittest.main()
