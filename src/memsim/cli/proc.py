"""``memsim proc PATH``: print a /proc file of the model."""

from __future__ import annotations

import argparse

from memsim.cli.main import config_from_args
from memsim.errors import MemsimError
from memsim.machine import Machine


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=None,
                   help="file under /proc, e.g. buddyinfo, zoneinfo, meminfo, vmstat, "
                        "pagetypeinfo, sys/vm/min_free_kbytes, "
                        "sys/kernel/debug/extfrag/extfrag_index; omit with --list")
    p.add_argument("--scenario", metavar="NAME",
                   help="run a built-in scenario first (see 'memsim run --list')")
    p.add_argument("--list", action="store_true", help="list the files the model provides")


def main(args: argparse.Namespace) -> int:
    from memsim.fs.proc import registry
    from memsim.scenarios import run_scenario

    m = Machine.boot(config_from_args(args))
    if args.list:
        print("\n".join(registry.list_files(m)))
        return 0
    if not args.path:
        raise MemsimError("proc: name a file (e.g. buddyinfo) or use --list")
    if args.scenario:
        run_scenario(m, args.scenario, quiet=True)
    print(m.proc(args.path), end="")
    return 0
