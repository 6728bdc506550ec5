"""The multi-generational LRU (mm/lru_gen.py): generations, aging with the page-table walk,
eviction from the oldest generation, tier protection by the PID controller, refault
feedback, min_ttl_ms, the sysfs switches and the debugfs histogram."""

from __future__ import annotations

import os
from typing import Any

import pytest

from memsim.errors import MemsimError
from memsim.include.gfp import GFP_HIGHUSER_MOVABLE
from memsim.include.mman import MAP_SHARED, PROT_READ
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import _PAGE_ACCESSED, pte_pfn
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.machine import Machine
from memsim.mm import lru_gen as lg_mod
from memsim.mm.lru_gen import (
    LRU_GEN_ANON,
    LRU_GEN_FILE,
    LruGenFolio,
    LruGenScanControl,
    folio_inc_refs,
    folio_lru_gen,
    folio_lru_refs,
    inc_max_seq,
    lru_gen_add_folio,
    lru_gen_del_folio,
    lru_gen_from_seq,
    lru_gen_state,
    lru_gen_validate,
    try_to_inc_max_seq,
    try_to_inc_min_seq,
)

PAGE = 4096
PG_LRU = 1 << PageFlags.PG_lru
PG_ACTIVE = 1 << PageFlags.PG_active
PG_REFERENCED = 1 << PageFlags.PG_referenced
PG_WORKINGSET = 1 << PageFlags.PG_workingset
PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked


def boot(lru: str = "mglru", **kw: Any) -> Machine:
    return Machine.boot(mem="64M", lru=lru, **kw)


def lrugen(m: Machine) -> LruGenFolio:
    return lru_gen_state(m).lrugens[0]


def new_page(m: Machine, anon: bool = False) -> int:
    """A page of our own (refcount 1) marked as on the LRU; the caller adds it."""
    pfn = m.alloc_page(GFP_HIGHUSER_MOVABLE)
    assert pfn is not None
    m.mem_map.flags[pfn] |= PG_LRU | (PG_SWAPBACKED if anon else 0)
    return pfn


def add_pages(m: Machine, n: int, anon: bool = False, reclaiming: bool = False) -> list[int]:
    out = []
    for _ in range(n):
        pfn = new_page(m, anon)
        assert lru_gen_add_folio(m, pfn, reclaiming)
        out.append(pfn)
    return out


class FakeShrink:
    """shrink_folio_list stand-in: reclaims every isolated folio that is unmapped and not
    referenced (drops the isolation reference; the test still owns the page)."""

    def __init__(self) -> None:
        self.evicted: list[int] = []

    def __call__(self, m: Machine, pgdat: Any, folios: list[int], sc: Any) -> int:
        keep = []
        for pfn in folios:
            if m.mem_map.mapcount1[pfn] or m.mem_map.flags[pfn] & PG_REFERENCED:
                keep.append(pfn)
            else:
                m.mem_map.refcount[pfn] -= 1
                self.evicted.append(pfn)
        reclaimed = len(folios) - len(keep)
        folios[:] = keep
        return reclaimed


def ensure_on_lru(m: Machine, pfn: int) -> None:
    """A faulted page is on an LRU list once the folio batches drain (with the classic
    reclaim wired); standalone, put it on a generation ourselves."""
    try:
        from memsim.mm.swap import lru_add_drain_all
        lru_add_drain_all(m)
    except ImportError:
        pass
    if not m.mem_map.flags[pfn] & PG_LRU:
        m.mem_map.flags[pfn] |= PG_LRU
        assert lru_gen_add_folio(m, pfn)


def file_mapping(m: Machine, npages: int) -> tuple[Any, int, list[int]]:
    """A process with a shared read-only file mapping of *npages*, all faulted in."""
    p = m.spawn("reader")
    fd = p.open("/data", os.O_RDWR, data=b"D" * (npages * PAGE))
    addr = p.mmap(0, npages * PAGE, PROT_READ, MAP_SHARED, fd)
    p.touch(addr, npages * PAGE)
    pfns = []
    for i in range(npages):
        pte = p.mm.pgd.pte_get(addr + i * PAGE)
        pfns.append(pte_pfn(pte))
    for pfn in pfns:
        ensure_on_lru(m, pfn)
    return p, addr, pfns


