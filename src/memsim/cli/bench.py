"""``memsim bench [NAME…] [--json FILE]``: run the benchmarks in the repository's bench/."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from memsim.errors import MemsimError

BENCHMARKS = ("boot", "buddy", "slab", "replay", "highmem", "vmalloc", "fault", "reclaim")


def _bench_dir() -> Path:
    d = Path(__file__).resolve().parents[3] / "bench"
    if not (d / "bench_boot.py").exists():
        raise MemsimError(f"{d}: benchmark sources not found (run from a repository checkout)")
    return d


def _load(name: str) -> ModuleType:
    path = _bench_dir() / f"bench_{name}.py"
    spec = importlib.util.spec_from_file_location(f"memsim_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (for smoke tests)")


def main(args: argparse.Namespace) -> int:
    names = args.names or list(BENCHMARKS)
    for n in names:
        if n not in BENCHMARKS:
            raise MemsimError(f"unknown benchmark {n!r} (known: {', '.join(BENCHMARKS)})")
    results: dict[str, Any] = {"python": sys.version.split()[0]}
    for n in names:
        mod = _load(n)
        r = mod.run(quick=args.quick)
        results[n] = r
        print(mod.report(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0
