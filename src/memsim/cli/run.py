"""``memsim run [SCENARIO]``: the main job — boot a machine, run the tour (or one scenario),
print what happened and the key /proc files."""

from __future__ import annotations

import argparse

from memsim.cli.main import config_from_args
from memsim.machine import Machine

KEY_PROC_FILES = ("buddyinfo", "pagetypeinfo", "zoneinfo", "meminfo")


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help="a built-in scenario (default: the whole tour); see --list")
    p.add_argument("--list", action="store_true", help="list the built-in scenarios")
    p.add_argument("--proc", action="append", default=None, metavar="PATH",
                   help="/proc file(s) to print at the end (default: "
                        + ", ".join(KEY_PROC_FILES) + ")")
    p.add_argument("--no-proc", action="store_true", help="print no /proc files")
    p.add_argument("--dmesg", action="store_true", help="print the kernel log at the end")
    p.add_argument("--trace", metavar="FILE",
                   help="record the kmem tracepoints during the run and write them to FILE "
                        "as a tracefs 'trace' file (ftrace text)")


def main(args: argparse.Namespace) -> int:
    from memsim.scenarios import SCENARIOS, run_scenario, tour

    if args.list:
        for name, fn in SCENARIOS.items():
            print(f"{name:12s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    m = Machine.boot(config_from_args(args))
    writer = None
    if args.trace:
        from memsim.trace.ftrace import FtraceWriter
        writer = FtraceWriter(m.tp.hasher, nr_cpus=m.nr_cpus)
        m.tp.attach_all(writer)
    if args.scenario:
        run_scenario(m, args.scenario)
    else:
        tour(m)
    if writer is not None:
        m.tp.detach_all(writer)
        try:
            with open(args.trace, "w") as f:
                writer.write(f)
        except OSError as e:
            from memsim.errors import MemsimError
            raise MemsimError(f"--trace {args.trace}: {e.strerror}") from None
        print(f"\nwrote {writer.entries} trace events to {args.trace}")
    if not args.no_proc:
        for path in args.proc or KEY_PROC_FILES:
            print(f"\n==> /proc/{path} <==")
            print(m.proc(path), end="")
    if args.dmesg:
        print("\n==> dmesg <==")
        print(m.dmesg(), end="")
    return 0
