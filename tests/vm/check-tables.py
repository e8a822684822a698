#!/usr/bin/env python3
"""Checks the VM case tables without KVM: every table loads (run.py's own
loader: unknown keys, bad templates, duplicate names), and where two VMs
stop independently the expectation accepts their stop lines in either
order (the order is not promised: issue 12 H, pc-demo-seed42-rr-1ms).

Usage: check-tables.py TABLE.toml...   Prints one line per problem; exit 1
if any.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

# file-run.py extends run.py's loader with the file keys when imported.
_spec = importlib.util.spec_from_file_location("file_run", os.path.join(HERE, "file-run.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))

# Cases whose two VMs' exit lines may come in either order, with the two
# lines a run may print.
ORDER_FREE = {
    re.compile(r"^pc-demo-seed42-"): (
        "quanta: consumer: exited with status 0 after 1234 exits",
        "quanta: producer: exited with status 0 after 987 exits",
    ),
}


def main() -> int:
    problems = []
    cases = run.load_all(sys.argv[1:])
    checked = 0
    for case in cases:
        for pattern, lines in ORDER_FREE.items():
            if not pattern.search(case.name):
                continue
            checked += 1
            for order in (lines, lines[::-1]):
                stderr = "quanta: note\n" + "\n".join(order) + "\n"
                if not re.search(case.expect_stderr or "", stderr):
                    problems.append(f"{case.name}: expect_stderr rejects the exit lines in the order "
                                    f"{[line.split(':')[1].strip() for line in order]}")
            if re.search(case.expect_stderr or "", "quanta: producer: exited with status 0 after 1 exits\n"):
                problems.append(f"{case.name}: expect_stderr accepts a run without the consumer's exit")
    if checked == 0:
        problems.append("no order-free case found: the table or this check is out of date")
    for p in problems:
        print(p)
    print(f"{len(cases)} cases loaded, {checked} checked for order-free stop lines, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
