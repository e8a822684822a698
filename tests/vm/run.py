#!/usr/bin/env python3
"""Run quanta against the guest images and check what comes out.

Cases live in a TOML table (cases.toml), kept apart from this code:

  [[case]]                         one run of quanta
  name = "echo64-line"
  args = ["-m", "2", "-g", "@GUESTS@/echo64.elf"]  # @QUANTA@, @GUESTS@ substituted
  stdin = "hi\\n"                  # optional; no stdin means empty input
  expect_stdout = "hi\\n"          # exact bytes (UTF-8 of the string)
  expect_stderr = "(?i)error"      # optional regex, re.search in stderr
  expect_exit = 0
  timeout = 30                     # optional, seconds
  expect_timeout = false           # optional: true = must still run at timeout

  [[matrix]]                       many cases from one template
  name = "hello64-p{page[p]}-{mem}M"
  args = ["-m", "{mem}", "-p", "{page[p]}", "-g", "@GUESTS@/hello64.elf"]
  expect_stdout = "paging: {page[kind]}\\nrsp={stack_top}\\n"
  expect_exit = 0
  [matrix.axes]                    every combination of these values
  mem = [2, 4, 8]
  page = [{p = 4, kind = "4K"}, {p = 2, kind = "2M"}]

Template strings (name, args, stdin, expect_stdout, expect_stderr) are
Python str.format templates over the axes (so literal braces are doubled);
a table-valued axis is indexed as {axis[key]}. When there is a `mem` axis
(MiB) the runner adds {mem_bytes} and {stack_top}, the initial stack pointer
quanta gives protected/paged/long guests: hex(mem MiB - reserved_size), with
the top-level key reserved_size (QUANTA_RESERVED_SIZE in quanta/abi.h).

Prints "PASS name" or "FAIL name: why" per case and a final line
"N passed, N failed". Exit status 0 iff every case passed and at least one
ran. It never skips: a missing quanta binary or /dev/kvm fails every case
(run it through tools/kvm-run, which provides /dev/kvm where needed).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import difflib
import itertools
import os
import re
import subprocess
import sys
import tomllib

MIB = 1024 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_RESERVED_SIZE = 0x10000  # QUANTA_RESERVED_SIZE
CASE_KEYS = {"name", "args", "stdin", "expect_stdout", "expect_stderr",
             "expect_exit", "timeout", "expect_timeout"}
TEMPLATE_KEYS = ("name", "stdin", "expect_stdout", "expect_stderr")


class CaseError(Exception):
    """The case table itself is wrong."""


@dataclasses.dataclass
class Case:
    name: str
    args: list[str]
    stdin: str | None
    expect_stdout: str | None
    expect_stderr: str | None
    expect_exit: int | None
    timeout: float
    expect_timeout: bool


def make_case(d: dict, where: str) -> Case:
    unknown = set(d) - CASE_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)}")
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise CaseError(f"{where}: missing name")
    args = d.get("args")
    if not isinstance(args, list) or not all(isinstance(a, (str, int)) for a in args):
        raise CaseError(f"{name}: args must be a list of strings")
    expect_timeout = bool(d.get("expect_timeout", False))
    if not expect_timeout:
        for key in ("expect_stdout", "expect_exit"):
            if key not in d:
                raise CaseError(f"{name}: missing {key}")
    if "expect_stderr" in d:
        try:
            re.compile(d["expect_stderr"])
        except re.error as e:
            raise CaseError(f"{name}: bad expect_stderr regex: {e}") from None
    exit_code = d.get("expect_exit")
    if exit_code is not None and not isinstance(exit_code, int):
        raise CaseError(f"{name}: expect_exit must be an integer")
    return Case(
        name=name,
        args=[str(a) for a in args],
        stdin=d.get("stdin"),
        expect_stdout=d.get("expect_stdout"),
        expect_stderr=d.get("expect_stderr"),
        expect_exit=exit_code,
        timeout=float(d.get("timeout", DEFAULT_TIMEOUT)),
        expect_timeout=expect_timeout,
    )


def expand_matrix(m: dict, reserved_size: int, where: str) -> list[Case]:
    axes = m.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise CaseError(f"{where}: matrix needs a non-empty [matrix.axes] table")
    for axis, values in axes.items():
        if not isinstance(values, list) or not values:
            raise CaseError(f"{where}: axis {axis} must be a non-empty list")
    template = {k: v for k, v in m.items() if k != "axes"}
    names = list(axes)
    cases = []
    for combo in itertools.product(*(axes[n] for n in names)):
        env = dict(zip(names, combo))
        if "mem" in env:
            mem_bytes = int(env["mem"]) * MIB
            env["mem_bytes"] = mem_bytes
            env["stack_top"] = hex(mem_bytes - reserved_size)
        try:
            d = dict(template)
            for key in TEMPLATE_KEYS:
                if isinstance(d.get(key), str):
                    d[key] = d[key].format_map(env)
            d["args"] = [a.format_map(env) if isinstance(a, str) else a
                         for a in d.get("args", [])]
        except (KeyError, IndexError, ValueError) as e:
            raise CaseError(f"{where}: bad template ({e!r})") from None
        cases.append(make_case(d, where))
    return cases


def load_cases(path: str) -> list[Case]:
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    unknown = set(doc) - {"case", "matrix", "reserved_size"}
    if unknown:
        raise CaseError(f"{path}: unknown top-level keys {sorted(unknown)}")
    reserved_size = int(doc.get("reserved_size", DEFAULT_RESERVED_SIZE))
    cases: list[Case] = []
    # Matrices first (the basic boot checks), then the individual cases.
    for i, m in enumerate(doc.get("matrix", [])):
        cases += expand_matrix(m, reserved_size, f"{path}: matrix #{i + 1}")
    for i, c in enumerate(doc.get("case", [])):
        cases.append(make_case(c, f"{path}: case #{i + 1}"))
    seen = set()
    for c in cases:
        if c.name in seen:
            raise CaseError(f"{path}: duplicate case name {c.name}")
        seen.add(c.name)
    return cases


def show(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def stdout_diff(want: bytes, got: bytes, limit: int = 20) -> str:
    lines = list(difflib.unified_diff(
        show(want).splitlines(keepends=True), show(got).splitlines(keepends=True),
        "expected", "actual", n=2))
    out = []
    for line in lines[:limit]:
        # repr-like so a missing final newline or a stray \r is visible
        body = line.rstrip("\n")
        mark = "" if line.endswith("\n") else "  (no newline)"
        out.append("    " + body + mark)
    if len(lines) > limit:
        out.append(f"    ... ({len(lines) - limit} more diff lines)")
    return "\n".join(out)


def tail(b: bytes, n: int = 5) -> str:
    lines = show(b).splitlines()[-n:]
    return "\n".join("    stderr: " + line for line in lines)


def run_case(case: Case, quanta: str, guests: str) -> tuple[bool, str]:
    """Returns (passed, message lines after the PASS/FAIL name)."""
    argv = [quanta] + [a.replace("@QUANTA@", quanta).replace("@GUESTS@", guests)
                       for a in case.args]
    stdin = (case.stdin or "").encode()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as e:
        return False, f": cannot start {argv[0]}: {e}"
    timed_out = False
    try:
        out, err = proc.communicate(stdin, timeout=case.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # Ask politely first so quanta can flush, then kill what is left.
        for sig_fn, grace in ((proc.terminate, 2.0), (proc.kill, 10.0)):
            sig_fn()
            try:
                out, err = proc.communicate(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            return False, ": timed out and could not be killed"

    problems = []
    if case.expect_timeout:
        if not timed_out:
            problems.append(f"expected to still run after {case.timeout:g}s, "
                            f"but exited with {proc.returncode}")
    elif timed_out:
        problems.append(f"timed out after {case.timeout:g}s")
    elif case.expect_exit is not None and proc.returncode != case.expect_exit:
        if proc.returncode < 0:
            problems.append(f"killed by signal {-proc.returncode}, "
                            f"expected exit {case.expect_exit}")
        else:
            problems.append(f"exit {proc.returncode}, expected {case.expect_exit}")
    if case.expect_stderr is not None and not re.search(case.expect_stderr, show(err)):
        problems.append(f"stderr does not match /{case.expect_stderr}/")
    diff = ""
    if case.expect_stdout is not None:
        want = case.expect_stdout.encode()
        if out != want:
            problems.append("stdout differs")
            diff = stdout_diff(want, out)
    if not problems:
        return True, ""
    msg = ": " + "; ".join(problems)
    if diff:
        msg += "\n" + diff
    if err.strip():
        msg += "\n" + tail(err)
    return False, msg


def precondition(quanta: str, guests: str) -> str | None:
    if not os.path.isfile(quanta):
        return f"quanta binary not found: {quanta}"
    if not os.access(quanta, os.X_OK):
        return f"quanta binary not executable: {quanta}"
    if not os.path.isdir(guests):
        return f"guests directory not found: {guests}"
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist (run through tools/kvm-run)"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return f"cannot open /dev/kvm: {e.strerror}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", help="the case table (cases.toml)")
    ap.add_argument("--quanta", help="path of the quanta binary")
    ap.add_argument("--guests", help="directory holding the built guest images")
    ap.add_argument("--filter", help="run only cases whose name matches this regex")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="cases run in parallel (default: CPU count)")
    ap.add_argument("--list", action="store_true", help="print case names and exit")
    opts = ap.parse_args()

    try:
        cases = load_cases(opts.cases)
    except (OSError, tomllib.TOMLDecodeError, CaseError) as e:
        print(f"error: {e}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    if opts.filter:
        try:
            rx = re.compile(opts.filter)
        except re.error as e:
            print(f"error: bad --filter: {e}", file=sys.stderr)
            return 2
        cases = [c for c in cases if rx.search(c.name)]

    if opts.list:
        for c in cases:
            print(c.name)
        return 0

    if not opts.quanta or not opts.guests:
        ap.error("--quanta and --guests are required (except with --list)")
    quanta = os.path.abspath(opts.quanta)
    guests = os.path.abspath(opts.guests)

    if not cases:
        print("error: no cases selected", file=sys.stderr)
        print("0 passed, 0 failed")
        return 1

    why = precondition(quanta, guests)
    if why:
        print(f"error: {why}", file=sys.stderr)
        for c in cases:
            print(f"FAIL {c.name}: not run: {why}")
        print(f"0 passed, {len(cases)} failed")
        return 1

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        # map() yields in table order, so the report is stable under -j.
        for case, (ok, msg) in zip(cases, pool.map(
                lambda c: run_case(c, quanta, guests), cases)):
            if ok:
                passed += 1
                print(f"PASS {case.name}", flush=True)
            else:
                failed += 1
                print(f"FAIL {case.name}{msg}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
