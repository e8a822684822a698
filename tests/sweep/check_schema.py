#!/usr/bin/env python3
"""Every JSON quanta writes validates against docs/schema/quanta.schema.json.

Runs quanta under KVM (through tools/kvm-run, see meson.build) twice: two
VMs sharing 70/30 for a fixed duration with --stats-json and --trace, and
two hello guests that halt within a few milliseconds (the report leaves
their fairness out, with a warning). Validates the report and trace files,
checks the metadata against what is known here (the command line, the
seed) and the exit table and slice overruns against the VMs' own counts,
then checks that the schema rejects documents with a key missing, a unit
renamed or a value out of range, so this test can fail. Prints PASS/FAIL lines.
"""
import argparse
import copy
import json
import os
import subprocess
import sys

import jsonschema


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--guests", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    schema = json.load(open(args.schema))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = []

    def check(name, ok, why=""):
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why))
        if not ok:
            failures.append(name)

    def valid(name, doc):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        check(name, not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]))

    stats = os.path.join(args.workdir, "stats.json")
    trace = os.path.join(args.workdir, "trace.json")
    cmd = [args.quanta, "--mode", "real", "-g", os.path.join(args.guests, "neo-spin16.bin"),
           os.path.join(args.guests, "morpheus-spin16.bin"), "--share", "70,30", "--duration", "1s",
           "--seed", "7", "--stats-json", stats, "--trace", trace, "--no-status"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check("spin pair runs", run.returncode == 0, run.stderr[-500:])
    report = json.load(open(stats))
    valid("report validates", report)
    valid("trace validates", json.load(open(trace)))
    # The exit table counts every exit the VMs count, and the slices of
    # two VMs sharing the CPU all have a timer.
    table = report.get("exit_table", {})
    counted = sum(vm["exits"]["total"] + vm["exits"]["intr"] for vm in report["vms"])
    check("exit table counts every exit", table.get("exits") == counted > 0,
          f"exit_table.exits {table.get('exits')}, VMs {counted}")
    check("exit table by reason adds up", sum(r["count"] for r in table.get("by_reason", [])) == counted,
          json.dumps(table.get("by_reason"))[:300])
    overrun = report.get("slice_overrun", {})
    check("slice overrun counts the timed slices",
          overrun.get("timed_slices", 0) == sum(vm["slices"] for vm in report["vms"]) > 0,
          json.dumps(overrun))
    steal = sum(vm["host_steal_ns"] for vm in report["vms"])
    check("host steal adds up and lies within the overhead",
          report["host_steal_ns"] == steal and 0 <= steal <= max(0, report["overhead_ns"]),
          f"host_steal_ns {report['host_steal_ns']}, VMs {steal}, overhead_ns {report['overhead_ns']}")
    meta = report["meta"]
    check("meta has the command line", meta["command_line"][1:] == cmd[1:], str(meta["command_line"]))
    check("meta has the seed", meta["seed"] == 7, str(meta["seed"]))
    check("meta names the KVM path", meta["kvm_via"] == os.environ.get("QUANTA_KVM_VIA", "direct"),
          meta["kvm_via"])

    short = os.path.join(args.workdir, "short.json")
    hello = os.path.join(args.guests, "hello64.elf")
    # A 1 s quantum: "short" is under 20 quanta, which two halting hello
    # VMs stay far below even on a loaded sandbox (at 10 ms, one run under
    # ASan beside a CPU hog lasted more than 200 ms).
    run = subprocess.run([args.quanta, "-g", hello, hello, "--quantum", "1s", "--stats-json", short, "--no-status"],
                         capture_output=True, text=True, timeout=120)
    check("hello pair runs", run.returncode == 0, run.stderr[-500:])
    doc = json.load(open(short))
    valid("short report validates", doc)
    check("short run leaves fairness out", doc["jain_index"] is None and
          any(w["code"] == "short_run" for w in doc["warnings"]), json.dumps(doc["warnings"]))
    check("short run warns in the table", "warning: the run lasted" in run.stderr, run.stderr[-500:])

    # The schema must reject what it is meant to catch.
    for what, mutate in [("no meta", lambda d: d.pop("meta")),
                         ("old key achieved_share", lambda d: d["vms"][0].update(
                             achieved_share=d["vms"][0].pop("achieved_share_frac"))),
                         ("share over 1", lambda d: d["vms"][0].update(target_share_frac=70)),
                         ("bad start time", lambda d: d["meta"].update(start_time="yesterday")),
                         ("exit share over 100", lambda d: d["exit_table"]["by_reason"][0].update(share_pct=250)),
                         ("exit row without its time", lambda d: d["exit_table"]["by_reason"][0].pop("time_max_ns")),
                         ("decimal port", lambda d: d["exit_table"]["by_port"].append(
                             dict(d["exit_table"]["by_port"][0], port="233")) if d["exit_table"]["by_port"]
                          else d["exit_table"]["by_port"].append({"port": "233"})),
                         ("VM without host steal", lambda d: d["vms"][0].pop("host_steal_ns")),
                         ("negative host steal", lambda d: d.update(host_steal_ns=-1)),
                         ("overrun fraction over 1", lambda d: d["slice_overrun"].update(over_budget_frac=3))]:
        bad = copy.deepcopy(report)
        mutate(bad)
        check(f"schema rejects {what}", not validator.is_valid(bad))

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
