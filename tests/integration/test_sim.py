"""`homeline sim`: the sample scenario end to end (text, --json, --csv, replications, seeds)
and bad scenario files (exit 2, one clear message, nothing on stdout)."""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "examples", "sim", "support.toml")


def sim(*args, timeout=120):
    p = subprocess.run([harness.BIN, "sim", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Sim(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="homeline-sim-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, text):
        path = os.path.join(self.dir, "s.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_text_report(self):
        code, out, err = sim(SAMPLE)
        self.assertEqual(code, 0, err)
        for q in ("queue support", "queue spanish", "queue chat", "all queues"):
            self.assertIn(q, out)
        self.assertRegex(out, r"\n08:00 +\d")
        self.assertRegex(out, r"\ntotal +\d")

    def test_json_is_reproducible_and_consistent(self):
        code, out, err = sim(SAMPLE, "--json", "--replications", "3")
        self.assertEqual(code, 0, err)
        again = sim(SAMPLE, "--json", "--replications", "3")[1]
        self.assertEqual(out, again, "same seed, same figures")
        doc = json.loads(out)
        self.assertEqual(doc["replications"], 3)
        self.assertEqual([q["name"] for q in doc["queues"]], ["support", "spanish", "chat"])
        total = doc["all"]["total"]
        self.assertAlmostEqual(total["offered"]["mean"],
                               total["answered"]["mean"] + total["abandoned"]["mean"]
                               + total["unfinished"]["mean"], places=6)
        self.assertGreater(total["service_level"]["ci95"], 0)
        self.assertEqual(len(doc["queues"][0]["intervals"]), 48)
        self.assertGreater(doc["events"], 3 * total["offered"]["mean"])
        other = json.loads(sim(SAMPLE, "--json", "--replications", "3", "--seed", "99")[1])
        self.assertNotEqual(other["all"]["total"]["offered"], total["offered"])

    def test_csv(self):
        code, out, err = sim(SAMPLE, "--csv", "--replications", "2")
        self.assertEqual(code, 0, err)
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), 4 * 49)  # 3 queues + all, 48 intervals + total each
        self.assertIn("service_level_ci95", rows[0])
        total = [r for r in rows if r["queue"] == "all" and r["interval"] == "total"][0]
        self.assertGreater(float(total["occupancy"]), 0)
        self.assertEqual(rows[0]["occupancy"], "")  # per-queue rows carry no agent figures

    def test_bad_scenarios(self):
        cases = {
            "seed = 1\nbogus = 2\n": "unknown key 'bogus'",
            "[[queue]]\nname = \"q\"\nhandle_time = { mean = 60, sd = 10 }\n": "agents or staffing",
            "[[queue\n": "s.toml:1",
        }
        for text, message in cases.items():
            code, out, err = sim(self.write(text))
            self.assertEqual(code, 2, text)
            self.assertIn(message, err)
            self.assertEqual(out, "")
        code, out, err = sim(os.path.join(self.dir, "missing.toml"))
        self.assertNotEqual(code, 0)
        code, out, err = sim(SAMPLE, "--json", "--csv")
        self.assertNotEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
