"""Forecasts from the stored history, calendar events, staffing requirements and their CSV
export, against a real server; and `homeline forecast --csv` on the bank records.

The history is six weeks of contacts written into the event log before the server starts
(the engine forgets finished contacts after 24 hours, so the forecast must read the store):
every week the same counts per half hour, so the forecast must reproduce them exactly.
"""
import csv
import io
import json
import os
import sqlite3
import subprocess
import time
import unittest

from harness import BIN, Server

TZ_HOURS = 2  # acme's timezone for this test: "+02:00"
WEEKS = 6
AHT_S = 140   # accept to completion of every seeded contact (one agent, one at a time)
SPACING_S = 145
BANK = os.path.join(os.path.dirname(__file__), "..", "data", "bank")


def weekday(day):
    """0 = Sunday .. 6 = Saturday for days since 1970-01-01 (a Thursday)."""
    return (day + 4) % 7


def pattern(wd, slot):
    """Contacts per half hour: weekdays 09:00-17:00 with a late-morning peak, Saturday a few,
    Sunday none."""
    if wd == 0:
        return 0
    if wd == 6:
        return 2 if 20 <= slot < 24 else 0
    if not 18 <= slot < 34:
        return 0
    return 3 + (slot - 18) % 5 + (4 if slot in (21, 22) else 0) + (wd == 1)


def fmt_day(day):
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))


