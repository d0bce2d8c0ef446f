"""Named time zones through the API: a tenant's and business hours' `timezone` take IANA names
(read from the system's zone files) or fixed offsets; an unknown name is a 400 that writes
nothing; the views show the zone; names survive a restart; and an old event holding a name the
zone database does not know replays as UTC without blocking the tenant's other settings.

(The DST behaviour itself, business hours and local midnights on both sides of a change, is
tested on a simulated clock in tests/unit/time_zone_test.cc: this server runs on the wall clock.)
"""
import json
import os
import sqlite3
import unittest

from harness import Server, append_events


class TimeZonesThroughTheApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.ada = cls.server.login("ada")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def req(self, method, path, body=None):
        return self.server.request(method, path, body, token=self.ada)

    def events(self):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "homeline.db"))
        try:
            return db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            db.close()

    def stats_zone(self):
        st, qs = self.req("GET", "/api/v1/tenants/acme/stats/queues")
        self.assertEqual(st, 200)
        return {q["timezone"] for q in qs}, qs[0]["day_start"]

    def test_1_unknown_names_are_refused_and_write_nothing(self):
        before = self.events()
        for bad in ("Mars/Olympus_Mons", "Europe/Atlantis", "../../etc/passwd", "EST+", "+25:00",
                    "Zürich/" + "é" * 40):
            st, out = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": bad}})
            self.assertEqual(st, 400, bad)
            self.assertEqual(out["error"]["code"], "bad_request")
            self.assertIn("unknown time zone", out["error"]["message"])
            self.assertIn("Europe/Berlin", out["error"]["message"], "the message shows what works")
        st, out = self.req("POST", "/api/v1/tenants/acme/hours",
                           {"name": "x", "timezone": "Nowhere/Town", "ranges": []})
        self.assertEqual(st, 400)
        self.assertIn("unknown time zone 'Nowhere/Town'", out["error"]["message"])
        self.assertEqual(self.events(), before, "nothing written")
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_2_named_zones_and_offsets_are_shown(self):
        st, t = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "America/New_York"}})
        self.assertEqual(st, 200, t)
        self.assertEqual(t["settings"]["timezone"], "America/New_York")
        zones, day_start = self.stats_zone()
        self.assertEqual(zones, {"America/New_York"})
        # New York's midnight is 04:00 or 05:00 UTC.
        self.assertIn((day_start // 1000) % 86400, (4 * 3600, 5 * 3600))

        st, h = self.req("POST", "/api/v1/tenants/acme/hours", {
            "name": "berlin office", "timezone": "Europe/Berlin",
            "ranges": [{"day": d, "start_min": 540, "end_min": 1020} for d in range(1, 6)]})
        self.assertEqual(st, 201, h)
        self.assertEqual(h["timezone"], "Europe/Berlin")
        self.assertEqual(h["effective_timezone"], "Europe/Berlin")
        st, h2 = self.req("POST", "/api/v1/tenants/acme/hours", {"name": "tenant's", "ranges": []})
        self.assertEqual(st, 201, h2)
        self.assertEqual(h2["timezone"], "")
        self.assertEqual(h2["effective_timezone"], "America/New_York")
        st, h3 = self.req("PATCH", f"/api/v1/tenants/acme/hours/{h2['id']}", {"timezone": "+05:30"})
        self.assertEqual(st, 200, h3)
        self.assertEqual(h3["effective_timezone"], "+05:30")

        st, t = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "-03:00"}})
        self.assertEqual(st, 200, t)
        zones, day_start = self.stats_zone()
        self.assertEqual(zones, {"-03:00"})
        self.assertEqual((day_start // 1000) % 86400, 3 * 3600)

        st, t = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "Australia/Lord_Howe"}})
        self.assertEqual(st, 200, t)
        self.assertEqual(self.stats_zone()[0], {"Australia/Lord_Howe"})
        # Lord Howe's midnight is 13:00 or 13:30 UTC of the day before.
        self.assertIn((self.stats_zone()[1] // 1000) % 86400, (13 * 3600, 13 * 3600 + 1800))

    def test_3_zones_survive_a_restart_and_unknown_stored_names_replay_as_utc(self):
        s = self.server
        st, t = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "Europe/Berlin"}})
        self.assertEqual(st, 200)
        s.stop()
        s.start()
        self.__class__.ada = s.login("ada")
        self.assertEqual(self.stats_zone()[0], {"Europe/Berlin"})
        st, hours = self.req("GET", "/api/v1/tenants/acme/hours")
        self.assertIn("Europe/Berlin", {h["effective_timezone"] for h in hours})

        # An old event (before names were checked, any text was accepted and read as UTC).
        db = sqlite3.connect(os.path.join(s.data_dir, "homeline.db"))
        try:
            (payload,) = db.execute("SELECT payload FROM events WHERE type='tenant.set' "
                                    "ORDER BY seq DESC LIMIT 1").fetchone()
            (ts,) = db.execute("SELECT max(ts) FROM events").fetchone()
        finally:
            db.close()
        stored = json.loads(payload)
        stored["tenant"]["settings"]["timezone"] = "Mars/Olympus_Mons"
        s.stop()
        append_events(s.data_dir, [(ts, t["id"], "tenant.set", stored)])
        s.start()
        self.__class__.ada = s.login("ada")
        st, t = self.req("GET", "/api/v1/tenants/acme")
        self.assertEqual(t["settings"]["timezone"], "Mars/Olympus_Mons", "the stored name is shown")
        self.assertEqual(self.stats_zone()[0], {"UTC"}, "and read as UTC")
        # Other settings can still change without touching the name...
        st, t = self.req("PATCH", "/api/v1/tenants/acme", {"name": "Acme Retail Inc"})
        self.assertEqual(st, 200, t)
        # ...but it cannot be set to another unknown one.
        st, _ = self.req("PATCH", "/api/v1/tenants/acme", {"settings": {"timezone": "Mars/Gale_Crater"}})
        self.assertEqual(st, 400)


if __name__ == "__main__":
    unittest.main()
