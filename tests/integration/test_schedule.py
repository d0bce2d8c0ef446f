"""Weekly shift schedules end to end: `homeline schedule` (text, --json, --csv, --ics) and the
API (solve and store a draft, list, get, CSV, publish, the agent's own shifts as JSON and
iCalendar), with roles, tenant isolation, bad input that writes nothing, and published
schedules surviving a SIGKILL."""
import json
import os
import re
import signal
import subprocess
import unittest

import harness
from harness import Server, ServerTest

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "schedule")
WEEK = "2026-11-30T00:00:00Z"  # a Monday


def tiny_problem(agents=("alice", "bob")):
    """Two agents needed 09:00-17:00 Monday to Wednesday; 8-hour day shifts with a lunch."""
    required = [0] * 672
    for d in range(3):
        for q in range(9 * 4, 17 * 4):
            required[d * 96 + q] = 1
    return {
        "week_start": WEEK,
        "required": required,
        "templates": [{"id": "day", "length_min": 480, "days": ["mon", "tue", "wed", "thu", "fri"],
                       "starts": ["08:30", "09:00"],
                       "breaks": [{"name": "lunch", "length_min": 30, "earliest_min": 180,
                                   "latest_min": 240, "paid": False}]}],
        "agents": [{"id": a, "contract": "contractor", "max_hours": 16, "hourly_rate": 20 + i}
                   for i, a in enumerate(agents)],
    }


