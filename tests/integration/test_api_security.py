"""Tenant isolation, roles and authentication on every route of the OpenAPI document, so a
route added later is covered without touching this file (unless it brings a new kind of id).

A second tenant, initech, is built through the API by the platform admin. Acme-only users must
not reach it (404, as for a tenant that does not exist), acme routes must not reach its objects
by id (404, as for an id that does not exist), roles below the route's x-required-role get 403,
and calls without a valid session get 401.
"""
import json
import os
import re
import time
import unittest

from harness import ServerTest, append_events

NONE_ID = "999999999"  # an id no object has

# Requests the router serves without a session. A new public route must be added here on
# purpose.
PUBLIC = {("get", "/healthz"), ("get", "/metrics"), ("get", "/api/v1/openapi.json"),
          ("post", "/api/v1/auth/login"),
          # The chat widget's visitor: no session; a chat's own visitor token (test_chat.py).
          ("get", "/api/v1/public/tenants/{tenant}/chat"),
          ("post", "/api/v1/public/tenants/{tenant}/chats"),
          ("post", "/api/v1/public/tenants/{tenant}/messages"),
          ("get", "/api/v1/public/chats/{id}"),
          ("get", "/api/v1/public/chats/{id}/messages"),
          ("post", "/api/v1/public/chats/{id}/messages"),
          ("post", "/api/v1/public/chats/{id}/typing"),
          ("post", "/api/v1/public/chats/{id}/close")}

# Plausible bodies, so that a write refused for isolation or role is refused for that reason
# and not for the body's shape. Keyed by (method, route pattern after /tenants/{tenant}/).
BODIES = {
    ("patch", ""): {"name": "Renamed"},
    ("post", "skills"): {"name": "intruder"},
    ("patch", "skills/{id}"): {"name": "renamed"},
    ("post", "queues"): {"name": "intruder"},
    ("patch", "queues/{id}"): {"name": "renamed"},
    ("post", "hours"): {"name": "intruder", "ranges": [{"day": 1, "start_min": 0, "end_min": 60}]},
    ("patch", "hours/{id}"): {"name": "renamed"},
    ("post", "dispositions"): {"code": "intruder"},
    ("patch", "dispositions/{id}"): {"name": "Renamed"},
    ("post", "users"): {"login": "intruder", "password": "secret1", "role": "agent"},
    ("patch", "users/{id}"): {"role": "agent"},
    ("put", "me/presence"): {"state": "break", "reason": "lunch"},
    ("put", "agents/{id}/presence"): {"state": "break", "reason": "lunch"},
    ("post", "interactions/{id}/wrapup"): {"disposition": "resolved", "notes": "n"},
    ("post", "interactions/{id}/wrapup/extend"): {"seconds": 30},
    ("post", "interactions/{id}/callback"): {"phone": "+15550100"},
    ("post", "calendar"): {"name": "intruder", "first_day": "2026-12-24",
                           "last_day": "2026-12-26", "multiplier": 0.3},
    ("post", "trunks"): {"name": "intruder", "inbound": {"sources": ["192.0.2.1"]}},
    ("patch", "trunks/{id}"): {"name": "renamed"},
    ("post", "numbers"): {"number": "+15550999", "queue": 1},
    ("patch", "numbers/{id}"): {"name": "renamed"},
    ("put", "queues/{id}/voice"): {"record": True},
    ("post", "ivr"): {"name": "intruder", "options": {"1": {"hangup": True}}},
    ("patch", "ivr/{id}"): {"name": "renamed"},
    ("post", "simulations"): {"scenario": "[[queue]]\nname = \"q\"\narrivals = { per_interval = [1] }\n"},
}


def tiny_schedule_problem(login):
    """A week in which one agent covers Monday 09:00-17:00: solves in well under a second."""
    required = [0] * 672
    for q in range(9 * 4, 17 * 4):
        required[q] = 1
    return {"week_start": "2026-11-30T00:00:00Z", "required": required,
            "templates": [{"id": "day", "length_min": 480, "days": ["mon"], "starts": ["09:00"]}],
            "agents": [{"id": login, "contract": "contractor", "max_hours": 8,
                        "hourly_rate": 20}]}


BODIES[("post", "schedules")] = tiny_schedule_problem("alice")

# Plausible query strings for routes that need one, so that a GET allowed for the role answers
# 200 (and a refused one is refused for isolation, role or session, not the query).
# "{queue}" becomes an acme queue's id.
QUERIES = {
    ("get", "staffing"): "calls=100&interval=1800&aht=180&target_sl=0.8&answer_within=20",
    ("get", "forecast"): "queue={queue}&weeks=1",
    ("get", "requirements"): "queue={queue}&weeks=1&target_sl=0.8&answer_within=20",
}


