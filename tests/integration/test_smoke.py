"""The quick-start path: the demo server answers, logs in, routes a contact to an agent."""
import unittest

from harness import ServerTest


class Smoke(ServerTest):
    def test_health_and_demo_login(self):
        status, body = self.api("GET", "/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        token = self.server.login("ada")
        me = self.ok("GET", "/api/v1/me", token=token)
        self.assertEqual(me["user"]["login"], "ada")
        self.assertEqual([t["slug"] for t in me["tenants"]], ["acme"])

    def test_offer_reaches_available_agent(self):
        alice = self.server.login("alice")
        self.ok("PUT", "/api/v1/tenants/acme/me/presence", {"state": "available"}, alice)
        queues = {q["name"]: q["id"] for q in self.ok("GET", "/api/v1/tenants/acme/queues", token=alice)}
        ix = self.ok("POST", "/api/v1/tenants/acme/interactions",
                     {"channel": "email", "queue": queues["sales"], "subject": "price list"}, alice)
        self.assertEqual(ix["state"], "offered")
        self.assertEqual(ix["agent"], self.ok("GET", "/api/v1/me", token=alice)["user"]["id"])
        self.ok("POST", f"/api/v1/tenants/acme/interactions/{ix['id']}/accept", {}, alice)
        done = self.ok("POST", f"/api/v1/tenants/acme/interactions/{ix['id']}/wrapup",
                       {"disposition": "resolved", "notes": "sent it"}, alice)
        self.assertEqual(done["state"], "completed")


if __name__ == "__main__":
    unittest.main()
