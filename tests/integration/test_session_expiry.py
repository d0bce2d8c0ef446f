"""Login tokens expire after auth.session_ttl seconds (config file), and expiry survives a
restart: the session is stored with its end time."""
import os
import tempfile
import time
import unittest

from harness import Server


# Long enough for a restart of the ASan build on a loaded machine to end well before the
# token does (3 s was not: a restart at load 15 took longer, and the token had expired when
# the test checked that it survived the restart).
TTL_S = 15


class SessionExpiry(unittest.TestCase):
    def test_token_expires(self):
        cfg = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cfg.write(f"[auth]\nsession_ttl = {TTL_S}\n")
        cfg.close()
        server = Server(extra_args=["--config", cfg.name]).start()
        try:
            logged_in_at = time.time()  # before the login: the token ends no sooner than TTL_S after
            token = server.login("sam")
            status, _ = server.request("GET", "/api/v1/me", token=token)
            self.assertEqual(status, 200)
            # Survives a restart while valid.
            server.stop()
            server.start()
            status, _ = server.request("GET", "/api/v1/me", token=token)
            self.assertLess(time.time() - logged_in_at, TTL_S, "the restart outlasted the token")
            self.assertEqual(status, 200)
            # Past its end (the server's clock reads no earlier than ours did), it is refused.
            time.sleep(max(0.0, logged_in_at + TTL_S + 1 - time.time()))
            status, body = server.request("GET", "/api/v1/me", token=token)
            self.assertEqual(status, 401)
            self.assertEqual(body["error"]["code"], "unauthorized")
        finally:
            server.cleanup()
            os.unlink(cfg.name)


if __name__ == "__main__":
    unittest.main()
