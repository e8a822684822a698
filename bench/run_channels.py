#!/usr/bin/env python3
"""The channel benchmark's driver (tools/bench-channels): items per second
through a channel between two VMs, and the exits each item costs.

It needs /dev/kvm, so tools/bench-channels runs it through tools/kvm-run (in
the KVM sandbox when this host's KVM cannot run every CPU mode). Everything
it writes goes under --work (the sandbox has a private /tmp).

Runs, all with two 32-bit protected-mode guests and --policy stride,
--quantum 10ms:

  - "stream": chan-tx sends --count numbered messages to chan-rx with
    blocking calls (guests/examples/chanstream.h; the receiver checks every
    byte), through channels of 1, 6 and 64 slots of 8-byte messages, and 6
    slots of 4096-byte ones;
  - "producer-consumer": the demo (producer-3k, consumer; --seed 7): 3000
    items in rounds that alternate through two more channels, with a line
    printed per round by each side.

Per run, from quanta's --stats-json report: items / wall_ns (the run loop's
wall time, which excludes process start and VM setup) = items per second;
the guest exits of both VMs / items; the channel calls among them (OUTs to
ports 0x507 send and 0x508 receive); slices of both VMs / items (how often
the CPU changed hands); and the share of the wall time each VM was parked.
--reps runs each variant that many times; the figures are of the median run
by items per second.

A benchmark, not a test: it fails (exit 1) only when a run does not finish
cleanly or its guests report something other than every item delivered.
"""

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

PORT_SEND = "0x507"  # QUANTA_PORT_HC_BASE + QUANTA_HC_CHAN_SEND
PORT_RECV = "0x508"  # QUANTA_PORT_HC_BASE + QUANTA_HC_CHAN_RECV
PC_ITEMS = 3000
PC_SEED = 7


class BenchError(Exception):
    pass


def variants(count):
    stream = [
        ("stream, 1 slot, 8 B", "slots=1,size=64", f"count={count} len=8"),
        ("stream, 6 slots, 8 B", "slots=6,size=64", f"count={count} len=8"),
        ("stream, 64 slots, 8 B", "slots=64,size=64", f"count={count} len=8"),
        ("stream, 6 slots, 4096 B", "slots=6,size=4096", f"count={count} len=4096"),
    ]
    out = []
    for name, chan, settings in stream:
        out.append({
            "name": name,
            "kind": "stream",
            "items": count,
            "args": ["-g", "{guests}/chan-tx.elf", "{guests}/chan-rx.elf", "--name", "tx,rx",
                     "--channel", f"tx:rx,{chan}"],
            "stdin": settings + "\n",
            "expect": [rf"(?m)^tx \| tx: sent {count} messages$",
                       rf"(?m)^rx \| rx: received {count} messages in order, then EPIPE"],
        })
    out.append({
        "name": "producer-consumer, 6 slots",
        "kind": "producer-consumer",
        "items": PC_ITEMS,
        "args": ["-g", "{guests}/producer-3k.elf", "{guests}/consumer.elf",
                 "--name", "producer,consumer",
                 "--channel", "producer:consumer,slots=6,name=buffer",
                 "--channel", "producer:consumer,slots=1,name=state",
                 "--channel", "consumer:producer,slots=1,name=turn",
                 "--seed", str(PC_SEED)],
        "stdin": "",
        "expect": [rf"(?m)^consumer \| done: consumed {PC_ITEMS} items in \d+ rounds, each once and in order",
                   rf"(?m)^producer \| done: produced {PC_ITEMS} items .*counts equal"],
    })
    return out


