"""THP for anonymous memory (mm/huge_memory.py): the oracle's thp_madvise_hugepage by hand."""

from __future__ import annotations

from typing import Any

import pytest

from memsim.include.mm_types import MM_ANONPAGES
from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.machine import Machine
from memsim.mm import huge_memory as hm
from memsim.mm.vma import find_vma

PS = 4096
TWO_MB = 2 << 20
MADV_DONTNEED = 4
MADV_HUGEPAGE = 14


def _setup(pages: int = 1024, thp: str = "madvise") -> tuple[Machine, Any, int]:
    m = Machine.boot(arch="x86_64", mem="2G", cpus=2, thp=thp)
    p = m.spawn("thp")
    r = p.mmap(0, pages * PS + 3 * TWO_MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)
    w = (r + TWO_MB - 1) & ~(TWO_MB - 1)
    assert p.mmap(w, pages * PS, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == w
    return m, p, w


def _thps(m: Machine) -> int:
    return sum(n.vm_stat[NodeStatItem.NR_ANON_THPS] for n in m.nodes)


def _codes(m: Machine, p: Any, w: int, start: int, end: int) -> str:
    """The oracle's page codes (H: anon page of a large folio mapped once, A, z, .)."""
    out = []
    for i in range(start, end):
        a = w + i * PS
        pgd = p.mm.pgd
        hp = pgd.huge.get(a >> pgd.pmd_shift)
        if hp is not None:
            pfn = ((hp >> 12) & ((1 << 40) - 1)) + ((a >> 12) & 511)
        else:
            pte = pgd.pte_get(a)
            if not pte & 1:
                out.append(".")
                continue
            pfn = (pte >> 12) & ((1 << 40) - 1)
        if pfn == m.zero_pfn or hm.is_huge_zero_pfn(m, pfn):
            out.append("z")
        elif hm.folio_test_large(m, pfn):
            out.append("H" if hm.page_mapcount_thp(m, pfn) == 1 else "h")
        else:
            out.append("A" if m.mem_map.mapcount1[pfn] == 1 else "a")
    rle = []
    for c in out:
        if rle and rle[-1][0] == c:
            rle[-1][1] += 1
        else:
            rle.append([c, 1])
    return "".join(f"{c}{n}" for c, n in rle)


def test_thp_madvise_hugepage_replay() -> None:
    m, p, w = _setup()
    rss0 = p.mm.get_mm_rss()
    assert p.madvise(w, 512 * PS, MADV_HUGEPAGE) == 0
    v0 = find_vma(p.mm, w)
    v1 = find_vma(p.mm, w + 512 * PS)
    assert (v0.vm_start, v0.vm_end) == (w, w + TWO_MB)
    assert hm.thp_vma_allowable(m, v0) and not hm.thp_vma_allowable(m, v1)
    flt = p.min_flt
    p.touch(w, PS, write=True, val=ord("h"))
    assert p.min_flt - flt == 1
    assert p.mm.get_mm_rss() - rss0 == 512
    assert _thps(m) == 512
    assert m.vm_event[VmEventItem.THP_FAULT_ALLOC] == 1
    assert _codes(m, p, w, 0, 512) == "H512"
    assert p.read(w, 1) == b"h" and p.read(w + 5 * PS, 1) == b"\0"
    p.touch(w + 512 * PS, PS, write=True, val=ord("n"))
    assert _codes(m, p, w, 512, 1024) == "A1.511"
    assert p.mm.get_mm_rss() - rss0 == 513
    # mprotect of one page splits the VMA and the PMD; the folio stays large
    assert p.mprotect(w + 100 * PS, PS, PROT_READ) == 0
    assert not p.mm.pgd.huge
    assert _thps(m) == 0
    assert m.vm_event[VmEventItem.THP_SPLIT_PMD] == 1
    assert [(v.vm_start - w) // PS for v in p.mm.vmas if w <= v.vm_start < w + 1024 * PS] \
        == [0, 100, 101, 512]
    for a in (w, w + 100 * PS, w + 101 * PS):
        assert not hm.thp_vma_allowable(m, find_vma(p.mm, a))
    assert _codes(m, p, w, 0, 512) == "H512"
    assert p.mm.get_mm_rss() - rss0 == 513
    assert p.read(w, 1) == b"h"
    # MADV_DONTNEED of a part: RSS drops, the rest stays a large folio (deferred split)
    assert p.madvise(w + 200 * PS, 100 * PS, MADV_DONTNEED) == 0
    assert _codes(m, p, w, 101, 512) == "H99.100H212"
    assert p.mm.get_mm_rss() - rss0 == 413
    p.munmap(w, 1024 * PS)
    assert p.mm.get_mm_rss() == rss0


def test_read_fault_maps_huge_zero_page_then_write_splits() -> None:
    m, p, w = _setup(512)
    rss0 = p.mm.get_mm_rss()
    p.madvise(w, 512 * PS, MADV_HUGEPAGE)
    assert p.read(w + 3 * PS, 1) == b"\0"
    assert hm.is_huge_zero_pmd(m, p.mm.pgd.huge[w >> 21])
    assert _codes(m, p, w, 0, 512) == "z512"
    assert p.mm.get_mm_rss() == rss0 and _thps(m) == 0
    # 6.12: a write to the huge zero page splits it and the PTE path copies one page
    p.touch(w + 3 * PS, PS, write=True, val=ord("x"))
    assert _codes(m, p, w, 0, 512) == "z3A1z508"
    assert p.mm.get_mm_rss() - rss0 == 1


def test_fork_shares_thp_and_cow_splits() -> None:
    m, p, w = _setup(512)
    p.madvise(w, 512 * PS, MADV_HUGEPAGE)
    p.touch(w, 512 * PS, write=True, val=ord("p"))
    head = (p.mm.pgd.huge[w >> 21] >> 12) & ((1 << 40) - 1)
    c = p.fork()
    assert hm.folio_entire_mapcount(m, head) == 2
    assert c.mm.rss_stat[MM_ANONPAGES] >= 512
    assert _codes(m, p, w, 0, 512) == "h512"
    m.validate()
    anon0 = m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED]
    c.touch(w, PS, write=True, val=ord("c"))
    assert p.read(w, 1) == b"p" and c.read(w, 1) == b"c"
    assert _codes(m, c, w, 0, 2) == "A1h1"
    # the child's PTEs map pages the parent's PMD still maps entirely: they were counted
    # already (folio->_nr_pages_mapped >= ENTIRELY_MAPPED); only the copy is new
    assert m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] == anon0 + 1
    m.validate()
    c.exit()
    p.wait(c)
    assert m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] == anon0
    assert hm.folio_entire_mapcount(m, head) == 1
    p.munmap(w, 512 * PS)
    assert _thps(m) == 0
    assert m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] == anon0 - 512
    m.validate()


def test_whole_pmd_dontneed_frees_folio() -> None:
    m, p, w = _setup(512)
    p.madvise(w, 512 * PS, MADV_HUGEPAGE)
    p.touch(w, PS, write=True, val=1)
    free = m.nr_free_pages() + m.nr_pcp_pages()
    pt = p.mm.pgtables_bytes
    p.madvise(w, 512 * PS, MADV_DONTNEED)
    assert not p.mm.pgd.huge and _thps(m) == 0
    assert m.nr_free_pages() + m.nr_pcp_pages() - free == 513   # folio + deposited table
    assert pt - p.mm.pgtables_bytes == 4096


@pytest.mark.parametrize("mode,advise,expect", [("never", True, False),
                                                ("always", False, True),
                                                ("madvise", False, False)])
def test_thp_modes(mode: str, advise: bool, expect: bool) -> None:
    m, p, w = _setup(512, thp=mode)
    if advise:
        p.madvise(w, 512 * PS, MADV_HUGEPAGE)
    p.touch(w, PS, write=True, val=1)
    assert bool(p.mm.pgd.huge) is expect
    m.validate()
