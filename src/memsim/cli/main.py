"""
The ``memsim`` command line: a registry of subcommands (damo style), each a module with
``set_argparser(parser)`` and ``main(args) -> int``. Machine options are shared by every
subcommand. User errors (``MemsimError``) print one line and exit 2; bugs keep their
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from memsim.arch import ARCHES
from memsim.config import KEYS, MachineConfig, load_toml, parse_set
from memsim.errors import MemsimError


@dataclass(frozen=True)
class SubCmd:
    name: str
    module: str
    help: str

    def load(self) -> ModuleType:
        import importlib
        return importlib.import_module(f"memsim.cli.{self.module}")


SUBCMDS: tuple[SubCmd, ...] = (
    SubCmd("run", "run", "boot a machine and run a scenario (default: the built-in tour)"),
    SubCmd("proc", "proc", "print a /proc file of a freshly booted machine or after a scenario"),
    SubCmd("replay", "replay", "replay a captured kmem ftrace trace into a machine and "
                               "summarise it"),
    SubCmd("bench", "bench", "run the performance benchmarks"),
    SubCmd("conform", "conform", "replay a real-kernel golden file (record_real.py) on the "
                                 "model and compare every step"),
    SubCmd("explain-alloc", "explain_alloc", "which allocation API fits a request? run it "
                                             "with every candidate and compare"),
    SubCmd("pagewalk", "pagewalk", "walk the page tables of a demo address space for user "
                                   "addresses (software, Linux and hardware entries)"),
    SubCmd("workload", "workload", "replay a page-access trace or a synthetic workload under "
                                   "memory pressure (vmstat/meminfo time series)"),
)


def add_machine_options(p: argparse.ArgumentParser) -> None:
    """The options every subcommand takes to describe the machine."""
    g = p.add_argument_group("machine")
    g.add_argument("--arch", choices=sorted(ARCHES),
                   help="architecture (default: x86_64)")
    g.add_argument("--mem", help="memory size, e.g. 4G, 512M (default: 4G)")
    g.add_argument("--cpus", type=int, help="number of CPUs, 1-64 (default: 2)")
    g.add_argument("--nodes", type=int, help="NUMA nodes, 1-8, memory split evenly (default: 1)")
    g.add_argument("--seed", type=int, help="random seed (default: 0)")
    g.add_argument("--machine", metavar="FILE.toml",
                   help="TOML machine file; command-line options override it")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any machine setting, e.g. vm.min_free_kbytes=8192, "
                        "movablecore=1G, thp=never, strict=true (repeatable); "
                        f"keys: {', '.join(sorted(KEYS))}")


def config_from_args(args: argparse.Namespace) -> MachineConfig:
    """Merge --machine FILE, --set and the direct options (in that order of precedence)."""
    settings: dict[str, object] = {}
    origin: dict[str, str] = {}
    if getattr(args, "machine", None):
        settings, origin = load_toml(args.machine)
    for k, v in parse_set(getattr(args, "set", []) or []).items():
        settings[k] = v
        origin[k] = f"--set {k}"
    for key in ("arch", "mem", "cpus", "nodes", "seed"):
        v = getattr(args, key, None)
        if v is not None:
            settings[key] = v
            origin[key] = f"--{key}"
    return MachineConfig.build(settings, origin)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memsim",
        description="The Linux memory-management subsystem as an executable, inspectable "
                    "model: algorithms of Linux 6.12, /proc formats of Linux 6.18.",
        epilog="Defaults: x86_64, 4G of memory, 2 CPUs, 1 node, seed 0, THP in madvise mode. "
               "Run 'memsim SUBCOMMAND --help' for each subcommand.")
    sub = parser.add_subparsers(dest="subcmd", metavar="SUBCOMMAND")
    for sc in SUBCMDS:
        p = sub.add_parser(sc.name, help=sc.help, description=sc.help)
        add_machine_options(p)
        mod = sc.load()
        set_argparser: Callable[[argparse.ArgumentParser], None] = mod.set_argparser
        set_argparser(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "subcmd", None):
        parser.print_help()
        return 2
    try:
        rc: int = args._module.main(args)
        return rc
    except MemsimError as e:
        print(f"memsim: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