def run_one(v, opts, json_path):
    args = [a.format(guests=opts.guests) for a in v["args"]]
    cmd = [opts.quanta] + args + ["--policy", "stride", "--quantum", "10ms", "--no-report",
                                  "--stats-json", str(json_path)]
    if json_path.exists():
        json_path.unlink()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, input=v["stdin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=opts.timeout)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0 or not json_path.exists():
        raise BenchError(f"{v['name']}: quanta exited {proc.returncode}: {' '.join(cmd)}\n"
                         f"{proc.stdout[-1000:]}{proc.stderr[-1000:]}")
    for pattern in v["expect"]:
        if not re.search(pattern, proc.stdout):
            raise BenchError(f"{v['name']}: output does not match /{pattern}/:\n{proc.stdout[-1000:]}")
    with open(json_path) as f:
        report = json.load(f)
    vms = report["vms"]
    items = v["items"]
    wall_s = report["wall_ns"] / 1e9
    exits = sum(vm["exits"]["total"] for vm in vms)
    chan_calls = sum(vm["exits"]["by_port"].get(port, {}).get("out", 0)
                     for vm in vms for port in (PORT_SEND, PORT_RECV))
    slices = sum(vm["slices"] for vm in vms)
    return {
        "items": items,
        "wall_ns": report["wall_ns"],
        "process_seconds": round(elapsed, 3),
        "items_per_second": items / wall_s if wall_s > 0 else None,
        "ns_per_item": report["wall_ns"] / items,
        "exits": exits,
        "exits_per_item": exits / items,
        "channel_calls": chan_calls,
        "channel_calls_per_item": chan_calls / items,
        "slices_per_item": slices / items,
        "overhead_pct": report["overhead_pct"],
        "vms": [{"name": vm["name"], "exits": vm["exits"]["total"], "slices": vm["slices"],
                 "run_ns": vm["run_ns"], "parked_ns": vm["parked_ns"],
                 "parked_share": vm["parked_ns"] / report["wall_ns"] if report["wall_ns"] else None}
                for vm in vms],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--guests", required=True)
    ap.add_argument("--work", required=True, help="directory for reports and channels.json")
    ap.add_argument("--count", type=int, default=5000, help="messages per stream run")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600)
    opts = ap.parse_args()

    work = Path(opts.work)
    runs = work / "channel-runs"
    runs.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    results = []
    try:
        for i, v in enumerate(variants(opts.count)):
            reps = []
            for r in range(opts.reps):
                log(f"bench-channels: {v['name']} ({v['items']} items) run {r + 1}/{opts.reps} ...")
                reps.append(run_one(v, opts, runs / f"v{i}-r{r}.json"))
            reps.sort(key=lambda x: x["items_per_second"])
            median = reps[len(reps) // 2]
            results.append({"name": v["name"], "kind": v["kind"], **median,
                            "items_per_second_all": [x["items_per_second"] for x in reps]})
    except (BenchError, subprocess.TimeoutExpired) as e:
        log(f"bench-channels: {e}")
        return 1

    kernel = platform.release()
    doc = {
        "benchmark": "channels",
        "policy": "stride",
        "quantum": "10ms",
        "reps": opts.reps,
        "kernel": kernel,
        "results": results,
    }
    with open(work / "channels.json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    print(f"{'run':<28} {'items':>6} {'items/s':>10} {'us/item':>9} {'exits/item':>11} "
          f"{'chan calls/item':>16} {'slices/item':>12} {'parked (each VM)':>17}")
    for r in results:
        parked = "/".join(f"{vm['parked_share'] * 100:.0f}%" for vm in r["vms"])
        print(f"{r['name']:<28} {r['items']:>6} {r['items_per_second']:>10.0f} "
              f"{r['ns_per_item'] / 1000:>9.1f} {r['exits_per_item']:>11.2f} "
              f"{r['channel_calls_per_item']:>16.2f} {r['slices_per_item']:>12.2f} {parked:>17}")
    if opts.reps > 1:
        for r in results:
            spread = ", ".join(f"{x:.0f}" for x in r["items_per_second_all"])
            print(f"  {r['name']}: items/s of each run {spread}")
    print(f"kernel {kernel}; JSON in {work / 'channels.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
