#!/usr/bin/env python3
"""run.py with files: fixtures made in @WORK@ before a case runs, and the
files left there checked after it (for the file device, port 0x278).

Takes exactly run.py's arguments and case tables; cases may use two more
keys (file-cases.toml uses them):

  [case.files]                     made in @WORK@ (emptied first) before quanta starts
  "shared.txt" = "text\\n"          a regular file with this text (UTF-8)
  "evil.local1" = { symlink = "@WORK@/victim" }
                                   a symlink (@WORK@ substituted in the target)

  [case.expect_files]              checked in @WORK@ after quanta exits
  "shared.txt" = "text\\n"          exists with exactly this text
  "out.local1" = { size = 100 }    exists with this size in bytes
  "x.local2" = false               does not exist (not even as a dangling symlink)

  tmpfs = { dir = "full", size = "64k" }
                                   mount a tmpfs of this size at @WORK@/DIR
                                   before the fixtures are made (a full disk;
                                   needs root, as in the KVM sandbox), and
                                   unmount it after the checks

  cwd = "@WORK@"                   run quanta in @WORK@ (for relative -f paths,
                                   as the assignments' users give them); the
                                   --quanta and --guests paths are made
                                   absolute for it

Names are relative to @WORK@ and may not contain "..". Everything else
(output, exit status, signals, JSON checks) is run.py's; a failed file
check turns a PASS into "FAIL name: ...".

It extends run.py in place (its make_case, run_case and run_process), so
run.py itself needs no change; the two keys could move into run.py as they
are, and this file would go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (tests/vm/run.py)

FILE_KEYS = {"files", "expect_files", "cwd", "tmpfs"}
# case name -> (fixtures, expectations)
extras: dict[str, tuple[dict, dict]] = {}
# cases run in their @WORK@
in_work: set[str] = set()
# case name -> (directory under @WORK@, size) of its tmpfs
tmpfs: dict[str, tuple[str, str]] = {}


def check_name(name, where: str) -> str:
    if not isinstance(name, str) or not name or os.path.isabs(name) \
            or ".." in name.split("/"):
        raise run.CaseError(f"{where}: file name {name!r} must be relative to @WORK@")
    return name


def parse_files(d, name: str) -> dict:
    if not isinstance(d, dict):
        raise run.CaseError(f"{name}: files must be a table of name = text or {{ symlink = TARGET }}")
    out = {}
    for key, value in d.items():
        check_name(key, f"{name}: files")
        if isinstance(value, str):
            out[key] = ("text", value)
        elif isinstance(value, dict) and set(value) == {"symlink"} \
                and isinstance(value["symlink"], str):
            out[key] = ("symlink", value["symlink"])
        else:
            raise run.CaseError(f"{name}: files.{key} must be a string or {{ symlink = TARGET }}")
    return out


def parse_expect(d, name: str) -> dict:
    if not isinstance(d, dict):
        raise run.CaseError(f"{name}: expect_files must be a table of name = text, "
                            "{ size = N } or false")
    out = {}
    for key, value in d.items():
        check_name(key, f"{name}: expect_files")
        if isinstance(value, str):
            out[key] = ("text", value)
        elif value is False:
            out[key] = ("absent", None)
        elif isinstance(value, dict) and set(value) == {"size"} \
                and isinstance(value["size"], int) and not isinstance(value["size"], bool):
            out[key] = ("size", value["size"])
        else:
            raise run.CaseError(f"{name}: expect_files.{key} must be a string, "
                                "{ size = N } or false")
    return out


run.CASE_KEYS = set(run.CASE_KEYS) | FILE_KEYS
_make_case = run.make_case


def make_case(d: dict, where: str):
    plain = {k: v for k, v in d.items() if k not in FILE_KEYS}
    case = _make_case(plain, where)
    extras[case.name] = (parse_files(d.get("files", {}), case.name),
                         parse_expect(d.get("expect_files", {}), case.name))
    if "cwd" in d:
        if d["cwd"] != "@WORK@":
            raise run.CaseError(f"{case.name}: cwd may only be \"@WORK@\"")
        in_work.add(case.name)
    if "tmpfs" in d:
        t = d["tmpfs"]
        if not isinstance(t, dict) or set(t) != {"dir", "size"} or \
                not all(isinstance(v, str) for v in t.values()):
            raise run.CaseError(f"{case.name}: tmpfs must be {{ dir = \"NAME\", size = \"64k\" }}")
        tmpfs[case.name] = (check_name(t["dir"], f"{case.name}: tmpfs"), t["size"])
    return case


run.make_case = make_case

# run_case empties @WORK@ and then calls run_process: the fixtures are made
# in between, in the work directory run_case names (kept per thread).
_current = threading.local()
_run_process = run.run_process
_run_case = run.run_case


def mount_tmpfs(work: str, name: str) -> str | None:
    if name not in tmpfs:
        return None
    sub, size = tmpfs[name]
    path = os.path.join(work, sub)
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot mount a tmpfs at {path} (needs root): {done.stderr.strip()}"
    return None


def unmount_tmpfs(work: str, name: str) -> None:
    if name in tmpfs:
        subprocess.run(["umount", os.path.join(work, tmpfs[name][0])], capture_output=True)


def make_fixtures(work: str, files: dict) -> str | None:
    try:
        for name, (kind, value) in files.items():
            path = os.path.join(work, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if kind == "text":
                with open(path, "w", encoding="utf-8") as f:
                    f.write(value)
            else:
                os.symlink(value.replace("@WORK@", work), path)
    except OSError as e:
        return f"cannot make fixture files in {work}: {e}"
    return None


def run_process(argv, case):
    work = getattr(_current, "work", None)
    if work is not None:
        why = mount_tmpfs(work, case.name) or make_fixtures(work, extras.get(case.name, ({}, {}))[0])
        if why:
            res = run.RunResult()
            res.error = why
            return res
        if case.name in in_work:
            # env -C execs quanta in place: the pid, signals and rusage
            # are quanta's own.
            argv = ["env", "-C", work, "--"] + list(argv)
    return _run_process(argv, case)


def shown(data: bytes, limit: int = 200) -> str:
    text = run.show(data)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_files(work: str, expect: dict) -> list[str]:
    problems = []
    for name, (kind, value) in expect.items():
        path = os.path.join(work, name)
        if kind == "absent":
            if os.path.lexists(path):
                problems.append(f"{name} exists, expected no such file")
            continue
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            problems.append(f"{name} was not written")
            continue
        except OSError as e:
            problems.append(f"{name}: cannot read: {e.strerror}")
            continue
        if kind == "size" and len(data) != value:
            problems.append(f"{name} has {len(data)} bytes, expected {value}")
        elif kind == "text" and data != value.encode():
            problems.append(f"{name} = {shown(data)}, expected {shown(value.encode())}")
    return problems


def run_case(case, quanta, guests, workroot, measured=None):
    work = os.path.join(workroot, run.work_dir_name(case.name))
    _current.work = work
    try:
        ok, msg = _run_case(case, quanta, guests, workroot, measured)
    finally:
        _current.work = None
    if msg.startswith(": not run") or msg.startswith(": cannot"):
        unmount_tmpfs(work, case.name)
        return ok, msg
    problems = check_files(work, extras.get(case.name, ({}, {}))[1])
    unmount_tmpfs(work, case.name)
    if not problems:
        return ok, msg
    files_msg = "; ".join(problems)
    if ok:
        return False, ": " + files_msg
    first, _, rest = msg.partition("\n")
    return False, first + "; " + files_msg + ("\n" + rest if rest else "")


run.run_process = run_process
run.run_case = run_case

def absolute_paths(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in ("--quanta", "--guests"):
            out[i + 1] = os.path.abspath(out[i + 1])
    return out


if __name__ == "__main__":
    sys.argv = absolute_paths(sys.argv)
    sys.exit(run.main())
