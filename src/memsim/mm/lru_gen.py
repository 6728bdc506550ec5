"""
The multi-generational LRU of 6.12 (MGLRU; virtual.md §10): generations, aging, eviction,
tiers with the PID controller, refault feedback, min_ttl_ms thrashing prevention, the
switches /sys/kernel/mm/lru_gen/{enabled,min_ttl_ms} and the debugfs histogram.

# SIM: the kernel keeps this in mm/vmscan.c (lru_gen_*), include/linux/mm_inline.h
# (lru_gen_add_folio, lru_gen_del_folio, lru_gen_update_size), mm/swap.c (folio_inc_refs)
# and mm/workingset.c (lru_gen_eviction, lru_gen_refault); a separate module keeps the
# classic reclaim of mm/vmscan.py readable.

Data model
----------
One ``LruGenFolio`` (``lruvec->lrugen``) per node (# SIM: no memory cgroups: the root
memcg's lruvec), held in ``m.lru_gen`` (``LruGenState``, with the caps and min_ttl).
A folio's generation (``gen + 1``, 0 = not on an MGLRU list) and its refs counter live in
``page->flags`` above the flag bits (include/page_flags.py ``LRU_GEN_MASK`` and
``LRU_REFS_MASK``), as in the kernel; the lists ``folios[gen][type][zone]`` are threaded
through the memmap's ``lru_next``/``lru_prev`` (PFN+1 links, ``lru_next`` from the head
(newest) towards the tail (oldest), the same links the classic lists of mm/mm_inline.py
use: a folio is on one kind of list only). The kernel's circular list needs no list head
to unlink a folio; here ``LruGenState.where[pfn]`` remembers which list a folio sits on
(it can differ from its generation after a lazy promotion by the page-table walk).

Entry points: ``lru_gen_add_folio``/``lru_gen_del_folio`` (mm/mm_inline.py dispatches to
them while MGLRU is enabled), ``folio_inc_refs`` (folio_mark_accessed), ``lru_gen_shrink_node``
(shrink_node), ``lru_gen_age_node`` (kswapd), ``lru_gen_look_around`` (folio_referenced),
``lru_gen_eviction``/``lru_gen_refault`` (workingset shadows), ``try_to_inc_max_seq``
(aging with the page-table walk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from memsim.errors import MemsimError
from memsim.include.list import pfn_list_add, pfn_list_add_tail, pfn_list_del
from memsim.include.mm import (
    VM_EXEC,
    VM_HUGETLB,
    VM_LOCKED,
    VM_RAND_READ,
    VM_READ,
    VM_SEQ_READ,
    VM_SPECIAL,
    VM_WRITE,
)
from memsim.include.page_flags import (
    LRU_GEN_MASK,
    LRU_GEN_PGOFF,
    LRU_REFS_MASK,
    LRU_REFS_PGOFF,
    LRU_REFS_WIDTH,
    PageFlags,
    PG_swapcache,
)
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_SPECIAL,
    PTE_PFN_MASK,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem, ZoneStatItem

if TYPE_CHECKING:
    from memsim.include.mm_types import MmStruct, VmAreaStruct
    from memsim.include.mmzone import PgData
    from memsim.machine import Machine

# ---- constants (include/linux/mmzone.h, mm/vmscan.c) ----------------------------------------
MIN_NR_GENS = 2
MAX_NR_GENS = 4
MAX_NR_TIERS = 4
NR_HIST_GENS = 1                  # CONFIG_LRU_GEN_STATS off
MIN_LRU_BATCH = 64                # BITS_PER_LONG
MAX_LRU_BATCH = MIN_LRU_BATCH * 64
LRU_GEN_ANON = 0
LRU_GEN_FILE = 1
ANON_AND_FILE = 2
DEF_PRIORITY = 12
MAX_SWAPPINESS = 200
#: enum lru_gen_caps
LRU_GEN_CORE = 0
LRU_GEN_MM_WALK = 1
LRU_GEN_NONLEAF_YOUNG = 2
NR_LRU_GEN_CAPS = 3
#: CONFIG_HZ of the model (as mm/slab.py)
HZ = 250
_NS_PER_JIFFY = 1_000_000_000 // HZ

# workingset shadow packing (mm/workingset.c), x86-64 distro config: NODES_SHIFT 10
BITS_PER_LONG = 64
BITS_PER_XA_VALUE = BITS_PER_LONG - 1
WORKINGSET_SHIFT = 1
NODES_SHIFT = 10
MEM_CGROUP_ID_SHIFT = 16
EVICTION_SHIFT = (BITS_PER_LONG - BITS_PER_XA_VALUE) + WORKINGSET_SHIFT + NODES_SHIFT + \
    MEM_CGROUP_ID_SHIFT
EVICTION_MASK = (1 << (BITS_PER_LONG - EVICTION_SHIFT)) - 1
#: mem_cgroup_id(root_mem_cgroup) (# SIM: the only memcg)
ROOT_MEMCG_ID = 1

_PG_LOCKED = 1 << PageFlags.PG_locked
_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_WORKINGSET = 1 << PageFlags.PG_workingset
_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_LRU = 1 << PageFlags.PG_lru
_PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_SWAPCACHE = 1 << PG_swapcache
_PG_RECLAIM = 1 << PageFlags.PG_reclaim
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_WRITEBACK = 1 << PageFlags.PG_writeback
_PG_HEAD = 1 << PageFlags.PG_head
LRU_REFS_FLAGS = _PG_REFERENCED | _PG_WORKINGSET
_GEN_ONE = 1 << LRU_GEN_PGOFF
_REFS_ONE = 1 << LRU_REFS_PGOFF

# enum lru_list
_LRU_INACTIVE_ANON = 0
_LRU_ACTIVE = 1
_LRU_INACTIVE_FILE = 2
_NR_LRU_BASE = int(NodeStatItem.NR_LRU_BASE)
_NR_ZONE_LRU_BASE = int(ZoneStatItem.NR_ZONE_LRU_BASE)
_WS_REFAULT = int(NodeStatItem.WORKINGSET_REFAULT_BASE)
_WS_ACTIVATE = int(NodeStatItem.WORKINGSET_ACTIVATE_BASE)
_WS_RESTORE = int(NodeStatItem.WORKINGSET_RESTORE_BASE)
_GFP_IO = 0x40                    # ___GFP_IO

#: shrink_folio_list(m, pgdat, folios, sc) -> nr_reclaimed; *folios* keeps the survivors
ShrinkFolioList = Callable[["Machine", "PgData", list[int], Any], int]


# ---- state -----------------------------------------------------------------------------------

@dataclass(eq=False)
class LruGenFolio:
    """struct lru_gen_folio (``lruvec->lrugen``) of one node."""

    nid: int
    nr_zones: int
    max_seq: int = MIN_NR_GENS + 1
    min_seq: list[int] = field(default_factory=lambda: [0, 0])
    timestamps: list[int] = field(default_factory=lambda: [0] * MAX_NR_GENS)
    #: list heads/tails (PFN+1, 0 = empty) and sizes, indexed by _lidx(gen, type, zone)
    head: list[int] = field(default_factory=list)
    tail: list[int] = field(default_factory=list)
    nr_pages: list[int] = field(default_factory=list)
    avg_refaulted: list[list[int]] = field(
        default_factory=lambda: [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)])
    avg_total: list[list[int]] = field(
        default_factory=lambda: [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)])
    #: [hist][type][tier] (NR_HIST_GENS == 1)
    refaulted: list[list[list[int]]] = field(default_factory=lambda: [
        [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)] for _ in range(NR_HIST_GENS)])
    evicted: list[list[list[int]]] = field(default_factory=lambda: [
        [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)] for _ in range(NR_HIST_GENS)])
    protected: list[list[list[int]]] = field(default_factory=lambda: [
        [[0] * (MAX_NR_TIERS - 1) for _ in range(ANON_AND_FILE)] for _ in range(NR_HIST_GENS)])
    enabled: bool = False
    #: lru_gen_mm_state->seq: the last max_seq whose page-table walk finished
    mm_seq: int = MIN_NR_GENS
    #: lru_gen_mm_state->stats: leaf PTEs walked and young (# SIM: no Bloom filters, so
    #: no non-leaf found/added counts)
    mm_stats: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def __post_init__(self) -> None:
        n = MAX_NR_GENS * ANON_AND_FILE * self.nr_zones
        self.head = [0] * n
        self.tail = [0] * n
        self.nr_pages = [0] * n

    def lidx(self, gen: int, type_: int, zone: int) -> int:
        return (gen * ANON_AND_FILE + type_) * self.nr_zones + zone

    def gen_size(self, gen: int, type_: int) -> int:
        """Pages of one generation and type over all zones (negative sizes read as 0)."""
        base = (gen * ANON_AND_FILE + type_) * self.nr_zones
        return sum(max(n, 0) for n in self.nr_pages[base:base + self.nr_zones])


@dataclass(eq=False)
class LruGenState:
    """The machine-wide MGLRU state: caps (lru_gen_caps static keys), lru_gen_min_ttl
    (jiffies), one lrugen per node, and each listed folio's list index + 1."""

    caps: int
    min_ttl: int
    lrugens: list[LruGenFolio]
    where: bytearray


@dataclass
class LruGenScanControl:
    """The fields of struct scan_control that MGLRU reads (mm/vmscan.py has the full one;
    any object with these attributes will do)."""

    nr_to_reclaim: int = 32
    gfp_mask: int = 0xCC0            # GFP_KERNEL
    order: int = 0
    priority: int = DEF_PRIORITY
    reclaim_idx: int = 8
    may_writepage: bool = True
    may_unmap: bool = True
    may_swap: bool = True
    proactive: bool = False
    nr_reclaimed: int = 0
    nr_scanned: int = 0
    kswapd: bool = False


def _default_caps(m: Machine) -> int:
    """CONFIG_LRU_GEN_ENABLED semantics, per arch: x86-64 sets the accessed bit in hardware
    in leaf and non-leaf entries (0x0007); arm64 (HAFDBS) and the model's two-level i386 in
    leaf entries only (0x0003); 32-bit arm has no hardware accessed bit (0x0001)."""
    arch = m.config.arch
    if arch == "x86_64":
        return 0x7
    if arch in ("arm64", "i386"):
        return 0x3
    return 0x1


