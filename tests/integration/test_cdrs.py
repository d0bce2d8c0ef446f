"""Call detail records through the API: GET .../cdrs (JSON, filters, paging) and .../cdrs.csv
(RFC 4180). The legs are engine events the SIP code emits (Engine::StartCdrLeg etc.); here
they are written into the event log before the server starts, as a day of calls would have
left them, so the test checks what the server replays and reads back: a call whose legs
were still live when the server stopped is ended by the restart ("restart", by "system").
"""
import csv
import io
import json
import os
import sqlite3
import time
import unittest

from harness import Server, append_events

ACME = "/api/v1/tenants/acme"


class Cdrs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.server = Server().start()
        ada = s.login("ada")
        _, tenants = s.request("GET", "/api/v1/tenants", token=ada)
        cls.acme_id = [t["id"] for t in tenants if t["slug"] == "acme"][0]
        cls.globex_id = [t["id"] for t in tenants if t["slug"] == "globex"][0]
        _, queues = s.request("GET", ACME + "/queues", token=ada)
        cls.q = {q["name"]: q["id"] for q in queues}
        _, users = s.request("GET", ACME + "/users", token=ada)
        cls.u = {u["login"]: u["id"] for u in users}
        s.stop()
        cls.now = int(time.time() * 1000)
        cls.seed()
        s.start()
        cls.sam = s.login("sam")
        cls.ada = s.login("ada")
        cls.alice = s.login("alice")
        cls.carol = s.login("carol")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def seed(cls):
        db = sqlite3.connect(os.path.join(cls.server.data_dir, "homeline.db"))
        # What the server wrote (demo tenants, users) happened before the calls.
        db.execute("UPDATE events SET ts = ?", (cls.now - 5 * 86400_000,))
        db.commit()
        db.close()
        rows = []

        def add(ts, tenant, typ, payload):
            rows.append((ts, tenant, typ, payload))

        def start(ts, tenant, leg, call, role, frm, to, agent=0, queue=0, interaction=0,
                  outbound=False):
            add(ts, tenant, "cdr.leg_started",
                {"leg": leg, "tenant": tenant, "call": call, "interaction": interaction,
                 "role": role, "outbound": outbound, "from": frm, "to": to, "agent": agent,
                 "queue": queue, "trunk": 0})

        def answer(ts, tenant, leg):
            add(ts, tenant, "cdr.leg_answered", {"leg": leg})

        def end(ts, tenant, leg, result, cause, by, interaction=0):
            add(ts, tenant, "cdr.leg_ended", {"leg": leg, "interaction": interaction,
                                              "result": result, "cause": cause, "hung_up_by": by})

        a, g = cls.acme_id, cls.globex_id
        sup, sales = cls.q["support"], cls.q["sales"]
        alice, bob = cls.u["alice"], cls.u["bob"]
        # A: support; alice does not answer, bob does; bob hangs up.
        t = cls.now - 3600_000
        cls.t_a = t
        start(t, a, 9_000_001, 9_000_001, "customer", "+15551230001", "+15550100", queue=sup)
        answer(t + 200, a, 9_000_001)
        start(t + 5000, a, 9_000_002, 9_000_001, "agent", "+15551230001", "alice", agent=alice,
              queue=sup, interaction=8_000_001, outbound=True)
        end(t + 25000, a, 9_000_002, "no_answer", "timeout", "system")
        start(t + 26000, a, 9_000_003, 9_000_001, "agent", "+15551230001", "bob", agent=bob,
              queue=sup, interaction=8_000_001, outbound=True)
        answer(t + 30000, a, 9_000_003)
        end(t + 90000, a, 9_000_003, "answered", "BYE", "agent")
        end(t + 90000, a, 9_000_001, "answered", "BYE", "agent", interaction=8_000_001)
        # B: sales; the caller's display name needs CSV quoting; abandoned while queued.
        t = cls.now - 1800_000
        cls.t_b = t
        start(t, a, 9_000_011, 9_000_011, "customer", '"Smith, John" <sip:+15551230002@carrier>',
              "+15550100", queue=sales)
        answer(t + 150, a, 9_000_011)
        end(t + 40000, a, 9_000_011, "abandoned", "BYE", "customer", interaction=8_000_002)
        # C: two days ago (outside the default 24 hours).
        t = cls.now - 2 * 86400_000
        start(t, a, 9_000_021, 9_000_021, "customer", "+15551230003", "+15550100", queue=sup)
        end(t + 5000, a, 9_000_021, "failed", "503", "system")
        # D: another tenant's call.
        t = cls.now - 600_000
        start(t, g, 9_000_031, 9_000_031, "customer", "+15551230004", "+15550200")
        answer(t + 100, g, 9_000_031)
        end(t + 1000, g, 9_000_031, "answered", "BYE", "customer")
        # E: still going when the server stopped.
        t = cls.now - 300_000
        cls.t_e = t
        start(t, a, 9_000_041, 9_000_041, "customer", "+15551230005", "+15550100", queue=sup)
        answer(t + 100, a, 9_000_041)
        append_events(cls.server.data_dir, rows, time_order=True)

    def get(self, path, token=None, expect=200):
        status, body = self.server.request("GET", ACME + path, token=token or self.sam)
        self.assertEqual(status, expect, f"{path}: {body}")
        return body

    def test_calls_of_the_last_day_with_their_legs(self):
        out = self.get("/cdrs")
        self.assertEqual(out["total"], 3)
        calls = out["calls"]
        self.assertEqual([c["call"] for c in calls], [9_000_001, 9_000_011, 9_000_041])
        a = calls[0]
        self.assertEqual((a["interaction"], a["queue"], a["agent"]),
                         (8_000_001, self.q["support"], self.u["bob"]))
        self.assertEqual((a["from"], a["to"], a["outbound"]), ("+15551230001", "+15550100", False))
        self.assertEqual((a["started"], a["answered"], a["ended"]),
                         (self.t_a, self.t_a + 200, self.t_a + 90000))
        self.assertEqual((a["result"], a["cause"], a["hung_up_by"]), ("answered", "BYE", "agent"))
        self.assertEqual([(l["leg"], l["role"], l["result"]) for l in a["legs"]],
                         [(9_000_001, "customer", "answered"), (9_000_002, "agent", "no_answer"),
                          (9_000_003, "agent", "answered")])
        alice_leg = a["legs"][1]
        self.assertEqual((alice_leg["agent"], alice_leg["answered"], alice_leg["hung_up_by"],
                          alice_leg["cause"], alice_leg["outbound"]),
                         (self.u["alice"], None, "system", "timeout", True))
        b = calls[1]
        self.assertEqual((b["result"], b["hung_up_by"], b["agent"]), ("abandoned", "customer", 0))
        # E was live at the stop: the restart ended it.
        e = calls[2]
        self.assertEqual((e["result"], e["cause"], e["hung_up_by"]), ("answered", "restart", "system"))
        self.assertGreaterEqual(e["ended"], self.now)

    def test_filters_paging_and_range(self):
        self.assertEqual([c["call"] for c in self.get(f"/cdrs?queue={self.q['sales']}")["calls"]],
                         [9_000_011])
        self.assertEqual([c["call"] for c in self.get(f"/cdrs?agent={self.u['alice']}")["calls"]],
                         [9_000_001])
        self.assertEqual(self.get(f"/cdrs?agent={self.u['carol']}")["total"], 0)
        page = self.get("/cdrs?offset=1&limit=1")
        self.assertEqual((page["total"], page["offset"], page["limit"]), (3, 1, 1))
        self.assertEqual([c["call"] for c in page["calls"]], [9_000_011])
        self.assertEqual(self.get("/cdrs?offset=5")["calls"], [])
        wide = self.get(f"/cdrs?from={self.now - 3 * 86400_000}")
        self.assertEqual([c["call"] for c in wide["calls"]][0], 9_000_021)
        self.assertEqual(wide["total"], 4)
        # [from, to) on the first leg's start.
        only_a = self.get(f"/cdrs?from={self.t_a}&to={self.t_a + 1}")
        self.assertEqual([c["call"] for c in only_a["calls"]], [9_000_001])
        self.assertEqual(len(only_a["calls"][0]["legs"]), 3)  # its later legs come along
        self.assertEqual(self.get(f"/cdrs?from={self.t_a + 1}&to={self.t_b}")["total"], 0)
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t_a // 1000 - 1))
        self.assertEqual(self.get(f"/cdrs?from={iso}")["calls"][0]["call"], 9_000_001)

    def test_csv_export(self):
        status, body = self.server.request("GET", ACME + "/cdrs.csv", token=self.sam)
        self.assertEqual(status, 200, body)
        text = body if isinstance(body, str) else body.decode()
        self.assertTrue(text.endswith("\r\n"))
        self.assertNotIn("\n", text.replace("\r\n", ""))  # every line ends CRLF
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], ["call", "interaction", "leg", "role", "direction", "from", "to",
                                   "agent", "queue", "started", "answered", "ended", "result",
                                   "cause", "hung_up_by"])
        self.assertEqual(len(rows), 1 + 3 + 1 + 1)
        by_leg = {r[2]: dict(zip(rows[0], r)) for r in rows[1:]}
        bob = by_leg["9000003"]
        self.assertEqual((bob["call"], bob["interaction"], bob["role"], bob["direction"],
                          bob["agent"], bob["queue"], bob["result"]),
                         ("9000001", "8000001", "agent", "outbound", "bob", "support", "answered"))
        self.assertEqual(bob["started"],
                         time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((self.t_a + 26000) // 1000))
                         + ".%03dZ" % ((self.t_a + 26000) % 1000))
        self.assertEqual(by_leg["9000002"]["answered"], "")
        smith = by_leg["9000011"]
        self.assertEqual(smith["from"], '"Smith, John" <sip:+15551230002@carrier>')
        self.assertIn('"""Smith, John"" <sip:+15551230002@carrier>"', text)  # RFC 4180 quoting
        self.assertEqual(smith["queue"], "sales")
        # The same filters as the JSON.
        status, body = self.server.request("GET", ACME + f"/cdrs.csv?queue={self.q['sales']}",
                                           token=self.ada)
        self.assertEqual(status, 200)
        self.assertEqual(len(list(csv.reader(io.StringIO(body, newline="")))), 2)

    def test_roles_tenants_and_bad_input(self):
        for path in ("/cdrs", "/cdrs.csv"):
            status, body = self.server.request("GET", ACME + path, token=self.alice)
            self.assertEqual((status, body["error"]["code"]), (403, "forbidden"), path)
            status, body = self.server.request("GET", "/api/v1/tenants/globex" + path, token=self.carol)
            self.assertEqual(status, 403, path)
            status, body = self.server.request("GET", "/api/v1/tenants/globex" + path, token=self.sam)
            self.assertEqual((status, body["error"]["code"]), (404, "not_found"), path)
        # Globex's call never shows in acme's records, whatever the range.
        wide = self.get(f"/cdrs?from={self.now - 4 * 86400_000}&limit=1000")
        self.assertNotIn(9_000_031, [c["call"] for c in wide["calls"]])
        for q in ("from=abc", "to=-5", f"from={self.now}&to={self.now}",
                  f"from={self.now - 32 * 86400_000}&to={self.now}", "limit=0", "limit=1001",
                  "offset=-1", "queue=abc", "agent=0", "from=2026-13-01T00:00:00Z"):
            status, body = self.server.request("GET", ACME + "/cdrs?" + q, token=self.sam)
            self.assertEqual((status, body["error"]["code"]), (400, "bad_request"), q)
        self.get("/cdrs?queue=999999999", expect=404)
        self.get(f"/cdrs?agent={self.u['alice'] + 100000}", expect=404)


if __name__ == "__main__":
    unittest.main()
