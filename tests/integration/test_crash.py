"""Durability: every acknowledged write survives kill -9 (and a graceful stop).

Four client threads stream writes (contacts of every durable and real-time channel, presence
changes of several agents, skills) while the server is killed mid-stream. After a restart on the
same data directory every write that was answered 2xx is there; real-time contacts that were
live are closed with reason "restart", durable ones wait in line with their original enqueue
time, every agent is logged out, and the server takes new writes.
"""
import http.client
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest
import urllib.error

from flows import T
from harness import Server

AGENTS = ("alice", "bob", "carol")
UNACKED = (OSError, urllib.error.URLError, http.client.HTTPException)


class Ledger:
    """What the server acknowledged, and how many writes went unanswered (in flight at the kill)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.interactions = {}  # id -> the 201 body
        self.expected_state = {}  # id -> state after a restart, where the channel does not tell
        self.skills = {}        # id -> name
        self.presence_acks = 0
        self.unanswered_creates = 0
        self.unanswered = 0
        self.refused = []       # non-2xx answers: a bug in the stream itself

    def note_unanswered(self, creates_interaction):
        with self.lock:
            self.unanswered += 1
            if creates_interaction:
                self.unanswered_creates += 1


class Stream:
    """One run of the four writers against a server, until told to stop or the server is gone."""

    def __init__(self, server, tokens, queues, ledger, cycle):
        self.server, self.tokens, self.queues, self.ledger, self.cycle = server, tokens, queues, ledger, cycle
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(fn,), daemon=True)
                        for fn in (self._durable, self._live, self._presence, self._skills)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
            if t.is_alive():
                raise AssertionError("a writer thread did not stop")

    def _run(self, step):
        n = 0
        while not self.stop.is_set():
            if not step(n):
                return
            n += 1

    def _send(self, method, path, body, token, creates_interaction=False):
        """(status, body), or None when the request got no answer."""
        try:
            status, out = self.server.request(method, path, body, token=token, timeout=10)
        except UNACKED:
            self.ledger.note_unanswered(creates_interaction)
            return None
        if not 200 <= status < 300:
            with self.ledger.lock:
                self.ledger.refused.append((method, path, body, status, out))
        return status, out

    def _create(self, channel, n, token):
        queue = self.queues[n % len(self.queues)]
        body = {"channel": channel, "queue": queue, "subject": f"c{self.cycle}-{channel}-{n}",
                "customer": {"name": f"cust {n}", "phone": f"+1555{n:07d}"}}
        r = self._send("POST", f"{T}/interactions", body, token, creates_interaction=True)
        if r is None:
            return False
        if r[0] == 201:
            with self.ledger.lock:
                self.ledger.interactions[r[1]["id"]] = r[1]
        return True

    def _durable(self, n):
        return self._create(("email", "task", "callback")[n % 3], n, self.tokens["ada"])

    def _live(self, n):
        return self._create(("voice", "chat")[n % 2], n, self.tokens["sam"])

    def _presence(self, n):
        login = AGENTS[n % len(AGENTS)]
        state = ("available", "break", "available", "offline")[(n // len(AGENTS)) % 4]
        body = {"state": state, "reason": "lunch"} if state == "break" else {"state": state}
        r = self._send("PUT", f"{T}/me/presence", body, self.tokens[login])
        if r is None:
            return False
        with self.ledger.lock:
            self.ledger.presence_acks += 1
        return True

    def _skills(self, n):
        name = f"skill-c{self.cycle}-{n}"
        r = self._send("POST", f"{T}/skills", {"name": name}, self.tokens["ada"])
        if r is None:
            return False
        if r[0] == 201:
            with self.ledger.lock:
                self.ledger.skills[r[1]["id"]] = name
        return True


class Durability(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="homeline-crash-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.server = Server(data_dir=self.data_dir).start()
        self.addCleanup(self.server.kill)
        # Sessions are durable too, so these tokens outlive every restart.
        self.tokens = {login: self.server.login(login) for login in ("ada", "sam") + AGENTS}
        queues = self.get("/queues")
        self.queues = [q["id"] for q in queues if q["name"] in ("support", "sales", "billing")]
        self.assertEqual(len(self.queues), 3)
        self.ledger = Ledger()
        # sam serves only a queue of his own, where he holds contacts in hand at the kill (with
        # room for those of earlier cycles, offered to him again when he comes back).
        ada = self.tokens["ada"]
        status, skill = self.server.request("POST", f"{T}/skills", {"name": "vip"}, token=ada)
        self.assertEqual(status, 201, skill)
        status, vip = self.server.request(
            "POST", f"{T}/queues", {"name": "vip", "skills": [{"skill": skill["id"], "min_proficiency": 1}]},
            token=ada)
        self.assertEqual(status, 201, vip)
        self.vip = vip["id"]
        status, out = self.server.request("PATCH", f"{T}/users/{self.uid('sam')}", {"skills": {"vip": 5}, "capacity": {"email": 10, "task": 10}},
                                          token=ada)
        self.assertEqual(status, 200, out)

    def uid(self, login):
        return self.server.request("GET", "/api/v1/me", token=self.tokens[login])[1]["user"]["id"]

    def post(self, path, body, login, expect=(200, 201)):
        status, out = self.server.request("POST", T + path, body, token=self.tokens[login])
        self.assertIn(status, expect, f"POST {path}: {out}")
        return out

    def hold_contacts_in_hand(self):
        """sam holds a connected chat, a chat in wrap-up, a connected email and an offered task."""
        status, me = self.server.request("PUT", f"{T}/me/presence", {"state": "available"},
                                         token=self.tokens["sam"])
        self.assertEqual(status, 200, me)
        sam = me["user"]
        held = {}
        for name, channel in (("connected_chat", "chat"), ("wrapup_chat", "chat"),
                              ("connected_email", "email"), ("offered_task", "task")):
            ix = self.post("/interactions", {"channel": channel, "queue": self.vip, "subject": name}, "ada")
            self.assertEqual((ix["state"], ix["agent"]), ("offered", sam), name)
            if name != "offered_task":
                self.post(f"/interactions/{ix['id']}/accept", {}, "sam")
            if name == "wrapup_chat":
                self.assertEqual(self.post(f"/interactions/{ix['id']}/end", {}, "sam")["state"], "wrap_up")
            held[name] = ix
            self.ledger.interactions[ix["id"]] = ix
        # A wrap-up cut short by the restart is completed; the rest follows the channel.
        self.ledger.expected_state[held["wrapup_chat"]["id"]] = ("completed", "wrap_up_timeout")

    def get(self, path, login="sam"):
        status, out = self.server.request("GET", T + path, token=self.tokens[login])
        self.assertEqual(status, 200, f"GET {path}: {out}")
        return out

    def restart(self):
        self.server.start()

    def check_everything_acknowledged_survived(self):
        led = self.ledger
        self.assertEqual(led.refused, [], "the stream's writes should all be valid")
        stored = {ix["id"]: ix for ix in self.get("/interactions")}
        for ix_id, acked in led.interactions.items():
            self.assertIn(ix_id, stored, f"acknowledged interaction {ix_id} lost")
            now = stored[ix_id]
            for field in ("channel", "queue", "subject", "customer", "created_at", "enqueued_at"):
                self.assertEqual(now[field], acked[field], f"{ix_id}.{field}")
            if ix_id in led.expected_state:
                self.assertEqual((now["state"], now["reason"]), led.expected_state[ix_id], now)
            elif acked["channel"] in ("voice", "chat"):
                self.assertEqual((now["state"], now["reason"]), ("closed", "restart"), now)
            else:
                self.assertEqual((now["state"], now["agent"]), ("queued", 0), now)
        # Nothing appears that nobody asked for: only unanswered creates may have been committed.
        extra = set(stored) - set(led.interactions)
        self.assertLessEqual(len(extra), led.unanswered_creates, f"unexpected interactions {extra}")
        skills = {s["id"]: s["name"] for s in self.get("/skills")}
        for sid, name in led.skills.items():
            self.assertEqual(skills.get(sid), name, f"acknowledged skill {sid} {name}")
        for a in self.get("/agents"):
            self.assertEqual((a["presence"], a["activity"], a["work"]), ("offline", "offline", []), a)
        # The routing index agrees with the replayed interactions.
        waiting = sum(1 for ix in stored.values() if ix["state"] == "queued")
        stats = {s["name"]: s for s in self.get("/stats/queues")}
        self.assertEqual(sum(s["waiting"] for s in stats.values()), waiting)

    def check_still_works(self):
        status, ix = self.server.request("POST", f"{T}/interactions",
                                         {"channel": "email", "queue": self.queues[0], "subject": "after"},
                                         token=self.tokens["ada"])
        self.assertEqual(status, 201, ix)
        self.ledger.interactions[ix["id"]] = ix
        status, me = self.server.request("PUT", f"{T}/me/presence", {"state": "available"},
                                         token=self.tokens["alice"])
        self.assertEqual((status, me["presence"]), (200, "available"))
        # Routing runs again: the waiting contacts of her queues are offered to her.
        self.assertTrue(me["work"], "nothing offered to alice after the restart")
        status, me = self.server.request("PUT", f"{T}/me/presence", {"state": "offline"},
                                         token=self.tokens["alice"])
        self.assertEqual((status, me["presence"], me["work"]), (200, "offline", []))

    def test_kill_9_mid_stream_loses_no_acknowledged_write(self):
        rng = random.Random(7)
        for cycle in range(3):
            stream = Stream(self.server, self.tokens, self.queues, self.ledger, cycle)
            before = (len(self.ledger.interactions), len(self.ledger.skills), self.ledger.presence_acks)
            self.hold_contacts_in_hand()
            stream.start()
            time.sleep(rng.uniform(1.5, 3.0))
            self.assertEqual(self.server.kill(signal.SIGKILL), -signal.SIGKILL)
            stream.join()
            after = (len(self.ledger.interactions), len(self.ledger.skills), self.ledger.presence_acks)
            self.assertTrue(all(b < a for a, b in zip(after, before)),
                            f"every writer should have been acknowledged in cycle {cycle}: {before} -> {after}")
            self.restart()
            self.check_everything_acknowledged_survived()
            self.check_still_works()
        self.assertGreater(len(self.ledger.interactions), 20)
        # The kill caught writes in flight (each writer stops at its first unanswered request).
        self.assertGreater(self.ledger.unanswered, 0)

    def test_graceful_stop_loses_nothing(self):
        self.hold_contacts_in_hand()
        stream = Stream(self.server, self.tokens, self.queues, self.ledger, 0)
        stream.start()
        time.sleep(1.5)
        self.assertEqual(self.server.stop(), 0)  # SIGTERM: a clean exit
        stream.join()
        self.restart()
        self.check_everything_acknowledged_survived()
        self.check_still_works()
        self.assertEqual(self.server.stop(), 0)
        self.restart()
        self.check_everything_acknowledged_survived()


if __name__ == "__main__":
    unittest.main()
