"""The store's bounded queue (docs/decisions.md 41): while the disk is behind, a write waits
for it, writes past the bound get 503 before they run (REST) or an "unavailable" error frame
(chat sockets) and change nothing, /metrics shows it, and everything resumes once the disk
catches up. The slow disk is real: another connection holds SQLite's write lock, so the server's
writer waits on it (its busy timeout is 5 s; the lock is held well under that).
"""
import json
import os
import sqlite3
import threading
import time

from flows import FlowTest, Frames, T
from harness import WsClient

P = "/api/v1/public"


class StoreBehind(FlowTest):
    config = "[server]\nstore_max_queued = 1\n"

    def hold_the_disk(self):
        """Takes SQLite's write lock; the server's next commit waits for it. Returns release()."""
        self.eventually(lambda: self.server.metric("homeline_store_queued_events") == 0,
                        what="the store idle")
        db = sqlite3.connect(os.path.join(self.server.data_dir, "homeline.db"),
                             isolation_level=None, timeout=10)
        db.execute("BEGIN IMMEDIATE")

        def release():
            db.execute("ROLLBACK")
            db.close()
        return release

    def test_writes_past_the_bound_get_503_and_the_held_one_completes(self):
        alice, _ = self.token("alice"), self.token("sam")  # logins write: before the lock
        release = self.hold_the_disk()
        try:
            first = {}
            writer = threading.Thread(target=lambda: first.update(
                r=self.api("PUT", f"{T}/me/presence", {"state": "available"}, token=alice)))
            writer.start()
            # Its event is queued behind the lock: the store is at its bound (1).
            self.eventually(lambda: self.server.metric("homeline_store_full") == 1,
                            what="the store full")
            status, headers, body = self.server.exchange(
                "PUT", f"{T}/me/presence", {"state": "break", "reason": "lunch"},
                headers={"Authorization": "Bearer " + alice})
            self.assertEqual(status, 503, body)
            self.assertEqual(body["error"]["code"], "unavailable")
            self.assertIn(("retry-after", "1"), headers)
            # /metrics answers at once (other reads wait, like the write, for what they show);
            # the first write is not answered before it is durable.
            self.assertEqual(self.server.metric("homeline_store_refused_writes_total"), 1)
            self.assertTrue(writer.is_alive())
        finally:
            release()
        writer.join(10)
        self.assertFalse(writer.is_alive())
        self.assertEqual(first["r"][0], 200, first["r"])
        self.eventually(lambda: self.server.metric("homeline_store_full") == 0,
                        what="the store caught up")
        # The refused write changed nothing; a write now goes through.
        self.assertEqual(self.agent_view("alice")["presence"], "available")
        self.presence("alice", "break", "lunch")
        self.assertEqual(self.agent_view("alice")["presence"], "break")

    def test_chat_messages_on_a_socket_are_refused_while_full(self):
        self.presence("alice", "break", "lunch")  # online, so the chat waits for her
        status, chat = self.api("POST", f"{P}/tenants/acme/chats",
                                {"name": "Vera", "text": "hello"})
        self.assertEqual(status, 201, chat)
        cid, token = chat["chat"]["id"], chat["token"]
        alice, _ = self.token("alice"), self.token("sam")  # logins write: before the lock
        visitor = Frames(WsClient("127.0.0.1", self.server.port,
                                  f"{P}/chats/{cid}/ws?token={token}"))
        self.addCleanup(visitor.ws.sock.close)
        visitor.wait(lambda m: m["type"] == "hello")
        release = self.hold_the_disk()
        try:
            writer = threading.Thread(target=lambda: self.api(
                "PUT", f"{T}/me/presence", {"state": "break", "reason": "training"}, token=alice))
            writer.start()
            self.eventually(lambda: self.server.metric("homeline_store_full") == 1,
                            what="the store full")
            visitor.ws.send({"type": "message", "text": "anyone?", "client_id": "m-1"})
            err = visitor.wait(lambda m: m["type"] == "error")
            self.assertEqual(err["error"]["code"], "unavailable")
        finally:
            release()
        writer.join(10)
        # Resent once the disk caught up: stored, acknowledged by coming back, once.
        self.eventually(lambda: self.server.metric("homeline_store_full") == 0,
                        what="the store caught up")
        visitor.ws.send({"type": "message", "text": "anyone?", "client_id": "m-1"})
        back = visitor.wait(lambda m: m["type"] == "message" and m["message"]["client_id"] == "m-1")
        self.assertEqual(back["message"]["text"], "anyone?")
        stored = self.ok("GET", f"{T}/interactions/{cid}/messages", token=self.token("sam"))
        self.assertEqual([m["text"] for m in stored["messages"]], ["hello", "anyone?"])

    def test_a_lock_held_past_the_busy_timeout_is_waited_out(self):
        """Issue 2: a lock held longer than the writer's busy timeout (5 s) used to fail the
        store and stop the server. Now the writer retries: the held write is answered once the
        lock goes, it is in the file, and the server served throughout."""
        alice = self.token("alice")
        release = self.hold_the_disk()
        try:
            first = {}
            writer = threading.Thread(target=lambda: first.update(
                r=self.api("PUT", f"{T}/me/presence", {"state": "available"}, token=alice,
                           timeout=30)))
            writer.start()
            self.eventually(lambda: self.server.metric("homeline_store_full") == 1,
                            what="the store full")
            time.sleep(7)  # past the 5 s busy timeout
            self.assertIsNone(self.server.proc.poll(), "the server still runs")
            self.assertTrue(writer.is_alive(), "not answered before it is durable")
            self.assertGreaterEqual(self.server.metric("homeline_store_busy_retries_total"), 1)
            status, _, _ = self.server.exchange("PUT", f"{T}/me/presence", {"state": "offline"},
                                                headers={"Authorization": "Bearer " + alice})
            self.assertEqual(status, 503, "writes past the bound are still refused, not failed")
        finally:
            release()
        writer.join(30)
        self.assertFalse(writer.is_alive())
        self.assertEqual(first["r"][0], 200, first["r"])
        db = sqlite3.connect(os.path.join(self.server.data_dir, "homeline.db"))
        try:
            last = db.execute("SELECT payload FROM events WHERE type = 'agent.presence' "
                              "ORDER BY seq DESC LIMIT 1").fetchone()[0]
        finally:
            db.close()
        self.assertEqual(json.loads(last)["presence"], "available", "the acknowledged write is stored")
        self.eventually(lambda: self.server.metric("homeline_store_full") == 0,
                        what="the store caught up")
        self.assertEqual(self.agent_view("alice")["presence"], "available")
        self.presence("alice", "break", "lunch")
        self.assertEqual(self.agent_view("alice")["presence"], "break")
