"""``memsim conform GOLDEN.json``: replay a real-kernel golden file on the model and report
which scenarios match (memsim/conform.py)."""

from __future__ import annotations

import argparse
import json
import sys

from memsim.errors import MemsimError


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("golden", help="golden file written by record_real.py, e.g. "
                                  "../shared/oracle/golden-6.18.json")
    p.add_argument("--only", nargs="+", action="extend", default=[], metavar="NAME",
                   help="run only these scenarios (names may also be comma separated)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print every differing leaf of the first differing step")
    p.add_argument("--json", metavar="OUT",
                   help="write the results (and the model's observations) as JSON")


def main(args: argparse.Namespace) -> int:
    from memsim.conform import run_golden, short
    try:
        with open(args.golden) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise MemsimError(f"conform: cannot read {args.golden}: {e}") from e
    only = [n for item in args.only for n in item.split(",") if n]
    known = {sc["name"] for sc in doc.get("scenarios", [])}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise MemsimError(f"conform: unknown scenario(s) {', '.join(unknown)}")

    def progress(r: object) -> None:
        from memsim.conform import ScenarioResult
        assert isinstance(r, ScenarioResult)
        print(r.line(), flush=True)
        if args.verbose and not r.ok:
            for line in r.verbose_lines():
                print(line)

    results = run_golden(doc, only or None, mem=getattr(args, "mem", None),
                         keep_actual=bool(args.json), progress=progress)
    n_ok = sum(r.ok for r in results)
    print(f"{n_ok}/{len(results)} scenarios match")
    if args.json:
        out = {"golden": args.golden, "match": n_ok, "total": len(results),
               "scenarios": [{"name": r.name, "ok": r.ok, "step": r.step, "op": r.op,
                              "error": r.error,
                              "diffs": [{"path": p, "expected": short(e, 10000),
                                         "got": short(g, 10000)} for p, e, g in r.diffs],
                              "actual": r.actual} for r in results]}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    sys.stdout.flush()
    return 0 if n_ok == len(results) else 1
