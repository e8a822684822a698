#!/usr/bin/env python3
"""The guest SDK as a guest author outside the tree uses it.

  check_sdk.py --build-dir BUILD --quanta BUILD/src/quanta --work DIR --kvm-run tools/kvm-run

Installs the SDK (meson install --tags guest-sdk) into DIR/stage, builds
guests from a source file in DIR with nothing but the installed files:
quanta-guest-cc for 64-bit and 32-bit ELF, 64-bit flat and 16-bit images,
and the pkg-config one-liner; and links a Linux program with plain
`cc -static`. Then runs them all under quanta, in one tools/kvm-run (the
sandbox boots once): each prints its line and main's return value is its
exit status; the Linux program is refused with the linker-script hint.
Exit 0 when every check passes.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

GUEST = r"""
#include <quanta/guest.h>

int main(void)
{
    uint32_t status = 0;
    for (int c = q_getc(); c >= '0' && c <= '9'; c = q_getc())
        status = status * 10 + (uint32_t)(c - '0');
    q_puts("out of tree, returning ");
    q_put_u64(status);
    q_putc('\n');
    return (int)status;
}
"""

LINUX_PROGRAM = r"""
#include <stdio.h>
int main(void) { puts("a Linux program"); return 0; }
"""


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def build(args):
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    stage = os.path.join(work, "stage")
    sh(["meson", "install", "-C", args.build_dir, "--no-rebuild", "--quiet",
        "--tags", "guest-sdk", "--destdir", stage])
    prefix = None
    for root, _dirs, files in os.walk(stage):
        if "quanta-guest-cc" in files:
            prefix = os.path.dirname(root)
    if prefix is None:
        sys.exit("FAIL: meson install put no quanta-guest-cc under " + stage)
    wrapper = os.path.join(prefix, "bin", "quanta-guest-cc")
    pc_dir = os.path.join(prefix, "share", "pkgconfig")
    for f in [wrapper, os.path.join(pc_dir, "quanta-guest.pc")]:
        if not os.path.isfile(f):
            sys.exit("FAIL: not installed: " + f)

    src = os.path.join(work, "guest.c")
    with open(src, "w") as f:
        f.write(GUEST)
    # The installed wrapper must find the installed SDK on its own, not
    # this source tree's.
    env = {k: v for k, v in os.environ.items() if k != "QUANTA_GUEST_SDK"}
    out = lambda name: os.path.join(work, name)
    sh([wrapper, "-O2", "-Wall", "-Werror", src, "-o", out("g64.elf")], env=env)
    sh([wrapper, "-m32", "-O2", src, "-o", out("g32.elf")], env=env)
    sh([wrapper, "-O2", src, "-o", out("g64.bin")], env=env)
    sh([wrapper, "-m16", "-O2", src, "-o", out("g16.bin")], env=env)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "quanta-guest"], check=True,
                           capture_output=True, text=True,
                           env=dict(env, PKG_CONFIG_PATH=pc_dir)).stdout.split()
    if not any(os.path.realpath(prefix) in os.path.realpath(f.lstrip("-I")) for f in flags):
        sys.exit(f"FAIL: pkg-config flags do not point into the staged prefix: {flags}")
    sh(["cc"] + flags + ["-O2", src, "-o", out("pc64.elf")])
    sh(["cc", "-static", "-O2", "-x", "c", "-", "-o", out("linux.elf")],
       input=LINUX_PROGRAM.encode())

    runs = []
    for image, mode in [("g64.elf", "long"), ("g32.elf", "protected"),
                        ("g64.bin", "long"), ("g16.bin", "real"), ("pc64.elf", "long")]:
        runs.append({"name": f"{image} returns 0", "args": ["--mode", mode, "-g", out(image)],
                     "stdin": "0\n", "stdout": "out of tree, returning 0\n",
                     "stderr": "halted after", "exit": 0})
        runs.append({"name": f"{image} returns 42", "args": ["--mode", mode, "-g", out(image)],
                     "stdin": "42\n", "stdout": "out of tree, returning 42\n",
                     "stderr": "exited with status 42 after", "exit": 1})
    runs.append({"name": "gcc -static image", "args": ["-g", out("linux.elf")], "stdin": "",
                 "stdout": "", "stderr": "linked at 0x400000 like a Linux program: link guests "
                 "with the SDK's linker script", "exit": 2})
    with open(out("runs.json"), "w") as f:
        json.dump(runs, f)
    return work


def run(args):
    with open(os.path.join(args.work, "runs.json")) as f:
        runs = json.load(f)
    failed = 0
    for r in runs:
        p = subprocess.run([args.quanta] + r["args"], input=r["stdin"].encode(),
                           capture_output=True, timeout=60)
        stdout, stderr = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        why = []
        if stdout != r["stdout"]:
            why.append(f"stdout {stdout!r}, expected {r['stdout']!r}")
        if r["stderr"] not in stderr:
            why.append(f"stderr {stderr!r} lacks {r['stderr']!r}")
        if p.returncode != r["exit"]:
            why.append(f"exit {p.returncode}, expected {r['exit']}")
        if why:
            failed += 1
            print(f"FAIL {r['name']}: " + "; ".join(why))
        else:
            print(f"PASS {r['name']}")
    print(f"{len(runs) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir")
    ap.add_argument("--quanta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kvm-run")
    ap.add_argument("--run-only", action="store_true", help="(inside kvm-run) only run the built guests")
    args = ap.parse_args()
    if args.run_only:
        return run(args)
    work = build(args)
    return subprocess.run([args.kvm_run, "--rw", work, "--", sys.executable, os.path.abspath(__file__),
                           "--quanta", os.path.abspath(args.quanta), "--work", work,
                           "--run-only"]).returncode


if __name__ == "__main__":
    sys.exit(main())
