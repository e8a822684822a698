#!/usr/bin/env python3
"""quanta sweep end to end on a tiny sweep (2 policies x 2 repeats).

- `quanta sweep FILE` runs every run and writes runs/*.json, summary.csv,
  summary.json and compare-policies.svg;
- the same sweep through `quanta sweep FILE --list | parallel` and then
  `quanta sweep --collect DIR` gives the same summary format: same header,
  same cells, same run counts;
- a second `quanta sweep FILE` into a used folder is refused; --resume
  redoes only a deleted run;
- every JSON file validates against docs/schema/quanta.schema.json.
Prints PASS/FAIL lines; exit status 1 on any failure.
"""
import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys

import jsonschema

EXPERIMENT = """description = "tiny sweep for the test suite"
mode = "real"
duration = "200ms"
quantum = "5ms"
[[vm]]
image = "{guests}/neo-spin16.bin"
name = "Neo"
[[vm]]
image = "{guests}/morpheus-spin16.bin"
name = "Morpheus"
[sweep]
share = [[70, 30]]
policy = ["stride", "frac"]
repeat = 2
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--guests", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--parallel", default="parallel")
    args = ap.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    exp = os.path.join(work, "tiny.toml")
    with open(exp, "w") as f:
        f.write(EXPERIMENT.format(guests=os.path.abspath(args.guests)))
    validator = jsonschema.Draft202012Validator(json.load(open(args.schema)))
    failures = []

    def check(name, ok, why=""):
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + str(why)[-800:]))
        if not ok:
            failures.append(name)
        return ok

    def quanta(*a, **kw):
        return subprocess.run([args.quanta, *a], capture_output=True, text=True, timeout=600, **kw)

    def summary(d):
        with open(os.path.join(d, "summary.csv")) as f:
            rows = list(csv.DictReader(f))
        return rows

    # 1. The driver.
    a = os.path.join(work, "a")
    r = quanta("sweep", exp, "--out-dir", a)
    check("sweep runs", r.returncode == 0, r.stderr)
    check("progress lines", "4/4" not in r.stderr and "3/4 runs done" in r.stderr, r.stderr)
    check("wrote lines", f"quanta: wrote {a}/summary.csv" in r.stderr, r.stderr)
    runs = sorted(glob.glob(os.path.join(a, "runs", "run-*.json")))
    check("one report per run", len(runs) == 4, runs)
    check("comparison plot", os.path.exists(os.path.join(a, "compare-policies.svg")))
    rows_a = summary(a)
    check("one row per cell", [row["policy"] for row in rows_a] == ["stride", "frac"], rows_a)
    check("runs per cell", all(row["runs"] == "2" for row in rows_a), rows_a)
    for row in rows_a:
        lo, mean, hi = (float(row[f"vm0_achieved_share_frac_{k}"]) for k in ("ci95_low", "mean", "ci95_high"))
        check(f"CI brackets the mean ({row['policy']})", lo <= mean <= hi, (lo, mean, hi))
    first = json.load(open(runs[0]))
    check("run names its cell", first["meta"]["sweep"]["params"] == {"share": "70,30", "policy": "stride"},
          first["meta"].get("sweep"))

    # 2. The same through --list | parallel and --collect.
    b = os.path.join(work, "b")
    listing = quanta("sweep", exp, "--list", "--out-dir", b)
    commands = listing.stdout.splitlines()
    check("list prints one command per run", listing.returncode == 0 and len(commands) == 4, listing)
    p = subprocess.run([args.parallel, "--will-cite", "-j", "1", "--halt", "now,fail=1"], input=listing.stdout,
                       capture_output=True, text=True, timeout=600)
    check("parallel runs the list", p.returncode == 0, p.stderr)
    c = quanta("sweep", "--collect", b)
    check("collect", c.returncode == 0, c.stderr)
    rows_b = summary(b)
    check("same header", list(rows_a[0].keys()) == list(rows_b[0].keys()))
    check("same cells", [(x["cell"], x["runs"]) for x in rows_a] == [(x["cell"], x["runs"]) for x in rows_b],
          (rows_a, rows_b))

    # 3. A used folder is refused; --resume redoes the missing run only.
    r = quanta("sweep", exp, "--out-dir", a)
    check("used folder refused", r.returncode == 2 and "--resume" in r.stderr, r.stderr)
    os.remove(runs[1])
    r = quanta("sweep", exp, "--out-dir", a, "--resume")
    check("resume", r.returncode == 0 and "3 of 4 runs already done" in r.stderr and "1 runs in" in r.stderr,
          r.stderr)
    check("resume restored the run", os.path.exists(runs[1]))
    missing = quanta("sweep", exp, "--list", "--resume", "--out-dir", a)
    check("list --resume prints nothing when done", missing.returncode == 0 and missing.stdout == "", missing)

    # 4. Every JSON validates.
    files = glob.glob(os.path.join(work, "*", "runs", "*.json")) + glob.glob(os.path.join(work, "*", "summary.json"))
    bad = []
    for path in files:
        errors = list(validator.iter_errors(json.load(open(path))))
        if errors:
            bad.append(f"{path}: {errors[0].message}")
    check(f"{len(files)} JSON files validate", len(files) == 10 and not bad, bad or files)

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