def young(p: Any, addr: int) -> bool:
    return bool(p.mm.pgd.pte_get(addr) & _PAGE_ACCESSED)


# ---- switches ------------------------------------------------------------------------------

def test_enabled_and_min_ttl_sysfs() -> None:
    m = boot("classic")
    assert m.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0000\n"
    m = boot()
    assert m.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0007\n"
    assert m.proc("/sys/kernel/mm/lru_gen/min_ttl_ms") == "0\n"
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "0x0001\n")
    assert m.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0001\n"
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "y")
    assert m.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0007\n"
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "N")
    assert m.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0000\n"
    assert not lg_mod.lru_gen_enabled(m)
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "7")
    assert lg_mod.lru_gen_enabled(m)
    # min_ttl_ms is kept in jiffies (HZ=250): 5 ms reads back as 8
    m.proc_write("/sys/kernel/mm/lru_gen/min_ttl_ms", "1000\n")
    assert m.proc("/sys/kernel/mm/lru_gen/min_ttl_ms") == "1000\n"
    m.proc_write("/sys/kernel/mm/lru_gen/min_ttl_ms", "5")
    assert m.proc("/sys/kernel/mm/lru_gen/min_ttl_ms") == "8\n"
    with pytest.raises(MemsimError):
        m.proc_write("/sys/kernel/mm/lru_gen/min_ttl_ms", "soon")
    with pytest.raises(MemsimError):
        m.proc_write("/sys/kernel/mm/lru_gen/enabled", "maybe")
    arm = Machine.boot(arch="arm", mem="64M", lru="mglru")
    assert arm.proc("/sys/kernel/mm/lru_gen/enabled") == "0x0001\n"


# ---- placement, sizes, aging ---------------------------------------------------------------

def test_add_folio_generation_choice_and_counters() -> None:
    m = boot()
    lg = lrugen(m)
    assert (lg.max_seq, lg.min_seq) == (3, [0, 0])
    pg = m.nodes[0]
    base_inactive = pg.vm_stat[NodeStatItem.NR_INACTIVE_FILE]
    base_active = pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE]
    f_new = add_pages(m, 1)[0]                       # min_seq + 1
    f_old = add_pages(m, 1, reclaiming=True)[0]      # min_seq (tail)
    a_new = add_pages(m, 1, anon=True)[0]            # anon, not in swap cache: max_seq - 1
    hot = new_page(m)
    m.mem_map.flags[hot] |= PG_ACTIVE | PG_REFERENCED
    assert lru_gen_add_folio(m, hot)                 # active: max_seq, PG_active cleared
    assert folio_lru_gen(m, f_new) == 1
    assert folio_lru_gen(m, f_old) == 0
    assert folio_lru_gen(m, a_new) == 2
    assert folio_lru_gen(m, hot) == 3
    assert not m.mem_map.flags[hot] & (PG_ACTIVE | PG_REFERENCED)
    assert pg.vm_stat[NodeStatItem.NR_INACTIVE_FILE] - base_inactive == 2
    assert pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE] - base_active == 1
    # deleting (not reclaiming) an active-generation folio sets PG_active for migration
    assert lru_gen_del_folio(m, hot)
    assert m.mem_map.flags[hot] & PG_ACTIVE
    assert folio_lru_gen(m, hot) == -1
    assert not lru_gen_del_folio(m, hot)
    assert pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE] == base_active
    assert lru_gen_validate(m) == []
    # unevictable folios stay with the classic lists
    unev = new_page(m)
    m.mem_map.flags[unev] |= 1 << PageFlags.PG_unevictable
    assert not lru_gen_add_folio(m, unev)


