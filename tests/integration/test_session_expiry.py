"""Login tokens expire after auth.session_ttl seconds (config file), and expiry survives a
restart: the session is stored with its end time."""
import os
import tempfile
import time
import unittest

from harness import Server


class SessionExpiry(unittest.TestCase):
    def test_token_expires(self):
        cfg = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cfg.write("[auth]\nsession_ttl = 3\n")
        cfg.close()
        server = Server(extra_args=["--config", cfg.name]).start()
        try:
            token = server.login("sam")
            status, _ = server.request("GET", "/api/v1/me", token=token)
            self.assertEqual(status, 200)
            # Survives a restart while valid.
            server.stop()
            server.start()
            status, _ = server.request("GET", "/api/v1/me", token=token)
            self.assertEqual(status, 200)
            time.sleep(3.5)
            status, body = server.request("GET", "/api/v1/me", token=token)
            self.assertEqual(status, 401)
            self.assertEqual(body["error"]["code"], "unauthorized")
        finally:
            server.cleanup()
            os.unlink(cfg.name)


if __name__ == "__main__":
    unittest.main()