def operations(doc):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def tenant_tail(path):
    """'skills/{id}' for '/api/v1/tenants/{tenant}/skills/{id}'; None when not tenant-scoped."""
    m = re.fullmatch(r"/api/v1/tenants/\{tenant\}/?(.*)", path)
    return m.group(1) if m else None


class ApiSecurity(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server

        def ok(method, path, body=None, token=None):
            status, out = s.request(method, path, body, token=token)
            if status not in (200, 201):
                raise AssertionError(f"set-up {method} {path}: {status} {out}")
            return out

        status, cls.doc = s.request("GET", "/api/v1/openapi.json")
        assert status == 200, cls.doc
        cls.ops = list(operations(cls.doc))

        ada = s.login("ada")
        cls.ada = ada
        # Initech: built by the platform admin through the API.
        it = ok("POST", "/api/v1/tenants", {"slug": "initech", "name": "Initech"}, ada)
        cls.initech_id = it["id"]
        base = "/api/v1/tenants/initech"
        skill = ok("POST", base + "/skills", {"name": "support"}, ada)
        hours = ok("POST", base + "/hours",
                   {"name": "office", "ranges": [{"day": d, "start_min": 0, "end_min": 1440}
                                                 for d in range(7)]}, ada)
        queue = ok("POST", base + "/queues",
                   {"name": "support", "skills": [{"skill": skill["id"], "min_proficiency": 1}],
                    "hours": hours["id"]}, ada)
        disp = ok("POST", base + "/dispositions", {"code": "done"}, ada)
        ivy = ok("POST", base + "/users",
                 {"login": "ivy", "password": "secret1", "role": "supervisor"}, ada)
        ian = ok("POST", base + "/users",
                 {"login": "ian", "password": "secret1", "role": "agent",
                  "skills": {"support": 5}}, ada)
        ix = ok("POST", base + "/interactions",
                {"channel": "email", "queue": queue["id"], "subject": "initech only"}, ada)
        sched = ok("POST", base + "/schedules?time_limit=10", tiny_schedule_problem("ian"), ada)
        cal = ok("POST", base + "/calendar", {"name": "initech day", "first_day": "2026-12-24",
                                              "last_day": "2026-12-24", "multiplier": 0.5}, ada)
        trunk = ok("POST", base + "/trunks",
                   {"name": "initech carrier", "inbound": {"sources": ["192.0.2.0/24"]}}, ada)
        number = ok("POST", base + "/numbers", {"number": "+15550900", "queue": queue["id"]}, ada)
        ivr = ok("POST", base + "/ivr", {"name": "initech main",
                                         "options": {"1": {"queue": queue["id"]}}}, ada)
        cls.foreign = {"users": ian["id"], "agents": ian["id"], "colleagues": ian["id"], "skills": skill["id"],
                       "queues": queue["id"], "stats/queues": queue["id"], "hours": hours["id"],
                       "dispositions": disp["id"], "interactions": ix["id"],
                       "schedules": sched["id"],
                       "calendar": cal["id"],
                       "trunks": trunk["id"], "numbers": number["id"], "ivr": ivr["id"]}

        # An admin of acme only (ada is admin of both tenants now).
        zed = ok("POST", "/api/v1/tenants/acme/users",
                 {"login": "zed", "password": "secret1", "role": "admin"}, ada)
        acme = "/api/v1/tenants/acme"
        queues = {q["name"]: q["id"] for q in ok("GET", acme + "/queues", token=ada)}
        users = {u["login"]: u["id"] for u in ok("GET", acme + "/users", token=ada)}
        a_ix = ok("POST", acme + "/interactions", {"channel": "email", "queue": queues["sales"]}, ada)
        a_hours = ok("POST", acme + "/hours", {"name": "office"}, ada)
        cls.acme_id = ok("GET", acme, token=ada)["id"]
        cls.own = {"users": users["bob"], "agents": users["bob"],
                   "skills": ok("GET", acme + "/skills", token=ada)[0]["id"],
                   "queues": queues["billing"], "stats/queues": queues["billing"],
                   "hours": a_hours["id"],
                   "dispositions": ok("GET", acme + "/dispositions", token=ada)[0]["id"],
                   "interactions": a_ix["id"],
                   "schedules": ok("POST", acme + "/schedules?time_limit=10",
                                   tiny_schedule_problem("alice"), ada)["id"],
                   "calendar": ok("POST", acme + "/calendar",
                                  {"name": "acme day", "first_day": "2026-12-25",
                                   "last_day": "2026-12-25", "multiplier": 0.3}, ada)["id"],
                   "trunks": ok("GET", acme + "/trunks", token=ada)[0]["id"],
                   "numbers": ok("GET", acme + "/numbers", token=ada)[0]["id"],
                   "ivr": ok("POST", acme + "/ivr", {"name": "acme main",
                                                     "options": {"1": {"hangup": True}}}, ada)["id"]}
        cls.acme_queue = queues["support"]
        cls.zed_id = zed["id"]

        # Recordings are made by calls (the SIP code), not by the API: one per tenant is
        # written into the event log, with its file, while the server is stopped.
        s.stop()
        now = int(time.time() * 1000)
        events = []
        for tenant, interaction, rec in [(cls.acme_id, a_ix["id"], 5_000_001),
                                         (cls.initech_id, ix["id"], 5_000_002)]:
            path = f"recordings/{tenant}/{interaction}.wav"
            events.append((now, tenant, "recording.started",
                           {"id": rec, "tenant": tenant, "interaction": interaction, "path": path}))
            events.append((now, tenant, "recording.ended", {"id": rec}))
            os.makedirs(os.path.join(s.data_dir, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(s.data_dir, path), "wb") as f:
                f.write(b"RIFF not really a wav")
        append_events(s.data_dir, events)
        s.start()
        cls.own["recordings"] = 5_000_001
        cls.foreign["recordings"] = 5_000_002

        cls.tok = {name: s.login(name, pw) for name, pw in
                   [("sam", "demo"), ("alice", "demo"), ("carol", "demo"), ("zed", "secret1"),
                    ("ivy", "secret1"), ("ian", "secret1")]}
        cls.tok["ada"] = ada

    # ---- helpers ---------------------------------------------------------------------------

    def assertError(self, status, body, want_status, want_code, what=""):
        self.assertEqual(status, want_status, f"{what}: {body}")
        self.assertIsInstance(body, dict, f"{what}: error body is not JSON: {body!r}")
        self.assertEqual(set(body), {"error"}, f"{what}: {body}")
        self.assertEqual(set(body["error"]), {"code", "message"}, f"{what}: {body}")
        self.assertEqual(body["error"]["code"], want_code, f"{what}: {body}")
        self.assertIsInstance(body["error"]["message"], str, what)
        self.assertTrue(body["error"]["message"], what)

    def fill(self, path, tenant, ids):
        """The concrete path: {tenant} replaced by tenant, {id} by ids[collection before it]."""
        out = path.replace("{tenant}", str(tenant))
        if "{id}" in out:
            coll = tenant_tail(path).split("/{id}")[0]
            self.assertIn(coll, ids, f"{path}: no test object for '{coll}'; add one in setUpClass")
            out = out.replace("{id}", str(ids[coll]))
        self.assertNotIn("{", out, f"{path}: unknown path parameter; teach this test about it")
        return out

    def body_for(self, method, path):
        if method not in ("post", "put", "patch"):
            return None
        tail = tenant_tail(path)
        if tail == "interactions/{id}/transfer":
            return {"queue": self.acme_queue}
        return BODIES.get((method, tail), {})

    def call(self, method, pattern, path, token, **kw):
        """method on the concrete path of pattern, with a plausible body (and query) for that
        route."""
        query = QUERIES.get((method, tenant_tail(pattern)))
        if query:
            query = query.replace("{queue}", str(self.acme_queue))
            path += ("&" if "?" in path else "?") + query
        return self.api(method.upper(), path, self.body_for(method, pattern), token=token, **kw)

    def tenant_ops(self, role=None):
        for method, path, op in self.ops:
            if tenant_tail(path) is None:
                continue
            if role is None or op.get("x-required-role") == role:
                yield method, path, op

    def events(self):
        return self.server.metric("homeline_events_total")

    # ---- the document itself ---------------------------------------------------------------

    def test_document_lists_every_route_with_a_role(self):
        roles = {"public", "any user", "platform admin", "agent", "supervisor", "admin"}
        self.assertGreater(len(self.ops), 40)
        for method, path, op in self.ops:
            self.assertIn(op.get("x-required-role"), roles, f"{method} {path}")
            if tenant_tail(path) is not None:
                self.assertIn(op["x-required-role"], {"agent", "supervisor", "admin"}, path)
        public = {(m, p) for m, p, op in self.ops if op["x-required-role"] == "public"}
        self.assertEqual(public, PUBLIC, "a public route must be public on purpose")
        # Each role level is really used, so the role tests below are not vacuous.
        used = {op["x-required-role"] for _, _, op in self.ops}
        self.assertTrue({"admin", "supervisor", "agent", "platform admin"} <= used)

    # ---- (a) another tenant ----------------------------------------------------------------

    def test_a_other_tenant_is_not_found_on_every_route(self):
        before = self.events()
        checked = 0
        for method, path, _ in self.tenant_ops():
            # Acme-only users on initech, and initech-only users on acme, by slug and by id.
            cases = [(who, ref, self.foreign) for who in ("alice", "sam", "zed")
                     for ref in ("initech", self.initech_id)]
            cases += [(who, ref, self.own) for who in ("ian", "ivy")
                      for ref in ("acme", self.acme_id)]
            for who, ref, ids in cases:
                p = self.fill(path, ref, ids)
                status, body = self.call(method, path, p, self.tok[who])
                self.assertError(status, body, 404, "not_found", f"{who} {method} {p}")
                # Indistinguishable from a tenant that does not exist.
                p2 = self.fill(path, "nosuchtenant", ids)
                self.assertEqual(self.call(method, path, p2, self.tok[who]), (status, body),
                                 f"{who} {method} {p} differs from an unknown tenant")
                checked += 1
        self.assertGreater(checked, 100)
        self.assertEqual(self.events(), before, "a refused request wrote events")

    def test_a_tenant_lists_show_only_member_tenants(self):
        status, tenants = self.api("GET", "/api/v1/tenants", token=self.tok["sam"])
        self.assertEqual(status, 200)
        self.assertEqual([t["slug"] for t in tenants], ["acme"])
        status, me = self.api("GET", "/api/v1/me", token=self.tok["ian"])
        self.assertEqual([t["slug"] for t in me["tenants"]], ["initech"])
        status, tenants = self.api("GET", "/api/v1/tenants", token=self.tok["ada"])
        self.assertIn("initech", [t["slug"] for t in tenants])
        # Acme's lists hold none of initech's objects.
        for coll in ("users", "skills", "queues", "hours", "dispositions", "interactions",
                     "agents", "colleagues"):
            status, items = self.api("GET", f"/api/v1/tenants/acme/{coll}", token=self.tok["zed"])
            self.assertEqual(status, 200, coll)
            key = "user" if coll in ("agents", "colleagues") else "id"
            self.assertNotIn(self.foreign[coll], [i[key] for i in items], coll)

    def test_a_colleagues_list_says_only_what_a_transfer_needs(self):
        # An agent sees the other agents and supervisors of the tenant (not admins, not
        # herself), with activity and phone only: no break reasons, times or work.
        status, items = self.api("GET", "/api/v1/tenants/acme/colleagues", token=self.tok["alice"])
        self.assertEqual(status, 200)
        logins = {i["login"] for i in items}
        self.assertIn("bob", logins)
        self.assertIn("sam", logins)
        self.assertNotIn("alice", logins)
        self.assertNotIn("ada", logins)
        for i in items:
            self.assertEqual(set(i), {"user", "login", "name", "activity", "phone"}, i)

    def test_a_websocket_to_other_tenant_is_refused(self):
        for who, tenant in (("sam", "initech"), ("alice", str(self.initech_id)), ("ivy", "acme")):
            ws = self.server.ws(self.tok[who], tenant=tenant)
            try:
                if ws.status == 101:
                    msg = ws.recv()
                    self.assertIsNotNone(msg, f"{who} -> {tenant}: closed without an error")
                    self.assertEqual(msg["type"], "error", f"{who} -> {tenant}: {msg}")
                    self.assertEqual(msg["error"]["code"], "not_found")
                    self.assertIsNone(ws.recv(timeout=5), f"{who} -> {tenant}: not closed")
                else:
                    self.assertIn(ws.status, (403, 404))
            finally:
                ws.sock.close()

    # ---- (b) ids of another tenant on one's own tenant's routes ----------------------------

    def test_b_foreign_ids_are_not_found_on_every_route(self):
        before = self.events()
        checked = 0
        callers = {"admin": ("zed", "ada"), "supervisor": ("sam", "zed", "ada"),
                   "agent": ("alice", "sam", "zed", "ada")}
        for method, path, op in self.tenant_ops():
            if "{id}" not in path:
                continue
            for who in callers[op["x-required-role"]]:
                p = self.fill(path, "acme", self.foreign)
                status, body = self.call(method, path, p, self.tok[who])
                self.assertError(status, body, 404, "not_found", f"{who} {method} {p}")
                # The same answer as for an id nobody has: existence does not leak.
                none = self.fill(path, "acme", {k: NONE_ID for k in self.foreign})
                self.assertEqual(self.call(method, path, none, self.tok[who]), (status, body),
                                 f"{who} {method} {p} differs from an unknown id")
                checked += 1
        self.assertGreater(checked, 30)
        self.assertEqual(self.events(), before, "a refused request wrote events")
        # Initech's objects are intact.
        for coll in ("skills", "queues", "hours", "dispositions", "interactions", "users"):
            status, _ = self.api("GET", f"/api/v1/tenants/initech/{coll}/{self.foreign[coll]}",
                                 token=self.tok["ivy"])
            self.assertEqual(status, 200, coll)

    def test_b_odd_ids_are_not_found_never_500(self):
        for method, path, _ in self.tenant_ops():
            if "{id}" not in path:
                continue
            for odd in ("0", "-1", "abc", "1e3", "0x10", "99999999999999999999", "%20", "1%00"):
                p = self.fill(path, "acme", {k: odd for k in self.foreign})
                status, body = self.call(method, path, p, self.tok["zed"])
                self.assertError(status, body, 404, "not_found", f"{method} {p}")

    def test_b_foreign_ids_in_bodies_are_refused(self):
        """References to another tenant's objects inside a body do not resolve either."""
        zed = self.tok["zed"]
        acme = "/api/v1/tenants/acme"
        # An agent of acme with a contact of her own, for the agent-side commands.
        spanish = [s["id"] for s in self.ok("GET", acme + "/skills", token=zed)
                   if s["name"] == "spanish"][0]
        q = self.ok("POST", acme + "/queues",
                    {"name": "spanish", "skills": [{"skill": spanish, "min_proficiency": 1}]}, zed)
        self.ok("POST", acme + "/users", {"login": "bea", "password": "secret1",
                                          "skills": {"spanish": 5}}, zed)
        bea = self.server.login("bea", "secret1")
        self.ok("PUT", acme + "/me/presence", {"state": "available"}, bea)
        ix = self.ok("POST", acme + "/interactions", {"channel": "chat", "queue": q["id"]}, zed)
        self.assertEqual(ix["state"], "offered")
        ix_path = f"{acme}/interactions/{ix['id']}"
        self.ok("POST", ix_path + "/accept", {}, bea)

        def refused(method, path, body, token):
            before = self.events()
            snapshot = [self.api("GET", acme + c, token=zed)[1]
                        for c in ("/interactions", "/queues", "/users")]
            status, out = self.api(method, path, body, token=token)
            self.assertIn(status, (400, 404), f"{method} {path} {body}: {out}")
            self.assertError(status, out, status, "bad_request" if status == 400 else "not_found",
                             f"{method} {path}")
            self.assertEqual(self.events(), before, f"{method} {path} wrote events")
            self.assertEqual([self.api("GET", acme + c, token=zed)[1]
                              for c in ("/interactions", "/queues", "/users")], snapshot)

        fq, fs, fh = self.foreign["queues"], self.foreign["skills"], self.foreign["hours"]
        refused("POST", acme + "/interactions", {"channel": "email", "queue": fq}, zed)
        refused("POST", acme + "/queues",
                {"name": "x1", "skills": [{"skill": fs, "min_proficiency": 1}]}, zed)
        refused("POST", acme + "/queues", {"name": "x2", "hours": fh}, zed)
        refused("POST", acme + "/queues",
                {"name": "x3", "steps": [{"after_s": 10, "overflow_to": fq}]}, zed)
        refused("PATCH", f"{acme}/queues/{q['id']}", {"hours": fh}, zed)
        refused("PATCH", f"{acme}/users/{self.own['users']}", {"skills": {str(fs): 5}}, zed)
        refused("POST", f"{acme}/interactions/{self.own['interactions']}/callback",
                {"phone": "+15550100", "queue": fq}, zed)
        refused("POST", ix_path + "/transfer", {"queue": fq}, bea)
        self.ok("POST", ix_path + "/end", {}, bea)
        refused("POST", ix_path + "/wrapup", {"disposition": self.foreign["dispositions"]}, bea)
        refused("POST", ix_path + "/wrapup", {"disposition": "done"}, bea)  # initech's code
        self.ok("POST", ix_path + "/wrapup", {"disposition": "resolved"}, bea)

    # ---- (c) roles -------------------------------------------------------------------------

    def test_c_roles_below_the_required_one_get_403(self):
        before = self.events()
        lower = {"admin": [("alice", "acme"), ("sam", "acme"), ("carol", "globex"),
                           ("ivy", "initech"), ("ian", "initech")],
                 "supervisor": [("alice", "acme"), ("carol", "globex"), ("ian", "initech")]}
        ids = {"acme": self.own, "initech": self.foreign,
               "globex": {k: NONE_ID for k in self.own}}
        checked = 0
        for role, callers in lower.items():
            for method, path, _ in self.tenant_ops(role):
                for who, tenant in callers:
                    p = self.fill(path, tenant, ids[tenant])
                    status, body = self.call(method, path, p, self.tok[who])
                    self.assertError(status, body, 403, "forbidden", f"{who} {method} {p}")
                    checked += 1
        self.assertGreater(checked, 50)
        self.assertEqual(self.events(), before, "a refused request wrote events")

    def test_c_allowed_roles_can_read(self):
        """The control for the test above: the roles a route asks for do get through."""
        allowed = {"admin": ("zed",), "supervisor": ("zed", "sam"), "agent": ("zed", "sam")}
        for method, path, op in self.tenant_ops():
            if method != "get":
                continue
            for who in allowed[op["x-required-role"]]:
                p = self.fill(path, "acme", self.own)
                status, body = self.call(method, path, p, self.tok[who])
                self.assertEqual(status, 200, f"{who} {method} {p}: {body}")

    def test_c_create_tenant_needs_platform_admin(self):
        status, before = self.api("GET", "/api/v1/tenants", token=self.tok["ada"])
        for who in ("sam", "zed", "alice", "ivy"):
            status, body = self.api("POST", "/api/v1/tenants",
                                    {"slug": f"by-{who}", "name": "Nope"}, token=self.tok[who])
            self.assertError(status, body, 403, "forbidden", who)
        self.assertEqual(self.api("GET", "/api/v1/tenants", token=self.tok["ada"])[1], before)

    # ---- (d) authentication ----------------------------------------------------------------

    def test_d_every_private_route_needs_a_valid_session(self):
        revoked = self.server.login("sam")
        status, _ = self.api("POST", "/api/v1/auth/logout", {}, token=revoked)
        self.assertEqual(status, 200)
        before = self.events()
        variants = {
            "no token": {},
            "garbage bearer": {"headers": {"Authorization": "Bearer garbage"}},
            "long bearer": {"headers": {"Authorization": "Bearer " + "x" * 5000}},
            "garbage cookie": {"headers": {"Cookie": "homeline_session=garbage"}},
            "revoked bearer": {"headers": {"Authorization": "Bearer " + revoked}},
            "revoked cookie": {"headers": {"Cookie": "homeline_session=" + revoked}},
        }
        checked = 0
        for method, path, op in self.ops:
            if op["x-required-role"] == "public":
                continue
            p = self.fill(path, "acme", self.own)
            for name, kw in variants.items():
                status, body = self.call(method, path, p, None, **kw)
                self.assertError(status, body, 401, "unauthorized", f"{name}: {method} {p}")
                checked += 1
            status, body = self.call(method, path, p + "?token=" + revoked, None)
            self.assertError(status, body, 401, "unauthorized", f"revoked ?token=: {method} {p}")
        self.assertGreater(checked, 200)
        self.assertEqual(self.events(), before, "an unauthenticated request wrote events")

    # ---- (e) open WebSockets follow sessions and memberships -------------------------------

    def new_member(self, login, role):
        status, user = self.api("POST", "/api/v1/tenants/acme/users",
                                {"login": login, "password": "secret1", "role": role},
                                token=self.tok["ada"])
        self.assertEqual(status, 201, user)
        return user["id"], self.server.login(login, "secret1")

    def assertClosedWithError(self, ws, what):
        msg = ws.recv_until(lambda m: m["type"] == "error", timeout=5)
        self.assertEqual(msg["error"]["code"], "unauthorized", what)
        while True:  # nothing but a close may follow
            msg = ws.recv(timeout=5)
            if msg is None:
                break
            self.assertNotIn(msg["type"], ("agent", "queues", "offer", "interaction"),
                             f"{what}: pushed after the error: {msg}")

    def bump_bob(self):
        """Changes an agent's presence, so supervisors' sockets get an "agent" message."""
        bob = self.server.login("bob")
        for state in ("available", "offline"):
            status, _ = self.api("PUT", "/api/v1/tenants/acme/me/presence", {"state": state},
                                 token=bob)
            self.assertEqual(status, 200)

    def test_e_websocket_closes_at_logout(self):
        _, token = self.new_member("wanda", "supervisor")
        other = self.server.login("wanda", "secret1")
        ws, ws_other = self.server.ws(token), self.server.ws(other)
        try:
            ws.recv_until(lambda m: m["type"] == "hello")
            ws_other.recv_until(lambda m: m["type"] == "hello")
            self.assertEqual(self.api("POST", "/api/v1/auth/logout", {}, token=token)[0], 200)
            self.bump_bob()
            self.assertClosedWithError(ws, "after logout")
            # The same user's other session keeps its socket and its events.
            ws_other.recv_until(lambda m: m["type"] == "agent" and m["agent"]["login"] == "bob")
        finally:
            ws.sock.close()
            ws_other.close()

    def test_e_websocket_closes_when_removed_from_tenant(self):
        uid, token = self.new_member("wes", "supervisor")
        ws = self.server.ws(token)
        try:
            ws.recv_until(lambda m: m["type"] == "hello")
            status, _ = self.api("DELETE", f"/api/v1/tenants/acme/users/{uid}",
                                 token=self.tok["ada"])
            self.assertEqual(status, 200)
            self.bump_bob()
            self.assertClosedWithError(ws, "after removal")
        finally:
            ws.sock.close()

    def test_e_websocket_closes_when_user_disabled(self):
        uid, token = self.new_member("wyn", "supervisor")
        ws = self.server.ws(token)
        try:
            ws.recv_until(lambda m: m["type"] == "hello")
            status, _ = self.api("PATCH", f"/api/v1/tenants/acme/users/{uid}",
                                 {"disabled": True}, token=self.tok["ada"])
            self.assertEqual(status, 200)
            self.bump_bob()
            self.assertClosedWithError(ws, "after disabling")
        finally:
            ws.sock.close()

    def test_e_demoted_supervisor_stops_seeing_other_agents(self):
        uid, token = self.new_member("vic", "supervisor")
        ws = self.server.ws(token)

        def own_change(state):
            """Vic's own presence change: its message comes after all earlier ones."""
            body = {"state": state, "reason": "lunch"} if state == "break" else {"state": state}
            status, _ = self.api("PUT", "/api/v1/tenants/acme/me/presence", body, token=token)
            self.assertEqual(status, 200)
            seen = []
            ws.recv_until(lambda m: seen.append(m) or (m["type"] == "agent"
                                                       and m["agent"]["login"] == "vic"
                                                       and m["agent"]["presence"] == state))
            return [m["agent"]["login"] for m in seen if m["type"] == "agent"]

        try:
            ws.recv_until(lambda m: m["type"] == "hello")
            self.bump_bob()
            self.assertIn("bob", own_change("break"), "the control: a supervisor sees bob")
            status, _ = self.api("PATCH", f"/api/v1/tenants/acme/users/{uid}", {"role": "agent"},
                                 token=self.tok["ada"])
            self.assertEqual(status, 200)
            self.bump_bob()
            self.assertNotIn("bob", own_change("offline"), "an agent was shown another agent")
        finally:
            ws.close()

    def test_d_public_routes_answer_without_a_session(self):
        # A chat to read: Alice on a break counts as online, so the chat waits in line.
        acme = "/api/v1/tenants/acme"
        self.ok("PUT", acme + "/me/presence", {"state": "break", "reason": "lunch"}, self.tok["alice"])
        chat = self.ok("POST", "/api/v1/public/tenants/acme/chats", {"name": "V", "text": "hi"})
        try:
            for method, path in PUBLIC:
                if method != "get":
                    continue
                p = path.replace("{tenant}", "acme").replace("{id}", str(chat["chat"]["id"]))
                if "{id}" in path:
                    # A chat's routes take its visitor token instead of a session.
                    status, body = self.api("GET", p)
                    self.assertError(status, body, 404, "not_found", f"{p} without its token")
                    p += "?token=" + chat["token"]
                status, _ = self.api("GET", p)
                self.assertEqual(status, 200, path)
        finally:
            self.ok("POST", f"/api/v1/public/chats/{chat['chat']['id']}/close?token={chat['token']}")
            self.ok("PUT", acme + "/me/presence", {"state": "offline"}, self.tok["alice"])



# What bob (an agent of acme) gets on each per-interaction agent route when the interaction is
# alice's, when not 403: the engine's own "not yours" answers (an offer or a wrap-up that is
# not in his hands: 409), a contact that is no longer waiting (callback: 409), and chat-only
# routes on contacts that are not chats (404). A new route is expected to answer 403.
NOT_YOURS = {
    "interactions/{id}/accept": 409,
    "interactions/{id}/reject": 409,
    "interactions/{id}/wrapup": 409,
    "interactions/{id}/wrapup/extend": 409,
    "interactions/{id}/callback": 409,
    "interactions/{id}/messages:post": 404,
    "interactions/{id}/typing": 404,
}
# Call control on an interaction that is not a call: 404 (no such call), whoever asks.
CALL_ONLY = {"interactions/{id}/hold", "interactions/{id}/resume", "interactions/{id}/recording/pause",
             "interactions/{id}/recording/resume"}


class OwnInteractions(ServerTest):
    """Per-object checks inside the agent-level routes: an agent of the tenant acting on
    another agent's interaction (a connected task, and a call) is refused on every
    interactions/{id} route, nothing is written and nothing changes; the interaction's own
    agent and a supervisor are not refused."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        acme = "/api/v1/tenants/acme"
        cls.base = acme

        def ok(method, path, body=None, token=None):
            status, out = s.request(method, path, body, token=token)
            if status not in (200, 201):
                raise AssertionError(f"set-up {method} {path}: {status} {out}")
            return out

        ada = s.login("ada")
        cls.doc = ok("GET", "/api/v1/openapi.json")
        users = {u["login"]: u["id"] for u in ok("GET", acme + "/users", token=ada)}
        queues = {q["name"]: q["id"] for q in ok("GET", acme + "/queues", token=ada)}
        tenant = ok("GET", acme, token=ada)["id"]
        cls.alice_id = users["alice"]
        # A call of alice's: calls come from SIP, so its events go into the log while the
        # server is stopped (at restart the live call is closed; it stays alice's).
        s.stop()
        now = int(time.time() * 1000)
        call = 7_000_001
        append_events(s.data_dir, [
            (now, tenant, "interaction.created",
             {"channel": "voice", "customer": {"email": "", "name": "Vera", "phone": "+15557654321"},
              "data": "", "enqueued_at": now, "id": call, "origin": 0, "priority": 0,
              "queue": queues["support"], "subject": "", "tenant": tenant}),
            (now + 1, tenant, "interaction.offered", {"agent": users["alice"], "expires": now + 20001, "id": call}),
            (now + 2, tenant, "interaction.accepted", {"agent": users["alice"], "id": call})])
        s.start()
        cls.tok = {who: s.login(who) for who in ("alice", "bob", "sam")}
        cls.tok["ada"] = s.login("ada")
        # A task connected to alice (the only agent available).
        ok("PUT", acme + "/me/presence", {"state": "available"}, cls.tok["alice"])
        task = ok("POST", acme + "/interactions",
                  {"channel": "task", "queue": queues["support"], "subject": "alice's",
                   "customer": {"email": "vera@example.com"}}, cls.tok["ada"])
        deadline = time.time() + 10
        while ok("GET", f"{acme}/interactions/{task['id']}", token=ada)["state"] != "offered":
            if time.time() > deadline:
                raise AssertionError("the task was not offered to alice")
            time.sleep(0.05)
        ok("POST", f"{acme}/interactions/{task['id']}/accept", token=cls.tok["alice"])
        cls.ixs = {"task": task["id"], "call": call}
        cls.queue = queues["sales"]

    def interaction_ops(self):
        for method, path, op in operations(self.doc):
            tail = tenant_tail(path)
            if tail and tail.startswith("interactions/{id}"):
                yield method, tail, op

    def body(self, method, tail):
        if method not in ("post", "put", "patch"):
            return None
        if tail == "interactions/{id}/transfer":
            return {"queue": self.queue}
        if tail == "interactions/{id}/consult":
            return {"queue": self.queue}
        if tail == "interactions/{id}/messages":
            return {"text": "hello"}
        if tail == "interactions/{id}/monitor":
            return {"mode": "listen"}
        return BODIES.get((method, tail), {})

    def state(self, ix):
        return self.ok("GET", f"{self.base}/interactions/{ix}", token=self.tok["sam"])

    def test_another_agents_interaction_is_refused_on_every_route(self):
        before = self.server.metric("homeline_events_total")
        states = {k: self.state(v) for k, v in self.ixs.items()}
        self.assertEqual((states["task"]["state"], states["task"]["agent"]), ("connected", self.alice_id))
        self.assertEqual(states["call"]["agent"], self.alice_id)
        checked = set()
        for method, tail, op in self.interaction_ops():
            key = tail + (":post" if method == "post" and tail.endswith("/messages") else "")
            for kind, ix in self.ixs.items():
                want = 404 if kind == "task" and tail in CALL_ONLY else NOT_YOURS.get(key, 403)
                path = f"{self.base}/{tail.replace('{id}', str(ix))}"
                status, body = self.api(method.upper(), path, self.body(method, tail), token=self.tok["bob"])
                self.assertEqual(status, want, f"bob {method} {path} ({kind}): {body}")
                self.assertIn("error", body, f"bob {method} {path}")
                checked.add((method, tail))
            # The transfer to a number, which the body chooses, is refused too.
            if tail == "interactions/{id}/transfer":
                for kind, ix in self.ixs.items():
                    status, body = self.api("POST", f"{self.base}/interactions/{ix}/transfer",
                                            {"number": "+15550199"}, token=self.tok["bob"])
                    self.assertEqual(status, 403 if kind == "call" else 409, f"{kind}: {body}")
        # The routes the issue names are among those walked.
        for method, tail in [("get", "interactions/{id}"), ("post", "interactions/{id}/end"),
                             ("post", "interactions/{id}/hold"), ("post", "interactions/{id}/resume"),
                             ("post", "interactions/{id}/recording/pause"),
                             ("post", "interactions/{id}/recording/resume"),
                             ("get", "interactions/{id}/history"), ("post", "interactions/{id}/abandon"),
                             ("post", "interactions/{id}/transfer"), ("post", "interactions/{id}/consult")]:
            self.assertIn((method, tail), checked)
        self.assertGreaterEqual(len(checked), 20)
        self.assertEqual(self.server.metric("homeline_events_total"), before, "a refused request wrote events")
        self.assertEqual({k: self.state(v) for k, v in self.ixs.items()}, states)

    def test_its_agent_and_a_supervisor_are_not_refused(self):
        task, call = self.ixs["task"], self.ixs["call"]
        for who in ("alice", "sam"):
            for ix in (task, call):
                self.assertEqual(self.api("GET", f"{self.base}/interactions/{ix}", token=self.tok[who])[0], 200, who)
                self.assertEqual(self.api("GET", f"{self.base}/interactions/{ix}/history",
                                          token=self.tok[who])[0], 200, who)
            # Call control gets past the ownership check (no SIP here: no live call, 404).
            status, body = self.api("POST", f"{self.base}/interactions/{call}/hold", {}, token=self.tok[who])
            self.assertEqual(status, 404, f"{who}: {body}")
            self.assertNotEqual(body["error"]["message"], "not your interaction")
        # alice may abandon and end her own; here end it (the last test of the class).
        self.assertEqual(self.api("POST", f"{self.base}/interactions/{task}/end", token=self.tok["alice"])[0], 200)
        self.assertEqual(self.state(task)["state"], "wrap_up")

if __name__ == "__main__":
    unittest.main()
