"""
``memsim pagewalk [ADDR...]``: walk the page tables for user addresses, level by level,
showing each table page, index, the entry in the model's software layout, the arch's
Linux entry and the hardware entry the MMU reads, decoded.

There are no processes yet, so the command builds a demo address space (an ``MmStruct``
with its ``PgTable``) and maps one anonymous page at each address as a private writable
page after its write fault (``PAGE_COPY | _PAGE_RW | _PAGE_DIRTY``). ``walk_text()`` and
``format_walk()`` are the hooks the process layer uses to print the walk of a real mm
(a later ``--pid``).
"""

from __future__ import annotations

import argparse

from memsim.cli.main import add_machine_options, config_from_args
from memsim.errors import MemsimError
from memsim.include.gfp import GFP_HIGHUSER_MOVABLE
from memsim.include.mm_types import MmStruct
from memsim.include.pgtable_types import _PAGE_DIRTY, _PAGE_RW, PAGE_COPY, pfn_pte
from memsim.include.vmstat_items import NodeStatItem
from memsim.machine import Machine
from memsim.mm.mmap import LAYOUTS
from memsim.mm.pgtable import PgTable, WalkLevel

#: addresses walked when none are given: a PIE text page, an mmap page and a stack page
DEFAULT_ADDRS = {
    "x86_64": (0x555555554000, 0x7F0000001000, 0x7FFFFFFDE000),
    "arm64": (0xAAAAAAAA0000, 0xFFFF80001000, 0xFFFFFFFDE000),
    "i386": (0x00400000, 0xB7F00000, 0xBFFDE000),
    "arm": (0x00400000, 0xB6F00000, 0xBEFDE000),
}


def _hex(v: int, width: int) -> str:
    return f"0x{v:0{width}x}"


