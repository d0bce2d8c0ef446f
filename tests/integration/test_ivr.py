"""IVR menus on live calls: a customer calls the demo's second number (+15550101, menu "main":
1 support, 2 sales, * again, on failure support), hears the menu's prompt (spoken by espeak-ng),
presses a key by RFC 4733 or by SIP INFO and lands in the chosen queue; a wrong key plays the
menu again; no key at all runs the retries out. Real homeline servers with SIP on a free port,
the stdlib phone as the caller."""
import unittest

from flows import T, FlowTest
from harness import Server
import sipphone

MENU_NUMBER = "+15550101"


def nonsilent(payloads):
    # A-law silence is 0xD5/0x55; speech varies.
    return sum(1 for p in payloads if len(set(p)) > 4)


class IvrTest(FlowTest):
    def setUp(self):
        self.server = Server(sip=True).start()
        self.addCleanup(self.server.cleanup)
        self._tokens = {}
        self._ids = {}

    def voice_calls(self, live=True):
        out = self.ok("GET", f"{T}/interactions" + ("?live=1" if live else ""), token=self.token("sam"))
        return [ix for ix in out if ix["channel"] == "voice"]

    def menu(self):
        menus = self.ok("GET", f"{T}/ivr", token=self.token("ada"))
        return next(m for m in menus if m["name"] == "main")

    def cdr(self):
        calls = self.eventually(lambda: self.ok("GET", f"{T}/cdrs", token=self.token("sam"))["calls"],
                                what="CDR")
        self.assertEqual(len(calls), 1)
        return calls[0]

    def caller(self):
        c = sipphone.Customer(self.server.sip_port, number=MENU_NUMBER).start(40)
        self.addCleanup(c.join, 5)
        self.eventually(lambda: c.status == 200, what="call answered")
        # The menu's prompt (spoken on first use) reaches the caller before any queue exists.
        self.eventually(lambda: nonsilent(c.rx) >= 10, timeout=15, what="menu prompt heard")
        self.assertEqual(self.voice_calls(live=False), [])
        self.assertEqual(self.server.metric("homeline_voice_ivr_calls"), 1)
        return c

    def queued_in(self, name):
        ix = self.eventually(lambda: self.voice_calls(), what="voice interaction")[0]
        self.assertEqual(ix["queue"], self.queue(name)["id"])
        self.assertEqual(ix["state"], "queued")
        self.assertEqual(ix["customer"]["phone"], "15557654321")
        self.assertEqual(self.server.metric("homeline_voice_ivr_calls"), 0)
        return ix

    def test_rfc4733_key_queues_in_sales_then_abandon(self):
        c = self.caller()
        c.dtmf("2")  # while the prompt still plays: it stops, the key counts
        ix = self.queued_in("sales")
        c.hangup()
        self.eventually(lambda: self.ix(ix["id"])["state"] == "abandoned", what="abandoned")
        self.assertEqual(self.server.metric("homeline_voice_calls_live"), 0)
        # One customer leg from the INVITE (the IVR time included) to the hang-up in the queue.
        call = self.cdr()
        self.assertEqual((call["interaction"], call["result"], call["hung_up_by"], call["to"]),
                         (ix["id"], "abandoned", "customer", MENU_NUMBER))
        self.assertEqual([l["role"] for l in call["legs"]], ["customer"])

    def test_sip_info_key_queues_in_support(self):
        c = self.caller()
        c.dtmf("1", how="info")  # application/dtmf-relay, Signal=1
        self.queued_in("support")
        self.assertEqual(c.info_status, [200])
        c.hangup()

    def test_invalid_key_plays_the_menu_again_then_a_valid_one(self):
        c = self.caller()
        c.dtmf("9", how="dtmf")  # application/dtmf; no option 9: the menu again
        self.eventually(lambda: len(c.info_status) == 1, what="INFO answered")
        heard = len(c.rx)
        self.eventually(lambda: nonsilent(c.rx[heard:]) >= 10, what="menu played again")
        self.assertEqual(self.voice_calls(live=False), [])
        c.dtmf("2")
        self.queued_in("sales")
        self.assertEqual(c.info_status, [200])
        c.hangup()

    def test_no_key_runs_out_the_retries_and_hangs_up(self):
        m = self.menu()
        self.ok("PATCH", f"{T}/ivr/{m['id']}",
                {"prompt_text": "Press one.", "timeout_s": 1, "max_retries": 1, "on_failure": {}},
                self.token("ada"))
        c = self.caller()
        # Prompt, 1 s, prompt again, 1 s: then Homeline hangs up (BYE), no interaction made.
        self.eventually(lambda: c.bye_in, timeout=15, what="BYE from Homeline")
        self.assertEqual(self.voice_calls(live=False), [])
        self.eventually(lambda: self.server.metric("homeline_voice_ivr_calls") == 0, what="IVR call gone")
        self.assertEqual(self.server.metric("homeline_voice_calls_live"), 0)
        call = self.cdr()
        self.assertEqual((call["result"], call["hung_up_by"], call["to"]),
                         ("failed", "system", MENU_NUMBER))
        self.assertFalse(call["interaction"])

    def test_two_callers_at_once_share_the_first_spoken_prompt(self):
        # Both arrive while the menu's text is being spoken for the first time: both hear it.
        a = sipphone.Customer(self.server.sip_port, number=MENU_NUMBER).start(30)
        b = sipphone.Customer(self.server.sip_port, number=MENU_NUMBER).start(30)
        for c in (a, b):
            self.addCleanup(c.join, 5)
        for c in (a, b):
            self.eventually(lambda: nonsilent(c.rx) >= 10, timeout=15, what="menu prompt heard")
        self.assertEqual(self.server.metric("homeline_voice_ivr_calls"), 2)
        a.dtmf("1")
        b.dtmf("2", how="info")
        calls = self.eventually(lambda: len(self.voice_calls()) == 2 and self.voice_calls(), what="both queued")
        self.assertEqual(sorted(ix["queue"] for ix in calls),
                         sorted([self.queue("support")["id"], self.queue("sales")["id"]]))
        a.hangup()
        b.hangup()

    def test_unsupported_info_body_is_refused(self):
        c = sipphone.Customer(self.server.sip_port, number=MENU_NUMBER).start(20)
        self.addCleanup(c.join, 5)
        self.eventually(lambda: c.status == 200, what="call answered")
        c.dtmf("1", how="text")
        self.eventually(lambda: c.info_status, what="INFO answered")
        self.assertEqual(c.info_status, [415])
        self.assertEqual(self.voice_calls(live=False), [])
        c.hangup()


if __name__ == "__main__":
    unittest.main()
