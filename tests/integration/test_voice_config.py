"""Voice configuration through the API (issue 3): SIP trunks, phone numbers and per-queue voice
settings. Create/list/update/delete, passwords never shown, canonical forms (CIDRs, E.164),
bad input refused with nothing written, other tenants' objects not found, agents refused, the
demo's trunk and number, and everything still there after a SIGKILL restart.
"""
import unittest

from harness import ServerTest

ACME = "/api/v1/tenants/acme"
GLOBEX = "/api/v1/tenants/globex"
OTHER = "/api/v1/tenants/other"  # made by ada in setUpClass; she is its admin


class VoiceConfig(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.ada = s.login("ada")     # admin of acme, platform admin
        cls.sam = s.login("sam")     # supervisor of acme
        cls.alice = s.login("alice")  # agent of acme
        cls.carol = s.login("carol")  # agent of acme and globex
        _, queues = s.request("GET", ACME + "/queues", token=cls.ada)
        cls.queues = {q["name"]: q["id"] for q in queues}
        status, _ = s.request("POST", "/api/v1/tenants", {"slug": "other", "name": "Other"}, token=cls.ada)
        assert status == 201, status
        status, _ = s.request("POST", OTHER + "/queues", {"name": "support"}, token=cls.ada)
        assert status == 201, status

    def events(self):
        return self.server.metric("homeline_events_total")

    def refused(self, method, path, body, status, code, token=None):
        before = self.events()
        got, out = self.api(method, path, body, token=token or self.ada)
        self.assertEqual(got, status, f"{method} {path} {body}: {out}")
        self.assertEqual(out["error"]["code"], code, out)
        self.assertTrue(out["error"]["message"])
        self.assertEqual(self.events(), before, f"{method} {path} {body} wrote events")
        return out

    # ---- the demo ------------------------------------------------------------------------------

    def test_demo_has_a_local_trunk_and_the_support_number(self):
        trunks = self.ok("GET", ACME + "/trunks", token=self.sam)
        local = [t for t in trunks if t["name"] == "local"]
        self.assertEqual(len(local), 1, trunks)
        self.assertEqual(local[0]["inbound"]["sources"], ["127.0.0.1/32", "::1/128"])
        numbers = self.ok("GET", ACME + "/numbers", token=self.sam)
        support = [n for n in numbers if n["number"] == "+15550100"]
        self.assertEqual(len(support), 1, numbers)
        self.assertEqual(support[0]["queue"], self.queues["support"])
        self.assertEqual(support[0]["ivr"], 0)
        # Another tenant sees none of it.
        self.assertEqual(self.ok("GET", OTHER + "/trunks", token=self.ada), [])
        self.assertEqual(self.ok("GET", OTHER + "/numbers", token=self.ada), [])

    # ---- trunks --------------------------------------------------------------------------------

    def test_trunk_lifecycle_and_passwords_are_write_only(self):
        body = {"name": "carrier",
                "inbound": {"sources": ["203.0.113.0/24", "2001:DB8::/32", "::ffff:198.51.100.7"],
                            "username": "acme-carrier", "password": "in-secret"},
                "outbound": {"host": "sip.example.net", "port": 5080, "transport": "tcp",
                             "username": "acme", "password": "out-secret",
                             "caller_id": "+1 (555) 010-0"}}
        t = self.ok("POST", ACME + "/trunks", body, self.ada, expect=201)
        self.assertEqual(t["inbound"]["sources"],
                         ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"])
        self.assertEqual(t["outbound"]["caller_id"], "+15550100")
        self.assertTrue(t["inbound"]["password_set"])
        self.assertTrue(t["outbound"]["password_set"])
        path = f"{ACME}/trunks/{t['id']}"
        for status, text in (self.api("GET", path, token=self.sam),
                             self.api("GET", ACME + "/trunks", token=self.sam),
                             (0, t)):
            self.assertNotIn("secret", str(text))
            self.assertNotIn("password\"", str(text).replace("password_set", ""))
        got = self.ok("GET", path, token=self.sam)
        self.assertEqual(got, t)
        self.assertIn(t["id"], [x["id"] for x in self.ok("GET", ACME + "/trunks", token=self.sam)])

        # PATCH keeps what it does not name (the passwords too); "" clears a password.
        p = self.ok("PATCH", path, {"name": "carrier 2", "outbound": {"password": ""}}, self.ada)
        self.assertEqual(p["name"], "carrier 2")
        self.assertTrue(p["inbound"]["password_set"])
        self.assertFalse(p["outbound"]["password_set"])
        self.assertEqual(p["inbound"]["sources"], t["inbound"]["sources"])
        # A GET result sent back changes nothing.
        self.assertEqual(self.ok("PATCH", path, p, self.ada), p)

        # The digest user name is unique server-wide (and no agent's login).
        self.refused("POST", OTHER + "/trunks",
                     {"name": "x", "inbound": {"username": "acme-carrier", "password": "p"}},
                     409, "conflict")
        self.refused("POST", ACME + "/trunks",
                     {"name": "x", "inbound": {"username": "alice", "password": "p"}},
                     409, "conflict")
        # ...and the reverse: a new user may not take a trunk's user name (they share the realm).
        got, out = self.api("POST", OTHER + "/users", {"login": "acme-carrier", "password": "secret1"},
                            token=self.ada)
        self.assertEqual(got, 409, out)
        self.assertEqual(out["error"]["code"], "conflict")
        self.assertIn("trunk", out["error"]["message"])

        self.ok("DELETE", path, token=self.ada)
        self.refused("GET", path, None, 404, "not_found")
        self.assertNotIn(t["id"], [x["id"] for x in self.ok("GET", ACME + "/trunks", token=self.sam)])
        # Its user name is free again.
        again = self.ok("POST", OTHER + "/trunks",
                        {"name": "x", "inbound": {"username": "acme-carrier", "password": "p"}},
                        self.ada, expect=201)
        self.ok("DELETE", f"{OTHER}/trunks/{again['id']}", token=self.ada)

    def test_trunk_bad_input_is_400_and_writes_nothing(self):
        bad = [
            {},                                                   # no name
            {"name": ""},
            {"name": "x", "inbound": {"sources": ["10.0.0.1/8"]}},  # host bits set
            {"name": "x", "inbound": {"sources": ["10.0.0.0/33"]}},
            {"name": "x", "inbound": {"sources": ["example.com"]}},
            {"name": "x", "inbound": {"sources": "10.0.0.0/8"}},
            {"name": "x", "inbound": {"sources": ["10.0.0.0/8"] * 101}},
            {"name": "x", "inbound": {"username": "has space", "password": "p"}},
            {"name": "x", "inbound": {"username": "nopass"}},
            {"name": "x", "outbound": {"host": "sip.example.net;lr"}},
            {"name": "x", "outbound": {"port": 0}},
            {"name": "x", "outbound": {"port": "5060"}},
            {"name": "x", "outbound": {"transport": "tls"}},
            {"name": "x", "outbound": {"caller_id": "5550100"}},
            {"name": "x", "outbound": {"secret": "x"}},
            {"name": "x", "unknown": 1},
        ]
        for body in bad:
            self.refused("POST", ACME + "/trunks", body, 400, "bad_request")
        t = self.ok("POST", ACME + "/trunks", {"name": "ok"}, self.ada, expect=201)
        for body in bad[1:]:
            self.refused("PATCH", f"{ACME}/trunks/{t['id']}", body, 400, "bad_request")
        self.refused("POST", ACME + "/trunks", None, 400, "bad_request")
        self.ok("DELETE", f"{ACME}/trunks/{t['id']}", token=self.ada)

    def test_trunk_roles_and_tenants(self):
        t = self.ok("POST", ACME + "/trunks", {"name": "roles"}, self.ada, expect=201)
        path = f"{ACME}/trunks/{t['id']}"
        for token in (self.alice, self.sam):
            self.refused("POST", ACME + "/trunks", {"name": "x"}, 403, "forbidden", token)
            self.refused("PATCH", path, {"name": "x"}, 403, "forbidden", token)
            self.refused("DELETE", path, None, 403, "forbidden", token)
        self.refused("GET", ACME + "/trunks", None, 403, "forbidden", self.alice)
        self.refused("GET", path, None, 403, "forbidden", self.alice)
        # Another tenant's admin naming acme's trunk: not found.
        self.refused("GET", f"{OTHER}/trunks/{t['id']}", None, 404, "not_found")
        self.refused("PATCH", f"{OTHER}/trunks/{t['id']}", {"name": "x"}, 404, "not_found")
        self.refused("DELETE", f"{OTHER}/trunks/{t['id']}", None, 404, "not_found")
        self.ok("DELETE", path, token=self.ada)

    # ---- numbers -------------------------------------------------------------------------------

    def test_number_lifecycle(self):
        n = self.ok("POST", ACME + "/numbers",
                    {"number": "+44 20 7946 0958", "queue": self.queues["sales"], "name": "Sales UK"},
                    self.ada, expect=201)
        self.assertEqual(n["number"], "+442079460958")
        self.assertEqual(n["queue"], self.queues["sales"])
        path = f"{ACME}/numbers/{n['id']}"
        self.assertEqual(self.ok("GET", path, token=self.sam), n)
        moved = self.ok("PATCH", path, {"queue": self.queues["billing"]}, self.ada)
        self.assertEqual(moved["queue"], self.queues["billing"])
        self.assertEqual(moved["name"], "Sales UK")
        # Unique server-wide, in any spelling.
        self.refused("POST", ACME + "/numbers", {"number": "+442079460958", "queue": self.queues["sales"]},
                     409, "conflict")
        _, gq = self.api("GET", OTHER + "/queues", token=self.ada)
        self.refused("POST", OTHER + "/numbers", {"number": "+44 (20) 7946-0958", "queue": gq[0]["id"]},
                     409, "conflict")
        # A queue a number routes to cannot be deleted.
        self.refused("DELETE", f"{ACME}/queues/{self.queues['billing']}", None, 409, "conflict")
        self.ok("DELETE", path, token=self.ada)
        self.refused("GET", path, None, 404, "not_found")
        # Free again.
        again = self.ok("POST", OTHER + "/numbers", {"number": "+442079460958", "queue": gq[0]["id"]},
                        self.ada, expect=201)
        self.ok("DELETE", f"{OTHER}/numbers/{again['id']}", token=self.ada)

    def test_number_bad_input_is_400_and_writes_nothing(self):
        _, gq = self.api("GET", OTHER + "/queues", token=self.ada)
        sales = self.queues["sales"]
        bad = [
            {"queue": sales},                                  # no number
            {"number": "5550100", "queue": sales},             # national
            {"number": "+0155501000", "queue": sales},
            {"number": "+155501", "queue": sales},              # 6 digits
            {"number": "+1234567890123456", "queue": sales},    # 16 digits
            {"number": "+1555abc0100", "queue": sales},
            {"number": 15550100, "queue": sales},
            {"number": "+15550177"},                           # no target
            {"number": "+15550177", "queue": sales, "ivr": 5},  # two targets
            {"number": "+15550177", "queue": gq[0]["id"]},     # another tenant's queue
            {"number": "+15550177", "queue": sales, "trunk": 999999},
            {"number": "+15550177", "queue": "sales"},
            {"number": "+15550177", "queue": sales, "extra": True},
        ]
        for body in bad:
            self.refused("POST", ACME + "/numbers", body, 400, "bad_request")
        support = self.ok("GET", ACME + "/numbers", token=self.sam)[0]
        self.refused("PATCH", f"{ACME}/numbers/{support['id']}", {"number": "12"}, 400, "bad_request")
        self.refused("PATCH", f"{ACME}/numbers/{support['id']}", {"queue": 0}, 400, "bad_request")

    def test_number_roles_and_tenants(self):
        support = self.ok("GET", ACME + "/numbers", token=self.sam)[0]
        path = f"{ACME}/numbers/{support['id']}"
        self.refused("GET", ACME + "/numbers", None, 403, "forbidden", self.alice)
        self.refused("POST", ACME + "/numbers", {"number": "+15550178", "queue": self.queues["sales"]},
                     403, "forbidden", self.sam)
        self.refused("PATCH", path, {"name": "x"}, 403, "forbidden", self.sam)
        self.refused("DELETE", path, None, 403, "forbidden", self.sam)
        self.refused("GET", f"{OTHER}/numbers/{support['id']}", None, 404, "not_found")
        self.refused("DELETE", f"{OTHER}/numbers/{support['id']}", None, 404, "not_found")
        self.refused("GET", GLOBEX + "/numbers", None, 403, "forbidden", self.carol)

    # ---- IVR menus -----------------------------------------------------------------------------

    def test_ivr_menus(self):
        sales, billing = self.queues["sales"], self.queues["billing"]
        main = self.ok("POST", ACME + "/ivr",
                       {"name": "main", "prompt_text": "For sales press 1, billing 2, operator 0.",
                        "options": {"1": {"queue": sales}, "0": {"number": "+1 555 0199"},
                                    "*": {"repeat": True}, "#": {"hangup": True}},
                        "timeout_s": 6, "max_retries": 3, "on_failure": {"queue": sales}},
                       self.ada, expect=201)
        self.assertEqual(main["options"]["0"], {"number": "+15550199"})
        self.assertEqual(main["timeout_s"], 6)
        sub = self.ok("POST", ACME + "/ivr",
                      {"name": "billing", "prompt_file": "billing.wav",
                       "options": {"1": {"queue": billing}, "9": {"menu": main["id"]}}},
                      self.ada, expect=201)
        self.assertEqual(sub["timeout_s"], 5)
        self.assertEqual(sub["max_retries"], 2)
        self.assertEqual(sub["on_failure"], {})
        path = f"{ACME}/ivr/{main['id']}"
        # options are replaced whole by a PATCH; the rest is kept.
        opts = dict(main["options"], **{"2": {"menu": sub["id"]}})
        patched = self.ok("PATCH", path, {"options": opts}, self.ada)
        self.assertEqual(patched["options"]["2"], {"menu": sub["id"]})
        self.assertEqual(patched["prompt_text"], main["prompt_text"])
        self.assertEqual(self.ok("GET", path, token=self.sam), patched)
        # By id: the demo's menu "main" (for +15550101) first, then these two.
        menus = self.ok("GET", ACME + "/ivr", token=self.sam)
        self.assertEqual([m["id"] for m in menus][1:], [main["id"], sub["id"]])
        self.assertEqual((menus[0]["name"], menus[0]["options"]["2"]), ("main", {"queue": self.queues["sales"]}))
        # A number can route to a menu, and then the menu cannot go.
        n = self.ok("POST", ACME + "/numbers", {"number": "+15550144", "ivr": main["id"]},
                    self.ada, expect=201)
        self.assertEqual((n["ivr"], n["queue"]), (main["id"], 0))
        self.refused("DELETE", path, None, 409, "conflict")
        self.refused("DELETE", f"{ACME}/ivr/{sub['id']}", None, 409, "conflict")  # main's "2"
        self.refused("DELETE", f"{ACME}/queues/{billing}", None, 409, "conflict")  # sub's "1"
        # Moving the number to a queue clears its menu.
        n2 = self.ok("PATCH", f"{ACME}/numbers/{n['id']}", {"queue": sales}, self.ada)
        self.assertEqual((n2["ivr"], n2["queue"]), (0, sales))

        for body in ({"name": "x", "options": {"1": {"queue": sales, "menu": main["id"]}}},
                     {"name": "x", "options": {"1": {}}},
                     {"name": "x", "options": {"a": {"hangup": True}}},
                     {"name": "x", "options": {"12": {"hangup": True}}},
                     {"name": "x", "options": {"1": {"queue": 999999}}},
                     {"name": "x", "options": {"1": {"menu": 999999}}},
                     {"name": "x", "options": {"1": {"number": "0199"}}},
                     {"name": "x", "options": {"1": {"repeat": False}}},
                     {"name": "x", "timeout_s": 0}, {"name": "x", "timeout_s": 61},
                     {"name": "x", "max_retries": 11}, {"name": "x", "prompt_file": "../x.wav"},
                     {"name": ""}, {"options": {}}, {"name": "x", "colour": "red"}):
            self.refused("POST", ACME + "/ivr", body, 400, "bad_request")
        _, oq = self.api("GET", OTHER + "/queues", token=self.ada)
        self.refused("POST", OTHER + "/ivr", {"name": "x", "options": {"1": {"menu": main["id"]}}},
                     400, "bad_request")  # acme's menu from another tenant
        self.refused("POST", OTHER + "/numbers", {"number": "+15550145", "ivr": main["id"]},
                     400, "bad_request")
        self.refused("GET", f"{OTHER}/ivr/{main['id']}", None, 404, "not_found")
        self.refused("GET", ACME + "/ivr", None, 403, "forbidden", self.alice)
        self.refused("POST", ACME + "/ivr", {"name": "x"}, 403, "forbidden", self.sam)
        self.refused("PATCH", path, {"name": "x"}, 403, "forbidden", self.sam)

        self.ok("DELETE", f"{ACME}/numbers/{n['id']}", token=self.ada)
        self.ok("PATCH", path, {"options": {"1": {"queue": sales}}}, self.ada)
        self.ok("DELETE", f"{ACME}/ivr/{sub['id']}", token=self.ada)
        self.ok("DELETE", path, token=self.ada)
        self.assertEqual([m["id"] for m in self.ok("GET", ACME + "/ivr", token=self.sam)],
                         [menus[0]["id"]])  # the demo's menu stays

    # ---- queue voice settings ------------------------------------------------------------------

    def test_queue_voice_settings(self):
        path = f"{ACME}/queues/{self.queues['sales']}/voice"
        v = self.ok("GET", path, token=self.sam)
        self.assertEqual(v, {"queue": self.queues["sales"], "tenant": v["tenant"],
                             "greeting_text": "", "greeting_file": "", "moh_file": "",
                             "position_interval_s": 0, "record": False})
        v2 = self.ok("PUT", path, {"greeting_text": "Welcome to Acme sales", "moh_file": "jazz.wav",
                                   "position_interval_s": 30, "record": True}, self.ada)
        self.assertEqual(v2["moh_file"], "jazz.wav")
        self.assertEqual(v2["position_interval_s"], 30)
        self.assertTrue(v2["record"])
        v3 = self.ok("PUT", path, {"record": False}, self.ada)  # others kept
        self.assertEqual(v3["greeting_text"], "Welcome to Acme sales")
        self.assertFalse(v3["record"])
        self.assertEqual(self.ok("GET", path, token=self.sam), v3)
        for body in ({"moh_file": "../../etc/passwd"}, {"greeting_file": "a/b.wav"},
                     {"greeting_file": "x.mp3"}, {"position_interval_s": 5},
                     {"position_interval_s": "30"}, {"record": "yes"}, {"volume": 3}):
            self.refused("PUT", path, body, 400, "bad_request")
        self.refused("PUT", path, {"record": True}, 403, "forbidden", self.sam)
        self.refused("GET", path, None, 403, "forbidden", self.alice)
        self.refused("GET", f"{OTHER}/queues/{self.queues['sales']}/voice", None, 404, "not_found")
        self.refused("GET", f"{ACME}/queues/999999999/voice", None, 404, "not_found")


class VoiceConfigSurvivesKill(ServerTest):
    def test_config_survives_sigkill(self):
        s = self.server
        ada = s.login("ada")
        _, queues = s.request("GET", ACME + "/queues", token=ada)
        sales = [q["id"] for q in queues if q["name"] == "sales"][0]
        t = self.ok("POST", ACME + "/trunks",
                    {"name": "durable", "inbound": {"sources": ["192.0.2.0/24"],
                                                    "username": "durable-in", "password": "pw"}},
                    ada, expect=201)
        n = self.ok("POST", ACME + "/numbers", {"number": "+15550123", "queue": sales}, ada, expect=201)
        v = self.ok("PUT", f"{ACME}/queues/{sales}/voice", {"record": True, "moh_file": "m.wav"}, ada)
        s.kill()
        s.start()
        ada = s.login("ada")
        self.assertEqual(self.ok("GET", f"{ACME}/trunks/{t['id']}", token=ada), t)
        self.assertEqual(self.ok("GET", f"{ACME}/numbers/{n['id']}", token=ada), n)
        self.assertEqual(self.ok("GET", f"{ACME}/queues/{sales}/voice", token=ada), v)
        # The demo is not seeded twice.
        self.assertEqual(len([x for x in self.ok("GET", ACME + "/numbers", token=ada)
                              if x["number"] == "+15550100"]), 1)


if __name__ == "__main__":
    unittest.main()
