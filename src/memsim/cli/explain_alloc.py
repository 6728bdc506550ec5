"""``memsim explain-alloc``: which allocation API fits a request? Runs the request with every
candidate on a booted machine and recommends from the measurements (memsim/explain.py)."""

from __future__ import annotations

import argparse
import json

from memsim.cli.main import config_from_args
from memsim.config import parse_size
from memsim.errors import MemsimError
from memsim.explain import (
    CONTEXTS,
    DMA_CHOICES,
    FREQUENCIES,
    LIFETIMES,
    AllocRequest,
    explain_alloc,
    format_explanation,
)
from memsim.machine import Machine


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", required=True, metavar="BYTES",
                   help="bytes to allocate: a number or 4K, 10M, …")
    p.add_argument("--contiguous", action=argparse.BooleanOptionalAction, default=True,
                   help="physically contiguous memory needed, e.g. for DMA (default: yes)")
    p.add_argument("--context", choices=CONTEXTS, default="process",
                   help="execution context of the caller (default: process)")
    p.add_argument("--dma", choices=DMA_CHOICES, default="none",
                   help="the device's DMA reach (default: none)")
    p.add_argument("--lifetime", choices=LIFETIMES, default="short",
                   help="how long the memory is kept (default: short)")
    p.add_argument("--frequency", choices=FREQUENCIES, default="once",
                   help="'often': many objects of this size (default: once)")
    p.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")


def main(args: argparse.Namespace) -> int:
    size = parse_size(args.size, "--size")
    req = AllocRequest(size=size, contiguous=args.contiguous, context=args.context,
                       dma=args.dma, lifetime=args.lifetime, frequency=args.frequency)
    req.validate()
    m = Machine.boot(config_from_args(args))
    e = explain_alloc(m, req)
    print(format_explanation(e), end="")
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(e.to_json(), f, indent=1, sort_keys=True)
                f.write("\n")
        except OSError as err:
            raise MemsimError(f"--json {args.json}: {err.strerror}") from None
    return 0
