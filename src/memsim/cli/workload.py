"""
``memsim workload {trace FILE | gen KIND} [options]``: replay a page-access trace or a
synthetic workload into a process of a small machine under memory pressure, print a summary
and (``--json FILE``) the vmstat/meminfo time series; ``--compare`` prints the miss-ratio
table of the model's policies next to libCacheSim's (workload/compare.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from memsim.cli.main import config_from_args
from memsim.config import parse_size
from memsim.errors import InputError
from memsim.workload.generators import KINDS, generate
from memsim.workload.trace import FORMATS, AccessTrace, load_trace

#: the default machine size of a workload run (small enough to be under pressure)
DEFAULT_MEM = "64M"


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("mode", choices=("trace", "gen"),
                   help="trace: replay the access trace FILE; gen: a synthetic workload KIND")
    p.add_argument("what", metavar="FILE|KIND",
                   help=f"the trace file (gzip ok) or the generator: {', '.join(KINDS)}")
    t = p.add_argument_group("trace")
    t.add_argument("--format", choices=FORMATS, default="auto",
                   help="trace format (default: auto): ftrace = exceptions:page_fault_user "
                        "events, addr = address per line, lcs-txt / lcs-csv = libCacheSim")
    t.add_argument("--pid", type=int, help="ftrace: only this task's faults")
    t.add_argument("--comm", help="ftrace: only this command's faults")
    t.add_argument("--hex", action="store_true",
                   help="addr: numbers without 0x are hexadecimal")
    t.add_argument("--csv-id-field", type=int, default=2, metavar="N",
                   help="lcs-csv: 1-based object id column (default 2)")
    t.add_argument("--csv-op-field", type=int, default=0, metavar="N",
                   help="lcs-csv: 1-based op column (write/set/... = store; default none)")
    t.add_argument("--csv-delimiter", default=",", help="lcs-csv: delimiter (default ,)")
    t.add_argument("--csv-header", choices=("auto", "yes", "no"), default="auto",
                   help="lcs-csv: header line (default: detect)")
    t.add_argument("--limit", type=int, help="use only the first N accesses")
    g = p.add_argument_group("generator (the machine's --seed seeds it)")
    g.add_argument("--pages", type=int, default=8192, help="distinct pages (default 8192)")
    g.add_argument("-n", "--accesses", type=int, default=100_000,
                   help="accesses (default 100000)")
    g.add_argument("--alpha", type=float, default=1.0, help="zipf exponent (default 1.0)")
    g.add_argument("--wss", type=int, help="shift: working-set size in pages (default pages/4)")
    g.add_argument("--phases", type=int, default=4, help="shift: phases (default 4)")
    g.add_argument("--write-ratio", type=float, default=0.5,
                   help="fraction of stores (default 0.5)")
    r = p.add_argument_group("run")
    r.add_argument("--swap", default="0", metavar="SIZE", help="swap device size (default 0)")
    r.add_argument("--lru", choices=("classic", "mglru", "plain"),
                   help="reclaim policy (default classic; plain = single-list LRU, "
                        "mm/lru_plain.py)")
    r.add_argument("--backing", choices=("anon", "file"), default="anon",
                   help="working area: private anonymous (default) or a shared file mapping")
    r.add_argument("--cache-pages", type=int, metavar="C",
                   help="lru=plain: cache size in pages (default: what fits above the high "
                        "watermarks)")
    r.add_argument("--interval", type=int, metavar="N",
                   help="sample vmstat/meminfo every N accesses (default: 1%% of the run)")
    r.add_argument("--json", metavar="FILE", help="write the result and time series as JSON")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--compare", action="store_true",
                   help="print the miss ratios of lru=plain/classic/mglru and libCacheSim's "
                        "LRU, CLOCK, ARC, S3-FIFO on this trace (markdown)")


def build_trace(args: argparse.Namespace, seed: int) -> AccessTrace:
    if args.mode == "trace":
        header = {"auto": None, "yes": True, "no": False}[args.csv_header]
        return load_trace(args.what, args.format, pid=args.pid, comm=args.comm,
                          hex_default=args.hex, obj_id_field=args.csv_id_field,
                          op_field=args.csv_op_field, delimiter=args.csv_delimiter,
                          has_header=header, limit=args.limit)
    if args.what not in KINDS:
        raise InputError(f"unknown generator {args.what!r} (known: {', '.join(KINDS)})")
    return generate(args.what, args.pages, args.accesses, seed=seed, alpha=args.alpha,
                    wss=args.wss, phases=args.phases, write_ratio=args.write_ratio)


def main(args: argparse.Namespace) -> int:
    if args.mem is None and not args.machine and not any(
            s.split("=", 1)[0].strip() == "mem" for s in args.set):
        args.mem = DEFAULT_MEM
    if args.lru is not None:
        args.set = [*args.set, f"lru={args.lru}"]
    cfg = config_from_args(args)
    swap = parse_size(args.swap, "--swap")
    trace = build_trace(args, cfg.seed)
    if args.compare:
        from memsim.workload.compare import compare, format_markdown
        res = compare(trace, cfg, swap=swap, backing=args.backing,
                      cache_pages=args.cache_pages)
        print(format_markdown([res]))
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
        return 0
    from memsim.workload.runner import run_trace
    result = run_trace(trace, cfg, swap=swap, backing=args.backing,
                       cache_pages=args.cache_pages, interval=args.interval,
                       progress=not args.quiet and sys.stderr.isatty())
    print(result.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 0
