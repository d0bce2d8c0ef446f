"""The staffing calculator end to end: `homeline staffing` (text and --json) and
GET /api/v1/tenants/{tenant}/staffing, on the classic textbook case (100 calls per 30 minutes,
3-minute calls, 80% in 20 s: 14 agents at service level 0.888, 20 with 30% shrinkage)."""
import json
import subprocess
import unittest
import urllib.parse

import harness
from harness import ServerTest

CLASSIC = ["--calls", "100", "--interval", "1800", "--aht", "180", "--target-sl", "0.8",
           "--answer-within", "20"]
CLASSIC_QUERY = {"calls": 100, "interval": 1800, "aht": 180, "target_sl": 0.8,
                 "answer_within": 20}


def run(*args):
    p = subprocess.run([harness.BIN, "staffing", *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class StaffingCli(unittest.TestCase):
    def test_classic_case_text(self):
        code, out, err = run(*CLASSIC, "--shrinkage", "0.3")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"required agents\s+14\b")
        self.assertRegex(out, r"scheduled agents\s+20\b")
        self.assertRegex(out, r"service level\s+88\.8%")
        self.assertIn("probability of waiting", out)
        self.assertIn("ASA", out)
        self.assertIn("occupancy", out)

    def test_classic_case_json(self):
        code, out, err = run(*CLASSIC, "--shrinkage", "0.3", "--json")
        self.assertEqual(code, 0, err)
        r = json.loads(out)
        self.assertEqual(r["model"], "erlang_c")
        self.assertEqual(r["agents"], 14)
        self.assertEqual(r["scheduled_agents"], 20)
        self.assertAlmostEqual(r["service_level"], 0.888, places=3)
        self.assertAlmostEqual(r["probability_of_waiting"], 0.1741, places=4)
        self.assertAlmostEqual(r["asa_s"], 7.84, places=2)
        self.assertAlmostEqual(r["occupancy"], 10 / 14, places=6)
        self.assertNotIn("abandon_rate", r)

    def test_patience_gives_erlang_a_with_abandon_rate(self):
        code, out, err = run(*CLASSIC, "--patience", "120", "--json")
        self.assertEqual(code, 0, err)
        r = json.loads(out)
        self.assertEqual(r["model"], "erlang_a")
        self.assertLessEqual(r["agents"], 14)
        self.assertGreaterEqual(r["service_level"], 0.8)
        self.assertGreater(r["abandon_rate"], 0)
        code, out, err = run(*CLASSIC, "--patience", "120")
        self.assertEqual(code, 0, err)
        self.assertIn("abandon rate", out)

    def test_max_occupancy_and_concurrency(self):
        code, out, err = run("--calls", "1000", "--interval", "1800", "--aht", "180",
                             "--target-sl", "0.8", "--answer-within", "20",
                             "--max-occupancy", "0.85", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["agents"], 118)
        code, out, err = run(*CLASSIC, "--concurrency", "3", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["agents"], 5)

    def test_bad_input_exits_2_with_a_message(self):
        for args in (["--calls", "100", "--interval", "1800", "--aht", "180"],  # no target
                     CLASSIC[:-2],  # SL target without its threshold
                     CLASSIC + ["--shrinkage", "1"],
                     CLASSIC + ["--patience", "0"],
                     ["--calls", "-1"] + CLASSIC[2:],
                     ["--calls", "abc"] + CLASSIC[2:]):
            code, out, err = run(*args)
            self.assertNotEqual(code, 0, args)
            self.assertTrue(err.strip(), args)
            self.assertEqual(out.strip(), "", args)


class StaffingApi(ServerTest):
    def get(self, token, tenant="acme", **params):
        q = urllib.parse.urlencode(params)
        return self.api("GET", f"/api/v1/tenants/{tenant}/staffing?{q}", token=token)

    def test_classic_case(self):
        sam = self.server.login("sam")  # a supervisor of acme
        status, r = self.get(sam, **CLASSIC_QUERY, shrinkage=0.3)
        self.assertEqual(status, 200, r)
        self.assertEqual(r["agents"], 14)
        self.assertEqual(r["scheduled_agents"], 20)
        self.assertAlmostEqual(r["service_level"], 0.888, places=3)
        # The same figures as the command line.
        code, out, err = run(*CLASSIC, "--shrinkage", "0.3", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(r, json.loads(out))

    def test_erlang_a(self):
        sam = self.server.login("sam")
        status, r = self.get(sam, **CLASSIC_QUERY, patience=120, max_occupancy=0.9)
        self.assertEqual(status, 200, r)
        self.assertEqual(r["model"], "erlang_a")
        self.assertGreater(r["abandon_rate"], 0)
        self.assertLessEqual(r["occupancy"], 0.9)

    def test_bad_parameters_are_400(self):
        sam = self.server.login("sam")
        bad = [{}, {"calls": 100}, dict(CLASSIC_QUERY, calls="abc"), dict(CLASSIC_QUERY, calls="nan"),
               dict(CLASSIC_QUERY, aht=0), dict(CLASSIC_QUERY, target_sl=1.2),
               dict(CLASSIC_QUERY, shrinkage=-0.1), dict(CLASSIC_QUERY, max_occupancy=0),
               dict(CLASSIC_QUERY, concurrency=1.5), dict(CLASSIC_QUERY, patience=0),
               dict(CLASSIC_QUERY, calls="1e999"), dict(CLASSIC_QUERY, calls=1e12),
               {k: v for k, v in CLASSIC_QUERY.items() if k != "answer_within"}]
        for params in bad:
            status, body = self.get(sam, **params)
            self.assertEqual(status, 400, f"{params}: {body}")
            self.assertEqual(body["error"]["code"], "bad_request", params)

    def test_agents_may_not(self):
        alice = self.server.login("alice")  # an agent of acme
        status, body = self.get(alice, **CLASSIC_QUERY)
        self.assertEqual(status, 403, body)

    def test_listed_in_openapi(self):
        status, doc = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(status, 200)
        op = doc["paths"]["/api/v1/tenants/{tenant}/staffing"]["get"]
        self.assertEqual(op["x-required-role"], "supervisor")


if __name__ == "__main__":
    unittest.main()
