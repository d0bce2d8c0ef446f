"""Call recordings through the API: metadata (list, one, by interaction) and the WAV download,
only for the tenant's supervisors and admins. The engine records are events the SIP/media code
emits (Engine::StartRecording, PauseRecording, EndRecording); here they are written into the
event log before the server starts, and the WAV files are written by the test where the media
code writes them (data_dir/recordings/<tenant>/<interaction>.wav). A recording still running
when the server stopped is ended by the restart.
"""
import http.client
import io
import json
import os
import struct
import time
import unittest
import wave

from harness import Server, append_events

ACME = "/api/v1/tenants/acme"
GLOBEX = "/api/v1/tenants/globex"


def stereo_wav(seconds=1):
    """Customer left (a rising ramp), agent right (a falling one): 8 kHz, 16-bit."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = b"".join(struct.pack("<hh", (i * 7) % 30000, -((i * 5) % 30000))
                          for i in range(8000 * seconds))
        w.writeframes(frames)
    return buf.getvalue()


class Recordings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.server = Server().start()
        ada = s.login("ada")
        _, tenants = s.request("GET", "/api/v1/tenants", token=ada)
        cls.acme_id = [t["id"] for t in tenants if t["slug"] == "acme"][0]
        cls.globex_id = [t["id"] for t in tenants if t["slug"] == "globex"][0]
        s.stop()
        cls.now = int(time.time() * 1000)
        cls.wav = stereo_wav()
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
        data = cls.server.data_dir
        t0 = cls.now - 600_000
        cls.t0 = t0
        a, g = cls.acme_id, cls.globex_id
        rows = []

        def add(ts, tenant, typ, payload):
            rows.append((ts, tenant, typ, payload))

        def started(ts, tenant, rec, ix):
            add(ts, tenant, "recording.started",
                {"id": rec, "tenant": tenant, "interaction": ix,
                 "path": f"recordings/{tenant}/{ix}.wav"})

        # Ninety days old, ended long ago: out of memory and of any list range, yet its id
        # still finds it (the store's index by recording id, decisions.md 54).
        old = t0 - 90 * 86_400_000
        cls.old = old
        started(old, a, 6_000_000, 7_000_000)
        add(old + 5_000, a, "recording.paused", {"id": 6_000_000, "paused": True})
        add(old + 9_000, a, "recording.ended", {"id": 6_000_000, "reason": ""})
        started(t0, a, 6_000_001, 7_000_001)
        add(t0 + 10_000, a, "recording.paused", {"id": 6_000_001, "paused": True})
        add(t0 + 25_000, a, "recording.paused", {"id": 6_000_001, "paused": False})
        add(t0 + 60_000, a, "recording.ended", {"id": 6_000_001, "reason": ""})
        started(t0 + 1000, a, 6_000_002, 7_000_002)  # still running at the stop; no file
        started(t0 + 2000, g, 6_000_011, 7_000_011)
        add(t0 + 9000, g, "recording.ended", {"id": 6_000_011, "reason": ""})
        append_events(data, rows)
        for tenant, ix in ((a, 7_000_000), (a, 7_000_001), (g, 7_000_011)):
            folder = os.path.join(data, "recordings", str(tenant))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{ix}.wav"), "wb") as f:
                f.write(cls.wav)

    def api(self, path, token):
        return self.server.request("GET", path, token=token)

    def download(self, path, token):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type"), r.getheader("Content-Disposition"), r.read()
        finally:
            conn.close()

    def test_metadata(self):
        status, recs = self.api(ACME + "/recordings", self.sam)
        self.assertEqual(status, 200, recs)
        self.assertEqual([r["id"] for r in recs], [6_000_001, 6_000_002])
        first = recs[0]
        self.assertEqual(first["interaction"], 7_000_001)
        self.assertEqual(first["path"], f"recordings/{self.acme_id}/7000001.wav")
        self.assertEqual((first["started"], first["ended"]), (self.t0, self.t0 + 60_000))
        self.assertEqual(first["paused"], [{"start": self.t0 + 10_000, "end": self.t0 + 25_000}])
        # The one running at the stop was ended by the restart.
        self.assertEqual(recs[1]["end_reason"], "restart")
        self.assertGreaterEqual(recs[1]["ended"], self.now)
        status, one = self.api(f"{ACME}/recordings/6000001", self.ada)
        self.assertEqual((status, one), (200, first))
        status, by_ix = self.api(ACME + "/recordings?interaction=7000002", self.sam)
        self.assertEqual([r["id"] for r in by_ix], [6_000_002])
        status, body = self.api(ACME + "/recordings?interaction=abc", self.sam)
        self.assertEqual((status, body["error"]["code"]), (400, "bad_request"))

    def test_an_old_recording_by_id(self):
        status, one = self.api(f"{ACME}/recordings/6000000", self.sam)
        self.assertEqual(status, 200, one)
        self.assertEqual((one["interaction"], one["started"], one["ended"]), (7_000_000, self.old, self.old + 9_000))
        # Paused when it ended: the span closes with the recording.
        self.assertEqual(one["paused"], [{"start": self.old + 5_000, "end": self.old + 9_000}])
        status, ctype, _, data = self.download(f"{ACME}/recordings/6000000/file", self.sam)
        self.assertEqual((status, ctype, data), (200, "audio/wav", self.wav))
        status, recs = self.api(ACME + "/recordings", self.sam)
        self.assertNotIn(6_000_000, [r["id"] for r in recs])  # not in the last 24 hours

    def test_download_streams_the_file(self):
        status, ctype, disp, data = self.download(f"{ACME}/recordings/6000001/file", self.sam)
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "audio/wav")
        self.assertIn("attachment", disp)
        self.assertEqual(data, self.wav)
        with wave.open(io.BytesIO(data)) as w:
            self.assertEqual((w.getnchannels(), w.getframerate(), w.getsampwidth()), (2, 8000, 2))
        # A record whose file is missing.
        status, ctype, _, data = self.download(f"{ACME}/recordings/6000002/file", self.sam)
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(data)["error"]["code"], "not_found")

    def get_range(self, path, token, rng):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token, "Range": rng})
            r = conn.getresponse()
            return r.status, r.getheader("Content-Range"), r.getheader("Accept-Ranges"), r.read()
        finally:
            conn.close()

    def test_download_serves_byte_ranges(self):
        path = f"{ACME}/recordings/6000001/file"
        size = len(self.wav)
        status, crange, accept, data = self.get_range(path, self.sam, "bytes=0-43")  # the header
        self.assertEqual((status, crange, accept), (206, f"bytes 0-43/{size}", "bytes"))
        self.assertEqual(data, self.wav[:44])
        status, crange, _, data = self.get_range(path, self.sam, "bytes=20000-")
        self.assertEqual((status, crange), (206, f"bytes 20000-{size - 1}/{size}"))
        self.assertEqual(data, self.wav[20000:])
        status, crange, _, data = self.get_range(path, self.sam, "bytes=-100")
        self.assertEqual((status, crange, data), (206, f"bytes {size - 100}-{size - 1}/{size}", self.wav[-100:]))
        status, crange, _, data = self.get_range(path, self.sam, f"bytes={size}-")
        self.assertEqual((status, crange), (416, f"bytes */{size}"))
        self.assertEqual(json.loads(data)["error"]["code"], "range_not_satisfiable")
        status, crange, _, data = self.get_range(path, self.sam, "bytes=0-1,5-6")  # several: all
        self.assertEqual((status, crange, data), (200, None, self.wav))

    def test_list_is_read_from_the_log_by_start_time(self):
        # The engine keeps live recordings only: these ended ones come from the event log.
        t0 = self.t0
        status, recs = self.api(f"{ACME}/recordings?from={t0 - 1000}&to={t0 + 500}", self.sam)
        self.assertEqual((status, [r["id"] for r in recs]), (200, [6_000_001]))
        self.assertEqual(recs[0]["paused"], [{"start": t0 + 10_000, "end": t0 + 25_000}])
        status, recs = self.api(f"{ACME}/recordings?from={self.now + 60_000}&to={self.now + 120_000}", self.sam)
        self.assertEqual((status, recs), (200, []))
        status, body = self.api(f"{ACME}/recordings?from={t0}&to={t0}", self.sam)
        self.assertEqual((status, body["error"]["code"]), (400, "bad_request"))
        status, body = self.api(f"{ACME}/recordings?from=0&to={t0}", self.sam)  # over 31 days
        self.assertEqual((status, body["error"]["code"]), (400, "bad_request"))

    def test_only_the_tenants_supervisors_and_admins(self):
        for path in ("/recordings", "/recordings/6000001", "/recordings/6000001/file"):
            status, body = self.api(ACME + path, self.alice)
            self.assertEqual((status, body["error"]["code"]), (403, "forbidden"), path)
            status, body = self.api(GLOBEX + path.replace("6000001", "6000011"), self.carol)
            self.assertEqual(status, 403, path)  # carol is an agent at globex
        # Another tenant's recording by id: 404, the same as an id nobody has.
        for path in ("/recordings/6000011", "/recordings/6000011/file"):
            foreign = self.api(ACME + path, self.sam)
            self.assertEqual(foreign[0], 404, path)
            self.assertEqual(foreign, self.api(ACME + path.replace("6000011", "999999999"), self.sam))
            status, ctype, _, data = self.download(ACME + path, self.sam)
            self.assertNotEqual(data, self.wav)
        status, recs = self.api(ACME + "/recordings", self.sam)
        self.assertNotIn(6_000_011, [r["id"] for r in recs])
        for odd in ("0", "-1", "abc", "..", "%2e%2e"):
            status, _ = self.api(f"{ACME}/recordings/{odd}/file", self.sam)
            self.assertEqual(status, 404, odd)


if __name__ == "__main__":
    unittest.main()
