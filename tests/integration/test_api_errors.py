"""Bad input, from malformed JSON to garbage bytes: each gets the right status and error code,
writes nothing (list sizes and homeline_events_total unchanged) and leaves the server serving.
"""
import contextlib
import json
import os
import socket
import tempfile
import unittest

from harness import TIMEOUT, Server, ServerTest, WsClient

ACME = "/api/v1/tenants/acme"
LISTS = ("/skills", "/queues", "/hours", "/dispositions", "/users", "/interactions")


class ErrorChecks:
    """Mixed into the test classes below."""

    def assertError(self, status, body, want_status, want_code, what=""):
        self.assertEqual(status, want_status, f"{what}: {body}")
        self.assertIsInstance(body, dict, f"{what}: error body is not JSON: {body!r}")
        self.assertEqual(set(body), {"error"}, f"{what}: {body}")
        self.assertEqual(set(body["error"]), {"code", "message"}, f"{what}: {body}")
        self.assertEqual(body["error"]["code"], want_code, f"{what}: {body}")
        self.assertIsInstance(body["error"]["message"], str, what)

    def snapshot(self):
        lists = {}
        for coll in LISTS:
            status, items = self.server.request("GET", ACME + coll, token=self.admin)
            self.assertEqual(status, 200, coll)
            lists[coll] = items
        status, lists["tenants"] = self.server.request("GET", "/api/v1/tenants", token=self.admin)
        return self.server.metric("homeline_events_total"), lists

    @contextlib.contextmanager
    def unchanged(self):
        """Asserts the block wrote nothing and the server still answers /healthz."""
        events, lists = self.snapshot()
        yield
        self.assertEqual(self.server.request("GET", "/healthz"), (200, {"status": "ok"}))
        after_events, after_lists = self.snapshot()
        self.assertEqual(after_events, events, "events were written")
        for coll in lists:
            self.assertEqual(len(after_lists[coll]), len(lists[coll]), coll)
        self.assertEqual(after_lists, lists)

    def bad(self, method, path, body, want_status=400, want_code="bad_request", raw=None):
        before = self.server.metric("homeline_events_total")
        status, out = self.server.request(method, path, body, token=self.admin, raw=raw)
        self.assertEqual(self.server.metric("homeline_events_total"), before,
                         f"{method} {path} {body or raw!r}: {status} {out} wrote events")
        self.assertError(status, out, want_status, want_code, f"{method} {path} {body or raw!r}")
        return out


