#!/usr/bin/env python3
"""Builds the simulator's calibration scenario from the bank's per-call records.

Reads ../shared/data/anonymous_bank_1999_calls.csv.gz (not available to tests: run this by hand
and commit its output) and writes sim_calibration_<weekday>.toml here: a `homeline sim`
scenario of the mean <weekday> (all of them in the records), with

  - arrivals: calls that asked for an agent (answered, or hung up after joining the queue),
    counted in the 30-minute interval in which they left the VRU, averaged over the days;
  - staffing: agents' sessions, from the `server` column: an agent's consecutive calls less than
    SESSION_GAP apart belong to one session, logged in from its first call's start to its last
    call's end; per interval the agent-time in sessions / the interval, averaged over the days
    and rounded. (Counting the distinct agents serving in an interval instead counts an agent
    who took one call in it as there all along: see docs/wfm.md, "Calibration".)
  - wrap-up: the records have none, yet agents do not take the next call the moment one ends:
    the mean gap between an agent's consecutive calls in a session that began while a caller
    was waiting (after-call work and short breaks), as a fixed wrap-up;
  - handle time: a lognormal with the mean and standard deviation of the answered calls' talk
    time (moments; the maximum-likelihood fit on log times is printed too, see below);
  - priority: the share of calls from high-priority customers (priority 2), who get 1.5 minutes
    of head start in the bank's queue (the documentation): priority 1 worth 90 s;
  - patience: exponential, by the maximum-likelihood estimate under censoring: abandonments /
    total time waited by everyone who waited (answered callers' waits are censored patience);
  - [observed]: the same days' figures as recorded (service level as answered within 20 s /
    answered, abandon rate, ASA, offered), for `homeline sim` to print next to its own.

Python 3 standard library only. Usage:
  python3 tests/data/bank/make_sim_calibration.py [--weekday Tue] [--data DIR]
"""
import argparse
import bisect
import collections
import csv
import datetime
import gzip
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
INTERVAL = 1800
SESSION_GAP = 900  # s: a longer pause between two calls ends an agent's session


