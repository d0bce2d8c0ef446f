"""Supervisor statistics: per-queue figures over REST, the same figures pushed on the WebSocket,
and the same again scraped from /metrics in the Prometheus text format.
"""
import re
import time
import unittest

from flows import T, FlowTest

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"')


def parse_metrics(testcase, text):
    """Checks the exposition format line by line; returns {(name, frozenset(labels)): value}."""
    samples, typed = {}, {}
    testcase.assertTrue(text.endswith("\n"), "exposition must end with a newline")
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            parts = line.split(" ", 3)
            testcase.assertIn(parts[1], ("HELP", "TYPE"), line)
            if parts[1] == "TYPE":
                testcase.assertRegex(parts[2], f"^{NAME}$")
                testcase.assertIn(parts[3], ("counter", "gauge", "histogram", "summary", "untyped"), line)
                testcase.assertNotIn(parts[2], typed, f"TYPE given twice: {line}")
                typed[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        testcase.assertIsNotNone(m, f"not a Prometheus sample line: {line!r}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        testcase.assertIn(name, typed, f"sample before its TYPE line: {line}")
        pairs = LABEL_PAIR.findall(labels)
        unescaped = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\") for k, v in pairs}
        key = (name, frozenset(unescaped.items()))
        testcase.assertNotIn(key, samples, f"duplicate series: {line}")
        samples[key] = float(value)  # raises on a malformed value
    return samples


def series(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    if key not in samples:
        raise AssertionError(f"no series {name}{labels}")
    return samples[key]


FIGURES = ("waiting", "entered", "answered", "answered_in_sl", "abandoned", "handled",
           "service_level", "asa_s", "aht_s", "abandon_rate", "agents", "sl_target")


class SupervisorStats(FlowTest):
    def test_queue_figures_over_rest_websocket_and_metrics(self):
        sam_desk = self.desk("sam")
        self.patch_queue("support", sl_threshold_s=1)
        s0 = self.stats("support")
        self.assertEqual((s0["waiting"], s0["entered"], s0["answered"], s0["abandoned"]), (0, 0, 0, 0))
        self.assertEqual((s0["service_level"], s0["abandon_rate"], s0["asa_s"], s0["aht_s"]), (1.0, 0, 0, 0))
        self.assertEqual((s0["sl_target"], s0["sl_threshold_s"]), (0.8, 1.0))
        # sam, alice, bob and carol can serve support (carol after relaxation); ada is an admin.
        self.assertEqual(s0["agents"]["offline"], 4)
        self.assertEqual(sum(s0["agents"].values()), 4)

        gone = self.create("voice", "support")
        late = self.create("voice", "support")
        s1 = self.stats("support")
        self.assertEqual((s1["waiting"], s1["entered"]), (2, 2))
        sam_desk.wait(lambda m: m.get("type") == "queues" and self.support(m)["waiting"] == 2)
        time.sleep(0.3)
        self.assertGreaterEqual(self.stats("support")["longest_wait_s"], 0.3)

        self.act("ada", gone["id"], "abandon")  # within the threshold: not against SL
        s2 = self.stats("support")
        self.assertEqual((s2["waiting"], s2["abandoned"], s2["abandon_rate"]), (1, 1, 1.0))
        self.assertEqual(s2["service_level"], 1.0)
        self.act("ada", gone["id"], "abandon", expect=409)

        # Answered after the 1 s threshold: outside service level.
        time.sleep(1.1)
        self.presence("alice", "available")
        self.assertEqual(self.ix(late["id"])["agent"], self.uid("alice"))
        self.assertEqual(self.stats("support")["agents"]["reserved"], 1)
        a_late = self.act("alice", late["id"], "accept")
        sam_desk.agent(lambda a: a["login"] == "alice" and a["activity"] == "busy")
        time.sleep(0.2)
        self.act("alice", late["id"], "end")
        f_late = self.act("alice", late["id"], "wrapup", {"disposition": "resolved"})
        # Answered at once: within service level.
        quick = self.create("voice", "support")
        self.assertEqual(quick["agent"], self.uid("alice"))
        a_quick = self.act("alice", quick["id"], "accept")
        f_quick = self.act("alice", quick["id"], "wrapup", {"disposition": "resolved"})
        self.presence("bob", "break", "lunch")

        s = self.stats("support")
        self.assertEqual((s["waiting"], s["longest_wait_s"]), (0, 0))
        self.assertEqual((s["entered"], s["answered"], s["answered_in_sl"], s["abandoned"], s["handled"]),
                         (3, 2, 1, 1, 2))
        self.assertAlmostEqual(s["service_level"], 0.5)  # 1 in SL / (2 answered + 1 abandoned - 1 in SL)
        self.assertAlmostEqual(s["abandon_rate"], 1 / 3)
        waits = [a_late["answered_at"] - a_late["queued_at"], a_quick["answered_at"] - a_quick["queued_at"]]
        self.assertGreater(waits[0], 1000)
        self.assertLess(waits[1], 1000)
        self.assertAlmostEqual(s["asa_s"], sum(waits) / 2000, places=6)
        handles = [f_late["finished_at"] - a_late["answered_at"], f_quick["finished_at"] - a_quick["answered_at"]]
        self.assertAlmostEqual(s["aht_s"], sum(handles) / 2000, places=6)
        self.assertGreaterEqual(handles[0], 200)
        self.assertEqual(s["agents"], {"offline": 2, "available": 1, "break": 1, "missed": 0,
                                       "reserved": 0, "busy": 0, "wrap_up": 0})
        one = self.ok("GET", f"{T}/stats/queues/{s['queue']}", token=self.token("alice"))
        self.assertEqual({k: one[k] for k in FIGURES}, {k: s[k] for k in FIGURES})

        # The supervisor's WebSocket carries the same figures.
        pushed = self.support(sam_desk.wait(
            lambda m: m.get("type") == "queues" and self.support(m)["handled"] == 2
            and self.support(m)["agents"]["break"] == 1))
        self.assertEqual({k: pushed[k] for k in FIGURES}, {k: s[k] for k in FIGURES})
        # ...and agents' states with their time in state.
        bob = sam_desk.agent(lambda a: a["login"] == "bob" and a["activity"] == "break")
        self.assertEqual(bob["reason"], "lunch")
        self.assertGreaterEqual(bob["time_in_state_s"], 0)
        time.sleep(0.3)
        listed = {a["login"]: a for a in self.ok("GET", f"{T}/agents", token=self.token("sam"))}
        self.assertEqual(set(listed), {"sam", "alice", "bob", "carol"})
        self.assertEqual(listed["bob"]["activity"], "break")
        self.assertGreaterEqual(listed["bob"]["time_in_state_s"], 0.3)
        self.assertEqual(listed["alice"]["contacts_today"], 2)
        self.ok("GET", f"{T}/agents", token=self.token("alice"), expect=403)

        # /metrics carries them too, in the Prometheus text format.
        status, text = self.api("GET", "/metrics")
        self.assertEqual(status, 200)
        m = parse_metrics(self, text)
        lab = {"tenant": "acme", "queue": "support"}
        self.assertEqual(series(m, "homeline_queue_waiting", **lab), 0)
        self.assertEqual(series(m, "homeline_queue_longest_wait_seconds", **lab), 0)
        self.assertEqual(series(m, "homeline_queue_entered_total", **lab), 3)
        self.assertEqual(series(m, "homeline_queue_answered_total", **lab), 2)
        self.assertEqual(series(m, "homeline_queue_abandoned_total", **lab), 1)
        self.assertAlmostEqual(series(m, "homeline_queue_service_level", **lab), 0.5, places=4)
        self.assertAlmostEqual(series(m, "homeline_queue_service_level_target", **lab), 0.8, places=4)
        self.assertAlmostEqual(series(m, "homeline_queue_abandon_rate", **lab), 1 / 3, delta=0.0001)
        self.assertAlmostEqual(series(m, "homeline_queue_asa_seconds", **lab), s["asa_s"], delta=0.001)
        self.assertAlmostEqual(series(m, "homeline_queue_aht_seconds", **lab), s["aht_s"], delta=0.001)
        for state, n in s["agents"].items():
            self.assertEqual(series(m, "homeline_queue_agents", state=state, **lab), n, state)
        self.assertEqual(series(m, "homeline_queue_waiting", tenant="acme", queue="sales"), 0)
        self.assertEqual(series(m, "homeline_queue_waiting", tenant="globex", queue="support"), 0)

        # A contact waiting shows in every view.
        waiting = self.create("email", "billing")
        time.sleep(1.1)
        m = parse_metrics(self, self.api("GET", "/metrics")[1])
        self.assertEqual(series(m, "homeline_queue_waiting", tenant="acme", queue="billing"), 1)
        self.assertGreaterEqual(series(m, "homeline_queue_longest_wait_seconds", tenant="acme", queue="billing"), 1.0)
        pushed = sam_desk.wait(lambda m: m.get("type") == "queues" and
                               next(q for q in m["queues"] if q["name"] == "billing")["longest_wait_s"] >= 1)
        self.assertEqual(next(q for q in pushed["queues"] if q["name"] == "billing")["waiting"], 1)
        self.assertEqual(waiting["state"], "queued")

    def test_agent_sees_queue_stats_but_not_other_agents(self):
        alice_desk = self.desk("alice")
        first = alice_desk.wait(lambda m: m.get("type") == "queues")
        self.assertEqual({q["name"] for q in first["queues"]}, {"support", "sales", "billing"})
        self.presence("bob", "available")
        self.presence("alice", "available")
        alice_desk.agent(lambda a: a["login"] == "alice" and a["activity"] == "available")
        alice_desk.drain()
        self.assertFalse([m for m in alice_desk.seen if m.get("type") == "agent" and m["agent"]["login"] != "alice"],
                         "an agent's desk must not get other agents' states")

    def test_metrics_stay_valid_with_odd_queue_names(self):
        odd = 'say "hi" \\ now\nplease'
        self.ok("POST", f"{T}/queues", {"name": odd}, self.token("ada"), expect=201)
        self.create("task", odd)
        m = parse_metrics(self, self.api("GET", "/metrics")[1])
        self.assertEqual(series(m, "homeline_queue_waiting", tenant="acme", queue=odd), 1)

    @staticmethod
    def support(msg):
        return next(q for q in msg["queues"] if q["name"] == "support")


if __name__ == "__main__":
    unittest.main()
