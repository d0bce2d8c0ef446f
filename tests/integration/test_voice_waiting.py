"""What a queued caller hears, end to end (issue 3 item 2): the queue's greeting, then its music
on hold, then every position_interval_s the position announcement ("you are number" N "in
line"), then music again. Each prompt is a pure tone of its own written into the server's
prompt folder before it starts (the queue's greeting_file and moh_file set through the API; the
announcement's parts replace the default prompts of the same names), so the order and the
length of each part are read off the caller's received audio packet by packet. Two callers
wait in line: the first is told 1, the second 2. Real server, stdlib callers (sipphone.py)."""
import math
import os
import shutil
import struct
import tempfile
import time
import unittest
import wave

from flows import T
from harness import Server
import sipphone
from voice_flows import VoiceFlowTest

RATE = 8000
# name in the prompt folder -> (tone in Hz, seconds); tones are multiples of 50 Hz (whole
# cycles in a 20 ms packet) and far apart, so each packet is told apart by its strongest tone.
PROMPTS = {
    "hl_greeting.wav": (500, 1.5),
    "hl_music.wav": (1000, 2.0),      # loops
    "you_are_number.wav": (1500, 0.6),
    "1.wav": (2000, 0.4),
    "2.wav": (2500, 0.4),
    "in_line.wav": (3000, 0.6),
}
LABEL = {500: "greeting", 1000: "music", 1500: "you_are_number", 2000: "1", 2500: "2", 3000: "in_line"}
INTERVAL_S = 10  # the smallest position_interval_s the API takes


def write_tone(path, freq, seconds):
    n = int(RATE * seconds)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / RATE)))
                               for i in range(n)))


def label(payload):
    """The prompt a 20 ms packet belongs to, or None (silence, or a packet across a change)."""
    powers = sorted(((sipphone.tone_power([payload], f), f) for f in LABEL), reverse=True)
    (best, f), (second, _) = powers[0], powers[1]
    if best < 1e9 or best < 20 * second:
        return None
    return LABEL[f]


def runs(payloads, times, min_len=3):
    """[(label, packets, first arrival, index of the first packet)] of the labelled packets,
    merging across short runs (a packet or two that straddle a change)."""
    raw = []
    for i, (p, t) in enumerate(zip(payloads, times)):
        lab = label(p)
        if raw and raw[-1][0] == lab:
            raw[-1][1] += 1
        else:
            raw.append([lab, 1, t, i])
    out = []
    for lab, n, t, i in raw:
        if lab is None or n < min_len:
            continue
        if out and out[-1][0] == lab:
            out[-1][1] += n
        else:
            out.append([lab, n, t, i])
    return out


class VoiceWaiting(VoiceFlowTest):
    def setUp(self):
        data = tempfile.mkdtemp(prefix="homeline-test-")
        self.addCleanup(shutil.rmtree, data, True)
        os.makedirs(os.path.join(data, "prompts"))
        for name, (freq, seconds) in PROMPTS.items():
            write_tone(os.path.join(data, "prompts", name), freq, seconds)
        self.server = Server(data_dir=data, sip=True).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    def heard(self, c):
        n = min(len(c.rx), len(c.rx_t))
        return runs(c.rx[:n], c.rx_t[:n])

    def test_greeting_then_music_then_position_announcements(self):
        support = self.queue("support")["id"]
        self.ok("PUT", f"{T}/queues/{support}/voice",
                {"greeting_file": "hl_greeting.wav", "moh_file": "hl_music.wav",
                 "position_interval_s": INTERVAL_S}, self.token("ada"))
        first = self.customer()
        self.eventually(lambda: len(first.rx) >= 10, what="the first caller hears something")
        second = self.customer()
        self.eventually(lambda: len(second.rx) >= 10, what="the second caller hears something")
        self.assertEqual(self.stats("support")["waiting"], 2)
        for c, position in ((first, "1"), (second, "2")):
            # Until the announcement is over and the music is back (the interval, plus the
            # once-a-second check, plus slack for a loaded machine).
            self.eventually(lambda: [r[0] for r in self.heard(c)][2:6] == ["you_are_number", position,
                                                                           "in_line", "music"],
                            timeout=INTERVAL_S + 12, what=f"caller {position}: the announcement, then music")
            got = self.heard(c)
            labels = [r[0] for r in got]
            self.assertEqual(labels[:6], ["greeting", "music", "you_are_number", position, "in_line", "music"],
                             f"caller {position} heard {got}")
            start = c.rx_t[0]
            greeting, music, yan, number, in_line = got[:5]
            # The greeting from the first packet, whole (75 packets of 20 ms), then the music with
            # no gap (counted in packets: arrival times jitter on a loaded machine).
            self.assertLessEqual(greeting[3], 3, got)
            self.assertLessEqual(abs(greeting[1] - 75), 4, got)
            self.assertLessEqual(music[3] - (greeting[3] + greeting[1]), 3, got)
            # The announcement every INTERVAL_S from the call's queueing (checked once a second),
            # each part whole and in order, then the music again.
            self.assertGreaterEqual(yan[2] - start, INTERVAL_S - 0.5, got)
            self.assertLessEqual(yan[2] - start, INTERVAL_S + 3.0, got)
            self.assertLessEqual(abs(yan[1] - 30), 4, got)
            self.assertLessEqual(abs(number[1] - 20), 4, got)
            self.assertLessEqual(abs(in_line[1] - 30), 4, got)
            for a, b in ((yan, number), (number, in_line)):
                self.assertLessEqual(b[3] - (a[3] + a[1]), 3, f"no gap inside the announcement: {got}")
            self.assertLessEqual(got[5][3] - (in_line[3] + in_line[1]), 3, f"music right after: {got}")
        for c in (first, second):
            c.hangup()
        self.eventually(lambda: self.stats("support")["abandoned"] == 2, what="both abandoned")


if __name__ == "__main__":
    unittest.main()
