"""Web chat end to end: a visitor (no session, a chat token) and agents over REST and both
WebSockets, on a real server. Delivery (once, in order, resumed after a reconnect),
idempotent resends, position and estimated wait, origins, leave-a-message, bad input, another
tenant, and a SIGKILL after acknowledged messages.
"""
import signal
import time
import unittest

from flows import Desk, FlowTest, Frames, T
from harness import Server, WsClient

P = "/api/v1/public"
SITE = "https://shop.acme.test"


class Visitor(Frames):
    """A chat widget: the REST calls and the visitor WebSocket, remembering what it read.
    Its waits consume: each frame answers one wait (the visitor waits for "a message" again
    and again)."""

    who = "visitor socket"

    def __init__(self, test, body, origin=None, expect=201):
        super().__init__()
        self.test = test
        self.server = test.server
        self.origin = origin
        status, out = self.request("POST", f"{P}/tenants/acme/chats", body)
        test.assertEqual(status, expect, out)
        self.created = out
        if status == 201:
            self.id = out["chat"]["id"]
            self.token = out["token"]

    def request(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if self.origin:
            h["Origin"] = self.origin
        return self.server.request(method, path, body, token=token, headers=h)

    def call(self, method, tail, body=None):
        return self.request(method, f"{P}/chats/{self.id}{tail}", body, token=self.token)

    def connect(self, since=0):
        self.reset(WsClient("127.0.0.1", self.server.port,
                            f"{P}/chats/{self.id}/ws?token={self.token}&since={since}",
                            origin=self.origin))
        self.test.assertEqual(self.ws.status, 101)
        hello = self.wait(lambda m: m["type"] == "hello")
        self.test.addCleanup(self.ws.sock.close)
        return hello

    def wait(self, pred, timeout=10.0):
        return super().wait(pred, timeout, consume=True)

    def messages(self):
        """Message frames read so far, in arrival order."""
        return [m["message"] for m in self.seen if m["type"] == "message"]


def desk_chat(desk, chat_id):
    return [m["message"] for m in desk.seen
            if m.get("type") == "chat.message" and m["interaction"] == chat_id]


class ChatTest(FlowTest):
    def chat_body(self, text="Hello, I need help", **extra):
        return {"name": "Vera Visitor", "email": "vera@example.com", "text": text, **extra}

    def transcript(self, chat_id, login="sam"):
        return self.ok("GET", f"{T}/interactions/{chat_id}/messages", token=self.token(login))

    def events(self):
        return self.server.metric("homeline_events_total")

    # ---- the whole conversation -----------------------------------------------------------

    def test_queued_offered_accepted_messages_both_ways_once_in_order(self):
        # Bob takes one chat at a time; Alice is on a break: the second and third visitors wait.
        bob_id = self.uid("bob")
        self.ok("PATCH", f"{T}/users/{bob_id}", {"capacity": {"chat": 1}}, self.token("ada"))
        self.presence("alice", "break", "lunch")
        bob = self.desk("bob")
        self.presence("bob", "available")
        first = Visitor(self, self.chat_body("first"))
        bob.offer(first.id)
        self.act("bob", first.id, "accept")

        second = Visitor(self, self.chat_body("second", client_id="v2-1"))
        third = Visitor(self, self.chat_body("third"))
        # Position and estimated wait: 180 s (no chat handled yet today) x position / 1 slot.
        self.assertEqual(second.created["chat"]["state"], "queued")
        self.assertEqual(second.created["chat"]["position"], 1)
        self.assertEqual(second.created["chat"]["estimated_wait_s"], 180)
        status, st = third.call("GET", "")
        self.assertEqual(status, 200, st)
        self.assertEqual((st["position"], st["estimated_wait_s"]), (1 + 1, 360))

        hello = second.connect()
        self.assertEqual(hello["chat"]["position"], 1)
        m1 = second.wait(lambda m: m["type"] == "message")
        self.assertEqual((m1["message"]["seq"], m1["message"]["text"]), (1, "second"))

        # A message while waiting is stored and shown to the agent later.
        second.ws.send({"type": "message", "text": "still there?", "client_id": "v2-2"})
        ack = second.wait(lambda m: m["type"] == "message")
        self.assertEqual((ack["message"]["seq"], ack["message"]["client_id"]), (2, "v2-2"))

        alice = self.desk("alice")
        self.presence("alice", "available")
        alice.offer(second.id)
        state = second.wait(lambda m: m["type"] == "state" and m["chat"]["state"] == "offered")
        self.assertEqual(state["chat"]["position"], 1)
        self.act("alice", second.id, "accept")
        connected = second.wait(lambda m: m["type"] == "state" and m["chat"]["state"] == "connected")
        self.assertEqual(connected["chat"]["agent"]["name"], "Alice Agent")
        self.assertIsNone(connected["chat"]["position"])
        # On acceptance the agent gets the transcript so far.
        alice.wait(lambda m: m.get("type") == "chat.message" and m["interaction"] == second.id
                   and m["message"]["seq"] == 2)

        # Both ways, over both sockets, with typing indicators.
        second.ws.send({"type": "typing", "typing": True})
        alice.wait(lambda m: m.get("type") == "chat.typing" and m["interaction"] == second.id
                   and m["typing"] is True and m["from"] == "visitor")
        alice.ws.send({"type": "chat.typing", "interaction": second.id, "typing": True})
        second.wait(lambda m: m["type"] == "typing" and m["from"] == "agent")
        for i in range(5):
            second.ws.send({"type": "message", "text": f"visitor {i}", "client_id": f"v-{i}"})
            alice.ws.send({"type": "chat.send", "interaction": second.id, "text": f"agent {i}",
                           "client_id": f"a-{i}"})
        # Two transports have no order between them: the REST message after the others.
        alice.wait(lambda m: m.get("type") == "chat.message" and m["message"]["seq"] == 12)
        self.ok("POST", f"{T}/interactions/{second.id}/messages",
                {"text": "agent by REST", "client_id": "a-rest"}, self.token("alice"), expect=201)
        last = 2 + 10 + 1
        second.wait(lambda m: m["type"] == "message" and m["message"]["seq"] == last)
        alice.wait(lambda m: m.get("type") == "chat.message" and m["message"]["seq"] == last)
        second.drain()
        alice.drain()
        for got in (second.messages(), desk_chat(alice, second.id)):
            seqs = [m["seq"] for m in got]
            self.assertEqual(seqs, list(range(seqs[0], last + 1)), "in order, each once")
        self.assertEqual([m["seq"] for m in desk_chat(alice, second.id)], list(range(1, last + 1)))
        # Each side's messages kept their own order.
        texts = [m["text"] for m in second.messages()]
        self.assertEqual([t for t in texts if t.startswith("visitor ")], [f"visitor {i}" for i in range(5)])
        self.assertEqual([t for t in texts if t.startswith("agent ")],
                         [f"agent {i}" for i in range(5)] + ["agent by REST"])
        senders = {m["client_id"]: m["sender"] for m in second.messages()}
        self.assertEqual((senders["v-0"], senders["a-0"]), ("visitor", "agent"))
        self.assertEqual(desk_chat(alice, second.id)[-1]["agent"]["id"], self.uid("alice"))

        # Nobody else's desk got any of it: not Bob (another chat), not a supervisor.
        sam = self.desk("sam")
        bob.drain()
        sam.drain()
        self.assertEqual(desk_chat(bob, second.id), [])
        self.assertEqual(desk_chat(sam, second.id), [])
        self.assertEqual([m["seq"] for m in desk_chat(bob, first.id)], [1])

        # The transcript: for its agent and supervisors; another agent is refused.
        full = self.transcript(second.id, "alice")
        self.assertEqual([m["seq"] for m in full["messages"]], list(range(1, last + 1)))
        self.assertEqual(self.transcript(second.id, "sam")["messages"], full["messages"])
        status, out = self.api("GET", f"{T}/interactions/{second.id}/messages", token=self.token("bob"))
        self.assertEqual((status, out["error"]["code"]), (403, "forbidden"))
        since = self.transcript(second.id)["messages"][-1]["seq"]
        tail = self.ok("GET", f"{T}/interactions/{second.id}/messages?since={since - 2}",
                       token=self.token("sam"))
        self.assertEqual([m["seq"] for m in tail["messages"]], [since - 1, since])
        # Bob cannot write into Alice's chat.
        status, out = self.api("POST", f"{T}/interactions/{second.id}/messages", {"text": "hi"},
                               token=self.token("bob"))
        self.assertEqual(status, 403, out)

        # The visitor leaves: the agent's contact ends (wrap-up); the visitor sees it.
        second.ws.send({"type": "close"})
        second.wait(lambda m: m["type"] == "state" and m["chat"]["state"] == "wrap_up")
        alice.wait(lambda m: m.get("type") == "chat.message" and m["message"]["sender"] == "system")
        self.assertEqual(self.ix(second.id)["state"], "wrap_up")
        status, out = second.call("POST", "/messages", {"text": "one more"})
        self.assertEqual((status, out["error"]["code"]), (409, "chat_ended"))
        self.act("alice", second.id, "wrapup", {"disposition": "resolved"})

    def test_reconnect_with_since_loses_nothing_and_resends_are_not_stored_twice(self):
        alice = self.desk("alice")
        self.presence("alice", "available")
        v = Visitor(self, self.chat_body("hello", client_id="c-1"))
        alice.offer(v.id)
        self.act("alice", v.id, "accept")
        v.connect()
        v.wait(lambda m: m["type"] == "message" and m["message"]["seq"] == 1)
        for i in range(3):
            self.ok("POST", f"{T}/interactions/{v.id}/messages", {"text": f"before {i}"},
                    self.token("alice"), expect=201)
        v.wait(lambda m: m["type"] == "message" and m["message"]["seq"] == 4)
        got = v.messages()
        v.ws.close()

        # While the visitor is away: agent messages, and a visitor message by REST.
        for i in range(3):
            self.ok("POST", f"{T}/interactions/{v.id}/messages", {"text": f"away {i}"},
                    self.token("alice"), expect=201)
        status, m = v.call("POST", "/messages", {"text": "from my phone", "client_id": "c-2"})
        self.assertEqual(status, 201, m)
        self.assertEqual(m["seq"], 8)

        v.connect(since=got[-1]["seq"])
        v.wait(lambda m: m["type"] == "message" and m["message"]["seq"] == 8)
        v.drain()
        resumed = v.messages()
        self.assertEqual([m["seq"] for m in resumed], [5, 6, 7, 8])
        self.assertEqual([m["text"] for m in resumed], ["away 0", "away 1", "away 2", "from my phone"])

        # Resending after the reconnect: acknowledged as duplicates, not stored again.
        before = self.events()
        v.ws.send({"type": "message", "text": "from my phone", "client_id": "c-2"})
        ack = v.wait(lambda m: m["type"] == "ack")
        self.assertEqual((ack["client_id"], ack["seq"], ack["duplicate"]), ("c-2", 8, True))
        status, dup = v.call("POST", "/messages", {"text": "hello", "client_id": "c-1"})
        self.assertEqual(status, 200, dup)
        self.assertEqual((dup["seq"], dup["duplicate"]), (1, True))
        status, dup = self.api("POST", f"{T}/interactions/{v.id}/messages",
                               {"text": "x", "client_id": "c-1"}, token=self.token("alice"))
        self.assertEqual(status, 201, "the agent's ids are its own: c-1 is new for the agent")
        self.assertEqual(self.events(), before + 1)
        v.drain()
        self.assertEqual([m["seq"] for m in v.messages()], [5, 6, 7, 8, 9])
        status, out = v.call("GET", "/messages?since=0")
        self.assertEqual([m["seq"] for m in out["messages"]], list(range(1, 10)))

        # The agent's desktop reconnects too, resuming from where it was.
        alice.drain()
        seen = [m["seq"] for m in desk_chat(alice, v.id)]
        self.assertEqual(seen, list(range(1, 10)))
        alice.close()
        self.ok("POST", f"{T}/interactions/{v.id}/messages", {"text": "agent while away"},
                self.token("alice"), expect=201)
        v.ws.send({"type": "message", "text": "visitor while away", "client_id": "c-3"})
        v.wait(lambda m: m["type"] == "message" and m["message"]["seq"] == 11)
        resumed = WsClient("127.0.0.1", self.server.port,
                           f"/api/v1/events?tenant=acme&chat_since={v.id}:7",
                           token=self.token("alice"))
        self.addCleanup(resumed.sock.close)
        frames = []
        while True:
            try:
                m = resumed.recv(timeout=0.5)
            except TimeoutError:
                break
            if m is None:
                break
            frames.append(m)
        self.assertEqual([m["message"]["seq"] for m in frames if m.get("type") == "chat.message"],
                         [8, 9, 10, 11])

    # ---- origins ------------------------------------------------------------------------

    def test_only_allowed_origins(self):
        self.presence("alice", "available")
        self.ok("PATCH", T, {"settings": {"allowed_origins": [SITE]}}, self.token("ada"))
        base = f"{P}/tenants/acme/chats"
        # Preflight.
        status, headers, _ = self.server.exchange("OPTIONS", base, headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        h = dict(headers)
        self.assertEqual(status, 204)
        self.assertEqual(h["access-control-allow-origin"], SITE)
        self.assertIn("POST", h["access-control-allow-methods"])
        self.assertIn("Content-Type", h["access-control-allow-headers"])
        status, headers, body = self.server.exchange("OPTIONS", base, headers={"Origin": "https://evil.test"})
        self.assertEqual((status, body["error"]["code"]), (403, "origin_not_allowed"))
        self.assertNotIn("access-control-allow-origin", dict(headers))

        # A request from another site writes nothing.
        before = self.events()
        status, headers, body = self.server.exchange("POST", base, self.chat_body(),
                                                     headers={"Origin": "https://evil.test"})
        self.assertEqual((status, body["error"]["code"]), (403, "origin_not_allowed"))
        self.assertEqual(self.events(), before)
        self.assertEqual([i for i in self.ok("GET", f"{T}/interactions", token=self.token("sam"))
                          if i["channel"] == "chat"], [])

        # The allowed site: CORS headers on success and on errors.
        v = Visitor(self, self.chat_body(), origin=SITE)
        status, headers, _ = self.server.exchange("GET", f"{P}/chats/{v.id}?token={v.token}",
                                                  headers={"Origin": SITE})
        self.assertEqual(status, 200)
        self.assertEqual(dict(headers)["access-control-allow-origin"], SITE)
        status, headers, _ = self.server.exchange("POST", f"{P}/chats/{v.id}/messages?token={v.token}",
                                                  {"text": ""}, headers={"Origin": SITE})
        self.assertEqual(status, 400)
        self.assertEqual(dict(headers)["access-control-allow-origin"], SITE)
        status, _, body = self.server.exchange("GET", f"{P}/chats/{v.id}?token={v.token}",
                                               headers={"Origin": "https://evil.test"})
        self.assertEqual((status, body["error"]["code"]), (403, "origin_not_allowed"))

        # WebSocket Origin: the same list.
        evil = WsClient("127.0.0.1", self.server.port, f"{P}/chats/{v.id}/ws?token={v.token}",
                        origin="https://evil.test")
        try:
            self.assertEqual(evil.status, 101)
            msg = evil.recv()
            self.assertEqual((msg["type"], msg["error"]["code"]), ("error", "origin_not_allowed"))
            self.assertIsNone(evil.recv(timeout=5), "not closed")
        finally:
            evil.sock.close()
        v.connect()  # from the allowed site
        # Bad settings are refused.
        status, out = self.api("PATCH", T, {"settings": {"allowed_origins": ["shop.acme.test/path"]}},
                               token=self.token("ada"))
        self.assertEqual(status, 400, out)

    # ---- leave a message ------------------------------------------------------------------

    def test_leave_a_message_when_nobody_is_online_or_closed(self):
        status, st = self.api("GET", f"{P}/tenants/acme/chat")
        self.assertEqual(status, 200, st)
        self.assertEqual((st["open"], st["agents"], st["available"], st["leave_message"]),
                         (True, 0, False, True))
        before = self.events()
        status, out = self.api("POST", f"{P}/tenants/acme/chats", self.chat_body())
        self.assertEqual((status, out["error"]["code"]), (409, "no_agents"))
        self.assertEqual(self.events(), before)

        status, left = self.api("POST", f"{P}/tenants/acme/messages",
                                {"name": "Vera", "email": "vera@example.com", "phone": "+15550100",
                                 "text": "Please call me back about order 42"})
        self.assertEqual(status, 201, left)
        ix = self.ix(left["id"])
        self.assertEqual((ix["channel"], ix["state"], ix["queue"]), ("email", "queued", self.queue("support")["id"]))
        self.assertEqual(ix["customer"], {"name": "Vera", "email": "vera@example.com", "phone": "+15550100"})
        self.assertEqual(ix["data"]["text"], "Please call me back about order 42")
        status, out = self.api("POST", f"{P}/tenants/acme/messages", {"name": "Vera", "text": "hi"})
        self.assertEqual(status, 400, "an email is needed to answer")

        # Closed by business hours: the widget says so, chats are refused, messages queue.
        today = time.strftime("%Y-%m-%d", time.gmtime())
        hours = self.ok("POST", f"{T}/hours", {"name": "closed today", "closed_dates": [today],
                                               "ranges": [{"day": d, "start_min": 0, "end_min": 1440} for d in range(7)]},
                        self.token("ada"))
        self.patch_queue("support", hours=hours["id"])
        self.presence("alice", "available")
        status, st = self.api("GET", f"{P}/tenants/acme/chat")
        self.assertEqual((st["open"], st["available"], st["leave_message"]), (False, False, True))
        status, out = self.api("POST", f"{P}/tenants/acme/chats", self.chat_body())
        self.assertEqual((status, out["error"]["code"]), (409, "queue_closed"))
        status, left = self.api("POST", f"{P}/tenants/acme/messages",
                                {"name": "Vera", "email": "vera@example.com", "text": "after hours"})
        self.assertEqual(status, 201, left)
        # An agent answers it later: it is offered like any email.
        self.patch_queue("support", hours=0)
        self.presence("alice", "break", "lunch")
        d = self.desk("alice")
        self.presence("alice", "available")
        d.wait(lambda m: m.get("type") == "offer" and m["interaction"]["channel"] == "email")

    # ---- bad input ------------------------------------------------------------------------

    def test_bad_input_gets_clear_errors_and_writes_nothing(self):
        self.presence("alice", "available")
        v = Visitor(self, self.chat_body())
        before = self.events()

        def refused(status, out, want_status, want_code):
            self.assertEqual(status, want_status, out)
            self.assertEqual(out["error"]["code"], want_code, out)

        refused(*v.call("POST", "/messages", {"text": "x" * 4001}), 400, "message_too_long")
        refused(*v.call("POST", "/messages", {"text": "   "}), 400, "bad_request")
        refused(*v.call("POST", "/messages", {"text": 5}), 400, "bad_request")
        refused(*v.call("POST", "/messages", {"text": "hi", "extra": 1}), 400, "bad_request")
        refused(*v.call("POST", "/messages", {"text": "hi", "client_id": "c" * 65}), 400, "bad_request")
        status, out = self.server.request("POST", f"{P}/chats/{v.id}/messages", raw=b'{"text": "hi"',
                                          token=v.token)
        refused(status, out, 400, "bad_request")
        # Wrong, missing and other chats' tokens: all "no such chat".
        for token in ("0" * 64, "garbage", None):
            refused(*self.server.request("POST", f"{P}/chats/{v.id}/messages", {"text": "hi"}, token=token),
                    404, "not_found")
        self.assertEqual(self.events(), before)
        other = Visitor(self, self.chat_body())
        before = self.events()
        refused(*self.server.request("GET", f"{P}/chats/{v.id}/messages", token=other.token), 404, "not_found")
        refused(*self.server.request("GET", f"{P}/chats/999999/messages", token=v.token), 404, "not_found")
        refused(*self.api("POST", f"{P}/tenants/nosuch/chats", self.chat_body()), 404, "not_found")
        refused(*self.api("POST", f"{P}/tenants/acme/chats", {"name": "V"}), 400, "bad_request")
        refused(*self.api("POST", f"{P}/tenants/acme/chats", self.chat_body(email="not an email")),
                400, "bad_request")
        refused(*self.api("POST", f"{P}/tenants/acme/chats", self.chat_body("y" * 5000)),
                400, "message_too_long")
        self.assertEqual(self.events(), before)

        # Over the WebSocket: the same errors as frames; the socket stays usable.
        before = self.events()
        v.connect()
        v.ws.send("not json")
        self.assertEqual(v.wait(lambda m: m["type"] == "error")["error"]["code"], "bad_request")
        v.ws.send({"type": "message", "text": "z" * 4001, "client_id": "big"})
        err = v.wait(lambda m: m["type"] == "error")
        self.assertEqual((err["error"]["code"], err["client_id"]), ("message_too_long", "big"))
        v.ws.send({"type": "ping"})
        v.wait(lambda m: m["type"] == "pong")
        self.assertEqual(self.events(), before)
        bad = WsClient("127.0.0.1", self.server.port, f"{P}/chats/{v.id}/ws?token=wrong")
        try:
            msg = bad.recv()
            self.assertEqual((msg["type"], msg["error"]["code"]), ("error", "not_found"))
        finally:
            bad.sock.close()

        # Rate: a burst of 20, then refused with 429 and nothing stored (2 more a second: 40
        # requests within 10 s meet a refusal).
        codes = [v.call("POST", "/messages", {"text": f"flood {i}"})[0] for i in range(40)]
        self.assertEqual(codes[:20], [201] * 20)
        self.assertIn(429, codes[20:])
        stored = v.call("GET", "/messages")[1]["messages"]
        self.assertEqual(len([m for m in stored if m["text"].startswith("flood")]), codes.count(201))

    # ---- another tenant ---------------------------------------------------------------------

    def test_another_tenants_agent_sees_nothing(self):
        self.presence("alice", "available")
        v = Visitor(self, self.chat_body())
        self.act("alice", v.id, "accept")
        carol = self.token("carol")  # a contractor of acme and globex, working for globex now
        self.ok("PUT", "/api/v1/tenants/globex/me/presence", {"state": "available"}, carol)
        desk = Desk(self.server, carol, tenant="globex")
        self.addCleanup(desk.close)
        self.ok("POST", f"{T}/interactions/{v.id}/messages", {"text": "private"}, self.token("alice"),
                expect=201)
        v.call("POST", "/messages", {"text": "also private"})
        for method, tail, body in (("GET", "messages", None), ("POST", "messages", {"text": "hi"}),
                                   ("POST", "typing", {"typing": True})):
            status, out = self.api(method, f"/api/v1/tenants/globex/interactions/{v.id}/{tail}", body,
                                   token=carol)
            self.assertEqual((status, out["error"]["code"]), (404, "not_found"), f"{method} {tail}")
        desk.ws.send({"type": "chat.send", "interaction": v.id, "text": "hi", "client_id": "x"})
        err = desk.wait(lambda m: m.get("type") == "error")
        self.assertEqual(err["error"]["code"], "not_found")
        desk.drain()
        self.assertEqual([m for m in desk.seen if str(m.get("type", "")).startswith("chat.")], [])
        # Globex's widget does not reach acme's chat either.
        status, out = self.api("GET", f"{P}/chats/{v.id}/messages?token=" + "0" * 64)
        self.assertEqual(status, 404, out)


class ChatVisitorGone(FlowTest):
    """A waiting chat whose visitor has no socket and makes no call for [chat] visitor_timeout
    is abandoned; one with its socket open keeps waiting."""

    config = "[chat]\nvisitor_timeout = 2\n"

    def test_waiting_chat_of_a_gone_visitor_is_abandoned(self):
        self.presence("alice", "break", "lunch")  # online, but nobody takes the chats
        gone = Visitor(self, {"name": "Gone", "text": "hello?"})
        here = Visitor(self, {"name": "Here", "text": "hello!"})
        here.connect()
        self.eventually(lambda: self.ix(gone.id)["state"] == "abandoned", timeout=10,
                        what="the gone visitor's chat abandoned")
        self.assertEqual(self.ix(here.id)["state"], "queued")
        texts = [m["text"] for m in self.ok("GET", f"{T}/interactions/{gone.id}/messages",
                                            token=self.token("sam"))["messages"]]
        self.assertEqual(texts, ["hello?", "The visitor left the chat."])
        self.assertEqual(self.stats("support")["abandoned"], 1)


class ChatCrash(unittest.TestCase):
    """Acknowledged messages survive SIGKILL; the transcript stays with the interaction."""

    def test_sigkill_after_acknowledged_messages(self):
        server = Server().start()
        self.addCleanup(server.cleanup)
        alice = server.login("alice")
        status, _ = server.request("PUT", f"{T}/me/presence", {"state": "available"}, token=alice)
        self.assertEqual(status, 200)
        status, c = server.request("POST", f"{P}/tenants/acme/chats",
                                   {"name": "Vera", "text": "before the crash", "client_id": "k-0"})
        self.assertEqual(status, 201, c)
        chat_id, token = c["chat"]["id"], c["token"]
        status, _ = server.request("POST", f"{T}/interactions/{chat_id}/accept", {}, token=alice)
        self.assertEqual(status, 200)
        sent = ["before the crash"]
        for i in range(1, 6):
            text = f"visitor {i}" if i % 2 else f"agent {i}"
            if i % 2:
                status, m = server.request("POST", f"{P}/chats/{chat_id}/messages",
                                           {"text": text, "client_id": f"k-{i}"}, token=token)
            else:
                status, m = server.request("POST", f"{T}/interactions/{chat_id}/messages",
                                           {"text": text}, token=alice)
            self.assertEqual(status, 201, m)
            sent.append(text)
        server.kill(signal.SIGKILL)
        server.start(port=server.port)

        sam = server.login("sam")
        status, t = server.request("GET", f"{T}/interactions/{chat_id}/messages", token=sam)
        self.assertEqual(status, 200, t)
        self.assertEqual([m["text"] for m in t["messages"]], sent)
        self.assertEqual([m["seq"] for m in t["messages"]], list(range(1, 7)))
        self.assertEqual(t["chat"]["state"], "closed")  # a live chat cannot survive a restart
        # The visitor's token still reads it; a resend of an acknowledged id is not stored again.
        status, out = server.request("GET", f"{P}/chats/{chat_id}/messages?since=4", token=token)
        self.assertEqual([m["seq"] for m in out["messages"]], [5, 6])
        status, dup = server.request("POST", f"{P}/chats/{chat_id}/messages",
                                     {"text": "visitor 5", "client_id": "k-5"}, token=token)
        self.assertEqual((status, dup["seq"]), (200, 6))
        status, out = server.request("POST", f"{P}/chats/{chat_id}/messages",
                                     {"text": "new", "client_id": "k-9"}, token=token)
        self.assertEqual((status, out["error"]["code"]), (409, "chat_ended"))


if __name__ == "__main__":
    unittest.main()
