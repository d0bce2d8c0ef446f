"""SIP passwords through the API: an admin sets a member's, only whether one is set ever comes
back (never the HA1), agents cannot, shared users are not one tenant's to change, and the demo
users have one. Phones show as unregistered until the registrar says otherwise."""
import hashlib
import json
import unittest

from harness import ServerTest

ACME = "/api/v1/tenants/acme"


def ha1(login, password):
    return hashlib.md5(f"{login}:homeline:{password}".encode()).hexdigest()


class SipPassword(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ada = cls.server.login("ada")
        cls.alice = cls.server.login("alice")
        cls.ids = {u["login"]: u["id"] for u in cls.server.request("GET", f"{ACME}/users", token=cls.ada)[1]}

    def put(self, login, body, token=None):
        return self.api("PUT", f"{ACME}/users/{self.ids[login]}/sip-password", body, token or self.ada)

    def test_demo_users_have_sip_passwords(self):
        users = self.ok("GET", f"{ACME}/users", token=self.ada)
        self.assertTrue(all(u["sip_password"] is True for u in users), users)
        text = json.dumps(users)
        for u in users:
            self.assertNotIn(ha1(u["login"], "demo"), text)

    def test_admin_sets_and_removes_and_the_ha1_never_leaves(self):
        status, out = self.put("bob", {"password": "s3cret-phone"})
        self.assertEqual(status, 200, out)
        self.assertTrue(out["sip_password"])
        secret = ha1("bob", "s3cret-phone")
        seen = [json.dumps(out)]
        for path in (f"{ACME}/users", f"{ACME}/users/{self.ids['bob']}", f"{ACME}/agents"):
            seen.append(json.dumps(self.ok("GET", path, token=self.ada)))
        for text in seen:
            self.assertNotIn(secret, text)
            self.assertNotIn("ha1", text)
        status, out = self.put("bob", {"password": None})
        self.assertEqual(status, 200, out)
        self.assertFalse(out["sip_password"])
        self.assertFalse(self.ok("GET", f"{ACME}/users/{self.ids['bob']}", token=self.ada)["sip_password"])
        self.assertEqual(self.put("bob", {"password": "demo"})[0], 200)

    def test_bad_bodies(self):
        for body in ({}, {"password": "abc"}, {"password": 12}, {"password": "x" * 129},
                     {"password": "long enough", "ha1": "0" * 32}):
            status, out = self.put("bob", body)
            self.assertEqual(status, 400, f"{body}: {out}")
            self.assertEqual(out["error"]["code"], "bad_request")

    def test_agent_cannot_and_shared_user_is_not_this_tenants(self):
        status, out = self.put("bob", {"password": "abcd1234"}, token=self.alice)
        self.assertEqual(status, 403, out)
        status, out = self.put("carol", {"password": "abcd1234"})  # also works for globex
        self.assertEqual(status, 403, out)
        status, out = self.api("PUT", f"{ACME}/users/999999/sip-password", {"password": "abcd1234"},
                               self.ada)
        self.assertEqual(status, 404, out)

    def test_phone_shows_unregistered(self):
        agents = self.ok("GET", f"{ACME}/agents", token=self.ada)
        self.assertTrue(agents)
        self.assertTrue(all(a["phone"] == "unregistered" for a in agents), agents)
        me = self.ok("GET", f"{ACME}/me/presence", token=self.alice)
        self.assertEqual(me["phone"], "unregistered")


if __name__ == "__main__":
    unittest.main()
