"""The browser pages served by `homeline serve` itself (--web DIR): content types, caching,
security headers, no way out of the web directory (dot segments, escaped or not, hidden files,
symlinks), and the two read routes the pages added: today's figures per interval and a
customer's earlier interactions.
"""
import os
import shutil
import tempfile
import time
import unittest

from harness import Server, ServerTest

T = "/api/v1/tenants/acme"


def header(headers, name):
    for k, v in headers:
        if k == name:
            return v
    return None


class Pages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A web directory with a secret beside it (and a symlink pointing at it): nothing
        # outside the directory may be served.
        cls.tmp = tempfile.mkdtemp(prefix="homeline-web-")
        cls.web = os.path.join(cls.tmp, "web")
        os.makedirs(os.path.join(cls.web, "app", "sub"))
        with open(os.path.join(cls.tmp, "secret.txt"), "w") as f:
            f.write("TOP SECRET")
        files = {
            "index.html": "<!doctype html><title>login</title>",
            "widget.js": "console.log('widget')",
            "app/desktop.html": "<!doctype html><title>desk</title>",
            "app/app.js": "export const x = 1;",
            "app/style.css": "body{}",
            "app/index.html": "<!doctype html><title>app</title>",
            "app/sub/x.svg": "<svg/>",
            "app/.hidden": "hidden",
        }
        for name, text in files.items():
            with open(os.path.join(cls.web, name), "w") as f:
                f.write(text)
        os.symlink(os.path.join(cls.tmp, "secret.txt"), os.path.join(cls.web, "app", "link.txt"))
        cls.server = Server(extra_args=["--web", cls.web]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, headers=None, method="GET"):
        return self.server.exchange(method, path, headers=headers)

    def test_content_types(self):
        for path, ctype in [("/", "text/html"), ("/app/desktop.html", "text/html"),
                            ("/app/app.js", "text/javascript"), ("/app/style.css", "text/css"),
                            ("/app/sub/x.svg", "image/svg+xml"), ("/widget.js", "text/javascript"),
                            ("/app/", "text/html")]:
            status, headers, body = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertTrue(header(headers, "content-type").startswith(ctype), (path, headers))
        status, _, body = self.get("/")
        self.assertIn("login", body)

    def test_app_pages_have_security_headers(self):
        status, headers, _ = self.get("/app/desktop.html")
        self.assertEqual(status, 200)
        csp = header(headers, "content-security-policy")
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(header(headers, "x-content-type-options"), "nosniff")
        self.assertEqual(header(headers, "x-frame-options"), "DENY")

    def test_widget_is_embeddable(self):
        status, headers, _ = self.get("/widget.js")
        self.assertEqual(status, 200)
        self.assertIsNone(header(headers, "content-security-policy"))
        self.assertIsNone(header(headers, "x-frame-options"))
        self.assertEqual(header(headers, "cross-origin-resource-policy"), "cross-origin")
        self.assertIn("max-age", header(headers, "cache-control"))

    def test_etag_revalidation(self):
        status, headers, _ = self.get("/app/app.js")
        etag = header(headers, "etag")
        self.assertTrue(etag)
        self.assertEqual(header(headers, "cache-control"), "no-cache")
        status, headers, body = self.get("/app/app.js", {"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, "")
        # A changed file gets a new tag.
        time.sleep(0.01)
        with open(os.path.join(self.web, "app", "app.js"), "w") as f:
            f.write("export const x = 22;")
        status, headers, body = self.get("/app/app.js", {"If-None-Match": etag})
        self.assertEqual(status, 200)
        self.assertIn("22", body)
        self.assertNotEqual(header(headers, "etag"), etag)

    def test_head_and_methods(self):
        status, headers, body = self.get("/app/desktop.html", method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(body, "")
        status, headers, body = self.server.exchange("POST", "/app/desktop.html", body={})
        self.assertEqual(status, 405)
        self.assertEqual(body["error"]["code"], "method_not_allowed")

    def test_no_traversal(self):
        attempts = [
            "/app/../../secret.txt", "/app/%2e%2e/%2e%2e/secret.txt", "/app/%2E%2E/%2E%2E/secret.txt",
            "/app/..%2f..%2fsecret.txt", "/app/..%2F..%2Fsecret.txt", "/app/%2e%2e%2f%2e%2e%2fsecret.txt",
            "/app/..\\..\\secret.txt", "/app/..%5c..%5csecret.txt", "/app/.%2e/.%2e/secret.txt",
            "/app/%252e%252e/%252e%252e/secret.txt", "/app/sub/../../../secret.txt",
            "/app/./desktop.html", "/app/.hidden", "/app/link.txt", "/app/desktop.html%00.js",
            "/app/%00", "/app//..//..//secret.txt",
        ]
        for path in attempts:
            # Sent raw, byte for byte: no client-side normalisation of dot segments.
            reply = self.server.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            self.assertNotIn(b"TOP SECRET", reply, path)
            self.assertNotIn(b"\r\n\r\nhidden", reply, path)
            status = int(reply.split(b" ")[1]) if reply.startswith(b"HTTP/") else 0
            self.assertIn(status, (400, 404), (path, reply[:200]))

    def test_api_still_answers(self):
        status, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        status, body = self.server.request("GET", "/nope")
        self.assertEqual(status, 404)


class DefaultWebDir(ServerTest):
    """Without --web the server serves the source tree's web/ (compiled in)."""

    def test_login_page_and_app_pages(self):
        for path in ["/", "/app/", "/app/desktop.html", "/app/wallboard.html", "/app/admin.html", "/widget.js"]:
            status, headers, body = self.server.exchange("GET", path)
            self.assertEqual(status, 200, path)


class ReadRoutes(ServerTest):
    def test_intervals_count_today(self):
        sam = self.server.login("sam")
        alice = self.server.login("alice")
        self.ok("PUT", T + "/me/presence", {"state": "available"}, alice)
        queues = {q["name"]: q["id"] for q in self.ok("GET", T + "/queues", token=sam)}
        ix = self.ok("POST", T + "/interactions", {"channel": "email", "queue": queues["support"],
                                                   "customer": {"email": "x@example.com"}}, sam)
        self.ok("POST", f"{T}/interactions/{ix['id']}/accept", token=alice)
        out = self.ok("GET", T + "/stats/intervals", token=sam)
        self.assertEqual(out["interval_s"], 1800)
        rows = out["intervals"]
        now_ms = time.time() * 1000
        self.assertLessEqual(rows[-1]["start"], now_ms)
        self.assertGreater(rows[-1]["start"] + 1800 * 1000, now_ms - 5000)
        self.assertEqual(rows[0]["start"] % (24 * 3600 * 1000), 0)
        self.assertEqual(sum(r["entered"] for r in rows), 1)
        self.assertEqual(sum(r["answered"] for r in rows), 1)
        one = self.ok("GET", T + f"/stats/intervals?queue={queues['sales']}", token=sam)
        self.assertEqual(sum(r["entered"] for r in one["intervals"]), 0)
        status, body = self.api("GET", T + "/stats/intervals?queue=999999", token=sam)
        self.assertEqual(status, 404)

        # Alice sees the customer's earlier contact while serving the next one.
        self.ok("POST", f"{T}/interactions/{ix['id']}/end", token=alice)
        self.ok("POST", f"{T}/interactions/{ix['id']}/wrapup", {"disposition": "resolved"}, alice)
        ix2 = self.ok("POST", T + "/interactions", {"channel": "email", "queue": queues["support"],
                                                    "customer": {"email": "x@example.com"}}, sam)
        other = self.ok("POST", T + "/interactions", {"channel": "email", "queue": queues["sales"],
                                                      "customer": {"email": "y@example.com"}}, sam)
        self.ok("POST", f"{T}/interactions/{ix2['id']}/accept", token=alice)
        hist = self.ok("GET", f"{T}/interactions/{ix2['id']}/history", token=alice)
        self.assertEqual([h["id"] for h in hist], [ix["id"]])
        self.assertEqual(hist[0]["state"], "completed")
        # Not hers: refused; supervisors see any.
        bob = self.server.login("bob")
        status, _ = self.api("GET", f"{T}/interactions/{ix2['id']}/history", token=bob)
        self.assertEqual(status, 403)
        self.ok("GET", f"{T}/interactions/{other['id']}/history", token=sam)


if __name__ == "__main__":
    unittest.main()