def run(*args, timeout=60):
    p = subprocess.run([harness.BIN, "schedule", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def parse_ics(text):
    """RFC 5545 structure: CRLF lines of at most 75 octets, unfolded into (name, value), and the
    VEVENTs as dicts. Raises AssertionError on a malformed calendar."""
    raw = text.encode()
    assert raw.endswith(b"\r\n"), "must end in CRLF"
    physical = raw.split(b"\r\n")[:-1]
    for line in physical:
        assert b"\n" not in line and b"\r" not in line, line
        assert len(line) <= 75, line
    lines = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    lines = [l.decode() for l in lines]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR", lines
    events, stack, cal = [], [], {}
    for l in lines:
        name, _, value = l.partition(":")
        assert re.fullmatch(r"[A-Z-]+(;.*)?", name), l
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value, l
        elif stack[-1] == "VEVENT":
            events[-1][name] = value
        else:
            cal[name] = value
    assert not stack
    assert cal.get("VERSION") == "2.0" and cal.get("PRODID"), cal
    for e in events:
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND"):
            assert prop in e, (prop, e)
        for prop in ("DTSTAMP", "DTSTART", "DTEND"):
            assert re.fullmatch(r"\d{8}T\d{6}Z", e[prop]), e[prop]
    return events


def ics_time(iso):
    return iso.replace("-", "").replace(":", "")  # 2026-11-30T09:00:00Z -> 20261130T090000Z


class ScheduleCli(unittest.TestCase):
    problem = os.path.join(DATA, "small.json")

    def test_json_meets_the_rules_and_reports_the_gap(self):
        code, out, err = run(self.problem, "--time-limit", "5", "--json")
        self.assertEqual(code, 0, err)
        r = json.loads(out)
        self.assertEqual(len(r["coverage"]["required"]), 672)
        self.assertIn(r["status"], ("optimal", "time_limit"))
        self.assertLessEqual(r["bound"], r["objective"] + 1e-6)
        self.assertGreaterEqual(r["gap"], 0)
        agents = {a["id"]: a for a in r["agents"]}
        self.assertEqual(set(agents), {"alice", "bob", "carol", "dan", "erin"})
        self.assertGreaterEqual(agents["alice"]["paid_hours"], 32 - 1e-9)  # employee minimum
        self.assertLessEqual(agents["dan"]["paid_hours"], 24 + 1e-9)
        for a in r["agents"]:
            for s in a["shifts"]:
                for g in s["segments"]:
                    self.assertTrue(s["start"] <= g["start"] < g["end"] <= s["end"], s)
        self.assertAlmostEqual(r["labour_cost"], sum(a["cost"] for a in r["agents"]), places=6)

    def test_text_csv_and_ics(self):
        code, out, err = run(self.problem, "--time-limit", "4")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"objective [\d.]+\s+bound [\d.]+\s+gap [\d.]+ %")
        self.assertIn("labour cost", out)
        code, out, err = run(self.problem, "--time-limit", "4", "--csv")
        self.assertEqual(code, 0, err)
        lines = out.strip().split("\n")
        self.assertEqual(lines[0], "agent_id,name,contract,template,start,end,paid_hours,"
                                   "hourly_rate,cost,segments")
        self.assertGreater(len(lines), 5)
        code, out, err = run(self.problem, "--time-limit", "4", "--ics", "alice")
        self.assertEqual(code, 0, err)
        events = parse_ics(out)
        self.assertGreaterEqual(len(events), 4)  # 32 h minimum in 7.5-hour paid shifts

    def test_bad_input_is_a_clear_error(self):
        code, out, err = run(self.problem, "--ics", "nobody")
        self.assertEqual(code, 2)
        self.assertIn("no agent 'nobody'", err)
        bad = os.path.join(DATA, "..", "..", "integration", "test_schedule.py")  # not JSON
        code, out, err = run(bad)
        self.assertEqual(code, 2)
        self.assertIn("not valid JSON", err)


class ScheduleApi(ServerTest):
    base = "/api/v1/tenants/acme"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = {n: cls.server.login(n) for n in ("sam", "alice", "bob", "carol")}

    def events(self):
        return self.server.metric("homeline_events_total")

    def solve(self, problem, token=None, query="time_limit=10"):
        return self.api("POST", f"{self.base}/schedules?{query}", problem,
                        token=token or self.tok["sam"], timeout=60)

    def test_1_solve_publish_and_agents_see_their_shifts(self):
        status, s = self.solve(tiny_problem(), query="time_limit=10&name=Week%2049")
        self.assertEqual(status, 201, s)
        self.assertEqual(s["state"], "draft")
        self.assertEqual(s["name"], "Week 49")
        self.assertEqual(s["week_start"], WEEK)
        self.assertEqual(len(s["coverage"]["scheduled"]), 672)
        self.assertLessEqual(s["bound"], s["objective"] + 1e-6)
        by_id = {a["id"]: a for a in s["agents"]}
        self.assertEqual(set(by_id), {"alice", "bob"})
        self.assertEqual(by_id["alice"]["hourly_rate"], 20)
        # Coverage needs both (lunches), each within 16 h: three day shifts between them at least.
        self.assertGreaterEqual(sum(len(a["shifts"]) for a in s["agents"]), 3)
        sid = s["id"]

        # A draft is not shown to agents.
        self.assertEqual(self.ok("GET", f"{self.base}/me/shifts", token=self.tok["alice"]),
                         {"shifts": []})
        listed = self.ok("GET", f"{self.base}/schedules", token=self.tok["sam"])
        self.assertIn(sid, [x["id"] for x in listed])
        # The list's summary is the full view without the arrays: the same values, agents counted.
        summary = next(x for x in listed if x["id"] == sid)
        self.assertEqual(summary["agents"], 2)
        self.assertEqual(summary["shifts"], sum(len(a["shifts"]) for a in s["agents"]))
        self.assertEqual({k: v for k, v in summary.items() if k not in ("agents", "shifts")},
                         {k: v for k, v in s.items()
                          if k not in ("agents", "shifts", "coverage", "variables", "constraints")})
        self.assertEqual(self.ok("GET", f"{self.base}/schedules/{sid}", token=self.tok["sam"]), s)

        before = self.events()
        pub = self.ok("POST", f"{self.base}/schedules/{sid}/publish", {}, self.tok["sam"])
        self.assertEqual(pub["state"], "published")
        self.assertEqual(self.events(), before + 1)
        for who in ("alice", "bob"):
            mine = self.ok("GET", f"{self.base}/me/shifts", token=self.tok[who])["shifts"]
            self.assertEqual([(m["start"], m["end"]) for m in mine],
                             [(x["start"], x["end"]) for x in by_id[who]["shifts"]], who)
            for m in mine:
                self.assertEqual(m["schedule"], sid)
                self.assertNotIn("cost", m)
            status, ics = self.api("GET", f"{self.base}/me/shifts.ics", token=self.tok[who])
            self.assertEqual(status, 200)
            events = parse_ics(ics)
            self.assertEqual(sorted(e["DTSTART"] for e in events),
                             sorted(ics_time(m["start"]) for m in mine))
            self.assertEqual(len({e["UID"] for e in events}), len(events))
        # Published once only.
        status, body = self.api("POST", f"{self.base}/schedules/{sid}/publish", {},
                                token=self.tok["sam"])
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "conflict")

        # CSV exports.
        status, csv = self.api("GET", f"{self.base}/schedules/{sid}?format=csv", token=self.tok["sam"])
        self.assertEqual(status, 200)
        rows = csv.strip().split("\n")
        self.assertTrue(rows[0].startswith("agent_id,name,contract,template,start,end"))
        self.assertEqual(len(rows) - 1, sum(len(a["shifts"]) for a in s["agents"]))
        status, cov = self.api("GET", f"{self.base}/schedules/{sid}?format=coverage_csv",
                               token=self.tok["sam"])
        self.assertEqual(status, 200)
        self.assertEqual(len(cov.strip().split("\n")), 673)

        # A new schedule for the same week, once published, supersedes the first.
        status, s2 = self.solve(tiny_problem(agents=("bob",)))
        self.assertEqual(status, 201, s2)
        self.ok("POST", f"{self.base}/schedules/{s2['id']}/publish", {}, self.tok["sam"])
        states = {x["id"]: x["state"] for x in self.ok("GET", f"{self.base}/schedules",
                                                       token=self.tok["sam"])}
        self.assertEqual(states[sid], "superseded")
        self.assertEqual(states[s2["id"]], "published")
        self.assertEqual(self.ok("GET", f"{self.base}/me/shifts", token=self.tok["alice"]),
                         {"shifts": []})
        bob = self.ok("GET", f"{self.base}/me/shifts", token=self.tok["bob"])["shifts"]
        self.assertTrue(bob)
        self.assertEqual({m["schedule"] for m in bob}, {s2["id"]})

    def test_2_roles_and_tenants(self):
        status, body = self.solve(tiny_problem(), token=self.tok["alice"])
        self.assertEqual(status, 403, body)
        for path in ("/schedules", "/schedules/1"):
            status, body = self.api("GET", self.base + path, token=self.tok["alice"])
            self.assertEqual(status, 403, path)
        # Carol is an agent of acme and of globex: acme's schedule is not globex's.
        status, s = self.solve(tiny_problem(agents=("carol",)))
        self.assertEqual(status, 201, s)
        self.ok("POST", f"{self.base}/schedules/{s['id']}/publish", {}, self.tok["sam"])
        self.assertTrue(self.ok("GET", f"{self.base}/me/shifts", token=self.tok["carol"])["shifts"])
        self.assertEqual(self.ok("GET", "/api/v1/tenants/globex/me/shifts",
                                 token=self.tok["carol"]), {"shifts": []})
        # Sam is acme's supervisor only: globex's routes and acme's schedule through globex.
        for method, path in (("GET", "/api/v1/tenants/globex/schedules"),
                             ("GET", f"/api/v1/tenants/globex/schedules/{s['id']}"),
                             ("POST", f"/api/v1/tenants/globex/schedules/{s['id']}/publish")):
            status, body = self.api(method, path, {} if method == "POST" else None,
                                    token=self.tok["sam"])
            self.assertEqual(status, 404, (method, path, body))

    def test_3_bad_input_writes_nothing(self):
        before = self.events()
        cases = [
            (tiny_problem(agents=("alice", "nobody")), "agents[1] (nobody): not a member"),
            ({**tiny_problem(), "required": [1] * 10}, "672 values"),
            ({**tiny_problem(), "surprise": True}, "surprise: unknown field"),
            ({**tiny_problem(), "week_start": "monday"}, "week_start"),
            ([1, 2], "must be a JSON object"),
        ]
        p = tiny_problem(agents=("alice",))
        p["agents"][0].update({"contract": "employee", "min_hours": 15})
        p["agents"][0]["availability"] = [{"day": "mon", "from": "14:00", "to": "23:59"},
                                          {"day": "tue", "from": "06:00", "to": "16:00"}]
        p["templates"][0]["starts"] = ["06:00", "14:00"]
        cases.append((p, "agents[0] (alice): no week meets this agent's rules"))
        for body, part in cases:
            status, out = self.solve(body)
            self.assertEqual(status, 400, (part, out))
            self.assertEqual(out["error"]["code"], "bad_request")
            self.assertIn(part, out["error"]["message"])
        for q in ("time_limit=0", "time_limit=abc", "time_limit=1000"):
            status, out = self.solve(tiny_problem(), query=q)
            self.assertEqual(status, 400, q)
        for path in ("/schedules/999999999", "/schedules/abc"):
            status, out = self.api("GET", self.base + path, token=self.tok["sam"])
            self.assertEqual(status, 404, path)
        status, out = self.api("GET", f"{self.base}/schedules/999999999?format=xml",
                               token=self.tok["sam"])
        self.assertEqual(status, 404)
        self.assertEqual(self.events(), before, "a refused request wrote events")
        self.assertEqual(self.api("GET", "/healthz")[0], 200)


