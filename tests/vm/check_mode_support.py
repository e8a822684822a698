#!/usr/bin/env python3
"""A guest in a CPU mode this host's KVM cannot run stops with that reason.

Runs quanta directly on this host's /dev/kvm (not through tools/kvm-run:
the sandbox runs every mode). `quanta --kvm-check` says which modes work
here; a hello guest in each mode must then either run (exit 0) or stop
with "this host's KVM cannot run MODE guests ..." and exit 3, never a bare
triple fault. On a host that lacks a mode, a long-mode VM beside the
failing one still finishes. Without /dev/kvm the test fails.
"""
import argparse
import re
import subprocess
import sys

# --kvm-check's label -> quanta arguments for a hello guest in that mode.
GUESTS = {
    "real": ["--mode", "real", "-g", "{g}/hello16.bin"],
    "protected": ["--mode", "protected", "-g", "{g}/hello32.elf"],
    "paged 4K (32-bit paging)": ["--mode", "paged", "-p", "4", "-g", "{g}/hello32.elf"],
    "paged 2M (PAE)": ["--mode", "paged", "-p", "2", "-g", "{g}/hello32.elf"],
    "long 4K": ["--mode", "long", "-p", "4", "-g", "{g}/hello64.elf"],
    "long 2M": ["--mode", "long", "-p", "2", "-g", "{g}/hello64.elf"],
}


def run(quanta, args):
    return subprocess.run([quanta] + args, capture_output=True, text=True, timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--guests", required=True)
    opts = ap.parse_args()

    check = run(opts.quanta, ["--kvm-check"])
    works = {}
    for line in check.stdout.splitlines():
        label, _, verdict = line.rpartition("  ")
        works[label.strip()] = verdict.strip() == "ok"
    if sorted(works) != sorted(GUESTS):
        print(f"FAIL --kvm-check (exit {check.returncode}) did not list the six modes:\n"
              f"{check.stdout}{check.stderr}")
        return 1

    failed = 0
    for label, template in GUESTS.items():
        args = [a.format(g=opts.guests) for a in template]
        result = run(opts.quanta, args)
        said = result.stderr
        if works[label]:
            ok = result.returncode == 0 and "cannot run" not in said
            want = "exit 0, no 'cannot run'"
        else:
            pattern = (r"\Aquanta: hello(16|32|64): stopped: this host's KVM cannot run "
                       + re.escape(label) + r" guests \(.*\): run quanta inside the KVM sandbox, "
                       r"tools/kvm-run -- quanta \.\.\. \(docs/sandbox\.md\)\n\Z")
            ok = result.returncode == 3 and re.search(pattern, said) is not None
            want = "exit 3 and the host's reason"
        print(f"{'PASS' if ok else 'FAIL'} {label} ({'runs' if works[label] else 'not on this KVM'})")
        if not ok:
            print(f"    want {want}; got exit {result.returncode}, stderr: {said!r}")
            failed += 1

    missing = [label for label, ok in works.items() if not ok]
    if missing:
        # The VM the host cannot run stops alone; the other one finishes.
        label = missing[0]
        mode = GUESTS[label][1]
        page = GUESTS[label][3] if GUESTS[label][2] == "-p" else "4"
        result = run(opts.quanta, ["--mode", f"{mode},long", "-p", page, "--no-report",
                                   "-g", GUESTS[label][-1].format(g=opts.guests),
                                   f"{opts.guests}/hello64.elf"])
        ok = (result.returncode == 3 and "Hello from long mode" in result.stdout
              and re.search(r"(?m)^quanta: hello64: halted after \d+ exits$", result.stderr)
              and "cannot run" in result.stderr)
        print(f"{'PASS' if ok else 'FAIL'} {label} beside a long-mode VM")
        if not ok:
            print(f"    got exit {result.returncode}, stdout {result.stdout!r}, stderr {result.stderr!r}")
            failed += 1
    print(f"{len(GUESTS) + bool(missing) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
