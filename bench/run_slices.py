#!/usr/bin/env python3
"""Cost of a slice switch, compared between quanta binaries in one run.

For each quantum (--quanta-ms, default 10 and 1), runs the 70/30 spin guests
(neo-spin16 + morpheus-spin16, --share 70,30, stride) under each binary,
alternating binaries within each repetition so load changes hit them
alike, and prints medians over the repetitions of: kick latency p50 (timer
expiry -> back in userspace), switch latency p50 (a guest's exit -> the next
guest's entry), overhead (% of busy time), the 70/30 share error and host
steal. With --strace, one extra run per binary under `strace -f -c` gives
system calls per slice.

--stall: the same 70/30 pair pinned to one CPU (--cpu) while a SCHED_FIFO
busy loop takes that CPU for --stall-seconds in the middle of the run (a
host stall, as when another process preempts quanta): the share error with
each binary, i.e. with and without host steal accounting (needs root for
chrt).

--setup N,...: N halting guests (hello16.bin, 1 MiB each) in one run: wall
seconds per VM (process start to exit: setup, a short run, teardown) and
the peak RSS per VM.

Each table ends with issue 14's targets for this host's KVM and, per
binary, whether its figures meet them. A benchmark, not a test: it prints
figures and fails only when a run writes no report. Run it where /dev/kvm
works (directly, or through tools/kvm-run); tools/bench --slices runs every
row.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


# Issue 14's targets (docs/benchmarks.md): upper bounds.
TARGET_KICK_P50_US = 15
TARGET_SWITCH_P50_US = 5
TARGET_OVERHEAD_1MS_PCT = 0.5
TARGET_ERR_PP = 0.05
TARGET_STALL_ERR_PP = 0.2
TARGET_SETUP_SECONDS = {1024: 1.0, 4096: 5.0}


def met(value, limit):
    return "yes" if value <= limit else "no"


def run(quanta, guests, quantum_ms, seconds, work, tag, extra, prefix=()):
    out = Path(work) / f"{tag}.json"
    out.unlink(missing_ok=True)
    cmd = list(prefix) + [quanta, "--mode", "real", "--quantum", f"{quantum_ms}ms", "--duration", f"{seconds}s",
                          "--no-report", "--share", "70,30", "-g", str(Path(guests) / "neo-spin16.bin"),
                          str(Path(guests) / "morpheus-spin16.bin"), "--stats-json", str(out)] + extra
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=seconds * 20 + 120)
    if not out.exists():
        sys.exit(f"run_slices: no report from {' '.join(cmd)} (status {proc.returncode}):\n{proc.stderr[-1500:]}")
    with open(out) as f:
        return json.load(f)


def figures(report):
    vms = report["vms"]
    steal = sum(vm.get("host_steal_ns", 0) for vm in vms)
    return {
        "kick_p50_us": report["kick_latency"]["p50_ns"] / 1e3,
        "switch_p50_us": report["switch_latency"]["p50_ns"] / 1e3,
        "overhead_pct": report["overhead_pct"],
        "max_err_pp": max(abs(vm["error_pp"]) for vm in vms if vm["error_pp"] is not None),
        "steal_ms": steal / 1e6,
        "slices": sum(vm["slices"] for vm in vms),
    }


def stall_run(quanta, guests, seconds, work, tag, cpu, stall_at, stall_len, extra):
    """The 70/30 pair pinned to cpu; a SCHED_FIFO hog on cpu for stall_len s."""
    out = Path(work) / f"{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [quanta, "--mode", "real", "--quantum", "10ms", "--duration", f"{seconds}s", "--no-report",
           "--cpu", str(cpu), "--share", "70,30", "-g", str(Path(guests) / "neo-spin16.bin"),
           str(Path(guests) / "morpheus-spin16.bin"), "--stats-json", str(out)] + extra
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(stall_at)
    hog = ("import time\nt = time.monotonic()\nwhile time.monotonic() - t < %f:\n    pass\n" % stall_len)
    subprocess.run(["chrt", "-f", "50", "taskset", "-c", str(cpu), sys.executable, "-c", hog], check=True)
    _, err = proc.communicate(timeout=seconds * 20 + 60)
    if not out.exists():
        sys.exit(f"run_slices: no report from {' '.join(cmd)} (status {proc.returncode}):\n{err[-1500:]}")
    with open(out) as f:
        return json.load(f)


def setup_run(quanta, guests, n):
    """n halting VMs in one process: (seconds, peak RSS in KiB, status)."""
    cmd = [quanta, "--mode", "real", "-m", "1", "--no-report", "-g"] + [str(Path(guests) / "hello16.bin")] * n
    # stderr to a file, not a pipe: N "halted" lines fill a pipe nobody
    # reads until the end, and a quanta whose stderr blocks would wait forever.
    with tempfile.TemporaryFile() as errfile:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - t0
        errfile.seek(0)
        err = errfile.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"run_slices: {n} VMs failed (status {proc.returncode}): {err.strip().splitlines()[-1:]}")
    return elapsed, usage.ru_maxrss, proc.returncode


def strace_counts(path):
    counts = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            counts[parts[-1]] = int(parts[3])
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+", help="quanta binaries to compare (label=path or path)")
    ap.add_argument("--guests", required=True)
    ap.add_argument("--work", default="/tmp")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quanta-ms", default="10,1")
    ap.add_argument("--strace", action="store_true", help="also count system calls per slice")
    ap.add_argument("--extra", default="", help="more quanta options, space-separated")
    ap.add_argument("--stall", action="store_true", help="the host-stall row instead (needs root)")
    ap.add_argument("--stall-seconds", type=float, default=0.5)
    ap.add_argument("--stall-at", type=float, default=0.75, help="when the stall begins, as a fraction of the run")
    ap.add_argument("--cpu", type=int, default=1, help="the CPU for --stall")
    ap.add_argument("--setup", default="", help="the N-VM setup row for these N (e.g. 1,64,1024)")
    opts = ap.parse_args()
    bins = [b.split("=", 1) if "=" in b else (b, b) for b in opts.binaries]
    extra = opts.extra.split()
    result = {}
    if opts.setup:
        print("N halting VMs (hello16.bin, -m 1) in one process, median of --reps:")
        print(f"  {'binary':<12} {'N':>6} {'seconds':>8} {'ms per VM':>10} {'RSS MiB':>8} {'KiB RSS per VM':>15}")
        for n in [int(x) for x in opts.setup.split(",")]:
            for label, path in bins:
                runs = [setup_run(path, opts.guests, n) for _ in range(opts.reps)]
                secs = statistics.median(r[0] for r in runs)
                rss = statistics.median(r[1] for r in runs)
                result.setdefault(label, {})[f"setup{n}"] = {"seconds": secs, "maxrss_kib": rss}
                target = TARGET_SETUP_SECONDS.get(n)
                verdict = f"  target < {target:g} s: {met(secs, target)}" if target else ""
                print(f"  {label:<12} {n:>6} {secs:>8.2f} {1000 * secs / n:>10.2f} {rss / 1024:>8.1f} "
                      f"{rss / n:>15.0f}{verdict}")
        Path(opts.work, "setup.json").write_text(json.dumps(result, indent=2) + "\n")
        return
    if opts.stall:
        secs = opts.seconds
        print(f"70/30 10 ms {' '.join(extra) or 'stride'}, {secs} s pinned to CPU {opts.cpu}, a {opts.stall_seconds} s SCHED_FIFO "
              f"stall of that CPU at {secs * opts.stall_at:g} s (medians of {opts.reps}):")
        print(f"  {'binary':<12} {'max err pp':>10} {'steal ms':>8} {'max lag q':>9}")
        for label, path in bins:
            runs = []
            for rep in range(opts.reps):
                rep_report = stall_run(path, opts.guests, secs, opts.work, f"stall-{label}-{rep}", opts.cpu,
                                       secs * opts.stall_at, opts.stall_seconds, extra)
                runs.append(dict(figures(rep_report), max_lag=rep_report["max_lag_quanta"]))
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            result.setdefault(label, {})["stall"] = {"median": med, "runs": runs}
            print(f"  {label:<12} {med['max_err_pp']:>10.3f} {med['steal_ms']:>8.1f} {med['max_lag']:>9.2f}"
                  f"  target max err < {TARGET_STALL_ERR_PP} pp: {met(med['max_err_pp'], TARGET_STALL_ERR_PP)}")
        Path(opts.work, "stall.json").write_text(json.dumps(result, indent=2) + "\n")
        return
    for q in [float(x) for x in opts.quanta_ms.split(",")]:
        qs = f"{q:g}"
        per = {label: [] for label, _ in bins}
        for rep in range(opts.reps):
            for label, path in bins:
                per[label].append(figures(run(path, opts.guests, qs, opts.seconds, opts.work,
                                              f"slices-{label}-{qs}-{rep}", extra)))
        print(f"quantum {qs} ms, 70/30 stride, {opts.seconds} s x {opts.reps} (medians):")
        print(f"  {'binary':<12} {'kick p50 us':>11} {'switch p50 us':>13} {'overhead %':>10} "
              f"{'max err pp':>10} {'steal ms':>8}")
        for label, _ in bins:
            med = {k: statistics.median(r[k] for r in per[label]) for k in per[label][0]}
            result.setdefault(label, {})[qs] = {"median": med, "runs": per[label]}
            print(f"  {label:<12} {med['kick_p50_us']:>11.1f} {med['switch_p50_us']:>13.1f} "
                  f"{med['overhead_pct']:>10.3f} {med['max_err_pp']:>10.3f} {med['steal_ms']:>8.1f}")
        overhead_target = f", overhead <= {TARGET_OVERHEAD_1MS_PCT}%" if q == 1 else ""
        print(f"  targets: kick p50 <= {TARGET_KICK_P50_US} us, switch p50 <= {TARGET_SWITCH_P50_US} us"
              f"{overhead_target}, max err <= {TARGET_ERR_PP} pp; met:")
        for label, _ in bins:
            med = result[label][qs]["median"]
            verdicts = [f"kick {met(med['kick_p50_us'], TARGET_KICK_P50_US)}",
                        f"switch {met(med['switch_p50_us'], TARGET_SWITCH_P50_US)}"]
            if q == 1:
                verdicts.append(f"overhead {met(med['overhead_pct'], TARGET_OVERHEAD_1MS_PCT)}")
            verdicts.append(f"err {met(med['max_err_pp'], TARGET_ERR_PP)}")
            print(f"  {label:<12} " + ", ".join(verdicts))
        if opts.strace:
            print(f"  system calls per slice (strace -f -c, one {opts.seconds} s run each):")
            for label, path in bins:
                log = Path(opts.work) / f"strace-{label}-{qs}.txt"
                report = run(path, opts.guests, qs, opts.seconds, opts.work, f"strace-{label}-{qs}", extra,
                             prefix=["strace", "-f", "-c", "-o", str(log)])
                slices = max(1, figures(report)["slices"])
                counts = strace_counts(log)
                # The loop's calls, and any other made about once per slice
                # or more (not those of setup).
                loop_calls = {"ioctl", "timer_settime", "rt_sigtimedwait", "epoll_wait", "clock_gettime"}
                per_slice = {k: v / slices for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
                             if k in loop_calls or v / slices >= 0.5}
                result[label][qs]["syscalls_per_slice"] = per_slice
                print(f"  {label:<12} " + ", ".join(f"{k} {v:.2f}" for k, v in per_slice.items()) +
                      f" (total {sum(per_slice.values()):.2f})")
    out = Path(opts.work) / "slices.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