def format_walk(levels: list[WalkLevel]) -> str:
    """A readable table of a walk (one row per level, notes indented below)."""
    if not levels:
        return "(empty walk)\n"
    wide = any(lv.entry_bytes == 8 or lv.sw >> 32 for lv in levels)
    w = 16 if wide else 8
    hw_w = 16 if any(lv.hw >> 32 for lv in levels) else 8
    arm = any(lv.hw_pair is not None or lv.hw_table is not None for lv in levels)
    lines = [f"{'level':<10} {'table pfn':>10} {'index':>5} {'offset':>7}  "
             f"{'sw entry':<{w + 2}}  {'linux entry' if arm else 'hw entry':<{hw_w + 2}}  "
             f"flags"]
    for lv in levels:
        name = f"{lv.level}/{lv.hw_name}"
        head = (f"{name:<10} {lv.table_pfn:>#10x} {lv.index:>5} {'+' + hex(lv.offset):>7}  "
                f"{_hex(lv.sw, w)}  {_hex(lv.linux if arm else lv.hw, hw_w)}  ")
        if lv.state == "folded":
            lines.append(f"{name:<10} {'(folded)':>10} {'':>5} {'':>7}  "
                         f"{'= ' + levels[levels.index(lv) - 1].level + ' entry':<{w + 2}}")
            continue
        if lv.state == "none":
            lines.append(head + "(none)")
        else:
            fl = " ".join(lv.linux_flags if arm else lv.flags)
            if lv.next_pfn is not None:
                fl += f"  -> table pfn {lv.next_pfn:#x}"
            if lv.phys is not None:
                fl += f"  -> phys {lv.phys:#x}"
            if lv.state in ("swap", "protnone"):
                fl += f"  [{lv.state}]"
            if lv.state == "huge":
                fl += "  [huge]"
            lines.append(head + fl)
        if lv.hw_pair is not None and lv.hw_index is not None:
            first = 2 * lv.index
            lines.append(f"{'':<10} h/w L1[{first}] = {_hex(lv.hw_pair[0], 8)} at "
                         f"+{8 * lv.index:#x}, L1[{first + 1}] = {_hex(lv.hw_pair[1], 8)} at "
                         f"+{8 * lv.index + 4:#x}; the MMU uses L1[{lv.hw_index}]: "
                         + " ".join(lv.flags))
        elif lv.hw_table is not None and lv.hw_offset is not None:
            lines.append(f"{'':<10} {lv.hw_table}[{lv.hw_index}] at +{lv.hw_offset:#x} = "
                         f"{_hex(lv.hw, 8)}  " + " ".join(lv.flags))
        for note in lv.notes:
            if lv.hw_pair is not None and note.startswith("Linux pgd["):
                continue
            lines.append(f"{'':<10} {note}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def walk_text(pgtable: PgTable, addr: int) -> str:
    """The walk of *addr* in *pgtable* with a header line: what ``memsim pagewalk`` prints."""
    levels = pgtable.walk(addr)
    idx = ", ".join(f"{lv.level} {lv.index}" for lv in levels if lv.state != "folded")
    last = levels[-1] if levels else None
    if last is not None and last.phys is not None:
        result = f"-> phys {last.phys:#x}"
    elif last is not None and last.state in ("swap", "protnone"):
        result = f"-> not present ({last.state})"
    else:
        result = "-> not mapped"
    return (f"{pgtable.arch} VA {addr:#x} ({idx}) {result}\n" + format_walk(levels))


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("addrs", nargs="*", metavar="ADDR",
                   help="user virtual addresses (hex or decimal); default: a text, an mmap "
                        "and a stack address for the arch")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pagewalk`` on a subparsers object (the registry in cli/main.py does the
    same through ``set_argparser``)."""
    help_ = "walk the page tables of a demo address space for user addresses"
    p = sub.add_parser("pagewalk", help=help_, description=help_)
    add_machine_options(p)
    set_argparser(p)


def _parse_addr(s: str) -> int:
    try:
        return int(s, 0)
    except ValueError:
        try:
            return int(s, 16)
        except ValueError:
            raise MemsimError(f"pagewalk: not an address: {s!r}") from None


def main(args: argparse.Namespace) -> int:
    m = Machine.boot(config_from_args(args))
    arch = m.arch.name
    task_size = LAYOUTS[arch].task_size
    addrs = [_parse_addr(a) for a in args.addrs] or list(DEFAULT_ADDRS[arch])
    for a in addrs:
        if not 0 <= a < task_size:
            raise MemsimError(f"pagewalk: {a:#x} is not a user address on {arch} "
                              f"(TASK_SIZE {task_size:#x})")
    mm = MmStruct()
    mm.task_size = task_size
    pt = PgTable(m, mm)
    mm.pgd = pt
    pages: list[int] = []
    tables0 = sum(n.vm_stat[NodeStatItem.NR_PAGETABLE] for n in m.nodes)
    for a in addrs:
        t = pt.pte_alloc(a)
        i = (a >> 12) & (pt.ptrs_per_pte - 1)
        if t.pte[i]:
            continue
        pfn = m.alloc_pages(GFP_HIGHUSER_MOVABLE)
        if pfn is None:
            raise MemsimError("pagewalk: out of memory")
        pages.append(pfn)
        t.pte[i] = pfn_pte(pfn, PAGE_COPY | _PAGE_RW | _PAGE_DIRTY)
        t.nr_used += 1
    tables = sum(n.vm_stat[NodeStatItem.NR_PAGETABLE] for n in m.nodes) - tables0
    print(f"demo mm on {arch}: pgd pfn {pt.pgd.pfn:#x} ({4 << pt.geo.pgd_order} KiB, not in "
          f"PageTables), {tables} table page(s) in PageTables, VmPTE "
          f"{mm.pgtables_bytes >> 10} kB")
    for a in addrs:
        print()
        print(walk_text(pt, a), end="")
    run_cleanup(m, pt, pages)
    return 0


def run_cleanup(m: Machine, pt: PgTable, pages: list[int]) -> None:
    for t in list(pt.leaf.values()):
        t.ptes[:] = 0
        t.nr_used = 0
    for pfn in pages:
        m.free_pages_pfn(pfn, 0)
    pt.destroy()


run = main
