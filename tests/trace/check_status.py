#!/usr/bin/env python3
"""The live status line, end to end (needs KVM: run it through tools/kvm-run).

Runs quanta twice on the same two spinning guests for DURATION:
  1. stderr on a pseudo-terminal: the status line must appear ("\\r\\033[K"
     then "quanta 0.2 s | Neo ...%/70% | Morpheus ...%/30% | ... exits/s"),
     be redrawn at most a few times a second, and be erased before the
     report;
  2. stderr on a pipe: not a byte of it (no "\\r", no escape sequence).

  check_status.py --quanta build/src/quanta --guests build/guests [--duration 2s]
"""
import argparse
import os
import pty
import re
import subprocess
import sys
import time


def run_on_pty(cmd):
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quanta", required=True)
    parser.add_argument("--guests", required=True)
    parser.add_argument("--duration", default="2s")
    args = parser.parse_args()
    cmd = [args.quanta, "--mode", "real", "-g", os.path.join(args.guests, "neo-spin16.bin"),
           os.path.join(args.guests, "morpheus-spin16.bin"), "--name", "Neo,Morpheus", "--share", "70,30",
           "--duration", args.duration]
    failures = []

    start = time.monotonic()
    rc, tty = run_on_pty(cmd)
    seconds = time.monotonic() - start
    lines = re.findall(r"\r\x1b\[K(quanta [0-9.]+ s \| Neo [0-9.]+%/70% \| Morpheus [0-9.]+%/30%[^\r\n\x1b]*)", tty)
    if rc != 0:
        failures.append(f"on a terminal: exit {rc}")
    if not lines:
        failures.append(f"on a terminal: no status line in {tty[:300]!r}")
    elif len(lines) > seconds * 5 + 1:
        failures.append(f"{len(lines)} redraws in {seconds:.1f} s: more than a few a second")
    if lines and "exits/s" not in lines[-1]:
        failures.append(f"no exits/s in {lines[-1]!r}")
    # The last thing written to the line before the report is the erase.
    report = tty.find("quanta report:")
    before = tty[:report] if report >= 0 else ""
    after_last_erase = before[before.rfind("\r\x1b[K") + 4:] if "\r\x1b[K" in before else "?"
    if report < 0 or after_last_erase.strip("\r\n") != "":
        failures.append(f"the status line is not erased before the report: {after_last_erase[:80]!r}")

    piped = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
    if piped.returncode != 0:
        failures.append(f"piped: exit {piped.returncode}")
    if b"\r" in piped.stderr or b"\x1b" in piped.stderr:
        failures.append(f"piped stderr has terminal control bytes: {piped.stderr[:200]!r}")
    if b"quanta report:" not in piped.stderr:
        failures.append("piped: no report")

    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print(f"PASS: {len(lines)} status lines in {seconds:.1f} s on a terminal, none on a pipe")
        print("last:", lines[-1])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
