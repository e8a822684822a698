#!/usr/bin/env python3
"""A traced run adds up to its report (needs KVM: run it through tools/kvm-run).

Runs Neo and Morpheus (neo16/morpheus16: a port exit per counter step) at
70/30 with --trace-level exits, --trace, --trace-csv, --plot and
--stats-json, then checks, per VM:
  - slice events in the JSON trace == the report's slices;
  - the sum of their ran_ns == the report's run_ns, to the nanosecond;
  - exit events (one per KVM_RUN) == exits.total + exits.intr;
  - the CSV has the same rows as the JSON;
and that slices do not overlap, every exit lies inside a slice of its VM,
the trace has one named thread per VM (what Perfetto shows as tracks), and
the SVG parses as XML.

  check_trace.py --quanta build/src/quanta --guests build/guests --workdir DIR
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quanta", required=True)
    parser.add_argument("--guests", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--duration", default="2s")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    out = lambda name: os.path.join(args.workdir, name)
    cmd = [args.quanta, "--mode", "real",
           "-g", os.path.join(args.guests, "neo16.bin"), os.path.join(args.guests, "morpheus16.bin"), "--name", "Neo,Morpheus",
           "--share", "70,30", "--duration", args.duration, "--trace-level", "exits",
           "--trace", out("trace.json"), "--trace-csv", out("trace.csv"), "--plot", out("plot.svg"),
           "--stats-json", out("stats.json")]
    run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    failures = []
    fail = failures.append
    if run.returncode != 0:
        print(f"FAIL: quanta exited {run.returncode}: {run.stderr[-2000:]}")
        sys.exit(1)

    stats = json.load(open(out("stats.json")))
    trace = json.load(open(out("trace.json")))
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "thread_name"}
    slices = [e for e in events if e.get("ph") == "X" and e["cat"] == "slice"]
    exits = [e for e in events if e.get("ph") == "X" and e["cat"] == "exit"]
    if trace["quanta"]["dropped_exits"]:
        fail(f"{trace['quanta']['dropped_exits']} exit events dropped: use a shorter --duration")

    for index, vm in enumerate(stats["vms"]):
        tid = index + 1
        if names.get(tid) != vm["name"]:
            fail(f"tid {tid} is named {names.get(tid)!r}, the report says {vm['name']!r}")
        mine = [e for e in slices if e["tid"] == tid]
        ran = sum(e["args"]["ran_ns"] for e in mine)
        kvm_runs = sum(1 for e in exits if e["tid"] == tid)
        if len(mine) != vm["slices"]:
            fail(f"{vm['name']}: {len(mine)} slice events, report {vm['slices']} slices")
        if ran != vm["run_ns"]:
            fail(f"{vm['name']}: slices ran {ran} ns, report run_ns {vm['run_ns']}")
        expected = vm["exits"]["total"] + vm["exits"]["intr"]
        if kvm_runs != expected:
            fail(f"{vm['name']}: {kvm_runs} exit events, report exits {vm['exits']['total']} + intr {vm['exits']['intr']}")
        if sum(e["args"]["runs"] for e in mine) != kvm_runs:
            fail(f"{vm['name']}: slices count {sum(e['args']['runs'] for e in mine)} KVM_RUNs, {kvm_runs} exit events")
        print(f"{vm['name']}: {len(mine)} slices, {ran} ns, {kvm_runs} KVM_RUNs: as the report says")

    # One CPU: slices never overlap, and each KVM_RUN lies in its VM's slice.
    ordered = sorted(slices, key=lambda e: e["ts"])
    for a, b in zip(ordered, ordered[1:]):
        if a["ts"] + a["dur"] > b["ts"] + 1e-3:
            fail(f"slices overlap at {b['ts']} us")
            break
    i = 0
    for x in sorted(exits, key=lambda e: e["ts"]):
        while i < len(ordered) and ordered[i]["ts"] + ordered[i]["dur"] < x["ts"]:
            i += 1
        s = ordered[i] if i < len(ordered) else None
        if not s or s["tid"] != x["tid"] or x["ts"] < s["ts"] or x["ts"] + x["dur"] > s["ts"] + s["dur"] + 1e-3:
            fail(f"exit at {x['ts']} us is not inside a slice of its VM")
            break

    rows = list(csv.DictReader(open(out("trace.csv"))))
    if sum(r["type"] == "slice" for r in rows) != len(slices) or sum(r["type"] == "exit" for r in rows) != len(exits):
        fail("the CSV and the JSON trace differ in rows")
    try:
        ET.parse(out("plot.svg"))
    except ET.ParseError as e:
        fail(f"plot.svg: {e}")

    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print(f"PASS: trace of {len(slices)} slices and {len(exits)} exits matches the report")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
