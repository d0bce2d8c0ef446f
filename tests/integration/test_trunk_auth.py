"""Inbound trunks that authenticate by digest instead of by address: a carrier calling from an
address no trunk allows is challenged (407 Proxy-Authenticate with Homeline's own nonces),
and its INVITE carrying the trunk's user name and password is accepted as that tenant's trunk;
a wrong password or an unknown user gets the same 403, and failures are limited per source
like REGISTER's. The carrier is SIPp ([authentication]) on other loopback addresses; the demo
trunk allows only 127.0.0.1 and ::1."""
import os
import subprocess

from flows import T
import sipphone
from voice_flows import SCENARIOS, VoiceFlowTest

USER, PASSWORD = "acme-carrier", "carrier-secret"


class TrunkAuth(VoiceFlowTest):
    def setUp(self):
        super().setUp()
        body = {"name": "carrier", "inbound": {"sources": [], "username": USER, "password": PASSWORD}}
        self.ok("POST", f"{T}/trunks", body, token=self.token("ada"), expect=201)

    def carrier(self, source, password, scenario="customer_auth.xml", user=USER, calls=1):
        """SIPp as the carrier calling the demo number from `source`; its exit code and output."""
        port = sipphone.free_udp_port()
        r = subprocess.run(["sipp", "-i", source, "-p", str(port), "-m", str(calls), "-r", "20",
                            "-nostdin", "-timeout", "20s", "-timeout_error",
                            f"127.0.0.1:{self.sip_port}", "-sf", os.path.join(SCENARIOS, scenario),
                            "-s", "+15550100", "-au", user, "-ap", password],
                           capture_output=True, timeout=30)
        return r.returncode, r.stdout.decode(errors="replace")[-2000:]

    def test_a_stranger_is_challenged_and_the_trunks_credentials_let_the_call_in(self):
        # No credentials, from an address no trunk allows: a challenge, not yet a refusal.
        self.assertEqual(sipphone.invite_status(self.sip_port, "+15550100", source="127.0.0.2"), 407)
        self.assertEqual(self.voice_calls(live=False), [])
        rc, out = self.carrier("127.0.0.2", PASSWORD)
        self.assertEqual(rc, 0, out)
        calls = self.eventually(lambda: self.voice_calls(live=False), what="the call's interaction")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["queue"], self.queue("support")["id"])
        # Its CDR names the trunk it came through: the one that authenticated.
        trunk = [t for t in self.ok("GET", f"{T}/trunks", token=self.token("ada")) if t["name"] == "carrier"][0]
        cdrs = self.eventually(lambda: self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"], what="CDR")
        self.assertEqual(cdrs[0]["legs"][0].get("trunk"), trunk["id"], cdrs)
        self.assertEqual(self.server.metric("homeline_voice_trunk_auth_failures_total"), 0)

    def test_wrong_password_and_unknown_user_get_the_same_403_and_failures_are_limited(self):
        rc, out = self.carrier("127.0.0.3", "wrong", scenario="customer_auth_refused.xml")
        self.assertEqual(rc, 0, out)
        rc, out = self.carrier("127.0.0.3", PASSWORD, user="nobody", scenario="customer_auth_refused.xml")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.server.metric("homeline_voice_trunk_auth_failures_total"), 2)
        # Ten failures from one address use up its allowance: the right password is refused
        # unchecked from there, while another address still gets in.
        rc, out = self.carrier("127.0.0.3", "wrong", scenario="customer_auth_refused.xml", calls=8)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.server.metric("homeline_voice_trunk_auth_failures_total"), 10)
        rc, out = self.carrier("127.0.0.3", PASSWORD, scenario="customer_auth_refused.xml")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.server.metric("homeline_voice_trunk_auth_limited_total"), 1)
        self.assertEqual(self.voice_calls(live=False), [])
        rc, out = self.carrier("127.0.0.4", PASSWORD)
        self.assertEqual(rc, 0, out)
        self.eventually(lambda: len(self.voice_calls(live=False)) == 1, what="the call from elsewhere")

    def test_a_deleted_trunks_credentials_no_longer_work(self):
        trunk = [t for t in self.ok("GET", f"{T}/trunks", token=self.token("ada")) if t["name"] == "carrier"][0]
        self.ok("DELETE", f"{T}/trunks/{trunk['id']}", token=self.token("ada"), expect=(200, 204))
        # No trunk authenticates any more: a stranger is refused outright.
        self.assertEqual(sipphone.invite_status(self.sip_port, "+15550100", source="127.0.0.2"), 403)