def test_generations_advance_on_aging() -> None:
    m = boot()
    lg = lrugen(m)
    pg = m.nodes[0]
    act0 = pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE]
    cold = add_pages(m, 4)                            # seq 1
    hot = new_page(m)
    m.mem_map.flags[hot] |= PG_ACTIVE
    lru_gen_add_folio(m, hot)                         # seq 3
    # the oldest generation (seq 0) is empty: min_seq follows
    assert try_to_inc_min_seq(m, lg, can_swap=False)
    assert lg.min_seq[LRU_GEN_FILE] == 1
    t0 = lg_mod.jiffies(m)
    m.clock_ns += 1_000_000_000
    assert inc_max_seq(m, lg, lg.max_seq, can_swap=False)
    assert lg.max_seq == 4
    assert lg.timestamps[lru_gen_from_seq(4)] == t0 + 250
    assert pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE] - act0 == 1     # seq 3 is still active
    assert not inc_max_seq(m, lg, 3, can_swap=False)              # stale seq: no-op
    # four file generations (1..4): the next aging retires seq 1, moving its folios on
    assert inc_max_seq(m, lg, lg.max_seq, can_swap=False)
    assert lg.max_seq == 5 and lg.min_seq[LRU_GEN_FILE] == 2
    assert all(folio_lru_gen(m, pfn) == lru_gen_from_seq(2) for pfn in cold)
    assert pg.vm_stat[NodeStatItem.NR_ACTIVE_FILE] == act0         # seq 3 went inactive
    assert lg.gen_size(lru_gen_from_seq(2), LRU_GEN_FILE) == 4
    assert lru_gen_validate(m) == []


def test_page_table_walk_promotes_young_pages() -> None:
    m = boot()
    lg = lrugen(m)
    p, addr, pfns = file_mapping(m, 8)
    # the first aging harvests (and clears) every accessed bit of the faults
    seq = lg.max_seq
    assert try_to_inc_max_seq(m, lg, seq, can_swap=False)
    assert not any(young(p, addr + i * PAGE) for i in range(8))
    assert all(folio_lru_gen(m, pfn) == lru_gen_from_seq(seq) for pfn in pfns)
    assert try_to_inc_max_seq(m, lg, lg.max_seq, can_swap=False)   # nothing young
    assert all(folio_lru_gen(m, pfn) == lru_gen_from_seq(seq) for pfn in pfns)
    # touch half of them: the next walk promotes exactly those to max_seq
    p.touch(addr, 4 * PAGE)
    assert young(p, addr) and not young(p, addr + 4 * PAGE)
    seq = lg.max_seq
    assert try_to_inc_max_seq(m, lg, seq, can_swap=False)
    assert lg.max_seq == seq + 1
    assert [folio_lru_gen(m, pfn) == lru_gen_from_seq(seq) for pfn in pfns] == \
        [True] * 4 + [False] * 4
    assert not young(p, addr)
    # the list move is lazy: eviction sorts the promoted folios out of the oldest list
    assert lru_gen_validate(m) == []


def test_look_around_promotes_young_neighbours() -> None:
    m = boot()
    lg = lrugen(m)
    p, addr, pfns = file_mapping(m, 8)
    try_to_inc_max_seq(m, lg, lg.max_seq, can_swap=False)          # clear accessed bits
    p.touch(addr, 8 * PAGE)
    vma = p.mm.vmas[[v.vm_start for v in p.mm.vmas].index(addr)]
    assert lg_mod.lru_gen_look_around(m, vma, addr, pfns[0])
    youngest = lru_gen_from_seq(lg.max_seq)
    assert all(folio_lru_gen(m, pfn) == youngest for pfn in pfns[1:])
    assert not any(young(p, addr + i * PAGE) for i in range(8))
    assert not lg_mod.lru_gen_look_around(m, vma, addr, pfns[0])    # no longer young
    assert lru_gen_validate(m) == []


# ---- eviction ------------------------------------------------------------------------------