def lru_gen_state(m: Machine) -> LruGenState:
    """The MGLRU state of *m* (created on first use: lru=mglru turns it on at boot)."""
    st: LruGenState | None = getattr(m, "lru_gen", None)
    if st is None:
        on = m.config.values.get("lru", "classic") == "mglru"
        nz = max((len(pg.node_zones) for pg in m.nodes), default=1)
        now = jiffies(m)
        gens = []
        for pg in m.nodes:
            lg = LruGenFolio(nid=pg.node_id, nr_zones=nz, enabled=on)
            # lru_gen_init_lruvec(): timestamps of seq 0..MIN_NR_GENS+1 = now
            lg.timestamps = [now] * MAX_NR_GENS
            gens.append(lg)
        st = LruGenState(caps=_default_caps(m) if on else 0, min_ttl=0, lrugens=gens,
                         where=bytearray(m.mem_map.nr_pfns))
        m.lru_gen = st  # type: ignore[attr-defined]
        m.lru_gen_on = on
    return st


def lru_gen_init(m: Machine) -> None:
    """lru_gen_init_pgdat() for every node, at boot (vmscan_init): lru=mglru turns the
    LRU_GEN_CORE cap on (CONFIG_LRU_GEN_ENABLED). Other machines create the state when
    /sys/kernel/mm/lru_gen is first used."""
    if m.config.values.get("lru", "classic") == "mglru":
        lru_gen_state(m)


def lru_gen_enabled(m: Machine) -> bool:
    """lru_gen_enabled(): the LRU_GEN_CORE cap (``m.lru_gen_on`` caches it for the hot
    paths that dispatch between the classic lists and MGLRU)."""
    on: bool | None = getattr(m, "lru_gen_on", None)
    if on is None:
        if m.config.values.get("lru", "classic") != "mglru" or not m.mem_map.nr_pfns:
            return False
        on = bool(lru_gen_state(m).caps & (1 << LRU_GEN_CORE))
    return on


def should_walk_mmu(m: Machine) -> bool:
    """should_walk_mmu(): arch_has_hw_pte_young() and the LRU_GEN_MM_WALK cap."""
    return bool(lru_gen_state(m).caps & _default_caps(m) & (1 << LRU_GEN_MM_WALK))


def jiffies(m: Machine) -> int:
    """jiffies at HZ=250 (# SIM: counted from 0 at boot, not INITIAL_JIFFIES)."""
    return m.clock_ns // _NS_PER_JIFFY


