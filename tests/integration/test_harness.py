"""The harness itself: a port another process grabbed between free_port() and our bind.

Regression: e2e.test_forecast once talked to test_crash's server, because its own server could
not bind the port it was given and /healthz answered from the other process; test_crash then
killed that server in the middle of test_forecast's login."""

import http.server
import socketserver
import threading
import unittest

import harness


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class PortRace(unittest.TestCase):
    def test_a_taken_port_is_not_mistaken_for_our_server(self):
        impostor = socketserver.TCPServer(("127.0.0.1", 0), _Healthy)
        taken = impostor.server_address[1]
        threading.Thread(target=impostor.serve_forever, daemon=True).start()
        ports = [taken]
        original = harness.free_port
        harness.free_port = lambda: ports.pop() if ports else original()
        server = harness.Server()
        try:
            server.start()
            self.assertNotEqual(server.port, taken)
            self.assertTrue(server._listens_on_port())
            status, doc = server.request("GET", "/api/v1/openapi.json")
            self.assertEqual(status, 200)
            self.assertIn("paths", doc)
        finally:
            harness.free_port = original
            server.cleanup()
            impostor.shutdown()
            impostor.server_close()


if __name__ == "__main__":
    unittest.main()
