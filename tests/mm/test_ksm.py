"""KSM (mm/ksm.py): the oracle's ksm_merge_identical_pages by hand, plus exit and zero pages."""

from __future__ import annotations

from typing import Any

from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm.ksm import Ksm, ksm_process_profit
from memsim.mm.rmap import PageKsm

PS = 4096
MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MADV_NOHUGEPAGE = 15


def _setup(use_zero_pages: int = 0) -> tuple[Machine, Any, int, Ksm]:
    m = Machine.boot(arch="x86_64", mem="2G", cpus=2, thp="madvise")
    k: Ksm = m.ksm  # type: ignore[attr-defined]
    k.run, k.pages_to_scan, k.use_zero_pages = 1, 100, use_zero_pages
    p = m.spawn("ksm")
    r = p.mmap(0, 64 * PS + (6 << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)
    w = (r + (2 << 20) - 1) & ~((2 << 20) - 1)
    p.mmap(w, 8 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    p.madvise(w, 8 * PS, MADV_NOHUGEPAGE)
    return m, p, w, k


def _codes(m: Machine, p: Any, w: int) -> str:
    out = ""
    for i in range(8):
        pte = p.mm.pgd.pte_get(w + i * PS)
        pfn = (pte >> 12) & ((1 << 40) - 1)
        if not pte & 1:
            out += "."
        elif pfn == m.zero_pfn:
            out += "z"
        elif PageKsm(m, pfn):
            out += "K"
        else:
            out += "A" if m.mem_map.mapcount1[pfn] == 1 else "a"
    return out


def _stat(p: Any) -> tuple[int, int, int]:
    mm = p.mm
    return mm.ksm_rmap_items, mm.ksm_merging_pages, ksm_process_profit(mm)


def test_ksm_merge_identical_pages_replay() -> None:
    m, p, w, k = _setup()
    assert k.run_scans(1) == 0                    # nothing registered: idle
    p.touch(w, 8 * PS, write=True)
    for i, c in enumerate("aaaabbcd"):
        p.touch(w + i * PS, PS, write=True, val=ord(c))
    assert p.madvise(w, 8 * PS, MADV_MERGEABLE) == 0
    rss = p.mm.get_mm_rss()
    assert k.run_scans(3) == 3 and k.full_scans == 3
    assert _stat(p) == (8, 6, 24064)
    assert (k.pages_shared, k.pages_sharing, k.pages_unshared) == (2, 4, 2)
    assert _codes(m, p, w) == "KKKKKKAA"
    assert p.mm.get_mm_rss() == rss
    # a write breaks COW of the KSM page
    flt, cow = p.min_flt, m.vm_event[VmEventItem.COW_KSM]
    p.touch(w, PS, write=True, val=ord("z"))
    assert p.min_flt - flt == 1 and m.vm_event[VmEventItem.COW_KSM] - cow == 1
    assert _codes(m, p, w) == "AKKKKKAA"
    assert k.run_scans(2) == 2
    assert _stat(p) == (8, 5, 19968)
    assert p.read(w + PS, 1) == b"a"
    # MADV_UNMERGEABLE unshares every KSM page (one unshare fault each), clean copies
    flt = p.min_flt
    assert p.madvise(w, 8 * PS, MADV_UNMERGEABLE) == 0
    assert p.min_flt - flt == 5
    assert _codes(m, p, w) == "AAAAAAAA"
    assert not p.mm.pgd.pte_get(w + PS) & 0x40           # not dirty -> Private_Clean
    assert p.read(w + 4 * PS, 1) == b"b"
    assert k.run_scans(1) == 1
    assert _stat(p) == (0, 0, 0)
    assert (k.pages_shared, k.pages_sharing, k.pages_unshared, k.rmap_items) == (0, 0, 0, 0)
    assert k.run_scans(1) == 0                    # the mm left KSM: ksmd idles


def test_ksm_exit_drops_rmap_items() -> None:
    m, p, w, k = _setup()
    p.touch(w, 8 * PS, write=True, val=ord("q"))
    p.madvise(w, 8 * PS, MADV_MERGEABLE)
    k.run_scans(2)
    assert (k.pages_shared, k.pages_sharing) == (1, 7)
    p.exit()
    assert (k.pages_shared, k.pages_sharing, k.rmap_items) == (0, 0, 0)
    assert not k.mm_slots


def test_ksm_use_zero_pages() -> None:
    m, p, w, k = _setup(use_zero_pages=1)
    p.touch(w, 8 * PS, write=True, val=0)
    p.touch(w + 7 * PS, PS, write=True, val=ord("x"))
    rss = p.mm.get_mm_rss()
    p.madvise(w, 8 * PS, MADV_MERGEABLE)
    k.run_scans(2)
    assert _codes(m, p, w) == "zzzzzzzA"
    assert p.mm.ksm_zero_pages == 7 and k.zero_pages == 7
    assert p.mm.get_mm_rss() == rss - 7
    assert ksm_process_profit(p.mm) == 7 * PS - p.mm.ksm_rmap_items * 64


def test_sysfs_values() -> None:
    m, p, w, k = _setup()
    s = k.sysfs()
    assert s["run"] == 1 and s["max_page_sharing"] == 256 and s["full_scans"] == 0