def test_eviction_takes_the_oldest_generation() -> None:
    m = boot()
    lg = lrugen(m)
    old = add_pages(m, 10, reclaiming=True)           # seq 0
    new = add_pages(m, 10)                             # seq 1
    ev0 = list(m.vm_event)
    shrink = FakeShrink()
    sc = LruGenScanControl(nr_to_reclaim=10, priority=0, reclaim_idx=4)
    got = lg_mod.lru_gen_shrink_node(m, m.nodes[0], sc, shrink)
    assert got == 10 and sorted(shrink.evicted) == sorted(old)
    assert all(folio_lru_gen(m, pfn) == 1 for pfn in new)
    assert lg.min_seq[LRU_GEN_FILE] == 1                # seq 0 emptied
    d = [a - b for a, b in zip(m.vm_event, ev0, strict=True)]
    assert d[VmEventItem.PGSCAN_DIRECT] == d[VmEventItem.PGSTEAL_DIRECT] == 10
    assert d[VmEventItem.PGSCAN_FILE] == d[VmEventItem.PGSTEAL_FILE] == 10
    assert d[VmEventItem.PGSCAN_KSWAPD] == d[VmEventItem.PGSCAN_ANON] == 0
    # survivors of shrink_folio_list go back to the youngest generation
    keep = add_pages(m, 3, reclaiming=True)            # at the oldest generation (seq 1)
    for pfn in keep:
        m.mem_map.mapcount1[pfn] = 1                   # mapped: rejected by the fake
    sc = LruGenScanControl(nr_to_reclaim=32, priority=0, reclaim_idx=4)
    lg_mod.lru_gen_shrink_node(m, m.nodes[0], sc, shrink)
    for pfn in keep:
        assert folio_lru_gen(m, pfn) == lru_gen_from_seq(lg.max_seq)
        assert m.mem_map.flags[pfn] & PG_LRU and m.mem_map.refcount[pfn] == 1
        m.mem_map.mapcount1[pfn] = 0
    assert lru_gen_validate(m) == []


def _tier_setup(m: Machine) -> tuple[list[int], list[int], list[int]]:
    plain = add_pages(m, 8, reclaiming=True)
    hot = add_pages(m, 8, reclaiming=True)
    sat = add_pages(m, 2, reclaiming=True)
    for pfn in hot:                                    # 3 reads: refs 2, tier 2
        for _ in range(3):
            folio_inc_refs(m, pfn)
    for pfn in sat:                                    # 5 reads: refs saturate at 4
        for _ in range(5):
            folio_inc_refs(m, pfn)
    assert folio_lru_refs(m, hot[0]) == 2
    assert m.mem_map.flags[hot[0]] & PG_WORKINGSET
    assert folio_lru_refs(m, sat[0]) == 4
    return plain, hot, sat


def test_tier_protection_by_the_pid_controller() -> None:
    # without refault history every tier is evictable but saturated refs are protected
    m = boot()
    lg = lrugen(m)
    plain, hot, sat = _tier_setup(m)
    shrink = FakeShrink()
    lg_mod.lru_gen_shrink_node(m, m.nodes[0], LruGenScanControl(
        nr_to_reclaim=16, priority=0, reclaim_idx=4), shrink)
    assert sorted(shrink.evicted) == sorted(plain + hot)
    assert all(folio_lru_gen(m, pfn) == 1 for pfn in sat)
    # min_seq moved on: protected[tier 3] folded into the average and cleared
    assert lg.protected[0][LRU_GEN_FILE][2] == 0 and lg.avg_total[LRU_GEN_FILE][3] == 1

    # tier 2 refaults a lot more than tier 0: the controller protects it (tier_idx 1)
    m = boot()
    lg = lrugen(m)
    plain, hot, sat = _tier_setup(m)
    lg.avg_total[LRU_GEN_FILE][0] = 1000
    lg.avg_refaulted[LRU_GEN_FILE][2] = 1000
    lg.avg_total[LRU_GEN_FILE][2] = 1000
    assert lg_mod.get_tier_idx(lg, LRU_GEN_FILE) == 1
    ev0 = m.vm_event[VmEventItem.PGREFILL]
    shrink = FakeShrink()
    lg_mod.lru_gen_shrink_node(m, m.nodes[0], LruGenScanControl(
        nr_to_reclaim=8, priority=0, reclaim_idx=4), shrink)
    assert sorted(shrink.evicted) == sorted(plain)
    assert all(folio_lru_gen(m, pfn) == 1 for pfn in hot + sat)
    # protected folios lose their refs; PGREFILL counts the sorted ones
    assert folio_lru_refs(m, hot[0]) == 0
    assert m.vm_event[VmEventItem.PGREFILL] - ev0 == 10
    # min_seq advanced, so the counters were folded into the moving averages
    assert lg.min_seq[LRU_GEN_FILE] == 1
    assert lg.avg_total[LRU_GEN_FILE][3] == 1           # (0 + protected 2) / 2
    assert lg.avg_total[LRU_GEN_FILE][2] == (1000 + 8) // 2
    assert lru_gen_validate(m) == []