class ApiErrors(ErrorChecks, ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.admin = s.login("ada")
        cls.alice = s.login("alice")
        status, queues = s.request("GET", ACME + "/queues", token=cls.admin)
        cls.queue = queues[0]["id"]
        status, users = s.request("GET", ACME + "/users", token=cls.admin)
        cls.alice_id = [u["id"] for u in users if u["login"] == "alice"][0]
        status, skills = s.request("GET", ACME + "/skills", token=cls.admin)
        cls.skill = skills[0]["id"]

    # ---- JSON bodies -----------------------------------------------------------------------

    def test_malformed_json(self):
        with self.unchanged():
            for raw in (b'{"name": ', b"{name: 'x'}", b'{"name": "x",}', b"\x00\x01",
                        b'{"name": "\xff\xfe"}', b'{"name": "x"} trailing', b"nul"):
                self.bad("POST", ACME + "/skills", None, raw=raw)
            self.bad("PUT", ACME + "/me/presence", None, raw=b"{")
            self.bad("PATCH", f"{ACME}/users/{self.alice_id}", None, raw=b'{"role": }')

    def test_json_that_is_not_an_object(self):
        with self.unchanged():
            for raw in (b"[]", b'[{"name": "x"}]', b'"name"', b"42", b"null", b"true"):
                self.bad("POST", ACME + "/skills", None, raw=raw)
                self.bad("POST", ACME + "/interactions", None, raw=raw)
                self.bad("POST", "/api/v1/auth/login", None, raw=raw)

    def test_deeply_nested_json(self):
        deep = "[" * 100000 + "]" * 100000
        with self.unchanged():
            self.bad("POST", ACME + "/skills", None, raw=deep.encode())
            body = ('{"channel": "email", "queue": %d, "data": {"x": %s}}' % (self.queue, deep))
            status, out = self.server.request("POST", ACME + "/interactions", None,
                                              token=self.admin, raw=body.encode())
            self.assertError(status, out, 400, "bad_request", "deep data")
        # Ordinary nesting in data is kept as sent.
        data = {"order": {"lines": [{"sku": "a", "tags": [["x"]]}]}}
        status, out = self.server.request("POST", ACME + "/interactions",
                                          {"channel": "email", "queue": self.queue, "data": data},
                                          token=self.admin)
        self.assertEqual((status, out["data"]), (201, data), out)

    def test_wrong_field_types(self):
        q = self.queue
        cases = [
            ("POST", ACME + "/skills", {"name": 5}),
            ("POST", ACME + "/skills", {"name": ["support"]}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": "sales"}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "priority": "high"}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "priority": 1.5}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": 2 ** 70}),
            ("POST", ACME + "/interactions", {"channel": 1, "queue": q}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "data": [1]}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "customer": "bob"}),
            ("POST", ACME + "/users", {"login": 5, "password": "secret1"}),
            ("POST", ACME + "/users", {"login": "u1", "password": "secret1", "role": 1}),
            ("POST", ACME + "/users", {"login": "u2", "password": "secret1", "skills": ["support"]}),
            ("POST", ACME + "/users", {"login": "u3", "password": "secret1",
                                       "skills": {"support": "high"}}),
            ("POST", ACME + "/users", {"login": "u4", "password": "secret1", "capacity": 3}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"disabled": "yes"}),
            ("POST", ACME + "/queues", {"name": "x", "sl_target": "high"}),
            ("POST", ACME + "/queues", {"name": "x", "skills": {"skill": 1}}),
            ("POST", ACME + "/queues", {"name": "x", "offer_timeout_s": "20"}),
            ("POST", ACME + "/queues", {"name": "x", "strategy": "random-ish"}),
            ("POST", ACME + "/hours", {"name": "h", "ranges": "mon-fri"}),
            ("POST", ACME + "/hours", {"name": "h", "closed_dates": ["christmas"]}),
            ("POST", ACME + "/dispositions", {"code": {"a": 1}}),
            ("PUT", ACME + "/me/presence", {"state": 1}),
            ("PUT", ACME + "/me/presence", {"state": "sleeping"}),
            ("PATCH", ACME, {"settings": {"max_missed_offers": "3"}}),
            ("PATCH", ACME, {"settings": []}),
            ("POST", "/api/v1/tenants", {"slug": 1, "name": "x"}),
            ("POST", "/api/v1/auth/login", {"login": ["ada"], "password": "demo"}),
        ]
        with self.unchanged():
            for method, path, body in cases:
                self.bad(method, path, body)

    def test_missing_required_fields(self):
        cases = [
            ("POST", ACME + "/skills", {}),
            ("POST", ACME + "/skills", None),  # no body at all
            ("POST", ACME + "/queues", {}),
            ("POST", ACME + "/hours", {}),
            ("POST", ACME + "/dispositions", {"name": "x"}),
            ("POST", ACME + "/interactions", {"channel": "email"}),
            ("POST", ACME + "/interactions", {"queue": self.queue}),
            ("POST", ACME + "/users", {"password": "secret1"}),
            ("POST", ACME + "/users", {"login": "nopass"}),  # a new user needs a password
            ("PUT", ACME + "/me/presence", {}),
            ("POST", "/api/v1/tenants", {"slug": "nameless"}),
            ("POST", "/api/v1/auth/login", {"login": "ada"}),
        ]
        with self.unchanged():
            for method, path, body in cases:
                self.bad(method, path, body)

    def test_unknown_fields(self):
        q = self.queue
        cases = [
            ("POST", ACME + "/skills", {"name": "x", "color": "red"}),
            ("POST", ACME + "/queues", {"name": "x", "colour": "red"}),
            ("POST", ACME + "/queues", {"name": "x", "skills": [{"skill": self.skill, "lvl": 1}]}),
            ("POST", ACME + "/hours", {"name": "h", "tz": "UTC"}),
            ("POST", ACME + "/dispositions", {"code": "x", "rank": 1}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "prio": 5}),
            ("POST", ACME + "/users", {"login": "u5", "password": "secret1", "admin": True}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"platform_admin": True}),
            ("PUT", ACME + "/me/presence", {"state": "available", "mood": "happy"}),
            ("PATCH", ACME, {"settings": {"theme": "dark"}}),
            ("POST", "/api/v1/tenants", {"slug": "t1", "name": "T", "owner": "sam"}),
        ]
        with self.unchanged():
            for method, path, body in cases:
                self.bad(method, path, body)
        # Nobody got promoted on the way.
        status, me = self.server.request("GET", "/api/v1/me", token=self.alice)
        self.assertFalse(me["user"].get("platform_admin"))

    def test_out_of_range_values(self):
        q, sk = self.queue, self.skill
        cases = [
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "priority": 1000}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "priority": -1}),
            ("POST", ACME + "/interactions", {"channel": "fax", "queue": q}),
            ("POST", ACME + "/interactions", {"channel": "email", "queue": q, "subject": "s" * 5000}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"skills": {"support": 11}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"skills": {"support": 0}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"skills": {"support": -3}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"skills": {"support": 2 ** 40}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"capacity": {"chat": 1000}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"capacity": {"voice": 2}}),
            ("PATCH", f"{ACME}/users/{self.alice_id}", {"role": "owner"}),
            ("POST", ACME + "/users", {"login": "u6", "password": "secret1",
                                       "skills": {"support": 11}}),
            ("POST", ACME + "/users", {"login": "u7", "password": "abc"}),
            ("POST", ACME + "/users", {"login": "u8", "password": "secret1",
                                       "capacity": {"chat": 60}}),
            ("POST", ACME + "/users", {"login": "u9", "password": "secret1",
                                       "skills": {"nosuchskill": 5}}),
            ("POST", ACME + "/users", {"login": "x" * 65, "password": "secret1"}),
            ("POST", ACME + "/queues", {"name": "x", "skills": [{"skill": sk,
                                                                 "min_proficiency": 11}]}),
            ("POST", ACME + "/queues", {"name": "x", "sl_target": 1.5}),
            ("POST", ACME + "/queues", {"name": "x", "offer_timeout_s": 0}),
            ("POST", ACME + "/queues", {"name": "x", "wrapup_s": -5}),
            ("POST", ACME + "/queues", {"name": "x", "wrapup_s": 1e12}),
            ("POST", ACME + "/hours", {"name": "h", "ranges": [{"day": 7, "start_min": 0,
                                                               "end_min": 60}]}),
            ("POST", ACME + "/hours", {"name": "h", "ranges": [{"day": 1, "start_min": 600,
                                                               "end_min": 60}]}),
            ("POST", ACME + "/skills", {"name": "s" * 65}),
            ("POST", ACME + "/skills", {"name": "Not A Slug!"}),
            ("PATCH", ACME, {"settings": {"max_missed_offers": 0}}),
            ("POST", "/api/v1/tenants", {"slug": "Bad Slug", "name": "x"}),
            # A slug that reads as an id would name another tenant in paths.
            ("POST", "/api/v1/tenants", {"slug": "2", "name": "x"}),
            ("POST", "/api/v1/tenants", {"slug": "0042", "name": "x"}),
            ("PATCH", ACME, {"slug": "1"}),
        ]
        with self.unchanged():
            for method, path, body in cases:
                self.bad(method, path, body)

    def test_conflicts_write_nothing(self):
        with self.unchanged():
            self.bad("POST", ACME + "/skills", {"name": "support"}, 409, "conflict")
            self.bad("POST", ACME + "/users", {"login": "alice", "name": "again"}, 409, "conflict")
            self.bad("POST", "/api/v1/tenants", {"slug": "acme", "name": "again"}, 409, "conflict")

    # ---- the router ------------------------------------------------------------------------

    def test_unknown_route(self):
        with self.unchanged():
            for path in ("/nope", "/api/v2/me", "/api/v1/tenants/acme/nope",
                         "/api/v1/tenants/acme/skills/1/nope", "/api/v1/me/", "/API/V1/ME"):
                status, body = self.server.request("GET", path, token=self.admin)
                if path == "/api/v1/me/":  # a trailing slash may mean the same route
                    self.assertIn(status, (200, 404), path)
                    continue
                self.assertError(status, body, 404, "route_not_found", path)
            # Without a token too: an unknown route is not a 401.
            status, body = self.server.request("POST", "/api/v1/nope", {})
            self.assertError(status, body, 404, "route_not_found")

    def test_wrong_method(self):
        with self.unchanged():
            for method, path in (("DELETE", "/api/v1/me"), ("PUT", "/healthz"),
                                 ("GET", "/api/v1/auth/login"), ("POST", "/metrics"),
                                 ("DELETE", ACME + "/skills"), ("PUT", ACME + "/queues"),
                                 ("PATCH", ACME + "/interactions/1/accept")):
                status, body = self.server.request(method, path, {} if method != "GET" else None,
                                                   token=self.admin)
                self.assertError(status, body, 405, "method_not_allowed", f"{method} {path}")

    def test_bad_percent_encoding(self):
        with self.unchanged():
            for path in ("/api/v1/tenants/%zz/skills", "/api/v1/tenants/acme/skills/%",
                         "/api/v1/tenants/ac%00me/skills", "/api/v1/tenants/acme/skills/%E0%A4%A",
                         "/api/v1/tenants/%ff%fe/queues"):
                status, body = self.server.request("GET", path, token=self.admin)
                self.assertError(status, body, 404, "not_found", path)
            # Bytes that are not UTF-8 in an unknown route: the error quotes the path, and once
            # crashed the server (found by fuzz_api_request).
            for path in ("/api/v1/m%e", "/%", "/api/v1/%zz", "/api/v1/%ff%fe", "/nope%c3"):
                status, body = self.server.request("GET", path, token=self.admin)
                self.assertError(status, body, 404, "route_not_found", path)
            # An escaped '/' stays inside its segment: no tenant is called "acme/skills".
            status, body = self.server.request("GET", "/api/v1/tenants/acme%2Fskills",
                                               token=self.admin)
            self.assertError(status, body, 404, "not_found", "escaped slash")
            # A bad escape in the query is not an error: the parameter is just not "1".
            status, body = self.server.request("GET", ACME + "/interactions?live=%zz",
                                               token=self.admin)
            self.assertEqual(status, 200, body)

    def test_very_long_url(self):
        with self.unchanged():
            status, body = self.server.request("GET", "/api/v1/tenants/acme/" + "a" * 100000,
                                               token=self.admin)
            self.assertIn(status, (400, 414, 431), body)
            self.assertError(status, body, status, "bad_request")
            # Long but within the header limit: routed as usual.
            status, body = self.server.request("GET", "/api/v1/tenants/" + "a" * 8000,
                                               token=self.admin)
            self.assertError(status, body, 404, "not_found")

    def test_body_over_the_limit(self):
        with self.unchanged():
            raw = json.dumps({"name": "x" * (1 << 20)}).encode()
            status, body = self.server.request("POST", ACME + "/skills", None, token=self.admin,
                                               raw=raw)
            self.assertError(status, body, 413, "payload_too_large")

    # ---- below HTTP ------------------------------------------------------------------------

    def test_garbage_instead_of_http(self):
        with self.unchanged():
            for garbage in (os.urandom(512), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                            b"HELLO\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                            b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                            b"POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                            b"POST /api/v1/auth/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                            b"\r\nzz\r\n"):
                out = self.server.raw(garbage, timeout=5)
                # Either a 400 (with a JSON error) or a closed connection; never a 2xx or 5xx.
                if out:
                    self.assertRegex(out, rb"^HTTP/1\.[01] 4\d\d ", garbage)
                    head, _, body = out.partition(b"\r\n\r\n")
                    err = json.loads(body)
                    self.assertEqual(err["error"]["code"], "bad_request")

    def test_half_a_request_then_close(self):
        with self.unchanged():
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT)
            sock.sendall(b"POST /api/v1/tenants/acme/skills HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 100\r\nAuthorization: Bearer " +
                         self.admin.encode() + b"\r\n\r\n{\"name\": \"half")
            sock.close()

    # ---- WebSocket -------------------------------------------------------------------------

    def test_ws_frame_that_is_not_json(self):
        ws = self.server.ws(self.alice)
        try:
            self.assertEqual(ws.status, 101)
            ws.recv_until(lambda m: m["type"] == "hello")
            with self.unchanged():
                for text in ("not json", "[1, 2]", '{"no": "type"}', '{"type": 5}', "", "\u00e9"):
                    ws.send(text)
                    msg = ws.recv_until(lambda m: m["type"] in ("error", "pong"))
                    self.assertEqual(msg["type"], "error", text)
                    self.assertEqual(msg["error"]["code"], "bad_request")
                # The connection is still usable.
                ws.send({"type": "ping"})
                ws.recv_until(lambda m: m["type"] == "pong")
        finally:
            ws.close()

    def test_ws_bad_token(self):
        with self.unchanged():
            for token in ("garbage", "x" * 1000):
                ws = self.server.ws(token)
                try:
                    self.assertEqual(ws.status, 101)
                    msg = ws.recv()
                    self.assertEqual(msg["type"], "error", msg)
                    self.assertEqual(msg["error"]["code"], "unauthorized")
                    self.assertIsNone(ws.recv(timeout=5), "still open after a bad token")
                finally:
                    ws.sock.close()
            ws = WsClient("127.0.0.1", self.server.port, "/api/v1/events?tenant=acme")
            try:
                msg = ws.recv()
                self.assertEqual(msg["error"]["code"], "unauthorized")
                self.assertIsNone(ws.recv(timeout=5))
            finally:
                ws.sock.close()

    def test_ws_foreign_origin(self):
        with self.unchanged():
            for origin in ("https://evil.example", "null",
                           f"http://127.0.0.1:{self.server.port}.evil.example"):
                ws = self.server.ws(self.alice, origin=origin)
                try:
                    if ws.status == 101:
                        msg = ws.recv()
                        self.assertIsNotNone(msg, origin)
                        self.assertEqual(msg["type"], "error", f"{origin}: {msg}")
                        self.assertEqual(msg["error"]["code"], "forbidden")
                        self.assertIsNone(ws.recv(timeout=5), "still open after a bad origin")
                    else:
                        self.assertEqual(ws.status, 403)
                finally:
                    ws.sock.close()
        # The server's own origin is welcome (the control for the above).
        ws = self.server.ws(self.alice, origin=f"http://127.0.0.1:{self.server.port}")
        try:
            self.assertEqual(ws.recv()["type"], "hello")
        finally:
            ws.close()

    def test_ws_on_another_path(self):
        ws = WsClient("127.0.0.1", self.server.port, "/api/v1/me", token=self.alice)
        try:
            self.assertEqual(ws.status, 404)
        finally:
            ws.sock.close()


class SmallBodyLimit(ErrorChecks, unittest.TestCase):
    """body_limit from a --config file."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="homeline-cfg-")
        cls.config = os.path.join(cls.dir, "homeline.toml")
        with open(cls.config, "w") as f:
            f.write("[server]\nbody_limit = 4096\n")
        cls.server = Server(extra_args=["--config", cls.config]).start()
        cls.admin = cls.server.login("ada")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        os.remove(cls.config)
        os.rmdir(cls.dir)

    def test_limit_from_config(self):
        with self.unchanged():
            raw = json.dumps({"name": "x" * 5000}).encode()
            status, body = self.server.request("POST", ACME + "/skills", None, token=self.admin,
                                               raw=raw)
            self.assertError(status, body, 413, "payload_too_large")
        # Under the limit: an ordinary request.
        status, body = self.server.request("POST", ACME + "/dispositions",
                                           {"code": "c", "name": "n" * 150}, token=self.admin)
        self.assertEqual(status, 201, body)


if __name__ == "__main__":
    unittest.main()