def jiffies_to_msecs(j: int) -> int:
    return j * (1000 // HZ)


def msecs_to_jiffies(ms: int) -> int:
    per = 1000 // HZ
    return (ms + per - 1) // per


# ---- folio helpers (include/linux/mm_inline.h) -----------------------------------------------

def lru_gen_from_seq(seq: int) -> int:
    return seq % MAX_NR_GENS


def lru_hist_from_seq(seq: int) -> int:
    return seq % NR_HIST_GENS


def lru_tier_from_refs(refs: int) -> int:
    """lru_tier_from_refs(): order_base_2(refs + 1)."""
    return refs.bit_length()


def folio_lru_gen(m: Machine, pfn: int) -> int:
    """folio_lru_gen(): the folio's generation, -1 when not on an MGLRU list."""
    return ((m.mem_map.flags[pfn] & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1


def folio_lru_refs(m: Machine, pfn: int) -> int:
    """folio_lru_refs(): the refs counter plus PG_workingset (accesses beyond the first)."""
    f = m.mem_map.flags[pfn]
    return ((f & LRU_REFS_MASK) >> LRU_REFS_PGOFF) + (1 if f & _PG_WORKINGSET else 0)


def folio_clear_lru_refs(m: Machine, pfn: int) -> None:
    m.mem_map.flags[pfn] &= ~(LRU_REFS_MASK | LRU_REFS_FLAGS)


def _type_of(f: int) -> int:
    """folio_is_file_lru(): LRU_GEN_FILE unless swap-backed."""
    return LRU_GEN_ANON if f & _PG_SWAPBACKED else LRU_GEN_FILE


def _nr_pages(m: Machine, pfn: int) -> int:
    mem = m.mem_map
    return 1 << mem.compound_order[pfn] if mem.flags[pfn] & _PG_HEAD else 1


def folio_evictable(m: Machine, pfn: int) -> bool:
    """folio_evictable() (# SIM: no AS_UNEVICTABLE mappings)."""
    return not m.mem_map.flags[pfn] & _PG_MLOCKED


def folio_lrugen(m: Machine, pfn: int) -> LruGenFolio:
    return lru_gen_state(m).lrugens[m.page_zone(pfn).node]


def lru_gen_is_active(lg: LruGenFolio, gen: int) -> bool:
    """lru_gen_is_active(): the two youngest generations count as "active"."""
    return gen == lru_gen_from_seq(lg.max_seq) or gen == lru_gen_from_seq(lg.max_seq - 1)


def get_nr_gens(lg: LruGenFolio, type_: int) -> int:
    return lg.max_seq - lg.min_seq[type_] + 1


def __update_lru_size(m: Machine, nid: int, lru: int, zone: int, delta: int) -> None:
    """__update_lru_size(): the node and zone NR_*_ANON/FILE counters."""
    pg = m.nodes[nid]
    pg.vm_stat[_NR_LRU_BASE + lru] += delta
    pg.node_zones[zone].vm_stat[_NR_ZONE_LRU_BASE + lru] += delta
    lruvec = getattr(pg, "lruvec", None)
    nr = getattr(lruvec, "nr", None)
    if nr is not None:
        nr[lru] += delta             # mm/mm_inline.py keeps lruvec->lists' sizes too


def lru_gen_update_size(m: Machine, lg: LruGenFolio, type_: int, zone: int, delta: int,
                        old_gen: int, new_gen: int) -> None:
    """lru_gen_update_size(): nr_pages and the active/inactive compatibility counters."""
    lru = type_ * _LRU_INACTIVE_FILE
    if old_gen >= 0:
        lg.nr_pages[lg.lidx(old_gen, type_, zone)] -= delta
    if new_gen >= 0:
        lg.nr_pages[lg.lidx(new_gen, type_, zone)] += delta
    if old_gen < 0:
        __update_lru_size(m, lg.nid, lru + (_LRU_ACTIVE if lru_gen_is_active(lg, new_gen)
                                            else 0), zone, delta)
        return
    if new_gen < 0:
        __update_lru_size(m, lg.nid, lru + (_LRU_ACTIVE if lru_gen_is_active(lg, old_gen)
                                            else 0), zone, -delta)
        return
    if not lru_gen_is_active(lg, old_gen) and lru_gen_is_active(lg, new_gen):
        __update_lru_size(m, lg.nid, lru, zone, -delta)
        __update_lru_size(m, lg.nid, lru + _LRU_ACTIVE, zone, delta)


# ---- the lists (PFN+1 links through the memmap) ----------------------------------------------

def _list_add(m: Machine, lg: LruGenFolio, idx: int, pfn: int) -> None:
    pfn_list_add(m.mem_map, lg.head, lg.tail, idx, pfn)
    lru_gen_state(m).where[pfn] = idx + 1


def _list_add_tail(m: Machine, lg: LruGenFolio, idx: int, pfn: int) -> None:
    pfn_list_add_tail(m.mem_map, lg.head, lg.tail, idx, pfn)
    lru_gen_state(m).where[pfn] = idx + 1


def _list_del(m: Machine, lg: LruGenFolio, pfn: int) -> None:
    st = lru_gen_state(m)
    idx = st.where[pfn] - 1
    if idx < 0:
        return
    pfn_list_del(m.mem_map, lg.head, lg.tail, idx, pfn)
    st.where[pfn] = 0


def _list_move(m: Machine, lg: LruGenFolio, idx: int, pfn: int) -> None:
    _list_del(m, lg, pfn)
    _list_add(m, lg, idx, pfn)


def _list_move_tail(m: Machine, lg: LruGenFolio, idx: int, pfn: int) -> None:
    _list_del(m, lg, pfn)
    _list_add_tail(m, lg, idx, pfn)


def lru_gen_list(m: Machine, lg: LruGenFolio, gen: int, type_: int, zone: int) -> list[int]:
    """The PFNs on ``folios[gen][type][zone]`` from head (newest) to tail (oldest)."""
    out: list[int] = []
    nxt = m.mem_map.lru_next
    cur = lg.head[lg.lidx(gen, type_, zone)]
    while cur:
        out.append(cur - 1)
        cur = nxt[cur - 1]
    return out


# ---- adding and deleting (include/linux/mm_inline.h) -----------------------------------------

def lru_gen_add_folio(m: Machine, pfn: int, reclaiming: bool = False) -> bool:
    """
    lru_gen_add_folio(): put a folio (PG_lru set by the caller) on a generation: active
    (faulted in with recency, or kept by reclaim) -> max_seq; anon not in the swap cache,
    or a dirty/writeback folio being reclaimed -> max_seq - 1; reclaiming or only two
    generations -> min_seq; else min_seq + 1. False when MGLRU is off or the folio is
    unevictable (the classic lists take it).
    """
    mem = m.mem_map
    f = mem.flags[pfn]
    if f & LRU_GEN_MASK:
        # VM_WARN_ON_ONCE_FOLIO(gen != -1): a caller wrote back flags it read before
        # lruvec_del_folio(); the folio is off every list, so the stale gen is dropped
        f &= ~LRU_GEN_MASK
        mem.flags[pfn] = f
    if f & _PG_UNEVICTABLE or not lru_gen_enabled(m):
        return False
    zone_ = m.page_zone(pfn)
    lg = lru_gen_state(m).lrugens[zone_.node]
    if not lg.enabled:
        return False
    type_ = _type_of(f)
    zone = zone_.idx
    if f & _PG_ACTIVE:
        seq = lg.max_seq
    elif (type_ == LRU_GEN_ANON and not f & _PG_SWAPCACHE) or \
            (f & _PG_RECLAIM and f & (_PG_DIRTY | _PG_WRITEBACK)):
        seq = lg.max_seq - 1
    elif reclaiming or lg.min_seq[type_] + MIN_NR_GENS >= lg.max_seq:
        seq = lg.min_seq[type_]
    else:
        seq = lg.min_seq[type_] + 1
    gen = lru_gen_from_seq(seq)
    mask = LRU_GEN_MASK
    if f & _PG_ACTIVE:
        mask |= LRU_REFS_MASK | _PG_REFERENCED | _PG_ACTIVE
    mem.flags[pfn] = (f & ~mask) | ((gen + 1) << LRU_GEN_PGOFF)
    lru_gen_update_size(m, lg, type_, zone, _nr_pages(m, pfn), -1, gen)
    idx = lg.lidx(gen, type_, zone)
    if reclaiming:
        _list_add_tail(m, lg, idx, pfn)
    else:
        _list_add(m, lg, idx, pfn)
    return True


def lru_gen_del_folio(m: Machine, pfn: int, reclaiming: bool = False) -> bool:
    """
    lru_gen_del_folio(): take a folio off its generation (the caller clears PG_lru);
    PG_active is set for folio_migrate_flags() when not reclaiming and the generation is
    active. False when the folio is not on an MGLRU list.
    """
    mem = m.mem_map
    f = mem.flags[pfn]
    gen = ((f & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1
    if gen < 0:
        return False
    zone_ = m.page_zone(pfn)
    lg = lru_gen_state(m).lrugens[zone_.node]
    new = f & ~LRU_GEN_MASK
    if not reclaiming and lru_gen_is_active(lg, gen):
        new |= _PG_ACTIVE
    mem.flags[pfn] = new
    lru_gen_update_size(m, lg, _type_of(f), zone_.idx, _nr_pages(m, pfn), gen, -1)
    _list_del(m, lg, pfn)
    return True


def lru_gen_in_fault(m: Machine) -> bool:
    """lru_gen_in_fault(): current is inside a page fault on a VMA with recency."""
    return bool(getattr(m, "in_lru_fault", False))


def lru_gen_enter_fault(m: Machine, vma: VmAreaStruct) -> bool:
    """lru_gen_enter_fault(): returns the previous state for lru_gen_exit_fault()."""
    prev = bool(getattr(m, "in_lru_fault", False))
    m.in_lru_fault = vma_has_recency(vma)  # type: ignore[attr-defined]
    return prev


def lru_gen_exit_fault(m: Machine, prev: bool = False) -> None:
    m.in_lru_fault = prev  # type: ignore[attr-defined]


def lru_gen_folio_add_lru(m: Machine, pfn: int) -> None:
    """The MGLRU part of folio_add_lru(): a folio added while current faults on a VMA with
    recency (and is not a reclaimer) is marked active, so it starts in the youngest
    generation."""
    if lru_gen_enabled(m) and not m.mem_map.flags[pfn] & _PG_UNEVICTABLE and \
            lru_gen_in_fault(m) and not m.current_pf_memalloc:
        m.mem_map.flags[pfn] |= _PG_ACTIVE


def folio_inc_refs(m: Machine, pfn: int) -> None:
    """
    folio_inc_refs() (folio_mark_accessed under MGLRU): the first access through a file
    descriptor sets PG_referenced, the second PG_workingset, further ones count up the
    refs counter (saturating at 3).
    """
    flags = m.mem_map.flags
    f = flags[pfn]
    if f & _PG_UNEVICTABLE:
        return
    if not f & _PG_REFERENCED:
        flags[pfn] = f | _PG_REFERENCED
        return
    if not f & _PG_WORKINGSET:
        flags[pfn] = f | _PG_WORKINGSET
        return
    if f & LRU_REFS_MASK != LRU_REFS_MASK:
        flags[pfn] = f + _REFS_ONE


# ---- PID controller ------------------------------------------------------------------------

@dataclass
class CtrlPos:
    refaulted: int
    total: int
    gain: int


def read_ctrl_pos(lg: LruGenFolio, type_: int, tier: int, gain: int) -> CtrlPos:
    hist = lru_hist_from_seq(lg.min_seq[type_])
    refaulted = lg.avg_refaulted[type_][tier] + lg.refaulted[hist][type_][tier]
    total = lg.avg_total[type_][tier] + lg.evicted[hist][type_][tier]
    if tier:
        total += lg.protected[hist][type_][tier - 1]
    return CtrlPos(refaulted, total, gain)


def reset_ctrl_pos(lg: LruGenFolio, type_: int, carryover: bool) -> None:
    """reset_ctrl_pos(): fold the current counters into the moving averages (carryover,
    when min_seq advances) and clear them (single-slot history)."""
    clear = NR_HIST_GENS == 1 if carryover else NR_HIST_GENS > 1
    if not carryover and not clear:
        return
    seq = lg.min_seq[type_] if carryover else lg.max_seq + 1
    hist = lru_hist_from_seq(seq)
    for tier in range(MAX_NR_TIERS):
        if carryover:
            s = lg.avg_refaulted[type_][tier] + lg.refaulted[hist][type_][tier]
            lg.avg_refaulted[type_][tier] = s // 2
            s = lg.avg_total[type_][tier] + lg.evicted[hist][type_][tier]
            if tier:
                s += lg.protected[hist][type_][tier - 1]
            lg.avg_total[type_][tier] = s // 2
        if clear:
            lg.refaulted[hist][type_][tier] = 0
            lg.evicted[hist][type_][tier] = 0
            if tier:
                lg.protected[hist][type_][tier - 1] = 0


def positive_ctrl_err(sp: CtrlPos, pv: CtrlPos) -> bool:
    """The PV has few refaults or a refault rate no worse than the SP's (weighted)."""
    return pv.refaulted < MIN_LRU_BATCH or \
        pv.refaulted * (sp.total + MIN_LRU_BATCH) * sp.gain <= \
        (sp.refaulted + 1) * pv.total * pv.gain


def get_tier_idx(lg: LruGenFolio, type_: int) -> int:
    """get_tier_idx(): the highest tier still evictable (tiers above it are protected)."""
    sp = read_ctrl_pos(lg, type_, 0, 1)
    tier = 1
    while tier < MAX_NR_TIERS:
        if not positive_ctrl_err(sp, read_ctrl_pos(lg, type_, tier, 2)):
            break
        tier += 1
    return tier - 1


def get_type_to_scan(lg: LruGenFolio, swappiness: int) -> tuple[int, int]:
    """get_type_to_scan(): (type, tier_idx) from the first tiers of anon and file."""
    gain = [swappiness, MAX_SWAPPINESS - swappiness]
    sp = read_ctrl_pos(lg, LRU_GEN_ANON, 0, gain[LRU_GEN_ANON])
    pv = read_ctrl_pos(lg, LRU_GEN_FILE, 0, gain[LRU_GEN_FILE])
    type_ = 1 if positive_ctrl_err(sp, pv) else 0
    sp = read_ctrl_pos(lg, 1 - type_, 0, gain[1 - type_])
    tier = 1
    while tier < MAX_NR_TIERS:
        if not positive_ctrl_err(sp, read_ctrl_pos(lg, type_, tier, gain[type_])):
            break
        tier += 1
    return type_, tier - 1


# ---- aging -----------------------------------------------------------------------------------

def folio_update_gen(m: Machine, pfn: int, gen: int) -> int:
    """folio_update_gen(): promote a folio accessed through page tables to *gen* (the list
    move is lazy); an isolated folio gets PG_referenced instead. Returns the old gen."""
    flags = m.mem_map.flags
    f = flags[pfn]
    if not f & LRU_GEN_MASK:
        flags[pfn] = f | _PG_REFERENCED
        return -1
    flags[pfn] = (f & ~(LRU_GEN_MASK | LRU_REFS_MASK | LRU_REFS_FLAGS)) | \
        ((gen + 1) << LRU_GEN_PGOFF)
    return ((f & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1


def folio_inc_gen(m: Machine, lg: LruGenFolio, pfn: int, reclaiming: bool) -> int:
    """folio_inc_gen(): move a folio of the oldest generation to the next one, clearing
    its refs (unless the page-table walk has promoted it already)."""
    flags = m.mem_map.flags
    f = flags[pfn]
    type_ = _type_of(f)
    old_gen = lru_gen_from_seq(lg.min_seq[type_])
    new_gen = ((f & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1
    if new_gen >= 0 and new_gen != old_gen:
        return new_gen
    new_gen = (old_gen + 1) % MAX_NR_GENS
    nf = (f & ~(LRU_GEN_MASK | LRU_REFS_MASK | LRU_REFS_FLAGS)) | ((new_gen + 1) << LRU_GEN_PGOFF)
    if reclaiming:
        nf |= _PG_RECLAIM
    flags[pfn] = nf
    lru_gen_update_size(m, lg, type_, m.page_zone(pfn).idx, _nr_pages(m, pfn), old_gen,
                        new_gen)
    return new_gen


def inc_min_seq(m: Machine, lg: LruGenFolio, type_: int, can_swap: bool) -> bool:
    """inc_min_seq(): retire the oldest generation, moving what is left to the next."""
    if not (type_ == LRU_GEN_ANON and not can_swap):
        remaining = MAX_LRU_BATCH
        old_gen = lru_gen_from_seq(lg.min_seq[type_])
        for zone in range(lg.nr_zones):
            idx = lg.lidx(old_gen, type_, zone)
            while lg.tail[idx]:
                pfn = lg.tail[idx] - 1
                new_gen = folio_inc_gen(m, lg, pfn, False)
                _list_move_tail(m, lg, lg.lidx(new_gen, type_, zone), pfn)
                remaining -= 1
                if not remaining:
                    return False
    reset_ctrl_pos(lg, type_, True)
    lg.min_seq[type_] += 1
    return True


def try_to_inc_min_seq(m: Machine, lg: LruGenFolio, can_swap: bool) -> bool:
    """try_to_inc_min_seq(): drop empty oldest generations (min_seq[ANON] <= min_seq[FILE]
    when swapping is possible)."""
    min_seq = list(lg.min_seq)
    for type_ in range(0 if can_swap else 1, ANON_AND_FILE):
        while min_seq[type_] + MIN_NR_GENS <= lg.max_seq:
            gen = lru_gen_from_seq(min_seq[type_])
            if any(lg.head[lg.lidx(gen, type_, z)] for z in range(lg.nr_zones)):
                break
            min_seq[type_] += 1
    if can_swap:
        min_seq[LRU_GEN_ANON] = min(min_seq[LRU_GEN_ANON], min_seq[LRU_GEN_FILE])
        min_seq[LRU_GEN_FILE] = max(min_seq[LRU_GEN_ANON], lg.min_seq[LRU_GEN_FILE])
    success = False
    for type_ in range(0 if can_swap else 1, ANON_AND_FILE):
        if min_seq[type_] == lg.min_seq[type_]:
            continue
        reset_ctrl_pos(lg, type_, True)
        lg.min_seq[type_] = min_seq[type_]
        success = True
    return success


def inc_max_seq(m: Machine, lg: LruGenFolio, seq: int, can_swap: bool,
                force_scan: bool = False) -> bool:
    """inc_max_seq(): open a new youngest generation (retiring the oldest if all four
    slots are used); max_seq - 1 stops counting as active."""
    while True:
        if seq != lg.max_seq:
            return False
        restart = False
        for type_ in (LRU_GEN_FILE, LRU_GEN_ANON):
            if get_nr_gens(lg, type_) != MAX_NR_GENS:
                continue
            if not inc_min_seq(m, lg, type_, can_swap):
                restart = True
                break
        if not restart:
            break
    prev = lru_gen_from_seq(lg.max_seq - 1)
    nxt = lru_gen_from_seq(lg.max_seq + 1)
    for type_ in range(ANON_AND_FILE):
        lru = type_ * _LRU_INACTIVE_FILE
        for zone in range(lg.nr_zones):
            delta = lg.nr_pages[lg.lidx(prev, type_, zone)] - \
                lg.nr_pages[lg.lidx(nxt, type_, zone)]
            if not delta:
                continue
            __update_lru_size(m, lg.nid, lru, zone, delta)
            __update_lru_size(m, lg.nid, lru + _LRU_ACTIVE, zone, -delta)
    for type_ in range(ANON_AND_FILE):
        reset_ctrl_pos(lg, type_, False)
    lg.timestamps[nxt] = jiffies(m)
    lg.max_seq += 1
    return True


def vma_has_recency(vma: VmAreaStruct) -> bool:
    """vma_has_recency(): not madvised MADV_SEQUENTIAL/MADV_RANDOM (# SIM: no
    FMODE_NOREUSE files)."""
    return not vma.vm_flags & (VM_SEQ_READ | VM_RAND_READ)


def _should_skip_vma(m: Machine, vma: VmAreaStruct, can_swap: bool) -> bool:
    """should_skip_vma(): inaccessible, hugetlb, no recency, locked or special VMAs; anon
    VMAs when swapping is impossible. # SIM: shmem and unevictable mappings are filtered
    per folio (get_pfn_folio's type check) rather than per VMA."""
    fl = vma.vm_flags
    if not fl & (VM_READ | VM_WRITE | VM_EXEC):
        return True
    if fl & (VM_HUGETLB | VM_LOCKED | VM_SPECIAL) or not vma_has_recency(vma):
        return True
    if vma.vm_file is None:
        return not can_swap
    return False


def _get_pfn_folio(m: Machine, pfn: int, nid: int, can_swap: bool) -> int:
    """get_pte_pfn() + get_pfn_folio(): the folio head for a young PTE's pfn, or -1."""
    if pfn == m.zero_pfn or not m.pfn_valid(pfn):
        return -1
    pg = m.nodes[nid]
    if pfn < pg.node_start_pfn or pfn >= pg.node_end_pfn:
        return -1
    h1 = m.mem_map.compound_head1[pfn]
    head = h1 - 1 if h1 else pfn
    if not m.mem_map.flags[head] & _PG_SWAPBACKED or can_swap:
        return head
    return -1


def _promote_young_ptes(m: Machine, lg: LruGenFolio, ptes: Any, idxs: Any,
                        can_swap: bool, new_gen: int, batched: bool) -> int:
    """The per-PTE body shared by walk_pte_range() and lru_gen_look_around(): clear the
    accessed bit of each young PTE, carry a dirty PTE into the folio, promote the folio
    (folio_update_gen when batched, folio_activate otherwise). Returns the young count."""
    young = 0
    mem = m.mem_map
    flags = mem.flags
    for i in idxs:
        i = int(i)
        pte = ptes[i]
        if not pte & (_PAGE_PRESENT | _PAGE_PROTNONE) or pte & _PAGE_SPECIAL or \
                not pte & _PAGE_ACCESSED:
            continue
        head = _get_pfn_folio(m, (pte & PTE_PFN_MASK) >> 12, lg.nid, can_swap)
        if head < 0:
            continue
        ptes[i] = pte & ~_PAGE_ACCESSED
        young += 1
        f = flags[head]
        if pte & _PAGE_DIRTY and not f & _PG_DIRTY and \
                not (mem.mapping[head] & 1 and f & _PG_SWAPBACKED and not f & _PG_SWAPCACHE):
            flags[head] = f | _PG_DIRTY          # folio_mark_dirty()
        if batched:
            old_gen = folio_update_gen(m, head, new_gen)
            if old_gen >= 0 and old_gen != new_gen:
                lru_gen_update_size(m, lg, _type_of(flags[head]), m.page_zone(head).idx,
                                    _nr_pages(m, head), old_gen, new_gen)
            continue
        old_gen = folio_lru_gen(m, head)
        if old_gen < 0:
            flags[head] |= _PG_REFERENCED
        elif old_gen != new_gen:
            folio_clear_lru_refs(m, head)
            _folio_activate(m, head)
    return young


def walk_mm(m: Machine, lg: LruGenFolio, mm: MmStruct, can_swap: bool) -> int:
    """
    walk_mm(): harvest the accessed bits of one address space's leaf PTEs into generation
    max_seq. # SIM: every PTE table of each eligible VMA is walked (no Bloom filters, no
    non-leaf PMD young bits, no skipping of mms that did not run); huge PMDs are skipped.
    Returns the number of young PTEs.
    """
    new_gen = lru_gen_from_seq(lg.max_seq)
    young = 0
    for vma in list(mm.vmas):
        if _should_skip_vma(m, vma, can_swap):
            continue
        for table, i0, i1 in mm.pgd.iter_tables(vma.vm_start, vma.vm_end):
            arr = np.asarray(table.ptes[i0:i1])
            lg.mm_stats[0] += i1 - i0                # MM_LEAF_TOTAL
            hits = np.flatnonzero(arr & _PAGE_ACCESSED)
            if hits.size:
                young += _promote_young_ptes(m, lg, table.pte, hits + i0, can_swap,
                                             new_gen, True)
    lg.mm_stats[1] += young                          # MM_LEAF_YOUNG
    return young


def _mms(m: Machine) -> list[MmStruct]:
    """The mm_list: each live address space once."""
    seen: dict[int, MmStruct] = {}
    for t in list(getattr(m, "tasks", {}).values()):
        mm = getattr(t, "mm", None)
        if mm is not None and getattr(t, "exit_state", None) is None and id(mm) not in seen:
            seen[id(mm)] = mm
    return list(seen.values())


def try_to_inc_max_seq(m: Machine, lg: LruGenFolio, seq: int, can_swap: bool,
                       force_scan: bool = False) -> bool:
    """try_to_inc_max_seq(): walk the page tables of every mm (when the MMU sets accessed
    bits and LRU_GEN_MM_WALK is on), then inc_max_seq()."""
    if seq <= lg.mm_seq:
        return False
    if should_walk_mmu(m):
        for mm in _mms(m):
            walk_mm(m, lg, mm, can_swap)
    lg.mm_seq = seq
    return inc_max_seq(m, lg, seq, can_swap, force_scan)


def lru_gen_look_around(m: Machine, vma: VmAreaStruct, addr: int, pfn: int) -> bool:
    """
    lru_gen_look_around(): called by folio_referenced for a young PTE of an isolated
    folio: clear that PTE's accessed bit and promote the young neighbours (up to 64 PTEs
    around it in the same page table and VMA) to the youngest generation. Returns whether
    the PTE was young.
    """
    mm = vma.vm_mm
    table = mm.pgd.pte_table(addr)
    if table is None:
        return False
    mask = mm.pgd.ptrs_per_pte - 1
    i = (addr >> 12) & mask
    pte = table.pte[i]
    if not pte & _PAGE_ACCESSED:
        return False
    table.pte[i] = pte & ~_PAGE_ACCESSED
    if vma.vm_flags & VM_SPECIAL:
        return True
    shift = mm.pgd.pmd_shift
    pmd_mask = ~((1 << shift) - 1)
    start = max(addr & pmd_mask, vma.vm_start)
    end = min(addr | ~pmd_mask & ((1 << 64) - 1), vma.vm_end - 1) + 1
    if end - start == 4096:
        return True
    half = MIN_LRU_BATCH * 4096 // 2
    if end - start > MIN_LRU_BATCH * 4096:
        if addr - start < half:
            end = start + MIN_LRU_BATCH * 4096
        elif end - addr < half:
            start = end - MIN_LRU_BATCH * 4096
        else:
            start, end = addr - half, addr + half
    st = lru_gen_state(m)
    lg = st.lrugens[m.page_zone(pfn).node]
    can_swap = bool(m.mem_map.flags[pfn] & _PG_SWAPBACKED)
    i0 = (start >> 12) & mask
    i1 = ((end - 1) >> 12 & mask) + 1
    arr = np.asarray(table.ptes[i0:i1])
    hits = np.flatnonzero(arr & _PAGE_ACCESSED) + i0
    # kswapd has a walk (pgdat->mm_walk): folio_update_gen(); direct reclaim has none
    # (set_mm_walk without force_alloc): folio_activate()
    _promote_young_ptes(m, lg, table.pte, hits, can_swap, lru_gen_from_seq(lg.max_seq),
                        current_is_kswapd(m))
    return True


def _folio_activate(m: Machine, pfn: int) -> None:
    """folio_activate() under MGLRU: off its generation and back on as active (youngest).
    # SIM: applied at once rather than through the lru_activate folio batch."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if f & (_PG_ACTIVE | _PG_UNEVICTABLE) or not f & _PG_LRU:
        return
    if not lru_gen_del_folio(m, pfn, False):
        return
    mem.flags[pfn] |= _PG_ACTIVE
    lru_gen_add_folio(m, pfn, False)
    m.vm_event[VmEventItem.PGACTIVATE] += _nr_pages(m, pfn)


# ---- eviction --------------------------------------------------------------------------------

def _reclaimer_offset(m: Machine, sc: Any) -> int:
    """reclaimer_offset(): 0 kswapd, 1 direct, 3 proactive (# SIM: no khugepaged reclaim)."""
    if current_is_kswapd(m, sc):
        return 0
    if getattr(sc, "proactive", False):
        return 3
    return 1


def current_is_kswapd(m: Machine, sc: Any = None) -> bool:
    if sc is not None and getattr(sc, "kswapd", False):
        return True
    return bool(getattr(m, "current_is_kswapd", False)) or \
        str(getattr(m, "current_comm", "")).startswith("kswapd")


def sort_folio(m: Machine, lg: LruGenFolio, pfn: int, sc: Any, tier_idx: int) -> bool:
    """sort_folio(): move a folio that should not be evicted now (promoted, protected by
    its tier, or in an ineligible zone). True when moved."""
    mem = m.mem_map
    f = mem.flags[pfn]
    gen = ((f & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1
    type_ = _type_of(f)
    zone = m.page_zone(pfn).idx
    delta = _nr_pages(m, pfn)
    refs = folio_lru_refs(m, pfn)
    tier = lru_tier_from_refs(refs)
    if not folio_evictable(m, pfn):
        return False
    if gen != lru_gen_from_seq(lg.min_seq[type_]):
        _list_move(m, lg, lg.lidx(gen, type_, zone), pfn)
        return True
    if tier > tier_idx or refs == 1 << LRU_REFS_WIDTH:
        hist = lru_hist_from_seq(lg.min_seq[type_])
        gen = folio_inc_gen(m, lg, pfn, False)
        _list_move_tail(m, lg, lg.lidx(gen, type_, zone), pfn)
        lg.protected[hist][type_][tier - 1] += delta
        return True
    if zone > getattr(sc, "reclaim_idx", lg.nr_zones):
        gen = folio_inc_gen(m, lg, pfn, False)
        _list_move_tail(m, lg, lg.lidx(gen, type_, zone), pfn)
        return True
    return False


def isolate_folio(m: Machine, pfn: int, sc: Any) -> bool:
    """isolate_folio(): take a reference, clear PG_lru and PG_referenced (and the refs if
    the folio was not referenced), off its generation."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if not getattr(sc, "gfp_mask", _GFP_IO) & _GFP_IO and \
            ((f & _PG_DIRTY and f & _PG_SWAPBACKED) or
             (mem.mapping[pfn] & 1 and not f & _PG_SWAPCACHE)):
        return False
    if mem.refcount[pfn] == 0:
        return False
    mem.refcount[pfn] += 1
    if not f & _PG_LRU:
        mem.refcount[pfn] -= 1
        return False
    f &= ~_PG_LRU
    if not f & _PG_REFERENCED:
        f &= ~(LRU_REFS_MASK | LRU_REFS_FLAGS)
    mem.flags[pfn] = f & ~_PG_REFERENCED
    lru_gen_del_folio(m, pfn, True)
    return True


def scan_folios(m: Machine, lg: LruGenFolio, sc: Any, type_: int, tier: int,
                out: list[int]) -> int:
    """scan_folios(): sort or isolate folios from the tail of the oldest generation, zones
    from reclaim_idx downwards, until 64 are isolated or 4096 scanned.
    # SIM: the mm_vmscan_lru_isolate tracepoint is not emitted."""
    if get_nr_gens(lg, type_) == MIN_NR_GENS:
        return 0
    gen = lru_gen_from_seq(lg.min_seq[type_])
    sorted_ = scanned = isolated = skipped = 0
    remaining = MAX_LRU_BATCH
    nz = lg.nr_zones
    reclaim_idx = min(getattr(sc, "reclaim_idx", nz - 1), nz - 1)
    for i in range(nz, 0, -1):
        zone = (reclaim_idx + i) % nz
        idx = lg.lidx(gen, type_, zone)
        moved: list[int] = []
        skipped_zone = 0
        while lg.tail[idx]:
            pfn = lg.tail[idx] - 1
            delta = _nr_pages(m, pfn)
            scanned += delta
            if sort_folio(m, lg, pfn, sc, tier):
                sorted_ += delta
            elif isolate_folio(m, pfn, sc):
                out.append(pfn)
                isolated += delta
            else:
                _list_del(m, lg, pfn)
                moved.append(pfn)
                skipped_zone += delta
            remaining -= 1
            if not remaining or max(isolated, skipped_zone) >= MIN_LRU_BATCH:
                break
        if skipped_zone:
            # list_splice(&moved, head): back at the head, in their scan order
            for pfn in reversed(moved):
                _list_add(m, lg, idx, pfn)
            ztype = m.nodes[lg.nid].node_zones[zone].zone_type
            m.vm_event[int(VmEventItem.PGSKIP_DMA) + ztype] += skipped_zone
            skipped += skipped_zone
        if not remaining or isolated >= MIN_LRU_BATCH:
            break
    ev = m.vm_event
    ev[int(VmEventItem.PGSCAN_KSWAPD) + _reclaimer_offset(m, sc)] += isolated
    ev[VmEventItem.PGREFILL] += sorted_
    ev[int(VmEventItem.PGSCAN_ANON) + type_] += isolated
    nr = getattr(sc, "nr", None)
    if type_ == LRU_GEN_FILE and nr is not None:
        nr.file_taken += isolated
    return scanned if isolated or not remaining else 0


def isolate_folios(m: Machine, lg: LruGenFolio, sc: Any, swappiness: int,
                   out: list[int]) -> tuple[int, int]:
    """isolate_folios(): pick the type (older first, swappiness extremes, no __GFP_IO ->
    file, else the PID controller) and scan it, falling back to the other type.
    Returns (scanned, type)."""
    tier = -1
    if not swappiness:
        type_ = LRU_GEN_FILE
    elif lg.min_seq[LRU_GEN_ANON] < lg.min_seq[LRU_GEN_FILE]:
        type_ = LRU_GEN_ANON
    elif swappiness == 1:
        type_ = LRU_GEN_FILE
    elif swappiness == MAX_SWAPPINESS:
        type_ = LRU_GEN_ANON
    elif not getattr(sc, "gfp_mask", _GFP_IO) & _GFP_IO:
        type_ = LRU_GEN_FILE
    else:
        type_, tier = get_type_to_scan(lg, swappiness)
    scanned = 0
    for _ in range(0 if swappiness else 1, ANON_AND_FILE):
        if tier < 0:
            tier = get_tier_idx(lg, type_)
        scanned = scan_folios(m, lg, sc, type_, tier, out)
        if scanned:
            break
        type_ = 1 - type_
        tier = -1
    return scanned, type_


def _default_shrink_folio_list() -> ShrinkFolioList | None:
    try:
        from memsim.mm import vmscan
    except ImportError:      # pragma: no cover
        return None
    if not hasattr(vmscan, "shrink_folio_list"):
        return None          # pragma: no cover
    return _vmscan_shrink_folio_list


def _vmscan_shrink_folio_list(m: Machine, pgdat: PgData, folios: list[int], sc: Any) -> int:
    """mm/vmscan.py's shrink_folio_list() (the same per-folio logic as the classic
    reclaim), its survivors left in *folios*; sc->nr.unqueued_dirty accumulated."""
    from memsim.mm.vmscan import ReclaimStat, shrink_folio_list
    stat = ReclaimStat()
    reclaimed, kept = shrink_folio_list(m, list(folios), pgdat, sc, stat, False)
    nr = getattr(sc, "nr", None)
    if nr is not None:
        nr.unqueued_dirty += stat.nr_unqueued_dirty
    folios[:] = kept
    return int(reclaimed)


def move_folios_to_lru(m: Machine, pfns: list[int]) -> None:
    """move_folios_to_lru(): put isolated folios back (setting PG_lru) and drop the
    isolation reference; a folio whose last reference that was is freed."""
    from memsim.mm.memory import folio_put
    mem = m.mem_map
    for pfn in pfns:
        if not folio_evictable(m, pfn):
            _putback_unevictable(m, pfn)
            continue
        if mem.refcount[pfn] == 1:
            mem.flags[pfn] &= ~(_PG_LRU | _PG_ACTIVE | _PG_UNEVICTABLE)
            folio_put(m, pfn)
            continue
        mem.refcount[pfn] -= 1
        mem.flags[pfn] |= _PG_LRU
        if not lru_gen_add_folio(m, pfn, False):
            _classic_add(m, pfn)


def _classic_add(m: Machine, pfn: int) -> None:
    try:
        from memsim.mm.mm_inline import folio_lruvec, lruvec_add_folio
    except ImportError:      # pragma: no cover - the classic lists are always built
        return
    lruvec_add_folio(m, folio_lruvec(m, pfn), pfn)


def _putback_unevictable(m: Machine, pfn: int) -> None:
    """folio_putback_lru() of a folio that became unevictable: the classic unevictable
    list (MGLRU does not hold unevictable folios)."""
    mem = m.mem_map
    mem.flags[pfn] = (mem.flags[pfn] & ~_PG_ACTIVE) | _PG_UNEVICTABLE | _PG_LRU
    m.vm_event[VmEventItem.UNEVICTABLE_PGCULLED] += _nr_pages(m, pfn)
    _classic_add(m, pfn)
    from memsim.mm.memory import folio_put
    folio_put(m, pfn)


def evict_folios(m: Machine, lg: LruGenFolio, sc: Any, swappiness: int,
                 shrink: ShrinkFolioList | None = None) -> int:
    """evict_folios(): isolate a batch from the oldest generation, reclaim it with
    shrink_folio_list(), put the survivors back (active -> youngest generation; clean
    unreferenced ones retried once). Returns the number scanned."""
    out: list[int] = []
    scanned, type_ = isolate_folios(m, lg, sc, swappiness, out)
    scanned += int(try_to_inc_min_seq(m, lg, bool(swappiness)))
    if get_nr_gens(lg, LRU_GEN_FILE if not swappiness else LRU_GEN_ANON) == MIN_NR_GENS:
        scanned = 0
    if not out:
        return scanned
    if shrink is None:
        shrink = _default_shrink_folio_list()
    if shrink is None:
        raise MemsimError("MGLRU eviction needs mm/vmscan.py's shrink_folio_list")
    pgdat = m.nodes[lg.nid]
    mem = m.mem_map
    skip_retry = False
    folios = out
    while True:
        reclaimed = shrink(m, pgdat, folios, sc)
        sc.nr_reclaimed = getattr(sc, "nr_reclaimed", 0) + reclaimed
        tp = getattr(m.tp, "mm_vmscan_lru_shrink_inactive", None)
        if tp is not None and tp.enabled:
            tp.emit(m.trace_ctx(), nid=pgdat.node_id, nr_scanned=scanned,
                    nr_reclaimed=reclaimed, priority=getattr(sc, "priority", DEF_PRIORITY),
                    file=type_)
        keep: list[int] = []
        clean: list[int] = []
        for pfn in reversed(folios):
            f = mem.flags[pfn]
            if not folio_evictable(m, pfn):
                keep.append(pfn)
                continue
            if f & _PG_RECLAIM and f & (_PG_DIRTY | _PG_WRITEBACK):
                if f & _PG_WORKINGSET:
                    mem.flags[pfn] = f | _PG_REFERENCED
                keep.append(pfn)
                continue
            if skip_retry or f & (_PG_ACTIVE | _PG_REFERENCED | _PG_LOCKED | _PG_DIRTY |
                                  _PG_WRITEBACK) or mem.mapcount1[pfn]:
                mem.flags[pfn] = (f & ~(LRU_REFS_MASK | LRU_REFS_FLAGS)) | _PG_ACTIVE
                keep.append(pfn)
                continue
            clean.append(pfn)
        keep.reverse()
        move_folios_to_lru(m, keep)
        ev = m.vm_event
        ev[int(VmEventItem.PGSTEAL_KSWAPD) + _reclaimer_offset(m, sc)] += reclaimed
        ev[int(VmEventItem.PGSTEAL_ANON) + type_] += reclaimed
        if not clean:
            break
        clean.reverse()
        folios = clean
        skip_retry = True
    return scanned


def should_run_aging(lg: LruGenFolio, max_seq: int, can_swap: bool) -> tuple[bool, int]:
    """should_run_aging(): (whether to age, nr_to_scan)."""
    t0 = LRU_GEN_ANON if can_swap else LRU_GEN_FILE
    if lg.min_seq[t0] + MIN_NR_GENS > max_seq:
        return True, 0
    old = young = total = 0
    for type_ in range(t0, ANON_AND_FILE):
        for seq in range(lg.min_seq[type_], max_seq + 1):
            size = lg.gen_size(lru_gen_from_seq(seq), type_)
            total += size
            if seq == max_seq:
                young += size
            elif seq + MIN_NR_GENS == max_seq:
                old += size
    if lg.min_seq[t0] + MIN_NR_GENS < max_seq:
        return False, total
    if young * MIN_NR_GENS > total:
        return True, total
    if old * (MIN_NR_GENS + 2) < total:
        return True, total
    return False, total


def get_nr_to_scan(m: Machine, lg: LruGenFolio, sc: Any, can_swap: bool) -> int:
    """get_nr_to_scan(): total >> priority, or age (-1 when aged: rotate) when out of
    cold folios below the default priority."""
    need_aging, nr_to_scan = should_run_aging(lg, lg.max_seq, can_swap)
    priority = getattr(sc, "priority", DEF_PRIORITY)
    if not need_aging or priority == DEF_PRIORITY:
        return nr_to_scan >> priority
    return -1 if try_to_inc_max_seq(m, lg, lg.max_seq, can_swap, False) else 0


def _nr_swap_pages(m: Machine) -> int:
    return int(getattr(m, "nr_swap_pages", 0))


def get_swappiness(m: Machine, sc: Any) -> int:
    """get_swappiness(): 0 when anon cannot be reclaimed (no swap, or !may_swap)."""
    if not getattr(sc, "may_swap", True):
        return 0
    if _nr_swap_pages(m) <= 0:
        return 0
    sw = getattr(sc, "swappiness", None)
    if sw is None:
        sw = m.sysctl.swappiness if hasattr(m.sysctl, "swappiness") else 60
    return int(sw)


def _zone_watermark_ok(m: Machine, zone: Any, mark: int, highest_zoneidx: int) -> bool:
    try:
        from memsim.mm.page_alloc import zone_watermark_ok
    except ImportError:      # pragma: no cover
        return False
    return bool(zone_watermark_ok(zone, 0, mark, highest_zoneidx, 0))


def should_abort_scan(m: Machine, lg: LruGenFolio, sc: Any) -> bool:
    """should_abort_scan(): enough reclaimed, or (kswapd, order 0) every eligible zone is
    64 pages above its high watermark."""
    order = getattr(sc, "order", 0)
    compact_gap = 2 << order
    if getattr(sc, "nr_reclaimed", 0) >= max(getattr(sc, "nr_to_reclaim", 0), compact_gap):
        return True
    if not current_is_kswapd(m, sc) or order:
        return False
    pg = m.nodes[lg.nid]
    reclaim_idx = min(getattr(sc, "reclaim_idx", len(pg.node_zones) - 1),
                      len(pg.node_zones) - 1)
    for i in range(reclaim_idx + 1):
        zone = pg.node_zones[i]
        if zone.managed_pages and not _zone_watermark_ok(
                m, zone, zone.high_wmark_pages() + MIN_LRU_BATCH, reclaim_idx):
            return False
    return True


def try_to_shrink_lruvec(m: Machine, lg: LruGenFolio, sc: Any,
                         shrink: ShrinkFolioList | None = None) -> bool:
    """try_to_shrink_lruvec(): evict batches until nr_to_scan is reached or the scan
    should stop; True when the lruvec aged (nr_to_scan < 0). When the oldest file pages
    taken were all dirty and not queued for I/O, the flushers are woken.
    # SIM: no reclaim_throttle()."""
    scanned = 0
    swappiness = get_swappiness(m, sc)
    nr_to_scan = 0
    while True:
        nr_to_scan = get_nr_to_scan(m, lg, sc, bool(swappiness))
        if nr_to_scan <= 0:
            break
        delta = evict_folios(m, lg, sc, swappiness, shrink)
        if not delta:
            break
        scanned += delta
        if scanned >= nr_to_scan:
            break
        if should_abort_scan(m, lg, sc):
            break
    nr = getattr(sc, "nr", None)
    if nr is not None and nr.unqueued_dirty and nr.unqueued_dirty == nr.file_taken:
        from memsim.fs.fs_writeback import WB_REASON_VMSCAN, wakeup_flusher_threads
        wakeup_flusher_threads(m, WB_REASON_VMSCAN)
    return nr_to_scan < 0


def set_initial_priority(m: Machine, pgdat: PgData, sc: Any) -> None:
    """set_initial_priority(): (total >> priority) * inactive/total = nr_to_reclaim."""
    if getattr(sc, "priority", DEF_PRIORITY) != DEF_PRIORITY or \
            getattr(sc, "nr_to_reclaim", 0) < MIN_LRU_BATCH:
        return
    reclaimable = pgdat.vm_stat[NodeStatItem.NR_INACTIVE_FILE]
    if get_swappiness(m, sc):
        reclaimable += pgdat.vm_stat[NodeStatItem.NR_INACTIVE_ANON]
    priority = max(reclaimable, 0).bit_length() - 1 - (sc.nr_to_reclaim - 1).bit_length()
    sc.priority = min(max(priority, DEF_PRIORITY // 2), DEF_PRIORITY)


def lru_gen_shrink_node(m: Machine, pgdat: PgData, sc: Any,
                        shrink: ShrinkFolioList | None = None) -> int:
    """
    lru_gen_shrink_node(): shrink_one() on the node's (root) lruvec; returns the pages
    reclaimed by this call. # SIM: shrink_slab and vmpressure are the caller's (the
    classic shrink_node keeps them); no memcg LRU (shrink_many).
    """
    reclaimed0 = getattr(sc, "nr_reclaimed", 0)
    if not getattr(sc, "may_writepage", True) or not getattr(sc, "may_unmap", True):
        return 0
    try:
        from memsim.mm.swap import lru_add_drain
        lru_add_drain(m)
    except ImportError:      # pragma: no cover
        pass
    set_initial_priority(m, pgdat, sc)
    kswapd = current_is_kswapd(m, sc)
    if kswapd:
        sc.nr_reclaimed = 0
    lg = lru_gen_state(m).lrugens[pgdat.node_id]
    try_to_shrink_lruvec(m, lg, sc, shrink)
    _shrink_slab(m, pgdat, sc)
    if kswapd:
        sc.nr_reclaimed += reclaimed0
    done = int(sc.nr_reclaimed) - reclaimed0
    if done > 0:
        pgdat.kswapd_failures = 0
    return done


def _shrink_slab(m: Machine, pgdat: PgData, sc: Any) -> None:
    """shrink_one()'s shrink_slab() and flush_reclaim_state(): slab pages freed by the
    shrinkers count as reclaimed."""
    try:
        from memsim.mm.shrinker import shrink_slab
        from memsim.mm.vmscan import _slab_pages
    except ImportError:      # pragma: no cover
        return
    before = _slab_pages(m)
    shrink_slab(m, getattr(sc, "gfp_mask", 0), pgdat.node_id,
                getattr(sc, "priority", DEF_PRIORITY))
    sc.nr_reclaimed = getattr(sc, "nr_reclaimed", 0) + max(0, before - _slab_pages(m))


# ---- min_ttl (working set protection) -------------------------------------------------------

def lruvec_is_sizable(m: Machine, lg: LruGenFolio, sc: Any) -> bool:
    can_swap = bool(get_swappiness(m, sc))
    total = 0
    for type_ in range(0 if can_swap else 1, ANON_AND_FILE):
        for seq in range(lg.min_seq[type_], lg.max_seq + 1):
            total += lg.gen_size(lru_gen_from_seq(seq), type_)
    return bool(total >> getattr(sc, "priority", DEF_PRIORITY))


def lruvec_is_reclaimable(m: Machine, lg: LruGenFolio, sc: Any, min_ttl: int) -> bool:
    """The oldest file generation was born more than min_ttl jiffies ago."""
    if not lruvec_is_sizable(m, lg, sc):
        return False
    birth = lg.timestamps[lru_gen_from_seq(lg.min_seq[LRU_GEN_FILE])]
    return jiffies(m) - (birth + min_ttl) > 0          # time_is_before_jiffies


def lru_gen_age_node(m: Machine, pgdat: PgData, sc: Any) -> bool:
    """
    lru_gen_age_node() (kswapd_age_node under MGLRU): with min_ttl_ms set, when no lruvec
    of the node has a cold enough oldest generation, invoke the OOM killer rather than
    thrash. Returns True when the OOM killer was invoked.
    """
    st = lru_gen_state(m)
    min_ttl = st.min_ttl
    set_initial_priority(m, pgdat, sc)
    reclaimable = not min_ttl
    if not reclaimable:
        reclaimable = lruvec_is_reclaimable(m, st.lrugens[pgdat.node_id], sc, min_ttl)
    if reclaimable:
        return False
    _out_of_memory(m, getattr(sc, "gfp_mask", 0))
    return True


def _out_of_memory(m: Machine, gfp: int) -> None:
    """``if (mutex_trylock(&oom_lock)) out_of_memory(&oc)`` with oc.gfp_mask = sc's."""
    hook = getattr(m, "lru_gen_oom_hook", None)
    if hook is not None:
        hook(gfp)
        return
    try:
        from memsim.mm import oom_kill
    except ImportError:      # pragma: no cover
        m.note_once("lru-gen-oom", "memsim: min_ttl_ms asked for the OOM killer, which "
                    "is not modelled")
        return
    st = oom_kill.oom_state(m)
    if st.lock_held:
        return
    st.lock_held = True
    try:
        oom_kill.out_of_memory(m, oom_kill.OomControl(gfp_mask=gfp, order=0))
    finally:
        st.lock_held = False


# ---- workingset shadows (mm/workingset.c) ----------------------------------------------------

def pack_shadow(memcgid: int, nid: int, eviction: int, workingset: bool) -> int:
    """pack_shadow(): eviction | memcg id | node | workingset bit, as an xarray value."""
    eviction &= EVICTION_MASK
    eviction = (eviction << MEM_CGROUP_ID_SHIFT) | memcgid
    eviction = (eviction << NODES_SHIFT) | nid
    eviction = (eviction << WORKINGSET_SHIFT) | int(workingset)
    return (eviction << 1) | 1          # xa_mk_value


def unpack_shadow(shadow: int) -> tuple[int, int, int, bool]:
    """unpack_shadow() -> (memcgid, nid, eviction, workingset)."""
    entry = shadow >> 1                  # xa_to_value
    workingset = bool(entry & ((1 << WORKINGSET_SHIFT) - 1))
    entry >>= WORKINGSET_SHIFT
    nid = entry & ((1 << NODES_SHIFT) - 1)
    entry >>= NODES_SHIFT
    memcgid = entry & ((1 << MEM_CGROUP_ID_SHIFT) - 1)
    entry >>= MEM_CGROUP_ID_SHIFT
    return memcgid, nid, entry, workingset


def lru_gen_eviction(m: Machine, pfn: int) -> int:
    """lru_gen_eviction(): the shadow of an evicted folio: token = min_seq << 2 |
    max(refs - 1, 0), workingset bit = refs != 0; evicted[type][tier] += nr."""
    lg = folio_lrugen(m, pfn)
    f = m.mem_map.flags[pfn]
    type_ = _type_of(f)
    refs = folio_lru_refs(m, pfn)
    tier = lru_tier_from_refs(refs)
    min_seq = lg.min_seq[type_]
    token = (min_seq << LRU_REFS_WIDTH) | max(refs - 1, 0)
    lg.evicted[lru_hist_from_seq(min_seq)][type_][tier] += _nr_pages(m, pfn)
    return pack_shadow(ROOT_MEMCG_ID, lg.nid, token, bool(refs))


def lru_gen_test_recent(m: Machine, shadow: int, file: bool) -> tuple[bool, int, int, bool]:
    """lru_gen_test_recent() -> (recent, nid, token, workingset): evicted from the still
    oldest generation."""
    _memcg, nid, token, workingset = unpack_shadow(shadow)
    lg = lru_gen_state(m).lrugens[nid]
    min_seq = lg.min_seq[int(file)]
    recent = (token >> LRU_REFS_WIDTH) == (min_seq & (EVICTION_MASK >> LRU_REFS_WIDTH))
    return recent, nid, token, workingset


def lru_gen_refault(m: Machine, pfn: int, shadow: int) -> None:
    """
    lru_gen_refault(): workingset_refault_<type> always; if recent, refaulted[type][tier]
    and workingset_activate; in a page fault, or with saturated refs, the folio gets the
    top tier (refs counter full + PG_workingset) and workingset_restore.
    """
    f = m.mem_map.flags[pfn]
    type_ = _type_of(f)
    delta = _nr_pages(m, pfn)
    recent, nid, token, workingset = lru_gen_test_recent(m, shadow, bool(type_))
    zone = m.page_zone(pfn)
    if nid != zone.node:
        return
    pg = m.nodes[nid]
    pg.vm_stat[_WS_REFAULT + type_] += delta
    if not recent:
        return
    lg = lru_gen_state(m).lrugens[nid]
    hist = lru_hist_from_seq(lg.min_seq[type_])
    refs = (token & ((1 << LRU_REFS_WIDTH) - 1)) + int(workingset)
    tier = lru_tier_from_refs(refs)
    lg.refaulted[hist][type_][tier] += delta
    pg.vm_stat[_WS_ACTIVATE + type_] += delta
    if lru_gen_in_fault(m) or refs >= (1 << LRU_REFS_WIDTH) - 1:
        m.mem_map.flags[pfn] |= LRU_REFS_MASK | _PG_WORKINGSET
        pg.vm_stat[_WS_RESTORE + type_] += delta


# ---- state change (fill / drain between the classic lists and MGLRU) ------------------------

def lru_gen_change_state(m: Machine, enabled: bool) -> None:
    """lru_gen_change_state(): flip LRU_GEN_CORE, moving every evictable folio between the
    classic lists and the generations (fill_evictable / drain_evictable)."""
    st = lru_gen_state(m)
    if enabled == bool(st.caps & 1):
        return
    try:
        from memsim.mm.mm_inline import lru_list_pfns
        from memsim.mm.swap import lru_add_drain_all
    except ImportError:      # pragma: no cover
        lru_list_pfns = None  # type: ignore[assignment]
        lru_add_drain_all = None  # type: ignore[assignment]
    if lru_add_drain_all is not None:
        lru_add_drain_all(m)
    if enabled:
        st.caps |= 1
        m.lru_gen_on = True
        for lg in st.lrugens:
            lg.enabled = True
            lruvec = getattr(m.nodes[lg.nid], "lruvec", None)
            if lru_list_pfns is None or lruvec is None:
                continue
            from memsim.mm.mm_inline import lruvec_del_folio
            for lru in range(4):                      # evictable lists only
                for pfn in reversed(lru_list_pfns(m, lruvec, lru)):
                    lruvec_del_folio(m, lruvec, pfn)
                    lru_gen_add_folio(m, pfn, False)
    else:
        for lg in st.lrugens:
            lg.enabled = False
            for gen in range(MAX_NR_GENS):
                for type_ in range(ANON_AND_FILE):
                    for zone in range(lg.nr_zones):
                        idx = lg.lidx(gen, type_, zone)
                        while lg.tail[idx]:
                            pfn = lg.tail[idx] - 1
                            lru_gen_del_folio(m, pfn, False)
                            _classic_add(m, pfn)
        st.caps &= ~1
        m.lru_gen_on = False


# ---- sysfs and debugfs -----------------------------------------------------------------------

def enabled_show(m: Machine) -> str:
    """/sys/kernel/mm/lru_gen/enabled: the caps as 0x%04x."""
    st = lru_gen_state(m)
    hw = _default_caps(m)
    caps = st.caps & 1
    if st.caps & hw & 2:
        caps |= 2
    if st.caps & hw & 4:
        caps |= 4
    return f"0x{caps:04x}\n"


def enabled_store(m: Machine, text: str) -> int:
    """enabled_store(): 'n'/'N' = 0, 'y'/'Y' = all, else a number (base auto)."""
    s = text.strip()
    if s[:1].lower() == "n":
        caps = 0
    elif s[:1].lower() == "y":
        caps = (1 << NR_LRU_GEN_CAPS) - 1
    else:
        try:
            caps = int(s, 0)
        except ValueError:
            raise MemsimError(f"/sys/kernel/mm/lru_gen/enabled: invalid value {s!r} "
                              "(EINVAL)") from None
        if caps < 0 or caps > 0xFFFFFFFF:
            raise MemsimError("/sys/kernel/mm/lru_gen/enabled: out of range (EINVAL)")
    st = lru_gen_state(m)
    for i in range(NR_LRU_GEN_CAPS):
        on = bool(caps & (1 << i))
        if i == LRU_GEN_CORE:
            lru_gen_change_state(m, on)
        elif on:
            st.caps |= 1 << i
        else:
            st.caps &= ~(1 << i)
    return len(text)


def min_ttl_ms_show(m: Machine) -> str:
    return f"{jiffies_to_msecs(lru_gen_state(m).min_ttl)}\n"


def min_ttl_ms_store(m: Machine, text: str) -> int:
    try:
        ms = int(text.strip(), 0)
    except ValueError:
        raise MemsimError(f"/sys/kernel/mm/lru_gen/min_ttl_ms: invalid value "
                          f"{text.strip()!r} (EINVAL)") from None
    if ms < 0 or ms > 0xFFFFFFFF:
        raise MemsimError("/sys/kernel/mm/lru_gen/min_ttl_ms: out of range (EINVAL)")
    lru_gen_state(m).min_ttl = msecs_to_jiffies(ms)
    return len(text)


def _first_memory_node(m: Machine) -> int:
    for pg in m.nodes:
        if pg.node_present_pages:
            return pg.node_id
    return 0


def lru_gen_seq_show(m: Machine, full: bool = False) -> str:
    """
    /sys/kernel/debug/lru_gen (and lru_gen_full): per memcg (# SIM: the root memcg only,
    "memcg     1 /") and node with memory, one line per generation: seq, age in ms,
    anon and file pages; the full file starts at max_seq - 3, marks generations older
    than a type's min_seq with 'x' and adds the per-tier stats.
    """
    st = lru_gen_state(m)
    out: list[str] = []
    now = jiffies(m)
    first = _first_memory_node(m)
    for lg in st.lrugens:
        if not m.nodes[lg.nid].node_present_pages:
            continue
        if lg.nid == first:
            out.append(f"memcg {ROOT_MEMCG_ID:5d} /\n")
        out.append(f" node {lg.nid:5d}\n")
        max_seq = lg.max_seq
        min_seq = lg.min_seq
        if not full:
            seq = min_seq[LRU_GEN_ANON]
        elif max_seq >= MAX_NR_GENS:
            seq = max_seq - MAX_NR_GENS + 1
        else:
            seq = 0
        while seq <= max_seq:
            gen = lru_gen_from_seq(seq)
            birth = lg.timestamps[gen]
            line = f" {seq:10d} {jiffies_to_msecs(now - birth) & 0xFFFFFFFF:10d}"
            for type_ in range(ANON_AND_FILE):
                mark = "x" if full and seq < min_seq[type_] else " "
                line += f" {lg.gen_size(gen, type_):10d}{mark}"
            out.append(line + "\n")
            if full:
                out.extend(_seq_show_full(m, lg, max_seq, min_seq, seq))
            seq += 1
    return "".join(out)


def _seq_show_full(m: Machine, lg: LruGenFolio, max_seq: int, min_seq: list[int],
                   seq: int) -> list[str]:
    hist = lru_hist_from_seq(seq)
    lines = []
    for tier in range(MAX_NR_TIERS):
        line = f"            {tier:10d}"
        for type_ in range(ANON_AND_FILE):
            s = "xxx"
            n = [0, 0, 0]
            if seq == max_seq:
                s = "RTx"
                n[0] = lg.avg_refaulted[type_][tier]
                n[1] = lg.avg_total[type_][tier]
            elif seq == min_seq[type_] or NR_HIST_GENS > 1:
                s = "rep"
                n[0] = lg.refaulted[hist][type_][tier]
                n[1] = lg.evicted[hist][type_][tier]
                if tier:
                    n[2] = lg.protected[hist][type_][tier - 1]
            for i in range(3):
                line += f" {n[i]:10d}{s[i]}"
        lines.append(line + "\n")
    if should_walk_mmu(m):
        line = "                      "
        for i in range(4):
            s = "TYFA" if seq == max_seq else "xxxx"
            line += f" {lg.mm_stats[i] if seq == max_seq else 0:10d}{s[i]}"
        lines.append(line + "\n")
    return lines


def _einval(what: str) -> MemsimError:
    return MemsimError(f"/sys/kernel/debug/lru_gen: {what} (EINVAL)")


def _new_scan_control(**kw: Any) -> Any:
    """A struct scan_control: mm/vmscan.py's when built (shrink_folio_list reads it)."""
    try:
        from memsim.mm.vmscan import ScanControl
    except ImportError:      # pragma: no cover
        return LruGenScanControl(**kw)
    return ScanControl(**kw)


def lru_gen_seq_write(m: Machine, text: str) -> int:
    """
    lru_gen_seq_write(): commands separated by ``,``, ``;`` or newlines:
    ``+ memcg_id node_id seq [can_swap [force_scan]]`` ages (run_aging; force_scan
    defaults to on), ``- memcg_id node_id seq [swappiness [nr_to_reclaim]]`` evicts
    (run_eviction). The first bad command fails the write with EINVAL; the commands
    before it have run.
    """
    import re
    nz = len(m.nodes[0].node_zones)
    sc = _new_scan_control(may_writepage=True, may_unmap=True, may_swap=True,
                           reclaim_idx=nz - 1, gfp_mask=0xCC0)
    for cur in re.split(r"[,;\n]", text):
        cur = cur.strip()
        if not cur:
            continue
        parts = cur.split()
        if len(parts) < 4 or len(parts) > 6 or parts[0] not in ("+", "-"):
            raise _einval(f"bad command {cur!r}")
        try:
            nums = [int(x, 10) for x in parts[1:]]
        except ValueError:
            raise _einval(f"bad command {cur!r}") from None
        memcg_id, nid, seq = nums[0], nums[1], nums[2]
        if not 0 <= nid < len(m.nodes) or not m.nodes[nid].node_present_pages:
            raise _einval(f"no node {nid} with memory")
        if memcg_id != ROOT_MEMCG_ID:
            raise _einval(f"no memcg {memcg_id}")
        lg = lru_gen_state(m).lrugens[nid]
        swappiness = nums[3] if len(nums) > 3 else -1
        opt = nums[4] if len(nums) > 4 else -1
        if swappiness < 0:
            swappiness = get_swappiness(m, sc)
        elif swappiness > MAX_SWAPPINESS:
            raise _einval(f"swappiness {swappiness} above {MAX_SWAPPINESS}")
        if parts[0] == "+":
            _run_aging(m, lg, seq, bool(swappiness), bool(opt))
        else:
            _run_eviction(m, lg, seq, sc, swappiness,
                          opt if opt >= 0 else (1 << 64) - 1)
    return len(text)


def _run_aging(m: Machine, lg: LruGenFolio, seq: int, can_swap: bool,
               force_scan: bool) -> None:
    """run_aging(): age once if *seq* is max_seq (a stale seq is a no-op)."""
    if seq < lg.max_seq:
        return
    if seq > lg.max_seq:
        raise _einval(f"seq {seq} is beyond max_seq {lg.max_seq}")
    if not force_scan and lg.min_seq[0 if can_swap else 1] + MAX_NR_GENS - 1 <= lg.max_seq:
        raise _einval("all generations in use (age with force_scan)")
    try_to_inc_max_seq(m, lg, lg.max_seq, can_swap, force_scan)


def _run_eviction(m: Machine, lg: LruGenFolio, seq: int, sc: Any, swappiness: int,
                  nr_to_reclaim: int) -> None:
    """run_eviction(): evict until min_seq passes *seq* or *nr_to_reclaim* is reached."""
    if seq + MIN_NR_GENS > lg.max_seq:
        raise _einval(f"seq {seq} is one of the two youngest generations")
    sc.nr_reclaimed = 0
    while True:
        if seq < lg.min_seq[0 if swappiness else 1]:
            return
        if sc.nr_reclaimed >= nr_to_reclaim:
            return
        if not evict_folios(m, lg, sc, swappiness):
            return


# ---- validation ------------------------------------------------------------------------------

def lru_gen_validate(m: Machine) -> list[str]:
    """Consistency of the generations: list membership vs page flags vs nr_pages, the
    generation-count invariant. Returns problems (empty when consistent)."""
    st: LruGenState | None = getattr(m, "lru_gen", None)
    if st is None:
        return []
    errs: list[str] = []
    mem = m.mem_map
    for lg in st.lrugens:
        for type_ in range(ANON_AND_FILE):
            n = get_nr_gens(lg, type_)
            if not MIN_NR_GENS - (type_ == LRU_GEN_ANON) <= n <= MAX_NR_GENS:
                errs.append(f"node {lg.nid} type {type_}: {n} generations")
        counted = [0] * len(lg.nr_pages)
        for gen in range(MAX_NR_GENS):
            for type_ in range(ANON_AND_FILE):
                for zone in range(lg.nr_zones):
                    for pfn in lru_gen_list(m, lg, gen, type_, zone):
                        f = mem.flags[pfn]
                        g = ((f & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1
                        if g < 0 or not f & _PG_LRU:
                            errs.append(f"pfn {pfn:#x} on lrugen list without gen/PG_lru")
                            continue
                        if _type_of(f) != type_:
                            errs.append(f"pfn {pfn:#x} on the wrong type's list")
                        counted[lg.lidx(g, type_, zone)] += _nr_pages(m, pfn)
        if counted != lg.nr_pages:
            errs.append(f"node {lg.nid}: lrugen nr_pages {lg.nr_pages} != lists {counted}")
    return errs


def validate_lru_gen(m: Machine) -> None:
    """Machine.validate()'s MGLRU check: raises MMCorruptionError on any problem."""
    errs = lru_gen_validate(m)
    if errs:
        from memsim.errors import MMCorruptionError
        raise MMCorruptionError("MGLRU: " + "; ".join(errs[:5]))


__all__ = [
    "LruGenFolio", "LruGenState", "LruGenScanControl", "lru_gen_state", "lru_gen_enabled",
    "lru_gen_add_folio", "lru_gen_del_folio", "folio_inc_refs", "lru_gen_shrink_node",
    "lru_gen_age_node", "lru_gen_look_around", "lru_gen_eviction", "lru_gen_refault",
    "try_to_inc_max_seq", "inc_max_seq", "evict_folios", "lru_gen_seq_show",
    "lru_gen_seq_write", "enabled_show", "enabled_store", "min_ttl_ms_show",
    "min_ttl_ms_store", "lru_gen_validate", "folio_lru_gen", "folio_lru_refs",
    "lru_gen_folio_add_lru", "lru_gen_enter_fault", "lru_gen_exit_fault", "lru_gen_init",
    "validate_lru_gen",
]
