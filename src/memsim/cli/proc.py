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
    p.add_argument("--spawn", action="append", default=[], metavar="NAME",
                   help="start a process NAME first (repeatable; pids from 2 up); without it "
                        "a path like 1/maps starts one process 'init' with that pid")
    p.add_argument("--list", action="store_true", help="list the files the model provides")
    p.add_argument("--top", action="store_true",
                   help="with slabinfo: a slabtop-style summary (sorted by objects)")


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
    for name in args.spawn:
        m.spawn(name)
    path = registry.normalize(args.path)
    pid_s = path.partition("/")[0]
    if pid_s.isdigit() and not args.spawn and int(pid_s) not in m.tasks \
            and int(pid_s) > m.last_pid - 1:
        # SIM: pid numbers are handed out in order; start "init" under the pid asked for
        m.last_pid = int(pid_s) - 1
        m.spawn("init")
    text = m.proc(path)
    if args.top:
        if registry.normalize(args.path) != "slabinfo":
            raise MemsimError("proc: --top applies to slabinfo only")
        text = slabtop(text)
    print(text, end="")
    return 0


def slabtop(slabinfo: str, limit: int = 0) -> str:
    """What procps slabtop prints once (``slabtop -o``), computed from /proc/slabinfo text:
    the summary block, then caches by number of objects (ties by name)."""
    rows = []
    for line in slabinfo.splitlines():
        if line.startswith(("slabinfo", "#")) or not line.strip():
            continue
        f = line.split()
        # name active num objsize objperslab pagesperslab : tunables l b s : slabdata a n s
        rows.append((f[0], int(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5]),
                     int(f[13]), int(f[14])))
    act_objs = sum(r[1] for r in rows)
    tot_objs = sum(r[2] for r in rows)
    act_slabs = sum(r[6] for r in rows)
    tot_slabs = sum(r[7] for r in rows)
    act_caches = sum(1 for r in rows if r[1])
    act_size = sum(r[1] * r[3] for r in rows) / 1024
    tot_size = sum(r[2] * r[3] for r in rows) / 1024
    sizes = [r[3] / 1024 for r in rows]
    avg = tot_size / tot_objs if tot_objs else 0.0

    def pct(a: float, b: float) -> str:
        return f"{100.0 * a / b:.1f}%" if b else "0.0%"

    out = [
        f" Active / Total Objects (% used)    : {act_objs} / {tot_objs} "
        f"({pct(act_objs, tot_objs)})",
        f" Active / Total Slabs (% used)      : {act_slabs} / {tot_slabs} "
        f"({pct(act_slabs, tot_slabs)})",
        f" Active / Total Caches (% used)     : {act_caches} / {len(rows)} "
        f"({pct(act_caches, len(rows))})",
        f" Active / Total Size (% used)       : {act_size:.2f}K / {tot_size:.2f}K "
        f"({pct(act_size, tot_size)})",
        f" Minimum / Average / Maximum Object : {min(sizes, default=0):.2f}K / {avg:.2f}K / "
        f"{max(sizes, default=0):.2f}K",
        "",
        "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME",
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    for name, active, num, objsize, per, pages, _a, slabs in rows[:limit or None]:
        use = 100 * active // num if num else 0
        out.append(f"{num:6d} {active:6d} {use:3d}% {objsize / 1024:7.2f}K {slabs:6d} "
                   f"{per:8d} {slabs * pages * 4:9d}K {name:<23s}".rstrip())
    return "\n".join(out) + "\n"
