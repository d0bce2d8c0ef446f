#!/usr/bin/env python3
"""bench/voice/setup_rate.sh's REST side: sets up a running `homeline serve` (demo tenant acme:
trunk "local" from 127.0.0.1, number +15550100 -> queue "support") for the call-setup trials,
through the public API only (Python stdlib).

  setup_agents.py URL seed N        as admin ada: tenant presence lease 1 day (the bench's agents
                                    keep no desktop connection), queue support wrap-up 1 ms (the
                                    engine's own timer frees the agent right after each call), no
                                    position announcements; then N agents agent0..agentN-1 (login
                                    password and skill support 8: POST .../users, argon2id hashed
                                    by the server) with SIP password "demo" (PUT .../sip-password);
                                    agents already there with a SIP password are kept
  setup_agents.py URL available     every agent whose phone is registered and who is not available
                                    (never was, or put on "missed" by an overloaded trial) is made
                                    available by the supervisor route (PUT .../agents/{id}/presence);
                                    prints "available=A phones=P agents=N"

Requests go from a few threads at once: the server hashes passwords on two workers and commits
the events of concurrent requests together (group commit).
"""
import concurrent.futures
import json
import sys
import urllib.error
import urllib.request

THREADS = 8
TENANT = "acme"


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.token = None

    def call(self, method, path, body=None, ok=(200, 201)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        if status not in ok:
            raise RuntimeError(f"{method} {path}: {status} {text[:300]!r}")
        return json.loads(text) if text else None

    def login(self):
        self.token = self.call("POST", "/api/v1/auth/login", {"login": "ada", "password": "demo"})["token"]


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        for _ in pool.map(fn, items):
            pass


def seed(api, n):
    t = f"/api/v1/tenants/{TENANT}"
    api.call("PATCH", t, {"settings": {"presence_lease_s": 86400}})
    queue = next(q for q in api.call("GET", f"{t}/queues") if q["name"] == "support")
    api.call("PATCH", f"{t}/queues/{queue['id']}", {"wrapup_s": 0.001})
    api.call("PUT", f"{t}/queues/{queue['id']}/voice", {"position_interval_s": 0})
    existing = {u["login"]: u for u in api.call("GET", f"{t}/users")}

    def make(i):
        login = f"agent{i}"
        u = existing.get(login)
        if u is not None and u["sip_password"]:
            return 0  # from an earlier seed (a copied database)
        uid = u["id"] if u is not None else api.call(
            "POST", f"{t}/users", {"login": login, "password": "bench-" + login, "skills": {"support": 8}})["id"]
        api.call("PUT", f"{t}/users/{uid}/sip-password", {"password": "demo"})
        return 1

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        made = sum(pool.map(make, range(n)))
    print(f"agents: {n} (created now: {made}) with SIP password demo; queue support wrap-up 1 ms", flush=True)


def available(api):
    t = f"/api/v1/tenants/{TENANT}"
    agents = [a for a in api.call("GET", f"{t}/agents") if a["login"].startswith("agent")]
    todo = [a["user"] for a in agents if a["phone"] == "registered" and a["activity"] != "available"]
    parallel(lambda u: api.call("PUT", f"{t}/agents/{u}/presence", {"state": "available"}), todo)
    agents = [a for a in api.call("GET", f"{t}/agents") if a["login"].startswith("agent")]
    print(f"available={sum(a['activity'] == 'available' for a in agents)} "
          f"phones={sum(a['phone'] == 'registered' for a in agents)} agents={len(agents)} "
          f"made_available={len(todo)}", flush=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    api = Api(sys.argv[1])
    api.login()
    if sys.argv[2] == "seed":
        seed(api, int(sys.argv[3]))
    elif sys.argv[2] == "available":
        available(api)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
