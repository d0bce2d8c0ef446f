"""Sessions: login, the session cookie, logout, login rate limits, and one session across the
tenants a person works for.

Failed logins count per address for minutes, so the per-address test has a server of its own,
and the other tests keep well under its limit.
"""
import unittest

from harness import Server, ServerTest

LOGIN = "/api/v1/auth/login"


def cookies(headers):
    """The Set-Cookie values of a response, parsed: {name: (value, {attribute: value})}."""
    out = {}
    for name, value in headers:
        if name != "set-cookie":
            continue
        parts = [p.strip() for p in value.split(";")]
        cname, _, cvalue = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            attrs[k.lower()] = v
        out[cname] = (cvalue, attrs)
    return out


class AuthChecks:
    def assertError(self, status, body, want_status, want_code, what=""):
        self.assertEqual(status, want_status, f"{what}: {body}")
        self.assertIsInstance(body, dict, what)
        self.assertEqual(set(body), {"error"}, what)
        self.assertEqual(set(body["error"]), {"code", "message"}, what)
        self.assertEqual(body["error"]["code"], want_code, f"{what}: {body}")

    def login(self, login, password="demo", source=None):
        return self.server.exchange("POST", LOGIN, {"login": login, "password": password},
                                    source=source)


class Auth(AuthChecks, ServerTest):
    def test_login_returns_token_and_strict_httponly_cookie(self):
        status, headers, body = self.login("ada")
        self.assertEqual(status, 200, body)
        token = body["token"]
        self.assertGreaterEqual(len(token), 32)
        self.assertEqual(body["user"]["login"], "ada")
        self.assertNotIn("password_hash", body["user"])
        self.assertIn("expires_at", body)
        c = cookies(headers)
        self.assertIn("homeline_session", c, headers)
        value, attrs = c["homeline_session"]
        self.assertEqual(value, token)
        self.assertIn("httponly", attrs)
        self.assertEqual(attrs.get("samesite", "").lower(), "strict")
        self.assertEqual(attrs.get("path"), "/")
        self.assertGreater(int(attrs.get("max-age", "0")), 0)
        self.assertNotIn("secure", attrs, "plain HTTP: a Secure cookie would never come back")
        # A second login is a second, different session.
        status, _, again = self.login("ada")
        self.assertNotEqual(again["token"], token)

    def test_cookie_alone_authenticates(self):
        status, headers, body = self.login("sam")
        value, _ = cookies(headers)["homeline_session"]
        status, _, me = self.server.exchange("GET", "/api/v1/me",
                                             headers={"Cookie": f"homeline_session={value}"})
        self.assertEqual(status, 200, me)
        self.assertEqual(me["user"]["login"], "sam")
        # Among other cookies too.
        status, _, me = self.server.exchange(
            "GET", "/api/v1/tenants/acme/agents",
            headers={"Cookie": f"theme=dark; homeline_session={value}; lang=en"})
        self.assertEqual(status, 200, me)
        # Another cookie's value is not a session.
        status, _, body = self.server.exchange(
            "GET", "/api/v1/me", headers={"Cookie": f"xhomeline_session={value}"})
        self.assertError(status, body, 401, "unauthorized")

    def test_wrong_password_and_unknown_login_look_the_same(self):
        wrong = self.login("sam", "not-the-password")
        unknown = self.login("nobody-by-this-name", "not-the-password")
        self.assertError(wrong[0], wrong[2], 401, "unauthorized", "wrong password")
        self.assertEqual((wrong[0], wrong[2]), (unknown[0], unknown[2]))
        for status, headers, body in (wrong, unknown):
            self.assertNotIn("homeline_session", cookies(headers))
        # One failure does not lock sam out.
        self.assertEqual(self.login("sam")[0], 200)

    def test_logout_revokes_and_clears_cookie(self):
        token = self.server.login("alice")
        other = self.server.login("alice")  # another device
        status, headers, body = self.server.exchange(
            "POST", "/api/v1/auth/logout", {}, headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        value, attrs = cookies(headers)["homeline_session"]
        self.assertEqual(value, "")
        self.assertEqual(attrs.get("max-age"), "0")
        for hdrs in ({"Authorization": "Bearer " + token},
                     {"Cookie": "homeline_session=" + token}):
            status, _, body = self.server.exchange("GET", "/api/v1/me", headers=hdrs)
            self.assertError(status, body, 401, "unauthorized", str(hdrs))
        # Logging out twice: the token is no longer a session.
        status, _, body = self.server.exchange(
            "POST", "/api/v1/auth/logout", {}, headers={"Authorization": "Bearer " + token})
        self.assertError(status, body, 401, "unauthorized")
        # The other device's session is untouched.
        status, _, me = self.server.exchange("GET", "/api/v1/me",
                                             headers={"Authorization": "Bearer " + other})
        self.assertEqual(status, 200, me)

    def test_logout_with_the_cookie(self):
        status, headers, _ = self.login("sam")
        value, _ = cookies(headers)["homeline_session"]
        jar = {"Cookie": "homeline_session=" + value}
        status, _, body = self.server.exchange("POST", "/api/v1/auth/logout", {}, headers=jar)
        self.assertEqual(status, 200, body)
        status, _, body = self.server.exchange("GET", "/api/v1/me", headers=jar)
        self.assertError(status, body, 401, "unauthorized")

    def test_disabled_user_loses_sessions_and_cannot_log_in(self):
        ada = self.server.login("ada")
        status, user = self.api("POST", "/api/v1/tenants/acme/users",
                                {"login": "dora", "password": "secret1"}, token=ada)
        self.assertEqual(status, 201, user)
        token = self.server.login("dora", "secret1")
        status, _ = self.api("PATCH", f"/api/v1/tenants/acme/users/{user['id']}",
                             {"disabled": True}, token=ada)
        self.assertEqual(status, 200)
        status, body = self.api("GET", "/api/v1/me", token=token)
        self.assertError(status, body, 401, "unauthorized")
        status, _, body = self.login("dora", "secret1")
        self.assertError(status, body, 401, "unauthorized")
        self.assertEqual(body, self.login("nobody-at-all", "secret1")[2])

    def test_five_failures_lock_the_login_not_others(self):
        # From another address, so this test's failures stay apart from the other tests'.
        src = "127.0.0.3"
        earlier = self.login("bob", source=src)[2]["token"]
        for i in range(5):
            status, _, body = self.login("bob", f"wrong-{i}", source=src)
            self.assertError(status, body, 401, "unauthorized", f"attempt {i + 1}")
        status, headers, body = self.login("bob", "demo", source=src)
        self.assertError(status, body, 429, "rate_limited", "6th attempt, right password")
        self.assertNotIn("homeline_session", cookies(headers))
        # From any address: the limit is the login's.
        status, _, body = self.login("bob", "demo", source="127.0.0.4")
        self.assertError(status, body, 429, "rate_limited", "other address")
        # Another user from the same address is not affected.
        status, _, body = self.login("carol", "demo", source=src)
        self.assertEqual(status, 200, body)
        # A session opened before the lock still works.
        status, me = self.api("GET", "/api/v1/me", token=earlier)
        self.assertEqual(status, 200, me)

    def test_one_session_across_tenants(self):
        status, _, body = self.login("carol")
        self.assertEqual(status, 200)
        token = body["token"]
        status, me = self.api("GET", "/api/v1/me", token=token)
        self.assertEqual(status, 200)
        self.assertEqual(sorted(t["slug"] for t in me["tenants"]), ["acme", "globex"])
        self.assertEqual({t["role"] for t in me["tenants"]}, {"agent"})

        def presence(tenant):
            status, p = self.api("GET", f"/api/v1/tenants/{tenant}/me/presence", token=token)
            self.assertEqual(status, 200, p)
            return p["presence"]

        status, p = self.api("PUT", "/api/v1/tenants/globex/me/presence",
                             {"state": "available"}, token=token)
        self.assertEqual(status, 200, p)
        self.assertEqual((presence("globex"), presence("acme")), ("available", "offline"))
        # Switching tenant with the same token: no new login.
        status, p = self.api("PUT", "/api/v1/tenants/acme/me/presence",
                             {"state": "available"}, token=token)
        self.assertEqual(status, 200, p)
        self.assertEqual((presence("globex"), presence("acme")), ("offline", "available"))
        # Globex's supervisor view agrees: carol is offline there.
        ada = self.server.login("ada")
        status, agents = self.api("GET", "/api/v1/tenants/acme/agents", token=ada)
        carol = [a for a in agents if a["login"] == "carol"][0]
        self.assertEqual(carol["presence"], "available")
        status, p = self.api("PUT", "/api/v1/tenants/acme/me/presence", {"state": "offline"},
                             token=token)
        self.assertEqual(status, 200, p)


class AddressLimit(AuthChecks, unittest.TestCase):
    """20 failed logins from one address, whatever the logins, block that address."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_twenty_failures_block_the_address(self):
        src = "127.0.0.1"
        for i in range(20):
            status, _, body = self.login(f"guess-{i}", "password", source=src)
            self.assertError(status, body, 401, "unauthorized", f"attempt {i + 1}")
        # The 21st, for a real user with the right password, from that address: refused.
        status, _, body = self.login("alice", "demo", source=src)
        self.assertError(status, body, 429, "rate_limited")
        # Another address is not blocked.
        status, _, body = self.login("alice", "demo", source="127.0.0.2")
        self.assertEqual(status, 200, body)
        # Sessions already open still work from the blocked address.
        status, _, me = self.server.exchange(
            "GET", "/api/v1/me", headers={"Authorization": "Bearer " + body["token"]}, source=src)
        self.assertEqual(status, 200, me)


if __name__ == "__main__":
    unittest.main()