class ScheduleDurability(unittest.TestCase):
    def test_published_schedule_survives_sigkill(self):
        server = Server().start()
        try:
            sam, alice = server.login("sam"), server.login("alice")
            status, s = server.request("POST", "/api/v1/tenants/acme/schedules?time_limit=10",
                                       tiny_problem(), token=sam, timeout=60)
            self.assertEqual(status, 201, s)
            status, _ = server.request("POST", f"/api/v1/tenants/acme/schedules/{s['id']}/publish",
                                       {}, token=sam)
            self.assertEqual(status, 200)
            status, mine = server.request("GET", "/api/v1/tenants/acme/me/shifts", token=alice)
            self.assertEqual(status, 200)
            self.assertEqual(server.kill(signal.SIGKILL), -signal.SIGKILL)
            server.start()
            sam, alice = server.login("sam"), server.login("alice")
            status, again = server.request("GET", "/api/v1/tenants/acme/me/shifts", token=alice)
            self.assertEqual((status, again), (200, mine))
            status, got = server.request("GET", f"/api/v1/tenants/acme/schedules/{s['id']}",
                                         token=sam)
            self.assertEqual(status, 200)
            self.assertEqual(got["state"], "published")
            self.assertEqual(got["agents"], s["agents"])
            self.assertEqual(got["coverage"], s["coverage"])
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