def test_get_type_to_scan_follows_refault_rates() -> None:
    m = boot()
    lg = lrugen(m)
    assert lg_mod.get_type_to_scan(lg, 60) == (LRU_GEN_FILE, 3)
    lg.avg_refaulted[LRU_GEN_FILE][0] = 900
    lg.avg_total[LRU_GEN_FILE][0] = 1000
    lg.avg_total[LRU_GEN_ANON][0] = 1000
    assert lg_mod.get_type_to_scan(lg, 60)[0] == LRU_GEN_ANON


def test_refault_feedback() -> None:
    m = boot()
    lg = lrugen(m)
    pg = m.nodes[0]
    pfn = add_pages(m, 1, reclaiming=True)[0]
    for _ in range(4):
        folio_inc_refs(m, pfn)                         # refs 3: tier 2
    shadow = lg_mod.lru_gen_eviction(m, pfn)
    assert lg.evicted[0][LRU_GEN_FILE][2] == 1
    memcg, nid, token, ws = lg_mod.unpack_shadow(shadow)
    assert (memcg, nid, token, ws) == (1, 0, (0 << 2) | 2, True)
    lru_gen_del_folio(m, pfn, True)
    m.mem_map.flags[pfn] &= ~(PG_LRU | PG_REFERENCED | PG_WORKINGSET |
                              lg_mod.LRU_REFS_MASK)
    before = [pg.vm_stat[NodeStatItem.WORKINGSET_REFAULT_FILE],
              pg.vm_stat[NodeStatItem.WORKINGSET_ACTIVATE_FILE],
              pg.vm_stat[NodeStatItem.WORKINGSET_RESTORE_FILE]]
    lg_mod.lru_gen_refault(m, pfn, shadow)             # recent, refs saturated: restore
    after = [pg.vm_stat[NodeStatItem.WORKINGSET_REFAULT_FILE],
             pg.vm_stat[NodeStatItem.WORKINGSET_ACTIVATE_FILE],
             pg.vm_stat[NodeStatItem.WORKINGSET_RESTORE_FILE]]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
    assert lg.refaulted[0][LRU_GEN_FILE][2] == 1
    assert folio_lru_refs(m, pfn) == 4                 # top tier on its way back
    # once the generation it was evicted from is gone, the refault is not recent
    lg.min_seq[LRU_GEN_FILE] += 1
    lg_mod.lru_gen_refault(m, pfn, shadow)
    assert pg.vm_stat[NodeStatItem.WORKINGSET_REFAULT_FILE] - after[0] == 1
    assert pg.vm_stat[NodeStatItem.WORKINGSET_ACTIVATE_FILE] == after[1]


def test_should_run_aging() -> None:
    m = boot()
    lg = lrugen(m)
    add_pages(m, 4, reclaiming=True)
    try_to_inc_min_seq(m, lg, False)
    # seq 0..3 with pages only in seq 0: min_seq + 2 < max_seq -> no aging needed
    assert lg_mod.should_run_aging(lg, lg.max_seq, False) == (False, 4)
    lg.min_seq[LRU_GEN_FILE] = 2                        # only two generations left
    assert lg_mod.should_run_aging(lg, lg.max_seq, False) == (True, 0)


# ---- min_ttl -------------------------------------------------------------------------------

def test_min_ttl_invokes_the_oom_killer_instead_of_thrashing() -> None:
    m = boot()
    add_pages(m, 64)
    calls: list[int] = []
    m.lru_gen_oom_hook = calls.append  # type: ignore[attr-defined]
    sc = LruGenScanControl(priority=0)
    assert not lg_mod.lru_gen_age_node(m, m.nodes[0], sc)      # min_ttl 0: off
    m.proc_write("/sys/kernel/mm/lru_gen/min_ttl_ms", "1000")
    assert lg_mod.lru_gen_age_node(m, m.nodes[0], sc)          # all younger than 1 s
    assert calls == [sc.gfp_mask]
    m.clock_ns += 2_000_000_000
    assert not lg_mod.lru_gen_age_node(m, m.nodes[0], sc)
    assert len(calls) == 1


# ---- debugfs -------------------------------------------------------------------------------

