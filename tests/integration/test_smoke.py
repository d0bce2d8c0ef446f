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
        self.assertEqual([(t["slug"], t["role"]) for t in me["tenants"]], [("acme", "admin"), ("globex", "admin")])

    def test_demo_tenants_match_the_readme(self):
        """The README's demo table: who is what in acme and globex, skills and queues."""
        ada = self.server.login("ada")
        members = lambda slug: {u["login"]: u["role"] for u in self.ok("GET", f"/api/v1/tenants/{slug}/users", token=ada)}
        self.assertEqual(members("acme"), {"ada": "admin", "sam": "supervisor", "alice": "agent",
                                           "bob": "agent", "carol": "agent"})
        self.assertEqual(members("globex"), {"ada": "admin", "carol": "agent"})
        names = lambda slug, coll: sorted(x["name"] for x in self.ok("GET", f"/api/v1/tenants/{slug}/{coll}", token=ada))
        self.assertEqual(names("acme", "skills"), ["billing", "sales", "spanish", "support"])
        self.assertEqual(names("acme", "queues"), ["billing", "sales", "support"])
        # Every demo user signs in with "demo"; the others of acme see nothing of globex.
        for login in ("sam", "alice", "bob", "carol"):
            token = self.server.login(login)
            status, _ = self.api("GET", "/api/v1/tenants/globex/queues", token=token)
            self.assertEqual(status, 200 if login == "carol" else 404, login)

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
