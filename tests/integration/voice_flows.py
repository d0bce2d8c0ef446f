"""Helpers for the voice tests (test_voice.py, test_voice_agents.py): a fresh demo server with
SIP on a free port per test, callers and agents' phones (sipphone.py, SIPp, baresip)."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from flows import T, FlowTest
from harness import Server
import sipphone

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "..", "sip", "scenarios")
PCAP = "/usr/share/sip-tester/g711a.pcap"


def udp_port_taken(port):
    """Whether a process (SIPp) has bound UDP port on IPv4 (Linux /proc: binding the port to
    find out could take it from under the process that is starting)."""
    with open("/proc/net/udp") as f:
        next(f)
        return any(int(line.split()[1].split(":")[1], 16) == port for line in f)


def nonsilent(payloads):
    # A-law silence is 0xD5/0x55; music and speech vary.
    return sum(1 for p in payloads if len(set(p)) > 4)


class VoiceFlowTest(FlowTest):
    def setUp(self):
        self.server = Server(sip=True).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    @property
    def sip_port(self):
        return self.server.sip_port

    def voice_calls(self, live=True):
        out = self.ok("GET", f"{T}/interactions" + ("?live=1" if live else ""), token=self.token("sam"))
        return [ix for ix in out if ix["channel"] == "voice"]

    def customer(self, **kw):
        c = sipphone.Customer(self.sip_port, **kw).start(40)
        self.addCleanup(c.join, 5)
        return c

    def phone(self, login, mode="answer", **kw):
        """An agent's phone that registers (digest, the demo password) and runs."""
        p = sipphone.Phone(login, "demo", self.sip_port, mode=mode, **kw)
        self.addCleanup(p.join, 5)
        self.assertEqual(p.register(), 200, f"{login}'s phone registers")
        # The 200 can leave before the API shows the phone (the engine thread records it): a
        # route that needs the phone at once (monitor) would see it unregistered on a loaded machine.
        self.eventually(lambda: self.phone_shown(login), what=f"{login}'s phone in the API")
        return p.start(40)

    def phone_shown(self, login):
        for a in self.ok("GET", f"{T}/agents", token=self.token("sam")):
            if a["login"] == login:
                return a["phone"] == "registered"
        # Not listed as an agent (an admin): the count of registered phones shows it.
        return (self.server.metric("homeline_sip_phones_registered") or 0) >= 1

    def sipp(self, login, scenario, *args, register=True, timeout=40):
        """SIPp as an agent's phone: registers with digest (its own run; SIPp matches messages
        by Call-ID), then plays the phone scenario on the same port in the background."""
        port = sipphone.free_udp_port()
        base = ["sipp", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin",
                "-timeout", f"{timeout}s", "-timeout_error"]
        if register:
            r = subprocess.run(base + [f"127.0.0.1:{self.sip_port}", "-sf", os.path.join(SCENARIOS, "register.xml"),
                                       "-s", login, "-au", login, "-ap", "demo"],
                               capture_output=True, timeout=20)
            self.assertEqual(r.returncode, 0, f"SIPp register {login}: {r.stdout[-2000:]}")
        proc = subprocess.Popen(base + ["-sf", os.path.join(SCENARIOS, scenario), "-s", login, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Listening before it is rung: an INVITE to a closed port fails at once (ICMP) and
        # would count as a phone that does not answer (a slow SIPp start on a loaded machine).
        self.eventually(lambda: proc.poll() is not None or udp_port_taken(port), what=f"SIPp {login} listening")
        return proc

    def finished(self, proc, timeout=40):
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace")[-3000:]

    def available(self, login):
        self.presence(login, "available")
