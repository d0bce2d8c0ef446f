"""SIP peers for the browser tests, driven line by line over stdin/stdout (JSON), so a node test
can have an agent's phone register and a customer call while the pages are watched. The peers
are the integration tests' (tests/integration/sipphone.py): stdlib UDP on 127.0.0.1.

    python3 voice_peer.py SIP_PORT
    {"cmd": "register", "user": "alice", "password": "demo"}   -> {"status": 200}
    {"cmd": "unregister", "user": "alice"}                     -> {"status": 200}
    {"cmd": "carrier"}                                         -> {"port": P}: a carrier that
        answers every INVITE (the trunk's outbound host; its counters under phones.carrier)
    {"cmd": "call", "number": "+15550100"}                     -> {"ok": true}
    {"cmd": "hangup"}                                          -> {"ok": true}
    {"cmd": "state"}                                           -> counters (see state())
    {"cmd": "quit"}

Every peer stops by itself after 120 s, and the process ends when stdin closes."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import sipphone  # noqa: E402

# What the customer sends: a payload the phone can tell from music and silence.
CUSTOMER_PAYLOAD = bytes([0x11, 0x22, 0x33, 0x44]) * 40


def main():
    port = int(sys.argv[1])
    phones = {}  # user -> (Phone, password): agents' and supervisors' phones
    customer = None

    def state():
        out = {"phones": {}}
        for user, (phone, _) in phones.items():
            out["phones"][user] = {
                "invites": phone.invites, "answered": phone.answered, "byes_in": phone.byes_in,
                "rx": len(phone.rx_payloads) + phone.rx_pattern + phone.rx_other,
                "heard_customer": sum(1 for p in phone.rx_payloads if p == CUSTOMER_PAYLOAD)}
        if customer:
            out["customer"] = {"status": customer.status, "bye_in": customer.bye_in, "rx": len(customer.rx),
                               "heard_agent": sum(1 for p in customer.rx if p[:4] == sipphone.PATTERN)}
        return out

    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "register":
            user, password = msg["user"], msg.get("password", "demo")
            phone = sipphone.Phone(user, password, port, mode=msg.get("mode", "answer"))
            reply = {"status": phone.register()}
            phone.start(120)
            phones[user] = (phone, password)
        elif cmd == "unregister":
            # The phone's loop owns its socket: stop it, then unregister its contact (same port).
            user = msg["user"]
            phone, password = phones.pop(user)
            sip_port = phone.port
            phone.join(5)
            gone = sipphone.Phone(user, password, port, sip_port=sip_port)
            reply = {"status": gone.register(expires=0)}
            gone.join(5)
        elif cmd == "carrier":
            carrier = sipphone.Phone("carrier", "", port, mode="answer")
            carrier.start(120)
            phones["carrier"] = (carrier, "")
            reply = {"port": carrier.port}
        elif cmd == "call":
            customer = sipphone.Customer(port, number=msg.get("number", "+15550100"), payloads=[CUSTOMER_PAYLOAD])
            customer.start(120)
            reply = {"ok": True}
        elif cmd == "hangup":
            customer.hangup()
            reply = {"ok": True}
        elif cmd == "state":
            reply = state()
        elif cmd == "quit":
            break
        else:
            reply = {"error": f"unknown command {cmd}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for p in [ph for ph, _ in phones.values()] + [customer]:
        if p:
            p.join(5)


if __name__ == "__main__":
    main()
