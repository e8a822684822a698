#!/usr/bin/env python3
"""The scheduler benchmark's driver: runs quanta and the minimal KVM_RUN
loop on the guest images, prints a table and writes JSON.

It needs /dev/kvm, so tools/bench runs it through tools/kvm-run (in the
KVM sandbox when this host's KVM cannot run every CPU mode). Everything it
writes goes under --work (the sandbox has a private /tmp).

Measured, per policy (stride, frac, rr, io), with CPU-bound real-mode
guests that never exit (neo-spin16 / morpheus-spin16), --quantum 10ms:
  - "70/30": two VMs, --share 70,30;
  - "16 random": 16 copies of neo-spin16 with random weights in 1..100
    (fixed seed);
each for --seconds: per-VM |achieved - target| in percentage points (max
and mean), max lag (quanta), overhead (% of busy time), kick and switch
latency (p50/p99/max), all taken from quanta's --stats-json report.

And the cost of one I/O exit: ioloop16.bin (20000 OUTs, then HLT) under
bench/minimal-kvm (its timed KVM_RUN loop / exits) and under quanta (the
report's wall_ns, which excludes process start and VM setup, / exits),
alternating, --reps times each; medians and their ratio. Two more variants
add quanta's KVM-level mechanics to the minimal loop, to show where a
difference comes from: --signal-mask (quanta's KVM_SET_SIGNAL_MASK), then
--signal-mask --timed --cpuid (plus two CLOCK_MONOTONIC reads around every
KVM_RUN, as quanta charges guest time, and KVM's whole supported CPUID, as
quanta sets it). What remains between that and quanta is quanta's own
user-space work per exit (exit decoding, statistics, the port bus and the
device, the scheduler's charge).

This is a benchmark, not a test: it only fails (exit 1) when a run does not
produce its report or the exit counts are wrong.
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

POLICIES = ["stride", "frac", "rr", "io"]
QUANTUM = "10ms"
QUANTUM_NS = 10_000_000
SEED = 695  # CS695: the Matrix assignment
N_RANDOM = 16
IO_EXITS = 20000  # ioloop16.S

# The targets, for real KVM (CPU-bound guests, Q = 10 ms, 10 s runs).
TARGET_ERR_PP = 0.1
TARGET_OVERHEAD_PCT = 0.5
TARGET_EXIT_RATIO = 1.1


def random_weights(seed=SEED, n=N_RANDOM):
    rng = random.Random(seed)
    return [rng.randint(1, 100) for _ in range(n)]


class BenchError(Exception):
    pass


def run_quanta(args, quanta, json_path, timeout):
    """Run quanta with args plus --stats-json; return (report, status, seconds)."""
    if json_path.exists():
        json_path.unlink()
    cmd = [quanta] + args + ["--stats-json", str(json_path)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    if not json_path.exists():
        raise BenchError(f"quanta wrote no report (status {proc.returncode}): {' '.join(cmd)}\n"
                         f"{proc.stderr[-2000:]}")
    with open(json_path) as f:
        return json.load(f), proc.returncode, elapsed


def summarize_sched(report, status, elapsed):
    vms = report["vms"]
    # error_pp is null for VMs left out of the fairness figures.
    errs = [abs(vm["error_pp"]) for vm in vms if vm["error_pp"] is not None] or [float("nan")]
    q = report["quantum_ns"]
    kick = report["kick_latency"]
    switch = report["switch_latency"]
    return {
        "status": status,
        "process_seconds": round(elapsed, 3),
        "duration_reached": report["duration_reached"],
        "wall_ns": report["wall_ns"],
        "max_abs_error_pp": max(errs),
        "mean_abs_error_pp": statistics.fmean(errs),
        "max_lag_quanta": report["max_lag_quanta"],
        # The lag target: one quantum plus the (measured) kick latency.
        "lag_target_quanta": 1.0 + kick["max_ns"] / q if q else None,
        "overhead_pct": report["overhead_pct"],
        "jain": report["jain_index"],
        "kick_latency_ns": {k: kick[k] for k in ("count", "p50_ns", "p99_ns", "max_ns")},
        "switch_latency_ns": {k: switch[k] for k in ("count", "p50_ns", "p99_ns", "max_ns")},
        "vms": [
            {
                "name": vm["name"],
                "weight": vm["weight"],
                "target_share": vm["target_share_frac"],
                "achieved_share": vm["achieved_share_frac"],
                "error_pp": vm["error_pp"],
                "slices": vm["slices"],
                "max_lag_quanta": vm["max_lag_quanta"],
                "kicks": vm["exits"]["intr"],
            }
            for vm in vms
        ],
    }


def sched_runs(opts, log):
    guests = Path(opts.guests)
    neo = str(guests / "neo-spin16.bin")
    morpheus = str(guests / "morpheus-spin16.bin")
    weights = random_weights(opts.seed)
    names = [f"VM{i + 1:02d}" for i in range(N_RANDOM)]
    scenarios = {
        "70/30": ["-g", neo, morpheus, "--share", "70,30"],
        "16 random": ["-g"] + [neo] * N_RANDOM
        + ["--share", ",".join(map(str, weights)), "--name", ",".join(names)],
    }
    runs_dir = Path(opts.work) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for policy in POLICIES:
        results[policy] = {}
        for scenario, guest_args in scenarios.items():
            tag = f"{policy}-{'7030' if scenario == '70/30' else 'random16'}"
            args = ["--mode", "real", "--policy", policy, "--quantum", QUANTUM,
                    "--duration", f"{opts.seconds}s", "--no-report"] + guest_args
            log(f"bench: {policy:<6} {scenario:<9} ({opts.seconds} s) ...")
            report, status, elapsed = run_quanta(args, opts.quanta, runs_dir / f"{tag}.json",
                                                 timeout=opts.seconds * 10 + 120)
            results[policy][scenario] = summarize_sched(report, status, elapsed)
    return results, weights


def run_minimal(minimal, image, flags):
    cmd = [minimal] + flags + [image]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"{' '.join(cmd)} failed (status {proc.returncode}): {proc.stderr.strip()}")
    data = json.loads(lines[-1])
    if data["exits_io_out"] != IO_EXITS:
        raise BenchError(f"minimal-kvm counted {data['exits_io_out']} OUT exits, expected {IO_EXITS}")
    return {"ns": data["loop_ns"], "exits": data["exits_io_out"],
            "ns_per_exit": data["loop_ns"] / data["exits_io_out"]}


def run_quanta_io(opts, image, json_path):
    report, status, _ = run_quanta(["--mode", "real", "-g", image, "--no-report"],
                                   opts.quanta, json_path, timeout=600)
    vm = report["vms"][0]
    exits = vm["exits"]["io_out"]
    if status != 0 or vm["status"] != "halted" or exits != IO_EXITS:
        raise BenchError(f"quanta on ioloop16: status {status}, VM {vm['status']}, "
                         f"{exits} OUT exits (expected {IO_EXITS})")
    return {"ns": report["wall_ns"], "exits": exits, "ns_per_exit": report["wall_ns"] / exits,
            "guest_ns_per_exit": report["guest_ns"] / exits,
            "overhead_pct": report["overhead_pct"],
            "kicks": vm["exits"]["intr"]}


def exit_cost(opts, log):
    image = str(Path(opts.guests) / "ioloop16.bin")
    json_path = Path(opts.work) / "runs" / "ioloop16.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    variants = {
        "minimal": lambda: run_minimal(opts.minimal, image, []),
        "minimal_sigmask": lambda: run_minimal(opts.minimal, image, ["--signal-mask"]),
        "minimal_kvm_like_quanta": lambda: run_minimal(
            opts.minimal, image, ["--signal-mask", "--timed", "--cpuid"]),
        "quanta": lambda: run_quanta_io(opts, image, json_path),
    }
    log(f"bench: I/O exit cost, {opts.reps} repetitions of each (alternating) ...")
    for run in variants.values():  # warm-up (page cache, first-use effects): not counted
        run()
    samples = {name: [] for name in variants}
    for _ in range(opts.reps):
        for name, run in variants.items():
            samples[name].append(run())
    out = {"image": "ioloop16.bin", "exits_per_run": IO_EXITS, "repetitions": opts.reps}
    for name, runs in samples.items():
        per_exit = [r["ns_per_exit"] for r in runs]
        out[name] = {"ns_per_exit_median": statistics.median(per_exit),
                     "ns_per_exit_min": min(per_exit), "ns_per_exit_max": max(per_exit),
                     "ns_per_exit_runs": per_exit}
    q = samples["quanta"]
    out["quanta"]["guest_ns_per_exit_median"] = statistics.median(r["guest_ns_per_exit"] for r in q)
    out["quanta"]["overhead_pct_median"] = statistics.median(r["overhead_pct"] for r in q)
    out["quanta"]["kicks"] = sum(r["kicks"] for r in q)
    base = out["minimal"]["ns_per_exit_median"]
    out["ratio_quanta_to_minimal"] = out["quanta"]["ns_per_exit_median"] / base
    out["ratio_sigmask_to_minimal"] = out["minimal_sigmask"]["ns_per_exit_median"] / base
    out["ratio_kvm_like_quanta_to_minimal"] = (
        out["minimal_kvm_like_quanta"]["ns_per_exit_median"] / base)
    # Per repetition (runs next to each other), the median of the ratios.
    out["ratio_quanta_to_minimal_paired_median"] = statistics.median(
        qr["ns_per_exit"] / mr["ns_per_exit"] for qr, mr in zip(q, samples["minimal"]))
    return out


def us(ns):
    return f"{ns / 1000:.1f}"


def print_tables(result):
    sched = result["scheduling"]
    t = result["targets"]
    print(f"quanta scheduler benchmark: {result['seconds']} s per run, quantum "
          f"{result['quantum_ms']} ms, CPU-bound real-mode guests (neo-spin16/morpheus-spin16)")
    h = result["host"]
    print(f"kernel {h['kernel']}, CPU {h['cpu']}, {h['cpus']} CPU(s), "
          f"clocksource {h['clocksource']}")
    print(f"16 random weights (seed {result['seed']}): {','.join(map(str, result['weights16']))}")
    print()
    hdr = (f"{'policy':<7} {'scenario':<10} {'max|err|':>9} {'mean|err|':>9} {'maxlag':>7} "
           f"{'lag tgt':>7} {'ovh %':>6} {'Jain':>7} "
           f"{'kick p50/p99/max us':>22} {'switch p50/p99/max us':>22}")
    print(hdr)
    print(f"{'':<7} {'':<10} {'(pp)':>9} {'(pp)':>9} {'(q)':>7} {'(q)':>7}")
    print("-" * len(hdr))
    for policy, scenarios in sched.items():
        for scenario, r in scenarios.items():
            k, s = r["kick_latency_ns"], r["switch_latency_ns"]
            kick = f"{us(k['p50_ns'])}/{us(k['p99_ns'])}/{us(k['max_ns'])}" if k["count"] else "-"
            sw = f"{us(s['p50_ns'])}/{us(s['p99_ns'])}/{us(s['max_ns'])}" if s["count"] else "-"
            print(f"{policy:<7} {scenario:<10} {r['max_abs_error_pp']:>9.3f} "
                  f"{r['mean_abs_error_pp']:>9.3f} {r['max_lag_quanta']:>7.2f} "
                  f"{r['lag_target_quanta']:>7.2f} {r['overhead_pct']:>6.2f} {r['jain']:>7.4f} "
                  f"{kick:>22} {sw:>22}")
    print()
    print("per-VM shares, 70/30 (target -> achieved, error pp):")
    for policy, scenarios in sched.items():
        r = scenarios["70/30"]
        cells = ", ".join(f"{vm['name']} {100 * vm['target_share']:.1f}% -> "
                          f"{100 * vm['achieved_share']:.2f}% ({vm['error_pp']:+.3f}, "
                          f"{vm['slices']} slices)" for vm in r["vms"])
        print(f"  {policy:<7} {cells}")
    print()
    e = result["exit_cost"]
    print(f"I/O exit cost: {e['image']}, {e['exits_per_run']} OUT exits per run, "
          f"{e['repetitions']} runs each, alternating; ns per exit")
    print(f"  {'variant':<26} {'median':>10} {'min':>10} {'max':>10}")
    labels = {"minimal": "minimal-kvm (C loop)",
              "minimal_sigmask": "minimal-kvm --signal-mask",
              "minimal_kvm_like_quanta": "  ... + --timed --cpuid",
              "quanta": "quanta (wall_ns / exits)"}
    for name, label in labels.items():
        v = e[name]
        print(f"  {label:<26} {v['ns_per_exit_median']:>10.0f} {v['ns_per_exit_min']:>10.0f} "
              f"{v['ns_per_exit_max']:>10.0f}")
    print(f"  quanta: of which inside KVM_RUN {e['quanta']['guest_ns_per_exit_median']:.0f} ns/exit "
          f"(median), overhead {e['quanta']['overhead_pct_median']:.2f}% of wall, "
          f"{e['quanta']['kicks']} kicks")
    print(f"  ratio quanta / minimal: {e['ratio_quanta_to_minimal']:.3f} (medians), "
          f"{e['ratio_quanta_to_minimal_paired_median']:.3f} (median of paired runs)")
    print(f"  minimal + signal mask: {e['ratio_sigmask_to_minimal']:.3f}; "
          f"+ clock reads + CPUID as quanta: {e['ratio_kvm_like_quanta_to_minimal']:.3f}")
    print()
    print(f"targets (real KVM): |err| <= {t['error_pp']} pp per VM, max lag <= 1 quantum + kick "
          f"latency, overhead <= {t['overhead_pct']}%, exit cost <= {t['exit_ratio']}x minimal")


def host_info():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        clocksource = Path("/sys/devices/system/clocksource/clocksource0/"
                           "current_clocksource").read_text().strip()
    except OSError:
        clocksource = "?"
    return {"kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "clocksource": clocksource}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--minimal", required=True, help="bench/minimal-kvm")
    ap.add_argument("--guests", required=True, help="build/guests")
    ap.add_argument("--work", required=True, help="directory for per-run reports and bench.json")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--json", help="output JSON (default WORK/bench.json)")
    opts = ap.parse_args()

    def log(text):
        # On stdout, so it comes before the tables also from the sandbox
        # (which returns the command's stdout first, then its stderr).
        print(text, flush=True)

    t0 = time.monotonic()
    try:
        sched, weights = sched_runs(opts, log)
        cost = exit_cost(opts, log)
    except (BenchError, subprocess.TimeoutExpired) as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    result = {
        "seconds": opts.seconds,
        "quantum_ms": QUANTUM_NS / 1e6,
        "seed": opts.seed,
        "weights16": weights,
        "host": host_info(),
        "targets": {"error_pp": TARGET_ERR_PP, "overhead_pct": TARGET_OVERHEAD_PCT,
                    "exit_ratio": TARGET_EXIT_RATIO, "max_lag": "1 quantum + kick latency"},
        "scheduling": sched,
        "exit_cost": cost,
        "bench_seconds": round(time.monotonic() - t0, 1),
    }
    out = Path(opts.json) if opts.json else Path(opts.work) / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print_tables(result)
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