def test_debugfs_histogram() -> None:
    m = boot()
    lg = lrugen(m)
    add_pages(m, 3)                                    # file, seq 1
    add_pages(m, 2, anon=True)                         # anon, seq 2
    m.clock_ns += 40_000_000                            # 10 jiffies
    inc_max_seq(m, lg, lg.max_seq, can_swap=False)     # seq 4 born now; anon min_seq 1
    text = m.proc("/sys/kernel/debug/lru_gen")
    age = lg_mod.jiffies_to_msecs(lg_mod.jiffies(m) - lg.timestamps[1])
    assert text == (
        "memcg     1 /\n"
        " node     0\n"
        f"          1 {age:10d}          0           3 \n"
        f"          2 {age:10d}          2           0 \n"
        f"          3 {age:10d}          0           0 \n"
        "          4          0          0           0 \n")
    full = m.proc("/sys/kernel/debug/lru_gen_full").splitlines()
    assert full[2] == f"          1 {age:10d}          0           3 "
    assert full[3].split() == ["0", "0r", "0e", "0p", "0r", "0e", "0p"]
    # seq 0 is older than file's min_seq: the full view marks it 'x' for file only
    m2 = boot()
    add_pages(m2, 1)
    try_to_inc_min_seq(m2, lrugen(m2), can_swap=False)
    full2 = m2.proc("/sys/kernel/debug/lru_gen_full").splitlines()
    assert full2[2].startswith("          0 ")
    assert full2[2].endswith("          0           0x")
    assert "RTx" not in full2[3] and full2[3].split()[1:] == ["0r", "0e", "0p", "0x", "0x",
                                                              "0x"]


def test_debugfs_commands() -> None:
    m = boot()
    lg = lrugen(m)
    add_pages(m, 5, reclaiming=True)
    seq = lg.max_seq
    m.proc_write("/sys/kernel/debug/lru_gen", f"+ 1 0 {seq} 0 1\n")
    assert lg.max_seq == seq + 1
    with pytest.raises(MemsimError):
        m.proc_write("/sys/kernel/debug/lru_gen", "* 1 0 3\n")
    with pytest.raises(MemsimError):
        m.proc_write("/sys/kernel/debug/lru_gen", "+ 7 0 3\n")


# ---- with the classic reclaim (mm/vmscan.py, mm/swap.py, mm/mm_inline.py) -------------------

def _drain(m: Machine) -> None:
    from memsim.mm.swap import lru_add_drain_all
    lru_add_drain_all(m)


def test_faulted_pages_start_young_and_reads_count_refs() -> None:
    from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_WRITE
    m = boot()
    lg = lrugen(m)
    p = m.spawn("app")
    a = p.mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.touch(a, 4 * PAGE, write=True)
    _drain(m)
    pfn = pte_pfn(p.mm.pgd.pte_get(a))
    # folio_add_lru() inside a fault on a VMA with recency: PG_active -> max_seq
    assert folio_lru_gen(m, pfn) == lru_gen_from_seq(lg.max_seq)
    assert m.mem_map.flags[pfn] & PG_LRU and not m.mem_map.flags[pfn] & PG_ACTIVE
    # read(2) brings pages in old (min_seq + 1) and each access counts a ref
    fd = p.open("/notes", os.O_RDWR, data=b"N" * (2 * PAGE))
    for _ in range(4):
        p.pread(fd, PAGE, 0)
        p.pread(fd, PAGE, PAGE)
    _drain(m)
    pcs = [q for q in range(m.mem_map.nr_pfns)
           if m.mem_map.flags[q] & PG_LRU and not m.mem_map.flags[q] & PG_SWAPBACKED
           and folio_lru_refs(m, q) >= 2]
    assert pcs, "pages read four times have refs (PG_workingset + counter)"
    assert all(folio_lru_gen(m, q) >= 0 for q in pcs)
    m.validate()


