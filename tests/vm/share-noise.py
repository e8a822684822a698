#!/usr/bin/env python3
"""Measure how much the numbers checked by VM test cases vary between runs.

Runs every selected case of the tables RUNS times (one after another, like
the suite does in the sandbox) and prints, for every numeric expect_json
check, the values seen: min, max, and the worst distance from `approx`
next to the tolerance the case allows. This is how the tolerances in
sched-cases.toml were chosen; run it where the suite runs, e.g. in the
KVM sandbox:

  QUANTA_KVM_CHECK=build/src/quanta tools/kvm-run --rw /work/main/build -- \\
    python3 tests/vm/share-noise.py --quanta build/src/quanta \\
      --guests build/guests --workdir build/tests/vm-noise --runs 5 \\
      --filter '^sched-(stride|frac|rr)' tests/vm/sched-cases.toml

Pass/fail of each run is printed too, but the exit status is 0 whenever
every case could be run (it is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("vm_run", os.path.join(HERE, "run.py"))
vm_run = importlib.util.module_from_spec(spec)
sys.modules["vm_run"] = vm_run
spec.loader.exec_module(vm_run)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--guests", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--filter")
    ap.add_argument("--runs", type=int, default=5)
    opts = ap.parse_args()

    cases = vm_run.load_all(opts.cases)
    if opts.filter:
        cases = [c for c in cases if re.search(opts.filter, c.name)]
    if not cases:
        print("no cases selected", file=sys.stderr)
        return 1
    quanta = os.path.abspath(opts.quanta)
    guests = os.path.abspath(opts.guests)
    workroot = os.path.abspath(opts.workdir)
    os.makedirs(workroot, exist_ok=True)

    for case in cases:
        numeric = [c for c in case.expect_json
                   if c.approx is not None or c.min is not None or c.max is not None]
        values: dict[str, list[float]] = {f"{c.file}:{c.path}": [] for c in numeric}
        extra: dict[str, list[float]] = {"kick_p99_us": [], "kick_max_us": [],
                                         "wall_ms": [], "cpu_fraction": []}
        results = []
        for _ in range(opts.runs):
            measured: dict = {}
            ok, msg = vm_run.run_case(case, quanta, guests, workroot, measured)
            if (case.max_cpu_fraction is not None or case.min_cpu_fraction is not None) \
                    and measured.get("wall"):
                extra["cpu_fraction"].append(measured["cpu"] / measured["wall"])
            results.append("PASS" if ok else "FAIL" + msg.split("\n")[0])
            work = os.path.join(workroot, vm_run.work_dir_name(case.name))
            docs = {}
            for c in numeric:
                try:
                    if c.file not in docs:
                        with open(os.path.join(work, c.file)) as f:
                            docs[c.file] = json.load(f)
                    v = vm_run.lookup(docs[c.file], c.path)
                    if c.relative_to:
                        v = v / vm_run.lookup(docs[c.file], c.relative_to)
                    values[f"{c.file}:{c.path}"].append(v)
                except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
                    pass
            for doc in docs.values():
                if isinstance(doc, dict) and "kick_latency" in doc:
                    extra["kick_p99_us"].append(doc["kick_latency"]["p99_ns"] / 1e3)
                    extra["kick_max_us"].append(doc["kick_latency"]["max_ns"] / 1e3)
                    extra["wall_ms"].append(doc["wall_ns"] / 1e6)
                break
        print(f"== {case.name} ({opts.runs} runs): "
              f"{sum(r == 'PASS' for r in results)} passed")
        for r in results:
            if r != "PASS":
                print(f"   {r}")
        for c in numeric:
            key = f"{c.file}:{c.path}"
            vs = values[key]
            if not vs:
                print(f"   {c.path}: no values")
                continue
            line = f"   {c.path}: min {min(vs):.5g} max {max(vs):.5g}"
            if c.approx is not None:
                worst = max(abs(v - c.approx) for v in vs)
                line += (f"  worst |v-{c.approx:g}| {worst:.5g}"
                         f" (tolerance {c.tolerance:g}, margin x{c.tolerance / worst if worst else float('inf'):.1f})")
            print(line)
            print("      " + " ".join(f"{v:.5g}" for v in vs))
        for key, vs in extra.items():
            if vs:
                print(f"   {key}: " + " ".join(f"{v:.5g}" for v in vs))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
