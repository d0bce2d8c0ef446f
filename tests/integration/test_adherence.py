"""Schedule adherence end to end against a real server on the real clock: a schedule published
for a shift that began an hour ago, agents logging in late or not at all and taking an
unscheduled break; the day's adherence and conformance (JSON, CSV, the agent's own), the live
out-of-adherence list, roles, tenant isolation and bad input. The interval is short and real,
so figures are checked within bounds computed from the times around each request."""
import datetime as dt
import time
import unittest

from harness import ServerTest

MIN = 60.0


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Adherence(ServerTest):
    base = "/api/v1/tenants/acme"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = {n: cls.server.login(n) for n in ("sam", "alice", "bob", "carol")}
        cls.uid = {n: cls.server.request("GET", "/api/v1/me", token=t)[1]["user"]["id"]
                   for n, t in cls.tok.items()}
        now = time.time()
        # acme's time zone puts its local time near noon, so the shift below lies well inside
        # the tenant's day whenever the test runs (no day boundary to straddle).
        cls.tz_hours = 12 - dt.datetime.fromtimestamp(now, dt.timezone.utc).hour  # -11..12
        tz = f"{'+' if cls.tz_hours >= 0 else '-'}{abs(cls.tz_hours):02d}:00"
        st, p = cls.server.request("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": tz}},
                                   token=cls.server.login("ada"))
        assert st == 200, p
        # The shift began 60-75 minutes ago (on the 15-minute grid) and lasts 4 hours, with a
        # break 2 hours in (still ahead). The week starts an hour before the shift.
        cls.shift_start = (int(now) // 900) * 900 - 3600
        week_start = cls.shift_start - 3600
        required = [0] * 672
        for i in range(4, 20):  # the shift's 16 intervals
            required[i] = 2
        problem = {
            "week_start": iso(week_start),
            "required": required,
            "templates": [{"id": "four", "length_min": 240, "days": [0], "starts": ["01:00"],
                           "breaks": [{"name": "break", "length_min": 15, "earliest_min": 120,
                                       "latest_min": 120}]}],
            "agents": [{"id": a, "contract": "contractor", "max_hours": 8, "hourly_rate": 20}
                       for a in ("alice", "bob")],
        }
        st, s = cls.server.request("POST", f"{cls.base}/schedules?time_limit=10", problem,
                                   token=cls.tok["sam"], timeout=60)
        assert st == 201, s
        shifts = {a["id"]: a["shifts"] for a in s["agents"]}
        assert all(len(v) == 1 and v[0]["start"] == iso(cls.shift_start) for v in shifts.values()), s
        st, p = cls.server.request("POST", f"{cls.base}/schedules/{s['id']}/publish", {},
                                   token=cls.tok["sam"])
        assert st == 200, p
        # alice logs in now, an hour late; bob does not (yet).
        st, p = cls.server.request("PUT", f"{cls.base}/me/presence", {"presence": "available"},
                                   token=cls.tok["alice"])
        assert st == 200, p
        cls.alice_login = time.time()

    def get(self, path, token=None, expect=200):
        return self.ok("GET", self.base + path, token=token or self.tok["sam"], expect=expect)

    def local_today(self):
        return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=self.tz_hours)).date()

    def test_1_day_figures_for_a_late_login_and_a_no_show(self):
        before = time.time()
        r = self.get("/adherence")
        after = time.time()
        self.assertEqual(r["date"], self.local_today().isoformat())
        day = self.local_today()
        local_midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()
        self.assertEqual(r["from"], iso(local_midnight - self.tz_hours * 3600))
        self.assertFalse(r["complete"])
        self.assertEqual(r["grace_min"], 5)
        by = {a["login"]: a for a in r["agents"]}
        self.assertEqual(set(by), {"alice", "bob"})  # the scheduled agents only
        start = self.shift_start
        lo, hi = (before - start) / MIN - 0.05, (after - start) / MIN + 0.05
        for a in by.values():
            self.assertTrue(lo <= a["scheduled_min"] <= hi, (lo, a, hi))
            self.assertEqual(a["scheduled_work_min"], a["scheduled_min"])  # the break is ahead
        alice, bob = by["alice"], by["bob"]
        self.assertEqual(alice["agent"], self.uid["alice"])
        # alice: in adherence (and working) only since she logged in, seconds ago.
        since_login = (after - self.alice_login) / MIN + 0.05
        self.assertLessEqual(alice["worked_min"], since_login)
        self.assertGreater(alice["worked_min"], 0)
        self.assertAlmostEqual(alice["in_adherence_min"], alice["worked_min"], places=6)
        self.assertLess(alice["adherence_pct"], 100 * since_login / lo)
        self.assertAlmostEqual(alice["conformance_pct"], alice["adherence_pct"], places=6)
        late = alice["out_of_adherence"]
        self.assertEqual(len(late), 1, late)
        self.assertEqual(late[0]["start"], iso(start))
        self.assertEqual((late[0]["scheduled"], late[0]["actual"], late[0]["forgiven"]),
                         ("work", "offline", False))
        self.assertGreaterEqual(late[0]["minutes"], 59)
        # bob never came: 0 % of both, one stretch up to now.
        self.assertEqual((bob["adherence_pct"], bob["conformance_pct"], bob["worked_min"]), (0, 0, 0))
        self.assertEqual(len(bob["out_of_adherence"]), 1)

        # The same as CSV, and one agent only.
        status, csv = self.api("GET", f"{self.base}/adherence?format=csv", token=self.tok["sam"])
        self.assertEqual(status, 200)
        rows = csv.strip().split("\n")
        self.assertEqual(rows[0].split(",")[:4], ["date", "agent", "login", "scheduled_min"])
        self.assertEqual(sorted(row.split(",")[2] for row in rows[1:]), ["alice", "bob"])
        one = self.get(f"/adherence?agent={self.uid['bob']}")
        self.assertEqual([a["login"] for a in one["agents"]], ["bob"])
        # A day long past: scheduled nothing, so no percentage at all.
        old = self.get("/adherence?date=2020-01-01")
        self.assertTrue(old["complete"])
        for a in old["agents"]:
            self.assertEqual(a["scheduled_min"], 0)
            self.assertIsNone(a["adherence_pct"])
            self.assertIsNone(a["conformance_pct"])

    def test_2_live_list_and_an_unscheduled_break(self):
        live = self.get("/adherence/live")
        out = {a["login"]: a for a in live["agents"]}
        self.assertEqual(set(out), {"bob"})  # alice is working as scheduled now
        self.assertEqual(out["bob"]["since"], iso(self.shift_start))
        self.assertEqual((out["bob"]["scheduled"], out["bob"]["actual"]), ("work", "offline"))
        self.assertGreaterEqual(out["bob"]["minutes"], 59)

        # bob logs in and goes straight on a break: out again, but only since now, so within
        # the default grace he is not listed; with no grace he is.
        self.ok("PUT", f"{self.base}/me/presence", {"presence": "available"}, self.tok["bob"])
        self.ok("PUT", f"{self.base}/me/presence", {"presence": "break", "reason": "personal"},
                self.tok["bob"])
        broke = time.time()
        self.assertEqual(self.get("/adherence/live")["agents"], [])
        strict = {a["login"]: a for a in self.get("/adherence/live?grace=0")["agents"]}
        self.assertEqual(set(strict), {"bob"})
        self.assertEqual((strict["bob"]["actual"], strict["bob"]["reason"]), ("not_ready", "personal"))
        self.assertLess(strict["bob"]["minutes"], (time.time() - broke) / MIN + 0.1)

        # The day now shows bob's short break as a stretch forgiven by the grace, not by grace=0.
        day = {a["login"]: a for a in self.get("/adherence")["agents"]}
        last = day["bob"]["out_of_adherence"][-1]
        self.assertEqual((last["actual"], last["forgiven"]), ("not_ready", True))
        day0 = {a["login"]: a for a in self.get("/adherence?grace=0")["agents"]}
        self.assertFalse(day0["bob"]["out_of_adherence"][-1]["forgiven"])
        self.ok("PUT", f"{self.base}/me/presence", {"presence": "available"}, self.tok["bob"])

    def test_3_agents_see_their_own_only(self):
        mine = self.get("/me/adherence", token=self.tok["alice"])
        self.assertEqual([a["login"] for a in mine["agents"]], ["alice"])
        self.get(f"/me/adherence?agent={self.uid['bob']}", token=self.tok["alice"], expect=400)
        # carol has no shifts: her own day is empty, not an error.
        carol = self.get("/me/adherence", token=self.tok["carol"])["agents"]
        self.assertEqual(carol[0]["scheduled_min"], 0)
        self.assertIsNone(carol[0]["adherence_pct"])
        # Agents cannot read the team's figures or the live list.
        for path in ("/adherence", "/adherence/live", f"/adherence?agent={self.uid['alice']}"):
            self.get(path, token=self.tok["alice"], expect=403)

    def test_4_tenant_isolation_and_bad_input(self):
        # sam is not a member of globex; carol (agent there) is not its supervisor.
        for path in ("/api/v1/tenants/globex/adherence", "/api/v1/tenants/globex/adherence/live"):
            st, _ = self.api("GET", path, token=self.tok["sam"])
            self.assertEqual(st, 404)
            st, _ = self.api("GET", path, token=self.tok["carol"])
            self.assertEqual(st, 403)
        # globex has no published schedule: carol's shifts at acme do not show there.
        st, g = self.api("GET", "/api/v1/tenants/globex/me/adherence", token=self.tok["carol"])
        self.assertEqual(st, 200, g)
        self.assertEqual(g["agents"][0]["scheduled_min"], 0)
        self.get("/adherence?agent=999999", expect=404)
        for q in ("date=2026-13-45", "date=yesterday", "grace=-1", "grace=61", "grace=x",
                  "format=xml", "agent=0", "agent=abc"):
            st, body = self.api("GET", f"{self.base}/adherence?{q}", token=self.tok["sam"])
            self.assertEqual(st, 400, q)
            self.assertEqual(body["error"]["code"], "bad_request", q)
        st, body = self.api("GET", f"{self.base}/adherence/live?grace=abc", token=self.tok["sam"])
        self.assertEqual(st, 400)


if __name__ == "__main__":
    unittest.main()