def test_enabled_switch_moves_folios_between_classic_and_mglru() -> None:
    m = boot("classic")
    p, addr, pfns = file_mapping(m, 16)
    pg = m.nodes[0]
    lru_total = sum(pg.vm_stat[NodeStatItem.NR_LRU_BASE + i] for i in range(5))
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "y")
    assert m.lru_gen_on
    assert all(folio_lru_gen(m, pfn) >= 0 for pfn in pfns)
    assert sum(pg.vm_stat[NodeStatItem.NR_LRU_BASE + i] for i in range(5)) == lru_total
    m.validate()
    p.touch(addr, 16 * PAGE)
    m.proc_write("/sys/kernel/mm/lru_gen/enabled", "0")
    assert not m.lru_gen_on
    assert all(folio_lru_gen(m, pfn) < 0 and m.mem_map.flags[pfn] & PG_LRU for pfn in pfns)
    from memsim.mm.vmscan import lru_lists
    on_lists = {q for pfns_ in lru_lists(m).values() for q in pfns_}
    assert set(pfns) <= on_lists
    assert sum(pg.vm_stat[NodeStatItem.NR_LRU_BASE + i] for i in range(5)) == lru_total
    m.validate()


def _pressure(lru: str) -> Machine:
    """A file-backed workload larger than memory: a hot set of 1,000 pages read between
    the pages of a sequential scan over 80 MB on a 64 MB machine."""
    import numpy as np
    m = Machine.boot(mem="64M", lru=lru, seed=3)
    p = m.spawn("scan")
    npages = 20000
    fd = p.open("/big", os.O_RDWR | os.O_CREAT)
    p.ftruncate(fd, npages * PAGE)
    base = p.mmap(0, npages * PAGE, PROT_READ, MAP_SHARED, fd)
    hot = np.random.default_rng(7).integers(0, 1000, 6000)
    for i in range(6000):
        p.touch(base + int(hot[i]) * PAGE, PAGE)
        p.touch(base + (1000 + (i * 2) % (npages - 1000)) * PAGE, PAGE)
    m.validate()
    # the faulting page stays referenced while its readahead allocates and reclaims: no
    # page is freed under the fault and then marked uptodate (a bad page at its next use)
    assert "BUG" not in m.dmesg()
    return m


def test_side_by_side_classic_and_mglru() -> None:
    res = {}
    for lru in ("classic", "mglru"):
        m = _pressure(lru)
        vm = dict(line.split() for line in m.proc("vmstat").splitlines())
        stolen = int(vm["pgsteal_kswapd"]) + int(vm["pgsteal_direct"])
        assert stolen > 0 and int(vm["pgsteal_file"]) == stolen
        res[lru] = vm
        if lru == "mglru":
            lg = lrugen(m)
            assert lg.max_seq > 3                        # aged under pressure
            hist = m.proc("/sys/kernel/debug/lru_gen").splitlines()
            assert hist[0] == "memcg     1 /" and len(hist) >= 2 + 2
            assert int(vm["workingset_refault_file"]) > 0
    assert res["classic"]["pgscan_file"] != "0" and res["mglru"]["pgscan_file"] != "0"


def test_debugfs_eviction_command_reclaims_page_cache() -> None:
    m = boot()
    lg = lrugen(m)
    p = m.spawn("cat")
    fd = p.open("/log", os.O_RDWR, data=b"L" * (32 * PAGE))
    p.pread(fd, 32 * PAGE, 0)
    _drain(m)
    m.proc_write("/sys/kernel/debug/lru_gen", f"+ 1 0 {lg.max_seq} 0")   # force_scan
    before = m.vm_event[VmEventItem.PGSTEAL_DIRECT]
    cached = m.nodes[0].vm_stat[NodeStatItem.NR_FILE_PAGES]
    m.proc_write("/sys/kernel/debug/lru_gen", f"- 1 0 {lg.min_seq[LRU_GEN_FILE]} 0, ")
    stolen = m.vm_event[VmEventItem.PGSTEAL_DIRECT] - before
    assert stolen >= 32
    assert m.nodes[0].vm_stat[NodeStatItem.NR_FILE_PAGES] == cached - stolen
    with pytest.raises(MemsimError):                    # the two youngest: refused
        m.proc_write("/sys/kernel/debug/lru_gen", f"- 1 0 {lg.max_seq - 1}")
    with pytest.raises(MemsimError):
        m.proc_write("/sys/kernel/debug/lru_gen", f"- 1 0 {lg.min_seq[1]} 201")
    m.validate()
