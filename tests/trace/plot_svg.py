#!/usr/bin/env python3
"""quanta plot end to end, without KVM: write a trace in quanta's Chrome
trace format (frac at 70/30 for 3 s, as a real run would record it), draw it
with `quanta plot`, check that the SVG is well-formed XML with the expected
panels, and render it to PNG with rsvg-convert (Debian's librsvg2-bin) and
with quanta itself (-o FILE.png, through librsvg linked in); --plot-style
big has no font under 16 px; bad inputs and outputs get one line, exit 2.

  plot_svg.py --quanta build/src/quanta --rsvg /usr/bin/rsvg-convert --out DIR

Leaves DIR/plot-test.{json,svg,png}, plot-test-quanta.png and
plot-test-big.png for a look. Exit 0 when all checks pass.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
QUANTUM = 10_000_000


def synthetic_trace():
    """Frac 70/30: 7 slices of Neo, 3 of Morpheus, 300 slices, with the
    small host gaps and a few exits a real run has."""
    events = [
        {"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "quanta"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "Neo"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "Morpheus"}},
    ]
    t = 20_000
    for i in range(300):
        vm = 0 if i % 10 < 7 else 1
        dur = QUANTUM + 40_000 + (i * 7919) % 300_000
        events.append({"ph": "X", "cat": "slice", "name": ["Neo", "Morpheus"][vm], "pid": 1,
                       "tid": vm + 1, "ts": t / 1000, "dur": dur / 1000,
                       "args": {"end": "timer", "ran_ns": dur - 30_000, "runs": 3}})
        t += dur + 12_000
    meta = {"policy": "frac", "quantum_ns": QUANTUM, "wall_ns": t, "level": "slices",
            "dropped_exits": 0,
            "vms": [{"name": "Neo", "weight": 70, "target_share_frac": 0.7},
                    {"name": "Morpheus", "weight": 30, "target_share_frac": 0.3}]}
    return {"displayTimeUnit": "ms", "quanta": meta, "traceEvents": events}


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        fail(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quanta", required=True)
    parser.add_argument("--rsvg", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    trace = os.path.join(args.out, "plot-test.json")
    svg = os.path.join(args.out, "plot-test.svg")
    png = os.path.join(args.out, "plot-test.png")
    with open(trace, "w") as f:
        json.dump(synthetic_trace(), f)

    run = subprocess.run([args.quanta, "plot", trace, "-o", svg], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"quanta plot exited {run.returncode}: {run.stderr.strip()}")
    if run.stderr != f"quanta plot: wrote {svg}\n":
        fail(f"expected one 'wrote' line, got {run.stderr!r}")

    # Well-formed XML, an SVG root with a size, the three panels, a curve and
    # a dashed target line per VM, axis labels with units, the legend.
    root = ET.parse(svg).getroot()
    if root.tag != SVG + "svg":
        fail(f"root element is {root.tag}")
    # A viewBox and no fixed size, so the picture scales to its window.
    if root.get("width") or root.get("height"):
        fail("the SVG has a fixed size")
    x0, y0, width, height = (float(v) for v in root.get("viewBox").split())
    texts = [t.text or "" for t in root.iter(SVG + "text")]
    every_text = "\n".join(texts)
    for expected in ["Timeline: when each VM ran, waited and was parked", "Close-up: the first 30 quanta",
                     "Cumulative share of guest CPU time", "time since start (s)",
                     "time since start (ms)", "share of guest time so far",
                     "Neo: target 70%", "Morpheus: target 30%", "70% Neo",
                     "waiting to run", "parked", "one quantum (10 ms)"]:
        if expected not in every_text:
            fail(f"no text '{expected}' in the SVG")
    if len(list(root.iter(SVG + "polyline"))) != 2:
        fail("expected one share curve per VM")
    dashed = [l for l in root.iter(SVG + "line") if l.get("stroke-dasharray")]
    if len(dashed) != 3:
        fail(f"expected two dashed target lines and the legend's, got {len(dashed)}")
    # Target labels stand in the right margin, clear of the curves.
    for t in root.iter(SVG + "text"):
        if t.text in ("70% Neo", "30% Morpheus") and float(t.get("x")) < width - 120:
            fail(f"target label '{t.text}' inside the plot")
    if any(e.tag in (SVG + "script", SVG + "image") for e in root.iter()):
        fail("the SVG is not self-contained")

    # A renderer draws it, at the size the SVG says.
    if not args.rsvg:
        fail("rsvg-convert not found (Debian package librsvg2-bin)")
    render = subprocess.run([args.rsvg, "-o", png, svg], capture_output=True, text=True)
    if render.returncode != 0 or render.stderr.strip():
        fail(f"rsvg-convert: exit {render.returncode}: {render.stderr.strip()}")
    w, h = png_size(png)
    if (w, h) != (round(width), round(height)):
        fail(f"PNG is {w}x{h}, the SVG says {width}x{height}")
    if os.path.getsize(png) < 20_000:
        fail("the PNG is suspiciously small: was anything drawn?")

    # PNG from quanta itself (librsvg linked in), at twice the viewBox.
    qpng = os.path.join(args.out, "plot-test-quanta.png")
    run = subprocess.run([args.quanta, "plot", trace, "-o", qpng], capture_output=True, text=True)
    if run.returncode != 0 or run.stderr != f"quanta plot: wrote {qpng}\n":
        fail(f"quanta plot -o .png: exit {run.returncode}, stderr {run.stderr!r}")
    if png_size(qpng) != (round(2 * width), round(2 * height)):
        fail(f"quanta's PNG is {png_size(qpng)}, expected twice {width}x{height}")

    # For a projector: no font under 16 px.
    big = os.path.join(args.out, "plot-test-big.svg")
    run = subprocess.run([args.quanta, "plot", trace, "-o", big, "--plot-style", "big"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"--plot-style big: exit {run.returncode}: {run.stderr.strip()}")
    sizes = [float(t.get("font-size")) for t in ET.parse(big).getroot().iter(SVG + "text")]
    if not sizes or min(sizes) < 16:
        fail(f"--plot-style big has fonts of {min(sizes)} px")
    subprocess.run([args.rsvg, "-o", big[:-4] + ".png", big], check=True)

    # Bad inputs and outputs: one line each, exit 2, nothing written.
    for argv, message in [
            (["/dev/zero", "-o", os.path.join(args.out, "zero.svg")], "is a device, not a trace file"),
            ([args.out, "-o", os.path.join(args.out, "dir.svg")], "is a directory"),
            ([trace, "-o", os.path.join(args.out, "plot.pdf")], "a plot is written as .svg or .png, not .pdf"),
            ([trace, "-o", os.path.join(args.out, "plot")], "a plot is written as .svg or .png"),
            ([trace, "-o", os.path.join(args.out, "no-such-dir", "p.svg")], "no such directory"),
            ([trace, "--plot-style", "huge"], "huge"),
    ]:
        run = subprocess.run([args.quanta, "plot"] + argv, capture_output=True, text=True, timeout=30)
        if run.returncode != 2 or run.stderr.count("\n") != 1 or message not in run.stderr:
            fail(f"quanta plot {' '.join(argv)}: exit {run.returncode}, stderr {run.stderr!r}")
    for name in ["zero.svg", "dir.svg", "plot.pdf", "plot"]:
        if os.path.exists(os.path.join(args.out, name)):
            fail(f"{name} was written")

    # A file that is not a quanta trace: one line, exit 2.
    bad = os.path.join(args.out, "plot-test-bad.json")
    with open(bad, "w") as f:
        f.write('{"traceEvents": []}')
    run = subprocess.run([args.quanta, "plot", bad, "-o", os.path.join(args.out, "bad.svg")],
                         capture_output=True, text=True)
    if run.returncode != 2 or run.stderr.count("\n") != 1:
        fail(f"bad trace: exit {run.returncode}, stderr {run.stderr!r}")

    print(f"PASS: {svg} is well-formed and renders to {w}x{h} {png}")


if __name__ == "__main__":
    main()
