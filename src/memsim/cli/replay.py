"""``memsim replay TRACE``: replay a captured kmem ftrace trace into a booted machine and print
what happened. The engine, and what each event does to the model, is memsim/trace/replay.py;
the benchmark is bench/bench_replay.py."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from memsim.cli.main import config_from_args
from memsim.errors import MemsimError
from memsim.machine import Machine


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", metavar="TRACE",
                   help="ftrace text with kmem events: a tracefs 'trace' file, 'trace-cmd "
                        "report' or 'perf script' output; gzip-compressed is fine")
    p.add_argument("--json", metavar="FILE",
                   help="also write the summary as JSON (event counts per type under "
                        "'events')")
    p.add_argument("--proc", action="append", default=[], metavar="PATH",
                   help="print /proc/PATH of the machine after the replay, e.g. slabinfo, "
                        "meminfo, buddyinfo (repeatable)")
    p.add_argument("--top", type=int, default=15, metavar="N",
                   help="how many caches to list by live bytes (default: 15; -1: all)")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar on stderr even when it is not a terminal")
    p.add_argument("--dmesg", action="store_true", help="print the kernel log at the end")


class _ProgressBar:
    """``replay [#####     ]  45%  58,113 events`` on one line of a stream, redrawn per call."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = False

    def __call__(self, done: int, total: int, events: int) -> None:
        frac = min(done / total, 1.0) if total > 0 else 0.0
        bar = "#" * int(frac * self.WIDTH)
        self.stream.write(f"\rreplay [{bar:<{self.WIDTH}}] {frac:4.0%} {events:>12,} events")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def main(args: argparse.Namespace) -> int:
    from memsim.trace.replay import replay_file

    m = Machine.boot(config_from_args(args))
    for path in args.proc:
        m.proc(path)    # an unknown file is an error before the replay, not after it
    bar = _ProgressBar(sys.stderr) if args.progress or sys.stderr.isatty() else None
    t0 = time.perf_counter()
    try:
        r = replay_file(m, args.trace, bar)
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    summary: dict[str, Any] = {"trace": args.trace, **r.summary(top=args.top)}
    if args.proc:
        summary["proc"] = {path: m.proc(path) for path in args.proc}
    print(format_summary(summary), end="")
    for path, text in summary.get("proc", {}).items():
        print(f"\n==> /proc/{path} <==")
        print(text, end="")
    if args.dmesg:
        print("\n==> dmesg <==")
        print(m.dmesg(), end="")
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(summary, f, indent=2)
                f.write("\n")
        except OSError as e:
            raise MemsimError(f"--json {args.json}: {e.strerror or e}") from None
    # timing goes to stderr so that stdout is the same on every run
    rate = summary["events_total"] / elapsed if elapsed > 0 else 0.0
    print(f"replayed {summary['events_total']:,} events in {elapsed:.2f} s "
          f"({rate:,.0f} events/s)", file=sys.stderr)
    return 0


def _counts(d: dict[str, int]) -> str:
    items = [f"{k} {v:,}" for k, v in d.items() if v]
    return ", ".join(items) if items else "none"


def format_summary(s: dict[str, Any]) -> str:
    """The text report of a replay summary (the dict ``Replayer.summary`` returns)."""
    from memsim.trace.replay import DRIVEN_EVENTS

    mach = s["machine"]
    out = [
        f"replay of {s['trace']}",
        f"machine: {mach['arch']}, {mach['mem_bytes'] >> 20} MiB, {mach['cpus']} CPUs, "
        f"{mach['nodes']} node{'s' if mach['nodes'] != 1 else ''}, {mach['slab']}",
        "",
        f"lines   {s['lines']:>12,}  ({s['comment_lines']:,} comment or blank, "
        f"{s['malformed']['count']:,} malformed)",
        f"events  {s['events_total']:>12,}",
    ]
    events = s["events"]
    for name in sorted(events, key=lambda n: (-events[n], n)):
        note = "" if name in DRIVEN_EVENTS else "  (not replayed)"
        out.append(f"  {name:<24} {events[name]:>10,}{note}")
    mal = s["malformed"]
    if mal["count"]:
        more = ", …" if mal["count"] > len(mal["first_lines"]) else ""
        out.append(f"malformed lines: {mal['count']:,} (line "
                   + ", ".join(str(n) for n in mal["first_lines"]) + more + ")")
    if s["truncated"]:
        out.append(f"input ends early: {s['truncated']}")
    out += [
        "",
        "unmatched frees (allocated before the capture): " + _counts(s["unmatched_frees"]),
        f"kfree(NULL) and other NULL frees: {s['null_frees']:,}",
        "lost frees (a live pointer allocated again; the old object is freed first): "
        + _counts(s["lost_frees"]),
        "allocations that failed in the traced kernel: " + _counts(s["failed_in_trace"]),
        "allocations that failed in the model: " + _counts(s["allocation_failures"]),
    ]
    if s["frees_of_failed_allocations"]:
        out.append(f"frees of allocations the model failed: "
                   f"{s['frees_of_failed_allocations']:,}")
    if s["page_order_mismatches"]:
        out.append(f"page frees of another order than allocated: "
                   f"{s['page_order_mismatches']:,}")
    created, existing = s["caches_created"], s["caches_existing"]
    matched = sum(1 for c in created if c["matched"])
    out += ["", f"caches: {len(created)} created ({matched} with the trace's stride), "
                f"{len(existing)} of the model's own used"]
    for c in s["stride_mismatches"]:
        model = "could not be created" if c["model_size"] is None else \
            f"model stride {c['model_size']} ({c['model_cache']})"
        out.append(f"  stride not matched: {c['name']} bytes_req {c['bytes_req']} "
                   f"bytes_alloc {c['bytes_alloc']}: {model}")
    live = s["live"]
    out += [
        "",
        f"live at the end: {live['objects']:,} objects, {live['bytes_alloc']:,} bytes "
        f"({live['bytes_req']:,} requested); {live['page_blocks']:,} page blocks, "
        f"{live['pages']:,} pages",
    ]
    rows = s["live_by_cache"]
    if rows:
        out.append(f"  {'cache':<28} {'objects':>9} {'bytes':>12} {'requested':>12} "
                   f"{'waste':>10}")
        for r in rows:
            out.append(f"  {r['cache']:<28} {r['objects']:>9,} {r['bytes_alloc']:>12,} "
                       f"{r['bytes_req']:>12,} {r['waste']:>10,}")
    frag = s["internal_fragmentation"]
    out += [
        f"internal fragmentation of the live objects (bytes_alloc - bytes_req): "
        f"{frag['bytes']:,} bytes, {frag['percent']:.2f}% of their bytes",
        "",
        "external fragmentation of the model's zones after the replay",
        "(unusable free index / fragmentation index, as debugfs extfrag prints them):",
    ]
    zones = s["external_fragmentation"]
    if zones:
        orders = list(zones[0]["unusable_index"])
        out.append(f"  {'zone':<16} {'free pages':>11}"
                   + "".join(f" {'order ' + o:>15}" for o in orders))
        for z in zones:
            cells = "".join(
                f" {z['unusable_index'][o]:>7.3f}/{z['fragmentation_index'][o]:<7.3f}"
                for o in orders)
            where = f"Node {z['node']} {z['zone']}"
            out.append(f"  {where:<16} {z['free_pages']:>11,}" + cells)
    return "\n".join(out) + "\n"