class ForecastFromHistory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        s = cls.server
        ada = s.login("ada")
        st, _ = s.request("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "+02:00"}}, token=ada)
        assert st == 200
        queues = {q["name"]: q["id"] for q in s.request("GET", "/api/v1/tenants/acme/queues", token=ada)[1]}
        users = {u["login"]: u["id"] for u in s.request("GET", "/api/v1/tenants/acme/users", token=ada)[1]}
        cls.queue, cls.billing = queues["support"], queues["billing"]
        cls.acme_id = s.request("GET", "/api/v1/tenants/acme", token=ada)[1]["id"]
        st, globex = s.request("GET", "/api/v1/tenants/globex/queues", token=s.login("carol"))
        cls.globex_queue = globex[0]["id"]
        s.stop()

        now_local = time.time() + TZ_HOURS * 3600
        cls.today = int(now_local // 86400)
        cls.first = cls.today - 7 * WEEKS
        # The history must start on a Sunday (no contacts) for the history_days checks.
        cls.first -= weekday(cls.first)
        # A past holiday: the Wednesday two weeks ago had a fifth of its usual contacts.
        cls.holiday = next(d for d in range(cls.today - 14, cls.today - 7) if weekday(d) == 3)
        cls.seed(users["alice"])
        s.start()
        cls.sam = s.login("sam")
        cls.alice = s.login("alice")
        # The past holiday is in the calendar (test_calendar_events_change_the_forecast shows
        # what happens when it is not).
        st, cls.past_event = s.request(
            "POST", "/api/v1/tenants/acme/calendar",
            {"name": "Past holiday", "first_day": fmt_day(cls.holiday),
             "last_day": fmt_day(cls.holiday), "multiplier": 0.2}, token=cls.sam)
        assert st == 201, cls.past_event

    @classmethod
    def seed(cls, agent):
        db = sqlite3.connect(os.path.join(cls.server.data_dir, "homeline.db"))
        seq = db.execute("SELECT max(seq) FROM events").fetchone()[0]
        start_ms = ((cls.first * 86400) - TZ_HOURS * 3600) * 1000
        # What the server wrote (demo tenants, users) happened before the history.
        db.execute("UPDATE events SET ts = ?", (start_ms - 86400_000,))
        rows = []

        def add(ts, typ, payload):
            nonlocal seq
            seq += 1
            rows.append((seq, ts, cls.acme_id, typ, json.dumps(payload, separators=(",", ":"))))

        ix = 1_000_000
        t = cls.acme_id
        add(start_ms, "agent.presence", {"presence": "available", "reason": "", "tenant": t, "user": agent})
        for day in range(cls.first, cls.today):
            for slot in range(48):
                n = pattern(weekday(day), slot)
                if day == cls.holiday:
                    n //= 5
                for k in range(n):
                    ix += 1
                    at = ((day * 86400 + slot * 1800 + 10 + k * SPACING_S) - TZ_HOURS * 3600) * 1000
                    add(at, "interaction.created",
                        {"channel": "email", "customer": {"email": "", "name": "", "phone": ""},
                         "data": "", "enqueued_at": at, "id": ix, "origin": 0, "priority": 0,
                         "queue": cls.queue, "subject": "", "tenant": t})
                    add(at + 1, "interaction.offered", {"agent": agent, "expires": at + 20001, "id": ix})
                    add(at + 2, "interaction.accepted", {"agent": agent, "id": ix})
                    add(at + 2 + 100_000, "interaction.contact_ended", {"id": ix, "reason": "agent_ended"})
                    add(at + 2 + AHT_S * 1000, "interaction.completed",
                        {"disposition": 0, "forced_by": 0, "id": ix, "notes": "", "timed_out": False})
        end = ((cls.today * 86400) - TZ_HOURS * 3600) * 1000 - 1000
        add(end, "agent.presence", {"presence": "offline", "reason": "", "tenant": 0, "user": agent})
        # Created and completed interleave across contacts: the log is in time order.
        rows.sort(key=lambda r: (r[1], r[0]))
        first_seq = rows[0][0]
        rows = [(first_seq + i,) + r[1:] for i, r in enumerate(rows)]
        db.executemany("INSERT INTO events(seq, ts, tenant, type, payload) VALUES (?,?,?,?,?)", rows)
        db.commit()
        db.close()
        cls.contacts = ix - 1_000_000

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def get(self, path, token=None, expect=200):
        status, body = self.server.request("GET", "/api/v1/tenants/acme" + path, token=token or self.sam)
        self.assertEqual(status, expect, f"{path}: {body}")
        return body

    def forecast(self, query=""):
        return self.get(f"/forecast?queue={self.queue}&weeks=1{query}")

    def by_start(self, fc):
        return {row["start"]: row for row in fc["intervals"]}

    @staticmethod
    def start_of(day, slot, minutes=30):
        m = slot * minutes
        return f"{fmt_day(day)}T{m // 60:02d}:{m % 60:02d}"

    # ---- forecast -------------------------------------------------------------------------

    def test_forecast_reproduces_a_steady_history_in_local_time(self):
        fc = self.forecast()
        self.assertEqual(fc["queue"], self.queue)
        self.assertEqual(fc["interval_min"], 30)
        self.assertEqual(fc["first_day"], fmt_day(self.today))
        # From the first day with a contact (the history starts on a Sunday, a day without).
        self.assertEqual(fc["history_days"], self.today - self.first - 1)
        self.assertEqual(len(fc["intervals"]), 7 * 48)
        rows = self.by_start(fc)
        self.assertEqual(len(rows), 7 * 48)
        for day in range(self.today, self.today + 7):
            for slot in range(48):
                row = rows[self.start_of(day, slot)]
                want = pattern(weekday(day), slot)
                self.assertAlmostEqual(row["volume"], want, delta=1e-6 * max(1, want),
                                       msg=f"{row['start']}")
                if want:
                    self.assertAlmostEqual(row["aht_s"], AHT_S, delta=1e-6, msg=row["start"])

    def test_calendar_events_change_the_forecast(self):
        wednesday = next(d for d in range(self.today, self.today + 7) if weekday(d) == 3)
        monday = next(d for d in range(self.today, self.today + 7) if weekday(d) == 1)

        def day_total(fc, day):
            return sum(r["volume"] for r in fc["intervals"] if r["start"].startswith(fmt_day(day)))

        normal_wed = sum(pattern(3, s) for s in range(48))
        normal_mon = sum(pattern(1, s) for s in range(48))
        acme = "/api/v1/tenants/acme"
        steady = self.forecast()
        # Without the past holiday in the calendar, it drags Wednesdays (and the level, so
        # every day) down.
        st, _ = self.server.request("DELETE", f"{acme}/calendar/{self.past_event['id']}", token=self.sam)
        self.assertEqual(st, 200)
        try:
            polluted = self.forecast()
        finally:
            st, ev = self.server.request("POST", acme + "/calendar",
                                         {k: self.past_event[k] for k in
                                          ("name", "first_day", "last_day", "multiplier")},
                                         token=self.sam)
            self.assertEqual(st, 201, ev)
            type(self).past_event = ev
        self.assertLess(day_total(polluted, wednesday), 0.9 * normal_wed)
        self.assertLess(day_total(polluted, monday), 0.995 * normal_mon)
        self.assertAlmostEqual(day_total(steady, wednesday), normal_wed, delta=1e-6 * normal_wed)
        self.assertEqual(self.forecast()["intervals"], steady["intervals"])

        future = self.server.request("POST", acme + "/calendar",
                                     {"name": "Sale", "first_day": fmt_day(monday),
                                      "last_day": fmt_day(monday), "multiplier": 1.8,
                                      "queue": self.queue}, token=self.sam)
        self.assertEqual(future[0], 201, future)
        # An event of another queue does not touch this one.
        other = self.server.request("POST", acme + "/calendar",
                                    {"name": "Billing day", "first_day": fmt_day(self.today),
                                     "last_day": fmt_day(self.today + 6), "multiplier": 3,
                                     "queue": self.billing}, token=self.sam)
        self.assertEqual(other[0], 201, other)
        try:
            after = self.forecast()
            self.assertAlmostEqual(day_total(after, monday), 1.8 * normal_mon, delta=1e-6 * normal_mon)
            self.assertAlmostEqual(day_total(after, wednesday), normal_wed, delta=1e-6 * normal_wed)
            mult = {r["start"][:10]: r["multiplier"] for r in after["intervals"]}
            self.assertEqual(mult[fmt_day(monday)], 1.8)
            self.assertEqual(mult[fmt_day(wednesday)], 1)
            listed = self.get("/calendar")
            self.assertEqual({e["name"] for e in listed}, {"Past holiday", "Sale", "Billing day"})
            self.assertEqual([e for e in listed if e["name"] == "Sale"][0]["queue"], self.queue)
        finally:
            for ev in (future[1], other[1]):
                st, _ = self.server.request("DELETE", f"{acme}/calendar/{ev['id']}", token=self.sam)
                self.assertEqual(st, 200)
        self.assertEqual(self.get("/calendar"), [self.past_event])
        self.assertEqual(self.forecast()["intervals"], steady["intervals"])

    def test_fifteen_minute_intervals_and_csv_export(self):
        fc = self.forecast("&interval=15")
        self.assertEqual(fc["interval_min"], 15)
        self.assertEqual(len(fc["intervals"]), 7 * 96)
        monday = next(d for d in range(self.today, self.today + 7) if weekday(d) == 1)
        rows = self.by_start(fc)
        # Seeded contacts arrive every 145 s from the start of each half hour: the first six
        # in its first quarter, the rest in the second.
        for slot in range(48):
            want = pattern(1, slot)
            first = rows[self.start_of(monday, 2 * slot, 15)]["volume"]
            second = rows[self.start_of(monday, 2 * slot + 1, 15)]["volume"]
            self.assertAlmostEqual(first, min(want, 7), delta=1e-6, msg=slot)
            self.assertAlmostEqual(second, max(0, want - 7), delta=1e-6, msg=slot)

        status, headers, body = self.server.exchange(
            "GET", f"/api/v1/tenants/acme/forecast?queue={self.queue}&weeks=1&format=csv",
            headers={"Authorization": "Bearer " + self.sam})
        self.assertEqual(status, 200)
        self.assertTrue(dict(headers)["content-type"].startswith("text/csv"))
        self.assertIn("attachment", dict(headers).get("content-disposition", ""))
        table = list(csv.reader(io.StringIO(body)))
        self.assertEqual(table[0], ["interval_start", "volume", "aht_s", "multiplier"])
        self.assertEqual(len(table), 1 + 7 * 48)
        json_rows = self.by_start(self.forecast())
        for start, volume, aht, mult in table[1:]:
            self.assertAlmostEqual(float(volume), json_rows[start]["volume"], delta=0.001)

    def test_requirements_follow_the_forecast_and_the_staffing_calculator(self):
        q = f"/requirements?queue={self.queue}&weeks=1&target_sl=0.8&answer_within=20&shrinkage=0.3"
        req = self.get(q)
        self.assertEqual(req["model"], "erlang_c")
        self.assertEqual(len(req["intervals"]), 7 * 48)
        monday = next(d for d in range(self.today, self.today + 7) if weekday(d) == 1)
        rows = self.by_start(req)
        peak = rows[self.start_of(monday, 21)]
        calls = pattern(1, 21)
        self.assertAlmostEqual(peak["volume"], calls, delta=1e-6)
        calc = self.get(f"/staffing?calls={peak['volume']}&interval=1800&aht={peak['aht_s']}"
                        "&target_sl=0.8&answer_within=20&shrinkage=0.3")
        self.assertEqual(peak["agents"], calc["agents"])
        self.assertEqual(peak["scheduled_agents"], calc["scheduled_agents"])
        self.assertGreaterEqual(peak["service_level"], 0.8)
        night = rows[self.start_of(monday, 2)]
        self.assertEqual((night["volume"], night["agents"], night["scheduled_agents"]), (0, 0, 0))
        self.assertEqual(req["peak_scheduled_agents"], max(r["scheduled_agents"] for r in req["intervals"]))

        # Erlang A with patience, ASA target, CSV.
        req_a = self.get(f"/requirements?queue={self.queue}&weeks=1&target_asa=15&patience=120")
        self.assertEqual(req_a["model"], "erlang_a")
        self.assertIn("abandon_rate", req_a["intervals"][0])
        status, headers, body = self.server.exchange(
            "GET", "/api/v1/tenants/acme" + q + "&format=csv",
            headers={"Authorization": "Bearer " + self.sam})
        self.assertEqual(status, 200)
        self.assertTrue(dict(headers)["content-type"].startswith("text/csv"))
        table = list(csv.reader(io.StringIO(body)))
        self.assertEqual(table[0], ["interval_start", "volume", "aht_s", "erlangs", "agents",
                                    "scheduled_agents", "service_level", "asa_s", "occupancy"])
        self.assertEqual(len(table), 1 + 7 * 48)
        self.assertEqual(int(dict((r[0], r) for r in table[1:])[peak["start"]][5]),
                         peak["scheduled_agents"])

    def test_cli_reads_the_servers_database_like_the_api(self):
        # Beside the running server (WAL lets a second reader in): the same forecast.
        args = [BIN, "forecast", "--data", self.server.data_dir, "--tenant", "acme",
                "--queue", "support", "--weeks", "1", "--format", "csv"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, _, body = self.server.exchange(
            "GET", f"/api/v1/tenants/acme/forecast?queue={self.queue}&weeks=1&format=csv",
            headers={"Authorization": "Bearer " + self.sam})
        self.assertEqual(status, 200)
        self.assertEqual(p.stdout, body)
        p = subprocess.run(args[:7] + ["nosuchqueue", "--format", "json"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no queue", p.stderr)

    def test_a_queue_without_history_forecasts_zeros(self):
        fc = self.get(f"/forecast?queue={self.billing}&weeks=2")
        self.assertEqual(fc["history_days"], 0)
        self.assertEqual(len(fc["intervals"]), 14 * 48)
        self.assertEqual({r["volume"] for r in fc["intervals"]}, {0})

    # ---- bad input, roles, tenants ---------------------------------------------------------

    def test_bad_input_is_a_clear_error_and_writes_nothing(self):
        events = self.server.metric("homeline_events_total")
        for q in ("", "?queue=abc", "?queue=0", f"?queue={self.queue}&weeks=0",
                  f"?queue={self.queue}&weeks=27", f"?queue={self.queue}&interval=20",
                  f"?queue={self.queue}&from=2026-02-30", f"?queue={self.queue}&format=xml"):
            body = self.get("/forecast" + q, expect=400)
            self.assertEqual(body["error"]["code"], "bad_request", q)
        for q in ("", "&target_sl=0.8", "&target_sl=1.5&answer_within=20", "&target_asa=-1",
                  "&target_sl=0.8&answer_within=20&shrinkage=1"):
            body = self.get(f"/requirements?queue={self.queue}" + q, expect=400)
            self.assertEqual(body["error"]["code"], "bad_request", q)
        acme = "/api/v1/tenants/acme/calendar"
        good = {"name": "x", "first_day": "2026-12-24", "last_day": "2026-12-26", "multiplier": 0.3}
        for change in ({"first_day": "2026-13-01"}, {"last_day": "2026-12-01"},
                       {"multiplier": 0}, {"multiplier": "high"}, {"multiplier": 1000},
                       {"name": ""}, {"extra": 1}, {"first_day": None},
                       {"last_day": "2028-01-01"}):
            body = dict(good, **change)
            body = {k: v for k, v in body.items() if v is not None}
            st, out = self.server.request("POST", acme, body, token=self.sam)
            self.assertEqual(st, 400, f"{change}: {out}")
            self.assertEqual(out["error"]["code"], "bad_request")
        # Another tenant's queue: not found, as for a queue that does not exist.
        st, out = self.server.request("POST", acme, dict(good, queue=self.globex_queue), token=self.sam)
        self.assertEqual(st, 404, out)
        self.get(f"/forecast?queue={self.globex_queue}", expect=404)
        self.get(f"/requirements?queue={self.globex_queue}&target_asa=10", expect=404)
        self.assertEqual(self.server.metric("homeline_events_total"), events)

    def test_agents_may_not_and_other_tenants_cannot_see(self):
        self.get(f"/forecast?queue={self.queue}", token=self.alice, expect=403)
        self.get("/calendar", token=self.alice, expect=403)
        st, _ = self.server.request("POST", "/api/v1/tenants/acme/calendar",
                                    {"name": "x", "first_day": "2026-12-24",
                                     "last_day": "2026-12-24", "multiplier": 0.3},
                                    token=self.alice)
        self.assertEqual(st, 403)
        carol = self.server.login("carol")  # agent of acme and globex; not a supervisor of acme
        st, _ = self.server.request("GET", f"/api/v1/tenants/globex/forecast?queue={self.queue}",
                                    token=self.sam)
        self.assertEqual(st, 404)  # sam is not a member of globex
        st, _ = self.server.request("GET", f"/api/v1/tenants/acme/forecast?queue={self.queue}",
                                    token=carol)
        self.assertEqual(st, 403)

    def test_calendar_events_survive_a_restart(self):
        acme = "/api/v1/tenants/acme/calendar"
        st, ev = self.server.request("POST", acme, {"name": "Christmas season",
                                                    "first_day": "2026-12-01",
                                                    "last_day": "2026-12-31",
                                                    "multiplier": 1.2}, token=self.sam)
        self.assertEqual(st, 201, ev)
        try:
            self.server.stop()
            self.server.start()
            type(self).sam = self.server.login("sam")
            type(self).alice = self.server.login("alice")
            self.assertEqual(self.get(f"/calendar/{ev['id']}"), ev)
            # The history still comes from the store after the restart.
            self.assertEqual(self.forecast()["history_days"], self.today - self.first - 1)
        finally:
            st, _ = self.server.request("DELETE", f"{acme}/{ev['id']}", token=self.sam)
            self.assertEqual(st, 200)
        self.get(f"/calendar/{ev['id']}", expect=404)


class ForecastCli(unittest.TestCase):
    def run_cli(self, *args):
        p = subprocess.run([BIN, "forecast", *args], capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def test_backtest_on_the_bank_records(self):
        code, out, err = self.run_cli(
            "--csv", os.path.join(BANK, "anonymous_bank_1999_intervals_5min.csv.gz"),
            "--calendar", os.path.join(BANK, "holidays_1999.csv"),
            "--backtest", "1999-10-03", "--horizon-weeks", "4")
        self.assertEqual(code, 0, err)
        line = [l for l in out.splitlines() if "volume WAPE" in l][0]
        model, naive = float(line.split()[3]), float(line.split()[6])
        self.assertLess(model, 0.245)
        self.assertLess(model, 0.75 * naive)

    def test_forecast_csv_from_a_planners_export(self):
        path = os.path.join(self._tmp(), "history.csv")
        with open(path, "w") as f:
            f.write("interval_start,offered,handled,handle_s_sum\n")
            for day in range(20000, 20028):  # four weeks from 2024-10-04
                for slot in range(16, 34):
                    n = pattern(weekday(day), slot)
                    f.write(f"{fmt_day(day)}T{slot // 2:02d}:{30 * (slot % 2):02d},{n},{n},{n * 240}\n")
        code, out, err = self.run_cli("--csv", path, "--weeks", "1", "--format", "csv")
        self.assertEqual(code, 0, err)
        table = list(csv.reader(io.StringIO(out)))
        self.assertEqual(table[0], ["interval_start", "volume", "aht_s", "multiplier"])
        self.assertEqual(len(table), 1 + 7 * 48)
        row = {r[0]: r for r in table[1:]}
        d = 20028 + (1 - weekday(20028)) % 7  # the next Monday
        self.assertAlmostEqual(float(row[f"{fmt_day(d)}T10:30"][1]), pattern(1, 21), delta=0.001)
        self.assertAlmostEqual(float(row[f"{fmt_day(d)}T10:30"][2]), 240, delta=0.1)
        code, out, err = self.run_cli("--csv", path, "--weeks", "1", "--format", "text")
        self.assertEqual(code, 0, err)
        self.assertIn(fmt_day(d), out)

    def test_bad_files_and_flags_fail_with_a_message(self):
        path = os.path.join(self._tmp(), "bad.csv")
        with open(path, "w") as f:
            f.write("interval_start,offered\n2024-10-04T09:00,3\n2024-10-04T09:30,x\n")
        code, _, err = self.run_cli("--csv", path)
        self.assertEqual(code, 2)
        self.assertIn("bad.csv:3", err)
        with open(path, "w") as f:
            f.write("when,offered\n")
        code, _, err = self.run_cli("--csv", path)
        self.assertEqual(code, 2)
        self.assertIn("interval_start", err)
        with open(path, "w") as f:
            f.write("interval_start,offered\n2024-10-04T09:00,3\n")
        for flags in (["--weeks", "0"], ["--format", "xml"], ["--from", "2024-02-30"],
                      ["--backtest", "yesterday"], ["--interval", "7"]):
            code, _, err = self.run_cli("--csv", path, *flags)
            self.assertEqual(code, 2, flags)
            self.assertTrue(err.strip(), flags)

    def _tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="homeline-forecast-")
        self.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
        return d


if __name__ == "__main__":
    unittest.main()
