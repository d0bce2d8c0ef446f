"""Helpers for the end-to-end flow tests (agent day, stats, lease, crash): a test case with a
fresh demo server per test, named look-ups of the demo tenant, and a WebSocket desk that keeps
what it has read so a test can look back at earlier messages.
"""
import os
import shutil
import tempfile
import time

from harness import Server, ServerTest

T = "/api/v1/tenants/acme"


class Frames:
    """The frames read from one WebSocket (self.ws), remembered in order so a test can look
    back at earlier ones. Both the agent's desk and the chat visitor read through it."""

    who = "socket"

    def __init__(self, ws=None):
        self.reset(ws)

    def reset(self, ws):
        """A new socket: forget what the previous one read."""
        self.ws = ws
        self.seen = []
        self.taken = set()  # indices in seen that a consuming wait returned

    def wait(self, pred, timeout=10.0, since=0, consume=False):
        """First frame at index >= since matching pred, reading more from the socket as needed.
        With consume, a frame is returned once: later consuming waits skip it, so waiting twice
        for "a message" gets two messages."""
        def match(i):
            if (consume and i in self.taken) or not pred(self.seen[i]):
                return None
            if consume:
                self.taken.add(i)
            return self.seen[i]

        for i in range(since, len(self.seen)):
            if (m := match(i)) is not None:
                return m
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                msg = self.ws.recv(timeout=max(0.05, deadline - time.time()))
            except TimeoutError:
                continue
            if msg is None:
                raise AssertionError(f"{self.who} closed; last seen {self.seen[-5:]}")
            self.seen.append(msg)
            if (m := match(len(self.seen) - 1)) is not None:
                return m
        raise AssertionError(f"{self.who}: no matching frame in {timeout}s; last seen {self.seen[-5:]}")

    def drain(self, quiet=0.3):
        """Reads what is pending until the socket has been quiet for `quiet` seconds."""
        while True:
            try:
                msg = self.ws.recv(timeout=quiet)
            except TimeoutError:
                return
            if msg is None:
                return
            self.seen.append(msg)


class Desk(Frames):
    """An agent's or supervisor's event WebSocket (/api/v1/events)."""

    who = "desk socket"

    def __init__(self, server, token, tenant="acme"):
        super().__init__(server.ws(token, tenant=tenant))
        if self.ws.status != 101:
            raise AssertionError(f"websocket upgrade refused: {self.ws.status}")
        self.hello = self.wait(lambda m: m.get("type") == "hello")

    def mark(self):
        """Index after everything sent so far: wait(..., since=mark) sees only newer messages."""
        self.drain(quiet=0.1)
        return len(self.seen)

    def offer(self, ix_id, timeout=10.0, since=0):
        return self.wait(lambda m: m.get("type") == "offer" and m["interaction"]["id"] == ix_id,
                         timeout, since)

    def agent(self, pred, timeout=10.0, since=0):
        """The agent object of the first "agent" message whose agent matches pred."""
        return self.wait(lambda m: m.get("type") == "agent" and pred(m["agent"]), timeout, since)["agent"]

    def close(self):
        self.ws.close()


class FlowTest(ServerTest):
    """A fresh demo server for every test, so tests do not see each other's contacts and agents."""

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    config = ""  # TOML the server reads with --config, when not empty

    def setUp(self):
        args = tuple(self.server_args)
        if self.config:
            folder = tempfile.mkdtemp(prefix="homeline-cfg-")
            self.addCleanup(shutil.rmtree, folder, True)
            path = os.path.join(folder, "homeline.toml")
            with open(path, "w") as f:
                f.write(self.config)
            args += ("--config", path)
        self.server = Server(demo=self.demo, extra_args=args).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    # ---- demo look-ups -------------------------------------------------------------------------

    def token(self, login):
        if login not in self._tokens:
            self._tokens[login] = self.server.login(login)
        return self._tokens[login]

    def uid(self, login):
        if login not in self._ids:
            self._ids[login] = self.ok("GET", "/api/v1/me", token=self.token(login))["user"]["id"]
        return self._ids[login]

    def queue(self, name):
        for q in self.ok("GET", f"{T}/queues", token=self.token("ada")):
            if q["name"] == name:
                return q
        raise AssertionError(f"no queue {name}")

    def patch_queue(self, name, **fields):
        return self.ok("PATCH", f"{T}/queues/{self.queue(name)['id']}", fields, self.token("ada"))

    def desk(self, login):
        d = Desk(self.server, self.token(login))
        self.addCleanup(d.close)
        return d

    # ---- agent and interaction commands ---------------------------------------------------------

    def presence(self, login, state, reason=None, expect=200):
        body = {"state": state}
        if reason is not None:
            body["reason"] = reason
        return self.ok("PUT", f"{T}/me/presence", body, self.token(login), expect=expect)

    def create(self, channel, queue, login="ada", **extra):
        body = {"channel": channel, "queue": self.queue(queue)["id"], **extra}
        return self.ok("POST", f"{T}/interactions", body, self.token(login), expect=201)

    def ix(self, ix_id):
        return self.ok("GET", f"{T}/interactions/{ix_id}", token=self.token("sam"))

    def act(self, login, ix_id, verb, body=None, expect=200):
        return self.ok("POST", f"{T}/interactions/{ix_id}/{verb}", body or {}, self.token(login),
                       expect=expect)

    def agent_view(self, login):
        for a in self.ok("GET", f"{T}/agents", token=self.token("sam")):
            if a["login"] == login:
                return a
        raise AssertionError(f"no agent {login}")

    def stats(self, name):
        for s in self.ok("GET", f"{T}/stats/queues", token=self.token("sam")):
            if s["name"] == name:
                return s
        raise AssertionError(f"no stats for {name}")

    def eventually(self, fn, timeout=10.0, what="condition"):
        """Polls fn() until it returns a truthy value; returns it."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError(f"{what} not reached in {timeout}s (last: {last})")