def seconds(hms):
    h, m, s = map(int, hms.split(":"))
    return h * 3600 + m * 60 + s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weekday", default="Tue", help="Sun, Mon, Tue, Wed or Thu")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "..", "shared", "data"),
                    help="folder of anonymous_bank_1999_calls.csv.gz (default: ../shared/data "
                         "next to the repository)")
    args = ap.parse_args()
    path = os.path.join(args.data, "anonymous_bank_1999_calls.csv.gz")

    per_day = 86400 // INTERVAL
    days = set()
    offered = collections.Counter()    # interval -> calls over all the days
    busy = collections.defaultdict(set)  # (date, interval) -> servers serving in it
    services = collections.defaultdict(list)  # (date, server) -> [(start, end)]
    waits = collections.defaultdict(list)     # date -> [(queue start, queue end)] of callers who waited
    answered = abandoned = in20 = premium = 0
    wait_answered = wait_abandoned = 0
    talk = []
    with gzip.open(path, "rt", newline="") as f:
        for x in csv.DictReader(f):
            if x["outcome"] == "PHANTOM":
                continue
            date = datetime.date.fromisoformat(x["date"])
            if date.strftime("%a") != args.weekday:
                continue
            days.add(date)
            if x["ser_start"] and x["server"] != "NO_SERVER":
                start = seconds(x["ser_start"])
                end = start + max(1, int(x["ser_time_s"]))
                for k in range(start // INTERVAL, min(per_day, (end - 1) // INTERVAL + 1)):
                    busy[(date, k)].add(x["server"])
                services[(date, x["server"])].append((start, end))
            if x["q_start"] and int(x["q_time_s"] or 0) > 0:
                start = seconds(x["q_start"])
                waits[date].append((start, start + int(x["q_time_s"])))
            asked = x["outcome"] == "AGENT" or (x["outcome"] == "HANG" and x["q_start"])
            if not asked:
                continue
            exit_s = seconds(x["vru_entry"]) + int(x["vru_time_s"])
            k = min(per_day - 1, max(0, exit_s) // INTERVAL)
            offered[k] += 1
            premium += x["priority"] == "2"
            waited = int(x["q_time_s"] or 0)
            if x["outcome"] == "AGENT":
                answered += 1
                wait_answered += waited
                in20 += waited <= 20
                talk.append(int(x["ser_time_s"]))
            else:
                abandoned += 1
                wait_abandoned += waited

    n = len(days)
    distinct = [0.0] * per_day
    for (date, k), servers in busy.items():
        distinct[k] += len(servers) / n

    # Sessions, and the gaps inside them that began while someone was waiting.
    agents = [0.0] * per_day
    gaps = []
    waiting = {}  # date -> (sorted queue starts, running max of queue ends)
    for date, spans in waits.items():
        spans.sort()
        ends, most = [], -1
        for _, end in spans:
            most = max(most, end)
            ends.append(most)
        waiting[date] = ([s for s, _ in spans], ends)

    def someone_waiting(date, t):
        starts, ends = waiting.get(date, ([], []))
        i = bisect.bisect_right(starts, t) - 1
        return i >= 0 and ends[i] > t

    def add_presence(start, end):
        t = start
        while t < end and t // INTERVAL < per_day:
            k = t // INTERVAL
            stop = min(end, (k + 1) * INTERVAL)
            agents[k] += (stop - t) / INTERVAL / n
            t = stop

    for (date, _), spans in services.items():
        spans.sort()
        first, last = spans[0]
        for (_, end0), (start1, end1) in zip(spans, spans[1:]):
            gap = start1 - end0
            if gap < SESSION_GAP:
                if gap >= 0 and someone_waiting(date, end0):
                    gaps.append(gap)
                last = max(last, end1)
            else:
                add_presence(first, last)
                first, last = start1, end1
        add_presence(first, last)
    wrapup = sum(gaps) / len(gaps)
    arrivals = [offered[k] / n for k in range(per_day)]
    first = min(k for k in range(per_day) if arrivals[k] > 0 or agents[k] > 0)
    last = max(k for k in range(per_day) if arrivals[k] > 0 or agents[k] > 0)

    mean = sum(talk) / len(talk)
    sd = math.sqrt(sum((t - mean) ** 2 for t in talk) / (len(talk) - 1))
    logs = [math.log(t) for t in talk if t > 0]
    mu = sum(logs) / len(logs)
    sigma = math.sqrt(sum((v - mu) ** 2 for v in logs) / len(logs))
    patience = (wait_answered + wait_abandoned) / abandoned
    total = answered + abandoned

    def clock(k):
        return f"{k * INTERVAL // 3600:02d}:{k * INTERVAL % 3600 // 60:02d}"

    def row(values, fmt):
        return "[" + ", ".join(fmt.format(v) for v in values[first:last + 1]) + "]"

    out = os.path.join(HERE, f"sim_calibration_{args.weekday.lower()}.toml")
    with open(out, "w") as f:
        f.write(f"""# The mean {args.weekday} of the Anonymous Bank call center (1999, {n} days), for `homeline sim`.
# Generated by tests/data/bank/make_sim_calibration.py from the per-call records; do not edit.
#
# Handle time: lognormal with the talk time's mean and sd ({mean:.1f} s, {sd:.1f} s). The maximum-
# likelihood fit on log times (mu {mu:.3f}, sigma {sigma:.3f}) has a mean of {math.exp(mu + sigma * sigma / 2):.1f} s: many very
# short calls pull it off, and the offered load is what queueing depends on most.
# Patience: exponential, mean {patience:.1f} s = every caller's wait ({wait_answered + wait_abandoned} s in all) /
# abandonments ({abandoned}).
# Priority: {premium / total:.1%} of the calls are high-priority customers, with 90 s of head start.
# Staffing: agents' sessions (calls less than {SESSION_GAP // 60} minutes apart), agent-time per interval, rounded.
# Wrap-up: the mean gap between an agent's calls in a session that began while a caller was
# waiting ({len(gaps)} gaps): after-call work and short breaks, which the records do not show.

seed = 1999
interval_minutes = 30

[[queue]]
name = "bank"
sl_seconds = 20
handle_time = {{ mean = {mean:.1f}, sd = {sd:.1f} }}
patience = {patience:.1f}
priority_step = 90
high_priority = {{ share = {premium / total:.4f}, priority = 1 }}
wrapup = {wrapup:.1f}
arrivals = {{ start = "{clock(first)}", per_interval = {row(arrivals, "{:.2f}")} }}

[[staffing]]
name = "agent"
start = "{clock(first)}"
per_interval = {row([round(a) for a in agents], "{}")}
# before rounding: {row(agents, "{:.2f}")}
# distinct agents serving in the interval: {row(distinct, "{:.2f}")}

[observed]
offered = {total / n:.1f}
service_level_answered = {in20 / answered:.4f}
abandon_rate = {abandoned / total:.4f}
asa_s = {wait_answered / answered:.1f}
""")
    print(f"wrote {out}: {n} days, {total / n:.0f} calls a day, SL {in20 / answered:.3f}, "
          f"abandon {abandoned / total:.3f}, ASA {wait_answered / answered:.1f} s, "
          f"patience {patience:.0f} s, AHT {mean:.1f} s (sd {sd:.1f}), wrap-up {wrapup:.1f} s")


if __name__ == "__main__":
    main()
