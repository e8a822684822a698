#!/usr/bin/env python3
"""Run quanta against the guest images and check what comes out.

Cases live in TOML tables (cases.toml, sched-cases.toml), kept apart from
this code; several tables may be given and run as one list:

  [[case]]                         one run of quanta
  name = "echo64-line"
  args = ["-m", "2", "-g", "@GUESTS@/echo64.elf"]  # @QUANTA@, @GUESTS@, @WORK@ substituted
  stdin = "hi\\n"                  # optional; no stdin means empty input
  expect_stdout = "hi\\n"          # exact bytes (UTF-8 of the string)
  expect_stderr = "(?i)error"      # optional regex, re.search in stderr
  expect_exit = 0
  timeout = 30                     # optional, seconds
  expect_timeout = false           # optional: true = must still run at timeout

Further optional keys (for scheduler, signal and report tests):

  expect_stdout_regex = "(?m)^Neo +\\| "
                                   # instead of expect_stdout: a regex that must
                                   # re.search stdout (for output whose length
                                   # varies, e.g. several VMs stopped by time)
  hold_stdin = true                # quanta's stdin is a pipe that gets `stdin`
                                   # (if any) and then stays open, with no more
                                   # data, until quanta exits: a guest reading
                                   # it parks
  send_signal = { after = 2.0, signal = "INT" }
                                   # send SIGINT (or TERM, HUP, ...) to quanta
                                   # this many seconds after it is ready (has
                                   # created a vCPU: a kvm-vcpu descriptor is
                                   # open), if still running; with
                                   # after_stdout = "regex" the seconds count
                                   # from when stdout first matches it
                                   # (quanta's start-up time varies a lot in
                                   # the sandbox)
  max_cpu_fraction = 0.1           # (user + sys CPU time of quanta) / wall
                                   # time from 0.5 s after quanta is ready
                                   # (see send_signal) to its end, sampled from
                                   # /proc/PID/stat, so the start-up (slow
                                   # and load-dependent in the sandbox) is
                                   # left out; must be at
                                   # most this: a parked VM uses no CPU
  min_cpu_fraction = 0.7           # ... at least this (the control: guest
                                   # time counts, a spinning VM shows)
  serial = true                    # run alone, with no other case in
                                   # parallel (timing-sensitive cases)
  stdout_close_after_lines = 1     # like `| head -n1`: keep the first N
                                   # lines of stdout, then close the pipe
  stdout_unread = true             # nobody reads stdout: the pipe fills up
  stderr_full = true               # quanta's stderr is a pipe already full when
                                   # it starts, that nobody reads (a stuck log
                                   # reader): a blocking write to it never
                                   # returns; expect_stderr cannot be used
  [[case.expect_json]]             # checks on a JSON file the run wrote
  file = "stats.json"              # relative to @WORK@
  path = "vms.0.achieved_share_frac"    # dot-separated keys; list items by index
  approx = 0.70                    # |value - approx| <= tolerance (needs both)
  tolerance = 0.02
  min = 0.5                        # value >= min  (any of these may be
  max = 0.9                        # value <= max   combined; at least one)
  equals = "halted"                # value == equals (any JSON value)
  relative_to = "wall_ns"          # optional: check value / (the number at this
                                   # path) instead, e.g. parked_ns / wall_ns

@WORK@ is a fresh, empty directory per case (made only for cases that use
@WORK@ or expect_json): DIR/<case name> under
--workdir DIR (emptied first and kept afterwards for inspection; the KVM
sandbox has a private /tmp, so meson passes a directory inside the build
directory), or a temporary directory removed at the end when --workdir is
not given.

  [[matrix]]                       many cases from one template
  name = "hello64-p{page[p]}-{mem}M"
  args = ["-m", "{mem}", "-p", "{page[p]}", "-g", "@GUESTS@/hello64.elf"]
  expect_stdout = "paging: {page[kind]}\\nrsp={stack_top}\\n"
  expect_exit = 0
  [matrix.axes]                    every combination of these values
  mem = [2, 4, 8]
  page = [{p = 4, kind = "4K"}, {p = 2, kind = "2M"}]

Template strings (name, args, stdin, expect_stdout, expect_stdout_regex,
expect_stderr, and the strings in expect_json entries) are Python
str.format templates over the axes (so literal braces are doubled); a
table-valued axis is indexed as {axis[key]}. In a matrix the numbers of an
expect_json entry (approx, tolerance, min, max) may be written as template
strings, e.g. approx = "{split[a]}", and are converted after formatting.
When there is a `mem` axis (MiB) the runner adds {mem_bytes} and
{stack_top}, the initial stack pointer quanta gives protected/paged/long
guests: hex(mem MiB - reserved_size), with the top-level key reserved_size
(QUANTA_RESERVED_SIZE in quanta/abi.h).

--untimed leaves out the cases that check timings (CPU fractions, approx
or relative_to JSON checks, serial cases) and names them: for builds whose
host code runs slower, such as the sanitizer build (tests/vm/meson.build).

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
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

MIB = 1024 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_RESERVED_SIZE = 0x10000  # QUANTA_RESERVED_SIZE
CASE_KEYS = {"name", "args", "stdin", "expect_stdout", "expect_stderr",
             "expect_exit", "timeout", "expect_timeout",
             "expect_stdout_regex", "hold_stdin", "send_signal",
             "max_cpu_fraction", "min_cpu_fraction", "expect_json", "serial",
             "stdout_close_after_lines", "stdout_unread", "stderr_full"}
TEMPLATE_KEYS = ("name", "stdin", "expect_stdout", "expect_stdout_regex",
                 "expect_stderr")
JSON_CHECK_KEYS = {"file", "path", "relative_to", "approx", "tolerance", "min", "max",
                   "equals"}
JSON_NUMBER_KEYS = ("approx", "tolerance", "min", "max")


class CaseError(Exception):
    """The case table itself is wrong."""


@dataclasses.dataclass
class JsonCheck:
    file: str
    path: str
    relative_to: str | None = None
    approx: float | None = None
    tolerance: float | None = None
    min: float | None = None
    max: float | None = None
    equals: object = None
    has_equals: bool = False


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
    expect_stdout_regex: str | None = None
    hold_stdin: bool = False
    signal_after: float | None = None
    signal_number: int | None = None
    signal_after_stdout: re.Pattern | None = None
    max_cpu_fraction: float | None = None
    min_cpu_fraction: float | None = None
    expect_json: list[JsonCheck] = dataclasses.field(default_factory=list)
    serial: bool = False
    stdout_close_after_lines: int | None = None
    stdout_unread: bool = False
    stderr_full: bool = False


def number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CaseError(f"{what} must be a number")
    try:
        return float(value)
    except ValueError:
        raise CaseError(f"{what} must be a number (got {value!r})") from None


def make_json_check(d, name: str, i: int) -> JsonCheck:
    where = f"{name}: expect_json #{i + 1}"
    if not isinstance(d, dict):
        raise CaseError(f"{where}: must be a table")
    unknown = set(d) - JSON_CHECK_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("file", "path"):
        if not isinstance(d.get(key), str) or not d[key]:
            raise CaseError(f"{where}: missing {key}")
    if os.path.isabs(d["file"]) or ".." in d["file"].split("/"):
        raise CaseError(f"{where}: file must be relative to @WORK@")
    check = JsonCheck(file=d["file"], path=d["path"])
    if "relative_to" in d:
        if not isinstance(d["relative_to"], str) or not d["relative_to"]:
            raise CaseError(f"{where}: relative_to must be a path")
        check.relative_to = d["relative_to"]
    for key in JSON_NUMBER_KEYS:
        if key in d:
            setattr(check, key, number(d[key], f"{where}: {key}"))
    if (check.approx is None) != (check.tolerance is None):
        raise CaseError(f"{where}: approx and tolerance go together")
    if check.tolerance is not None and check.tolerance < 0:
        raise CaseError(f"{where}: tolerance must not be negative")
    if "equals" in d:
        check.equals, check.has_equals = d["equals"], True
    if check.approx is None and check.min is None and check.max is None \
            and not check.has_equals:
        raise CaseError(f"{where}: needs approx+tolerance, min, max or equals")
    if check.relative_to and check.has_equals:
        raise CaseError(f"{where}: relative_to works with approx, min and max, not equals")
    return check


def signal_number(spec, name: str) -> tuple[float, int, re.Pattern | None]:
    if not isinstance(spec, dict) or set(spec) - {"after", "signal", "after_stdout"} \
            or "after" not in spec:
        raise CaseError(f"{name}: send_signal must be {{ after = SECONDS, signal = \"INT\" }}"
                        " (optionally after_stdout = \"regex\")")
    after = number(spec["after"], f"{name}: send_signal.after")
    pattern = None
    if "after_stdout" in spec:
        try:
            pattern = re.compile(spec["after_stdout"])
        except (re.error, TypeError) as e:
            raise CaseError(f"{name}: bad send_signal.after_stdout regex: {e}") from None
    sig = spec.get("signal", "INT")
    if not isinstance(sig, str):
        raise CaseError(f"{name}: send_signal.signal must be a name like \"INT\"")
    sig_name = sig.upper() if sig.upper().startswith("SIG") else "SIG" + sig.upper()
    try:
        return after, int(signal.Signals[sig_name]), pattern
    except KeyError:
        raise CaseError(f"{name}: unknown signal {sig!r}") from None


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
    if "expect_stdout" in d and "expect_stdout_regex" in d:
        raise CaseError(f"{name}: expect_stdout and expect_stdout_regex exclude each other")
    if not expect_timeout:
        if "expect_stdout" not in d and "expect_stdout_regex" not in d:
            raise CaseError(f"{name}: missing expect_stdout (or expect_stdout_regex)")
        if "expect_exit" not in d:
            raise CaseError(f"{name}: missing expect_exit")
    for key in ("expect_stderr", "expect_stdout_regex"):
        if key in d:
            try:
                re.compile(d[key])
            except (re.error, TypeError) as e:
                raise CaseError(f"{name}: bad {key} regex: {e}") from None
    exit_code = d.get("expect_exit")
    if exit_code is not None and not isinstance(exit_code, int):
        raise CaseError(f"{name}: expect_exit must be an integer")
    case = Case(
        name=name,
        args=[str(a) for a in args],
        stdin=d.get("stdin"),
        expect_stdout=d.get("expect_stdout"),
        expect_stderr=d.get("expect_stderr"),
        expect_exit=exit_code,
        timeout=float(d.get("timeout", DEFAULT_TIMEOUT)),
        expect_timeout=expect_timeout,
        expect_stdout_regex=d.get("expect_stdout_regex"),
        hold_stdin=bool(d.get("hold_stdin", False)),
        serial=bool(d.get("serial", False)),
        stdout_unread=bool(d.get("stdout_unread", False)),
        stderr_full=bool(d.get("stderr_full", False)),
    )
    if case.stderr_full and case.expect_stderr is not None:
        raise CaseError(f"{name}: stderr_full leaves nothing to match expect_stderr against")
    if "stdout_close_after_lines" in d:
        lines = d["stdout_close_after_lines"]
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise CaseError(f"{name}: stdout_close_after_lines must be a count of lines")
        if case.stdout_unread:
            raise CaseError(f"{name}: stdout_close_after_lines and stdout_unread exclude each other")
        case.stdout_close_after_lines = lines
    if "send_signal" in d:
        case.signal_after, case.signal_number, case.signal_after_stdout = \
            signal_number(d["send_signal"], name)
        if case.signal_after >= case.timeout:
            raise CaseError(f"{name}: send_signal.after must be less than timeout")
    for key in ("max_cpu_fraction", "min_cpu_fraction"):
        if key in d:
            setattr(case, key, number(d[key], f"{name}: {key}"))
    checks = d.get("expect_json", [])
    if not isinstance(checks, list):
        raise CaseError(f"{name}: expect_json must be an array of tables ([[case.expect_json]])")
    case.expect_json = [make_json_check(c, name, i) for i, c in enumerate(checks)]
    return case


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
            if isinstance(d.get("expect_json"), list):
                d["expect_json"] = [
                    {k: (v.format_map(env) if isinstance(v, str) and k != "equals" else v)
                     for k, v in c.items()} if isinstance(c, dict) else c
                    for c in d["expect_json"]]
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
    return cases


def load_all(paths: list[str]) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in paths:
        for c in load_cases(path):
            if c.name in seen:
                raise CaseError(f"{path}: duplicate case name {c.name}"
                                + (f" (also in {seen[c.name]})" if seen[c.name] != path else ""))
            seen[c.name] = path
            cases.append(c)
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


def tail(b: bytes, n: int = 5, label: str = "stderr") -> str:
    lines = show(b).splitlines()[-n:]
    return "\n".join(f"    {label}: " + line for line in lines)


def work_dir_name(case_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", case_name) or "_"


def lookup(doc, path: str):
    """doc at a dot-separated path; raises KeyError naming the missing step."""
    node = doc
    done = []
    for step in path.split("."):
        if isinstance(node, list):
            try:
                node = node[int(step)]
            except (ValueError, IndexError):
                raise KeyError(f"no item {step!r} in {'.'.join(done) or 'the top'} "
                               f"(a list of {len(node)})") from None
        elif isinstance(node, dict):
            if step not in node:
                raise KeyError(f"no key {step!r} in {'.'.join(done) or 'the top'} "
                               f"(keys: {', '.join(sorted(node)[:12])})")
            node = node[step]
        else:
            raise KeyError(f"{'.'.join(done)} is {json.dumps(node)}, not a table or list")
        done.append(step)
    return node


def is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and not math.isnan(value)


def check_json(checks: list[JsonCheck], work: str) -> list[str]:
    problems = []
    docs: dict[str, object] = {}
    for c in checks:
        if c.file not in docs:
            path = os.path.join(work, c.file)
            try:
                with open(path, encoding="utf-8") as f:
                    docs[c.file] = json.load(f)
            except FileNotFoundError:
                docs[c.file] = OSError(f"{c.file} was not written")
            except (OSError, ValueError) as e:
                docs[c.file] = OSError(f"{c.file}: cannot read JSON: {e}")
        doc = docs[c.file]
        if isinstance(doc, OSError):
            msg = str(doc)
            if msg not in problems:
                problems.append(msg)
            continue
        where = f"{c.file}:{c.path}"
        try:
            value = lookup(doc, c.path)
        except KeyError as e:
            problems.append(f"{where}: {e.args[0]}")
            continue
        shown = json.dumps(value)
        if c.has_equals and value != c.equals:
            problems.append(f"{where} = {shown}, expected {json.dumps(c.equals)}")
            continue
        numeric = (c.approx, c.min, c.max)
        if all(x is None for x in numeric):
            continue
        if not is_number(value):
            problems.append(f"{where} = {shown}, expected a number")
            continue
        if c.relative_to:
            try:
                base = lookup(doc, c.relative_to)
            except KeyError as e:
                problems.append(f"{c.file}:{c.relative_to}: {e.args[0]}")
                continue
            if not is_number(base) or base == 0:
                problems.append(f"{c.file}:{c.relative_to} = {json.dumps(base)}, "
                                "expected a non-zero number")
                continue
            where = f"{where} / {c.relative_to} ({value:.6g} / {base:.6g})"
            value = value / base
        if c.approx is not None and abs(value - c.approx) > c.tolerance:
            problems.append(f"{where} = {value:.6g}, expected {c.approx:g} ± {c.tolerance:g} "
                            f"(off by {value - c.approx:+.4g})")
        if c.min is not None and value < c.min:
            problems.append(f"{where} = {value:.6g}, expected >= {c.min:g}")
        if c.max is not None and value > c.max:
            problems.append(f"{where} = {value:.6g}, expected <= {c.max:g}")
    return problems


@dataclasses.dataclass
class RunResult:
    returncode: int | None = None   # as Popen: -N when killed by signal N
    out: bytes = b""
    err: bytes = b""
    timed_out: bool = False
    wall: float = 0.0
    cpu: float = 0.0                # user + sys seconds of quanta
    # (seconds since start, user + sys seconds) every 0.1 s while it runs
    cpu_samples: list = dataclasses.field(default_factory=list)
    ready_at: float | None = None   # seconds since start: first vCPU created
    signal_at: float | None = None  # seconds since start: send_signal sent
    signal_sent: bool = False
    stdout_seen_at: float | None = None
    error: str | None = None


def run_process(argv: list[str], case: Case) -> RunResult:
    """Runs argv with the case's stdin, signal and timeout; reaps it with
    wait4 for its rusage. A waiter thread blocks in waitid(WNOWAIT) and
    reaps under a lock, and signals are sent under the same lock, so a
    signal never reaches a reused pid."""
    res = RunResult()
    data = (case.stdin or "").encode()
    start = time.monotonic()
    stderr_target, full_pipe = subprocess.PIPE, None
    if case.stderr_full:
        full_pipe = os.pipe()
        os.set_blocking(full_pipe[1], False)
        for size in (65536, 1):
            try:
                while True:
                    os.write(full_pipe[1], b"x" * size)
            except BlockingIOError:
                pass
        os.set_blocking(full_pipe[1], True)
        stderr_target = full_pipe[1]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=stderr_target)
    except OSError as e:
        res.error = f"cannot start {argv[0]}: {e}"
        return res
    finally:
        if full_pipe:
            os.close(full_pipe[1])  # the read end stays open, unread, until the end

    lock = threading.Lock()
    done = threading.Event()
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    # Set when stdout matches send_signal.after_stdout (at once without one).
    stdout_seen = threading.Event()
    if case.signal_after_stdout is None:
        stdout_seen.set()

    def reader(stream, key):
        if stream is None:  # stderr_full
            done.wait()
            os.close(full_pipe[0])
            return
        if key == "out" and case.stdout_unread:
            done.wait()
            stream.close()
            return
        keep = case.stdout_close_after_lines if key == "out" else None
        with stream:
            if keep == 0:
                return
            while block := stream.read1(65536):
                chunks[key].append(block)
                if keep is not None and b"".join(chunks[key]).count(b"\n") >= keep:
                    text = b"".join(chunks[key])
                    ends = [i for i, c in enumerate(text) if c == ord("\n")]
                    chunks[key] = [text[:ends[keep - 1] + 1]]
                    return  # closing the pipe: quanta's next write fails (EPIPE)
                if key == "out" and not stdout_seen.is_set() and \
                        case.signal_after_stdout.search(show(b"".join(chunks[key]))):
                    res.stdout_seen_at = time.monotonic()
                    stdout_seen.set()

    def writer():
        try:
            if data:
                proc.stdin.write(data)
                proc.stdin.flush()
            if case.hold_stdin:
                done.wait()
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def waiter():
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        with lock:
            _, status, usage = os.wait4(proc.pid, 0)
            res.wall = time.monotonic() - start
            res.returncode = os.waitstatus_to_exitcode(status)
            res.cpu = usage.ru_utime + usage.ru_stime
            proc.returncode = res.returncode  # so Popen never waits for it again
            done.set()

    # Ready: quanta has created a vCPU (a kvm-vcpu descriptor is open), so
    # loading and VM setup are over and the run loop is about to start.
    ready = threading.Event()

    def sampler():
        ticks = os.sysconf("SC_CLK_TCK")
        while not done.wait(0.05 if not ready.is_set() else 0.1):
            if not ready.is_set():
                try:
                    links = [os.readlink(f"/proc/{proc.pid}/fd/{fd}")
                             for fd in os.listdir(f"/proc/{proc.pid}/fd")]
                except OSError:
                    links = []  # a descriptor closed while listing: try again
                if any("kvm-vcpu" in link for link in links):
                    res.ready_at = time.monotonic() - start
                    ready.set()
            try:
                with open(f"/proc/{proc.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # utime and stime are fields 14 and 15 (1-based; after the
            # comm field's closing parenthesis they are the 12th and 13th).
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            with lock:
                if not done.is_set():
                    res.cpu_samples.append((time.monotonic() - start, cpu))

    threads = [threading.Thread(target=reader, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=sampler, daemon=True),
               threading.Thread(target=reader, args=(proc.stderr, "err"), daemon=True),
               threading.Thread(target=writer, daemon=True),
               threading.Thread(target=waiter, daemon=True)]
    for t in threads:
        t.start()

    def send(sig: int) -> bool:
        with lock:
            if done.is_set():
                return False
            os.kill(proc.pid, sig)
            return True

    deadline = start + case.timeout
    if case.signal_after is not None:
        # Wait for the stdout pattern (without one: for quanta to be ready),
        # then the delay; give up at the deadline or when quanta exits.
        gate = stdout_seen if case.signal_after_stdout is not None else ready
        while not gate.is_set() and not done.is_set() \
                and time.monotonic() < deadline:
            gate.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        if gate.is_set():
            since = res.stdout_seen_at if case.signal_after_stdout is not None \
                else start + res.ready_at
            due = min(since + case.signal_after, deadline)
            if not done.wait(max(0.0, due - time.monotonic())) and due < deadline:
                res.signal_at = time.monotonic() - start
                res.signal_sent = send(case.signal_number)
    if not done.wait(max(0.0, deadline - time.monotonic())):
        res.timed_out = True
        # Ask politely first so quanta can flush, then kill what is left.
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 10.0)):
            send(sig)
            if done.wait(grace):
                break
        else:
            res.error = "timed out and could not be killed"
            return res
    for t in threads:
        t.join(timeout=10.0)
    res.out = b"".join(chunks["out"])
    res.err = b"".join(chunks["err"])
    return res


def steady_cpu(samples: list, ready_at: float | None, signal_at: float | None,
               settle: bool) -> tuple[float, float] | None:
    """(CPU seconds, wall seconds) of quanta's steady state: start-up
    (loading, VM creation, the first entries) is slow and load-dependent
    in the sandbox, and shutdown (report, JSON) is not what the cases
    check. The window ends at the signal (or the last sample) and starts
    0.5 s after quanta was ready (last 40% of the run if that was never
    seen); with settle (for max_cpu_fraction), at the first moment after
    that when quanta's CPU time stood still for 0.3 s, or 2 s after ready
    if it never did, so a quanta that keeps polling is still caught.
    None when too short to tell."""
    end = [x for x in samples if signal_at is None or x[0] <= signal_at]
    if len(end) < 2:
        return None
    end_t, end_cpu = end[-1]
    begin = ready_at + 0.5 if ready_at is not None else 0.6 * end_t
    if settle and ready_at is not None:
        limit = ready_at + 2.0
        for i, (t, cpu) in enumerate(end):
            before = [c for u, c in end[:i] if u <= t - 0.3]
            if begin <= t <= limit and before and before[-1] == cpu:
                limit = t
                break
        begin = max(begin, limit)
    first = next((x for x in end if x[0] >= begin), None)
    if first is None or end_t - first[0] < 0.3:
        return None
    return end_cpu - first[1], end_t - first[0]


def run_case(case: Case, quanta: str, guests: str, workroot: str,
             measured: dict | None = None) -> tuple[bool, str]:
    """Returns (passed, message lines after the PASS/FAIL name); fills
    `measured` (when given) with wall and cpu seconds of the run."""
    work = os.path.join(workroot, work_dir_name(case.name))
    if case.expect_json or any("@WORK@" in a for a in case.args):
        try:
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
        except OSError as e:
            return False, f": cannot create work directory {work}: {e}"

    def subst(a: str) -> str:
        return a.replace("@QUANTA@", quanta).replace("@GUESTS@", guests).replace("@WORK@", work)

    argv = [quanta] + [subst(a) for a in case.args]
    r = run_process(argv, case)
    if measured is not None:
        measured.update(wall=r.wall, cpu=r.cpu)
    if r.error:
        return False, ": " + r.error

    problems = []
    if case.signal_after is not None and not r.signal_sent and not r.timed_out:
        problems.append(f"exited with {r.returncode} before the signal was due "
                        f"({case.signal_after:g}s"
                        + (f" after stdout matched /{case.signal_after_stdout.pattern}/"
                           if case.signal_after_stdout else "") + ")")
    elif case.signal_after is not None and r.timed_out and not r.signal_sent:
        problems.append("the signal was never sent"
                        + (f" (stdout never matched /{case.signal_after_stdout.pattern}/)"
                           if case.signal_after_stdout else ""))
    if case.expect_timeout:
        if not r.timed_out:
            problems.append(f"expected to still run after {case.timeout:g}s, "
                            f"but exited with {r.returncode}")
    elif r.timed_out:
        problems.append(f"timed out after {case.timeout:g}s")
    elif case.expect_exit is not None and r.returncode != case.expect_exit:
        if r.returncode < 0:
            problems.append(f"killed by signal {-r.returncode}, "
                            f"expected exit {case.expect_exit}")
        else:
            problems.append(f"exit {r.returncode}, expected {case.expect_exit}")
    if case.expect_stderr is not None and not re.search(case.expect_stderr, show(r.err)):
        problems.append(f"stderr does not match /{case.expect_stderr}/")
    diff = ""
    show_stdout = False
    if case.expect_stdout is not None:
        want = case.expect_stdout.encode()
        if r.out != want:
            problems.append("stdout differs")
            diff = stdout_diff(want, r.out)
    if case.expect_stdout_regex is not None \
            and not re.search(case.expect_stdout_regex, show(r.out)):
        problems.append(f"stdout does not match /{case.expect_stdout_regex}/")
        show_stdout = True
    if case.max_cpu_fraction is not None or case.min_cpu_fraction is not None:
        window = steady_cpu(r.cpu_samples, r.ready_at, r.signal_at,
                            settle=case.max_cpu_fraction is not None)
        if window is None:
            problems.append(f"too few CPU samples ({len(r.cpu_samples)}) to measure "
                            "the CPU fraction: the run was too short")
        else:
            cpu, wall = window
            fraction = cpu / wall
            what = (f"used {cpu:.3f}s CPU in the last {wall:.3f}s of {r.wall:.3f}s wall "
                    f"(ready after {r.ready_at if r.ready_at is not None else float('nan'):.3f}s)"
                    f" = {fraction:.3f}")
            if case.max_cpu_fraction is not None and fraction > case.max_cpu_fraction:
                problems.append(f"{what}, expected <= {case.max_cpu_fraction:g}")
            if case.min_cpu_fraction is not None and fraction < case.min_cpu_fraction:
                problems.append(f"{what}, expected >= {case.min_cpu_fraction:g}")
    if case.expect_json:
        problems += check_json(case.expect_json, work)
    if not problems:
        return True, ""
    msg = ": " + "; ".join(problems)
    if diff:
        msg += "\n" + diff
    if show_stdout and r.out.strip():
        msg += "\n" + tail(r.out, 8, "stdout")
    if r.err.strip():
        msg += "\n" + tail(r.err, 8 if case.expect_json else 5)
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


def batches(cases: list[Case]) -> list[list[Case]]:
    """Consecutive non-serial cases share a batch; a serial case is alone."""
    out: list[list[Case]] = []
    for c in cases:
        if c.serial or not out or out[-1][0].serial:
            out.append([c])
        else:
            out[-1].append(c)
    return out


def timed(case: Case) -> bool:
    """Whether a case checks timings: CPU use, shares within a tolerance,
    ratios of times, or it must run alone because it is timing-sensitive."""
    return (case.max_cpu_fraction is not None or case.min_cpu_fraction is not None
            or case.serial
            or any(c.approx is not None or c.relative_to for c in case.expect_json))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+", help="case tables (cases.toml ...)")
    ap.add_argument("--quanta", help="path of the quanta binary")
    ap.add_argument("--guests", help="directory holding the built guest images")
    ap.add_argument("--workdir", help="where each case's @WORK@ directory is made "
                    "(kept); default: a temporary directory, removed at the end")
    ap.add_argument("--filter", help="run only cases whose name matches this regex")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="cases run in parallel (default: CPU count)")
    ap.add_argument("--list", action="store_true", help="print case names and exit")
    ap.add_argument("--untimed", action="store_true",
                    help="leave out the cases whose expectations are timings (see timed()), "
                    "for builds that run slower, such as the sanitizer build; says which")
    opts = ap.parse_args()

    try:
        cases = load_all(opts.cases)
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
    if opts.untimed:
        left_out = [c.name for c in cases if timed(c)]
        cases = [c for c in cases if not timed(c)]
        if left_out:
            print(f"left out {len(left_out)} timed cases (--untimed): {' '.join(left_out)}", flush=True)

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
    if not why and opts.workdir:
        try:
            os.makedirs(opts.workdir, exist_ok=True)
        except OSError as e:
            why = f"cannot create --workdir {opts.workdir}: {e.strerror}"
    if why:
        print(f"error: {why}", file=sys.stderr)
        for c in cases:
            print(f"FAIL {c.name}: not run: {why}")
        print(f"0 passed, {len(cases)} failed")
        return 1

    if opts.workdir:
        workroot, cleanup = os.path.abspath(opts.workdir), None
    else:
        workroot = cleanup = tempfile.mkdtemp(prefix="quanta-vm-")

    passed = failed = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            for batch in batches(cases):
                # map() yields in table order, so the report is stable under -j.
                for case, (ok, msg) in zip(batch, pool.map(
                        lambda c: run_case(c, quanta, guests, workroot), batch)):
                    if ok:
                        passed += 1
                        print(f"PASS {case.name}", flush=True)
                    else:
                        failed += 1
                        print(f"FAIL {case.name}{msg}", flush=True)
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
