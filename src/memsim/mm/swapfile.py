"""
Swap devices and swap slots (mm/swapfile.c, mm/swap_slots.c, include/linux/swap.h, 6.12).

``m.swapon()`` / ``m.swapoff()`` manage ``swap_info[type]`` (struct swap_info_struct): the
swap_map of per-slot usage counts (SWAP_HAS_CACHE, SWAP_MAP_BAD, COUNT_CONTINUED), the
SSD cluster allocator of 6.12 (clusters of SWAPFILE_CLUSTER slots on free / nonfull / frag /
full lists, a per-CPU "next" cluster offset), the classic next-fit scan for rotational
devices, the per-CPU swap slots cache (batches of SWAP_BATCH entries), priorities and the
avail list (equal priorities round-robin), swap counts (swap_duplicate, swap_free,
put_swap_folio, free_swap_and_cache), folio_free_swap, swapoff's try_to_unuse, /proc/swaps
and the swap validator. The swap cache and swap-in live in mm/swap_state.py, slot I/O in
mm/page_io.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.errors import MemsimError
from memsim.include.mm_types import MM_SWAPENTS
from memsim.include.page_flags import PageFlags, PG_swapcache
from memsim.include.pgtable_types import (
    _PAGE_SWP_EXCLUSIVE,
    MAX_SWAPFILES,
    is_swap_pte,
    pte_swp_offset,
    pte_swp_type,
    swp_entry_pte,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
ENOENT, EINTR, ENOMEM, EEXIST, EINVAL, EBUSY, EPERM = 2, 4, 12, 17, 22, 16, 1

# include/linux/swap.h
SWAP_HAS_CACHE = 0x40
COUNT_CONTINUED = 0x80
SWAP_MAP_MAX = 0x3E
SWAP_MAP_BAD = 0x3F
SWAP_MAP_SHMEM = 0xBF
SWAP_CONT_MAX = 0x7F
#: HPAGE_PMD_NR with CONFIG_THP_SWAP (x86-64 defconfig)
SWAPFILE_CLUSTER = 512
SWAP_BATCH = 64
SWAP_SLOTS_CACHE_SIZE = SWAP_BATCH
THRESHOLD_ACTIVATE_SWAP_SLOTS_CACHE = 5 * SWAP_SLOTS_CACHE_SIZE
THRESHOLD_DEACTIVATE_SWAP_SLOTS_CACHE = 2 * SWAP_SLOTS_CACHE_SIZE
SWAP_NEXT_INVALID = 0
#: max(DIV_ROUND_UP(L1_CACHE_BYTES, sizeof(swap_cluster_info) = 24), 16384 / 512)
SWAP_CLUSTER_COLS = 32
LATENCY_LIMIT = 256

SWP_USED = 1 << 0
SWP_WRITEOK = 1 << 1
SWP_SOLIDSTATE = 1 << 4
SWP_BLKDEV = 1 << 6
SWP_SYNCHRONOUS_IO = 1 << 12
SWP_SCANNING = 1 << 14

CLUSTER_FLAG_FREE = 1
CLUSTER_FLAG_NONFULL = 2
CLUSTER_FLAG_FRAG = 4
CLUSTER_FLAG_FULL = 8

#: swp_entry_t value: type above SWP_TYPE_SHIFT (BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT)
SWP_TYPE_SHIFT = 58
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1

TTRS_ANYWAY = 0x1
TTRS_UNMAPPED = 0x2
TTRS_FULL = 0x4
TTRS_DIRECT = 0x8

_PG_SWAPCACHE = 1 << PG_swapcache
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_WRITEBACK = 1 << PageFlags.PG_writeback
_PG_DIRTY = 1 << PageFlags.PG_dirty


def swp_entry(type_: int, offset: int) -> int:
    return (type_ << SWP_TYPE_SHIFT) | offset


def swp_type(entry: int) -> int:
    return entry >> SWP_TYPE_SHIFT


def swp_offset(entry: int) -> int:
    return entry & SWP_OFFSET_MASK


def pte_to_swp_entry(pte: int) -> int:
    """pte_to_swp_entry(): the arch-independent entry of a swap PTE (flags dropped)."""
    return swp_entry(pte_swp_type(pte), pte_swp_offset(pte))


def swp_entry_to_pte(entry: int) -> int:
    return swp_entry_pte(swp_type(entry), swp_offset(entry))


def pte_swp_exclusive(pte: int) -> bool:
    return bool(pte & _PAGE_SWP_EXCLUSIVE)


def is_real_swap_pte(pte: int) -> bool:
    """is_swap_pte() && !non_swap_entry(): a slot of a swap device."""
    return is_swap_pte(pte) and pte_swp_type(pte) < MAX_SWAPFILES


def folio_test_swapcache(m: Machine, pfn: int) -> bool:
    f = m.mem_map.flags[pfn]
    return bool(f & _PG_SWAPBACKED and f & _PG_SWAPCACHE)


# ---- data structures ---------------------------------------------------------------------

class SwapClusterInfo:
    """struct swap_cluster_info: slots in use and the list the cluster sits on."""

    __slots__ = ("idx", "count", "flags", "order", "lst")

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.count = 0
        self.flags = 0
        self.order = 0
        self.lst: list[SwapClusterInfo] | None = None


def _list_move_tail(ci: SwapClusterInfo, lst: list[SwapClusterInfo]) -> None:
    if ci.lst is not None:
        ci.lst.remove(ci)
    lst.append(ci)
    ci.lst = lst


@dataclass(eq=False)
class SwapInfoStruct:
    """struct swap_info_struct (one swap device or file)."""

    type: int
    name: str
    partition: bool
    flags: int = 0
    prio: int = 0
    max: int = 0
    pages: int = 0
    inuse_pages: int = 0
    lowest_bit: int = 0
    highest_bit: int = 0
    cluster_next: int = 1
    cluster_nr: int = 0
    swap_map: bytearray = field(default_factory=bytearray)
    #: SIM: the count-continuation pages as a dict: offset -> count beyond SWAP_MAP_MAX
    cont: dict[int, int] = field(default_factory=dict)
    cluster_info: list[SwapClusterInfo] | None = None
    free_clusters: list[SwapClusterInfo] = field(default_factory=list)
    nonfull_clusters: list[SwapClusterInfo] = field(default_factory=list)
    frag_clusters: list[SwapClusterInfo] = field(default_factory=list)
    full_clusters: list[SwapClusterInfo] = field(default_factory=list)
    frag_cluster_nr: int = 0
    #: percpu_cluster->next[0] per CPU (order-0 only: large folios are split first)
    percpu_next: list[int] = field(default_factory=list)
    #: the device's contents: slot -> page bytes (what swap_writepage wrote)
    data: dict[int, bytes] = field(default_factory=dict)
    #: si->zeromap (6.12): slots whose page was all zeroes (not written)
    zeromap: set[int] = field(default_factory=set)

    def solidstate(self) -> bool:
        return bool(self.flags & SWP_SOLIDSTATE)


@dataclass
class SlotsCache:
    """struct swap_slots_cache of one CPU."""

    slots: list[int] = field(default_factory=list)
    cur: int = 0
    nr: int = 0
    slots_ret: list[int] = field(default_factory=list)


class SwapState:
    """The global swap state of a machine (swap_info[], lists, counters, swap cache)."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.swap_info: list[SwapInfoStruct | None] = []
        #: swap_active_head (by priority, FIFO among equals)
        self.active: list[SwapInfoStruct] = []
        #: swap_avail_heads[node] (# SIM: one list: no device has a NUMA node)
        self.avail: list[SwapInfoStruct] = []
        self.least_priority = -1
        self.nr_rotate_swap = 0
        self.slots = [SlotsCache() for _ in range(m.nr_cpus)]
        self.swap_slot_cache_enabled = False
        self.swap_slot_cache_active = False
        self.swap_slot_cache_initialized = False
        #: swapper_spaces: entry value -> pfn of the swap-cache folio
        self.cache: dict[int, int] = {}
        #: workingset shadow entries left in the swap cache: entry value -> shadow
        self.shadows: dict[int, int] = {}
        #: readahead state (mm/swap_state.c statics)
        self.enable_vma_readahead = True
        self.swapin_readahead_hits = 4
        self.prev_offset = 0
        self.last_readahead_pages = 0
        self.nr_swap_pages = 0
        self.total_swap_pages = 0

    @property
    def nr_swapfiles(self) -> int:
        return len(self.swap_info)

    def sync(self) -> None:
        """Publish the counters meminfo and overcommit read."""
        setattr(self.m, "nr_swap_pages", self.nr_swap_pages)  # noqa: B010
        setattr(self.m, "total_swap_pages", self.total_swap_pages)  # noqa: B010

    def si_of(self, entry: int) -> SwapInfoStruct | None:
        t = entry >> SWP_TYPE_SHIFT             # swp_type()
        swap_info = self.swap_info
        if t >= len(swap_info):
            return None
        si = swap_info[t]
        if si is None or not si.flags & SWP_USED or (entry & SWP_OFFSET_MASK) >= si.max:
            return None
        return si


def swap_state(m: Machine) -> SwapState:
    st: SwapState | None = getattr(m, "swap", None)
    if st is None:
        st = SwapState(m)
        setattr(m, "swap", st)  # noqa: B010 (not a declared Machine field)
    return st


def vm_swap_full(st: SwapState) -> bool:
    """vm_swap_full(): more than half of swap space in use."""
    return st.nr_swap_pages * 2 < st.total_swap_pages


# ---- plist helpers -----------------------------------------------------------------------

def _plist_add(lst: list[SwapInfoStruct], si: SwapInfoStruct) -> None:
    """plist_add(): after every node of a higher or equal priority."""
    i = 0
    while i < len(lst) and lst[i].prio >= si.prio:
        i += 1
    lst.insert(i, si)


def _plist_requeue(lst: list[SwapInfoStruct], si: SwapInfoStruct) -> None:
    """plist_requeue(): move behind the last node of the same priority."""
    i = lst.index(si)
    j = i + 1
    while j < len(lst) and lst[j].prio == si.prio:
        j += 1
    if j == i + 1:
        return
    lst.pop(i)
    lst.insert(j - 1, si)


# ---- cluster allocator (SSD) -------------------------------------------------------------

def _free_cluster(si: SwapInfoStruct, ci: SwapClusterInfo) -> None:
    """free_cluster() / __free_cluster(): back to the tail of the free list.
    # SIM: no discard (SWP_PAGE_DISCARD is never set)."""
    if ci.flags & CLUSTER_FLAG_FRAG:
        si.frag_cluster_nr -= 1
    _list_move_tail(ci, si.free_clusters)
    ci.flags = CLUSTER_FLAG_FREE
    ci.order = 0


def _dec_cluster_info_page(si: SwapInfoStruct, ci: SwapClusterInfo, nr: int) -> None:
    ci.count -= nr
    if not ci.count:
        _free_cluster(si, ci)
        return
    if not ci.flags & CLUSTER_FLAG_NONFULL:
        if ci.flags & CLUSTER_FLAG_FRAG:
            si.frag_cluster_nr -= 1
        _list_move_tail(ci, si.nonfull_clusters)
        ci.flags = CLUSTER_FLAG_NONFULL


def _cluster_scan_range(st: SwapState, si: SwapInfoStruct, offset: int) -> bool:
    c = si.swap_map[offset]
    if c == 0:
        return True
    if c == SWAP_HAS_CACHE and vm_swap_full(st):
        # cluster_reclaim_range(): drop an unmapped-or-not swap-cache folio for the slot
        __try_to_reclaim_swap(st, si, offset, TTRS_ANYWAY | TTRS_DIRECT)
        return si.swap_map[offset] == 0
    return False


def _cluster_alloc_range(st: SwapState, si: SwapInfoStruct, ci: SwapClusterInfo,
                         start: int, usage: int) -> bool:
    if not si.flags & SWP_WRITEOK:
        return False
    if ci.flags & CLUSTER_FLAG_FREE:
        _list_move_tail(ci, si.nonfull_clusters)
        ci.flags = CLUSTER_FLAG_NONFULL
        ci.order = 0
    si.swap_map[start] = usage
    _swap_range_alloc(st, si, start, 1)
    ci.count += 1
    if ci.count == SWAPFILE_CLUSTER:
        if ci.flags & CLUSTER_FLAG_FRAG:
            si.frag_cluster_nr -= 1
        _list_move_tail(ci, si.full_clusters)
        ci.flags = CLUSTER_FLAG_FULL
    return True


def _alloc_swap_scan_cluster(st: SwapState, si: SwapInfoStruct, offset: int,
                             usage: int) -> tuple[int, int]:
    """alloc_swap_scan_cluster(): (next offset, found offset or 0)."""
    assert si.cluster_info is not None
    start = offset & ~(SWAPFILE_CLUSTER - 1)
    end = min(start + SWAPFILE_CLUSTER, si.max)
    if end < 1:
        return SWAP_NEXT_INVALID, 0
    end -= 1
    ci = si.cluster_info[offset // SWAPFILE_CLUSTER]
    if ci.count + 1 > SWAPFILE_CLUSTER:
        return SWAP_NEXT_INVALID, 0
    found = 0
    while offset <= end:
        if _cluster_scan_range(st, si, offset):
            if not _cluster_alloc_range(st, si, ci, offset, usage):
                return SWAP_NEXT_INVALID, found
            found = offset
            if ci.count == SWAPFILE_CLUSTER:
                return SWAP_NEXT_INVALID, found
            offset += 1
            break
        offset += 1
    if offset > end:
        offset = SWAP_NEXT_INVALID
    return offset, found


def cluster_alloc_swap_entry(st: SwapState, si: SwapInfoStruct, usage: int) -> int:
    """cluster_alloc_swap_entry() for order 0: the per-CPU cluster first, then a free
    cluster, then the nonfull and frag lists."""
    cpu = st.m.raw_smp_processor_id()     # this_cpu_ptr() under si->lock (SIM: not modelled)
    found = 0
    offset = si.percpu_next[cpu]
    if offset:
        offset, found = _alloc_swap_scan_cluster(st, si, offset, usage)
    if not found:
        if si.free_clusters:
            ci = si.free_clusters[0]
            offset, found = _alloc_swap_scan_cluster(st, si, ci.idx * SWAPFILE_CLUSTER, usage)
        else:
            if vm_swap_full(st):
                _swap_reclaim_full_clusters(st, si, False)
            frags = 0
            while si.nonfull_clusters and not found:
                ci = si.nonfull_clusters[0]
                _list_move_tail(ci, si.frag_clusters)
                ci.flags = CLUSTER_FLAG_FRAG
                si.frag_cluster_nr += 1
                offset, found = _alloc_swap_scan_cluster(st, si, ci.idx * SWAPFILE_CLUSTER,
                                                         usage)
                frags += 1
            while not found and frags < si.frag_cluster_nr:
                ci = si.frag_clusters[0]
                _list_move_tail(ci, si.frag_clusters)
                offset, found = _alloc_swap_scan_cluster(st, si, ci.idx * SWAPFILE_CLUSTER,
                                                         usage)
                frags += 1
    si.percpu_next[cpu] = offset
    return found


def _swap_reclaim_full_clusters(st: SwapState, si: SwapInfoStruct, force: bool) -> None:
    to_scan = si.inuse_pages // SWAPFILE_CLUSTER if force else 1
    while si.full_clusters:
        ci = si.full_clusters[0]
        _list_move_tail(ci, si.full_clusters)
        offset = ci.idx * SWAPFILE_CLUSTER
        end = min(si.max, offset + SWAPFILE_CLUSTER)
        to_scan -= 1
        while offset < end:
            if si.swap_map[offset] == SWAP_HAS_CACHE:
                __try_to_reclaim_swap(st, si, offset, TTRS_ANYWAY | TTRS_DIRECT)
            offset += 1
        if to_scan <= 0:
            break


# ---- slot ranges and the classic (rotational) scan ----------------------------------------

def _swap_range_alloc(st: SwapState, si: SwapInfoStruct, offset: int, nr: int) -> None:
    end = offset + nr - 1
    if offset == si.lowest_bit:
        si.lowest_bit += nr
    if end == si.highest_bit:
        si.highest_bit -= nr
    si.inuse_pages += nr
    if si.inuse_pages == si.pages:
        si.lowest_bit = si.max
        si.highest_bit = 0
        if si in st.avail:
            st.avail.remove(si)


def _swap_range_free(st: SwapState, si: SwapInfoStruct, offset: int, nr: int) -> None:
    end = offset + nr - 1
    for o in range(offset, offset + nr):
        si.zeromap.discard(o)
        si.data.pop(o, None)
        # clear_shadow_from_swap_cache()
        st.shadows.pop(swp_entry(si.type, o), None)
    if offset < si.lowest_bit:
        si.lowest_bit = offset
    if end > si.highest_bit:
        was_full = not si.highest_bit
        si.highest_bit = end
        if was_full and si.flags & SWP_WRITEOK and si not in st.avail:
            _plist_add(st.avail, si)
    st.nr_swap_pages += nr
    si.inuse_pages -= nr
    st.sync()


def _scan_swap_map_slots(st: SwapState, si: SwapInfoStruct, usage: int, nr: int) -> list[int]:
    """scan_swap_map_slots(): the cluster allocator on SSDs; next-fit from cluster_next on
    rotational devices. # SIM: the rotational path skips the search for a wholly free
    cluster and the latency breaks; it is a next-fit scan that wraps past highest_bit."""
    out: list[int] = []
    if si.cluster_info is not None:
        while len(out) < nr:
            off = cluster_alloc_swap_entry(st, si, usage)
            if not off:
                break
            out.append(swp_entry(si.type, off))
        return out
    if not si.flags & SWP_WRITEOK:
        return out
    offset = si.cluster_next
    while len(out) < nr and si.highest_bit:
        if offset > si.highest_bit or offset < si.lowest_bit:
            offset = si.lowest_bit
        start = offset
        while si.swap_map[offset]:
            offset += 1
            if offset > si.highest_bit:
                offset = si.lowest_bit
            if offset == start:
                return out
        si.swap_map[offset] = usage
        _swap_range_alloc(st, si, offset, 1)
        out.append(swp_entry(si.type, offset))
        offset += 1
    si.cluster_next = offset
    return out


def get_swap_pages(st: SwapState, n_goal: int) -> list[int]:
    """get_swap_pages(): the highest-priority available device first; equal priorities
    take turns (plist_requeue). nr_swap_pages is taken up front."""
    avail = st.nr_swap_pages
    if avail <= 0:
        return []
    n_goal = min(n_goal, SWAP_BATCH, avail)
    st.nr_swap_pages -= n_goal
    out: list[int] = []
    for si in list(st.avail):
        if si not in st.avail:
            continue
        _plist_requeue(st.avail, si)
        if not si.highest_bit or not si.flags & SWP_WRITEOK:
            st.avail.remove(si)
            continue
        out = _scan_swap_map_slots(st, si, SWAP_HAS_CACHE, n_goal)
        if out:
            break
    if len(out) < n_goal:
        st.nr_swap_pages += n_goal - len(out)
    st.sync()
    return out


# ---- the swap slots cache (mm/swap_slots.c) ----------------------------------------------

def _check_cache_active(st: SwapState) -> bool:
    if not st.swap_slot_cache_enabled:
        return False
    pages = st.nr_swap_pages
    if not st.swap_slot_cache_active:
        if pages > st.m.nr_cpus * THRESHOLD_ACTIVATE_SWAP_SLOTS_CACHE:
            st.swap_slot_cache_active = True
        return st.swap_slot_cache_active
    if pages < st.m.nr_cpus * THRESHOLD_DEACTIVATE_SWAP_SLOTS_CACHE:
        st.swap_slot_cache_active = False
        drain_swap_slots_cache(st)
    return st.swap_slot_cache_active


def drain_swap_slots_cache(st: SwapState) -> None:
    """__drain_swap_slots_cache(SLOTS_CACHE | SLOTS_CACHE_RET) on every CPU."""
    for c in st.slots:
        swapcache_free_entries(st, c.slots[c.cur:c.cur + c.nr])
        c.slots = []
        c.cur = c.nr = 0
        swapcache_free_entries(st, c.slots_ret)
        c.slots_ret = []


def folio_alloc_swap(m: Machine, pfn: int) -> int:
    """folio_alloc_swap(): an entry from this CPU's slots cache (refilled with a batch of
    SWAP_SLOTS_CACHE_SIZE), else one straight from get_swap_pages. 0 when swap is full."""
    st = swap_state(m)
    c = st.slots[m.raw_smp_processor_id()]   # raw_cpu_ptr(&swp_slots), then its mutex
    if _check_cache_active(st):
        if not c.nr and st.swap_slot_cache_active and st.swap_slot_cache_enabled:
            c.slots = get_swap_pages(st, SWAP_SLOTS_CACHE_SIZE)
            c.cur = 0
            c.nr = len(c.slots)
        if c.nr:
            entry = c.slots[c.cur]
            c.cur += 1
            c.nr -= 1
            return entry
    got = get_swap_pages(st, 1)
    return got[0] if got else 0


def free_swap_slot(st: SwapState, entry: int) -> None:
    """free_swap_slot(): into this CPU's return cache (flushed when full), or freed now."""
    c = st.slots[st.m.raw_smp_processor_id()]   # raw_cpu_ptr(&swp_slots)
    if st.swap_slot_cache_active and st.swap_slot_cache_enabled:
        if len(c.slots_ret) >= SWAP_SLOTS_CACHE_SIZE:
            swapcache_free_entries(st, c.slots_ret)
            c.slots_ret = []
        c.slots_ret.append(entry)
    else:
        swapcache_free_entries(st, [entry])


def swapcache_free_entries(st: SwapState, entries: list[int]) -> None:
    """swapcache_free_entries(): release slots whose map reads SWAP_HAS_CACHE (sorted by
    type when several devices exist; the sort is not stable, # SIM: here it is)."""
    if len(st.swap_info) > 1:
        entries = sorted(entries, key=swp_type)
    for e in entries:
        si = st.swap_info[swp_type(e)]
        if si is None or not si.swap_map:
            continue
        swap_entry_range_free(st, si, swp_offset(e), 1)


def swap_entry_range_free(st: SwapState, si: SwapInfoStruct, offset: int, nr: int) -> None:
    for o in range(offset, offset + nr):
        if si.swap_map[o] != SWAP_HAS_CACHE:
            raise MemsimError(f"swap_entry_range_free: slot {o} of type {si.type} reads "
                              f"{si.swap_map[o]:#x}, not SWAP_HAS_CACHE")
        si.swap_map[o] = 0
    if si.cluster_info is not None:
        _dec_cluster_info_page(si, si.cluster_info[offset // SWAPFILE_CLUSTER], nr)
    _swap_range_free(st, si, offset, nr)


# ---- swap counts -------------------------------------------------------------------------

def swap_count(ent: int) -> int:
    return ent & ~SWAP_HAS_CACHE


def _full_count(si: SwapInfoStruct, offset: int) -> int:
    c = swap_count(si.swap_map[offset])
    if c & COUNT_CONTINUED:
        return (c & ~COUNT_CONTINUED) + si.cont.get(offset, 0)
    return c


def __swap_entry_free_locked(si: SwapInfoStruct, offset: int, usage: int) -> int:
    count = si.swap_map[offset]
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    if usage == SWAP_HAS_CACHE:
        if not has_cache:
            raise MemsimError(f"swap slot {offset}: cache reference dropped twice")
        has_cache = 0
    elif count == SWAP_MAP_SHMEM:
        count = 0
    elif count == COUNT_CONTINUED | SWAP_MAP_MAX:
        extra = si.cont.get(offset, 0) - 1
        if extra > 0:
            si.cont[offset] = extra
        else:
            si.cont.pop(offset, None)
            count = SWAP_MAP_MAX
    elif count:
        count -= 1
    usage = count | has_cache
    si.swap_map[offset] = usage if usage else SWAP_HAS_CACHE
    return usage


def __swap_duplicate(st: SwapState, entry: int, usage: int) -> int:
    """__swap_duplicate(): +1 reference (usage 1) or the cache bit (SWAP_HAS_CACHE)."""
    si = st.si_of(entry)
    if si is None:
        return -EINVAL
    offset = swp_offset(entry)
    count = si.swap_map[offset]
    if swap_count(count) == SWAP_MAP_BAD:
        return -ENOENT
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    if not count and not has_cache:
        return -ENOENT
    if usage == SWAP_HAS_CACHE:
        if has_cache:
            return -EEXIST
        has_cache = SWAP_HAS_CACHE
    elif (count & ~COUNT_CONTINUED) < SWAP_MAP_MAX:
        count += usage
    else:
        # add_swap_count_continuation(). # SIM: the continuation pages are a dict
        si.cont[offset] = si.cont.get(offset, 0) + 1
        count = COUNT_CONTINUED | SWAP_MAP_MAX
    si.swap_map[offset] = count | has_cache
    return 0


def swap_duplicate(m: Machine, entry: int) -> int:
    return __swap_duplicate(swap_state(m), entry, 1)


def swapcache_prepare(st: SwapState, entry: int) -> int:
    return __swap_duplicate(st, entry, SWAP_HAS_CACHE)


def swap_free(m: Machine, entry: int) -> None:
    """swap_free() / swap_free_nr(entry, 1): one reference fewer."""
    st = swap_state(m)
    si = st.si_of(entry)
    if si is None:
        return
    if not __swap_entry_free_locked(si, swp_offset(entry), 1):
        free_swap_slot(st, entry)


def put_swap_folio(st: SwapState, entry: int) -> None:
    """put_swap_folio(): the swap cache's hold on the slot goes."""
    si = st.si_of(entry)
    if si is None:
        return
    if not __swap_entry_free_locked(si, swp_offset(entry), SWAP_HAS_CACHE):
        free_swap_slot(st, entry)


def __swap_count(m: Machine, entry: int) -> int:
    si = swap_state(m).si_of(entry)
    return swap_count(si.swap_map[swp_offset(entry)]) if si is not None else 0


def swp_swapcount(m: Machine, entry: int) -> int:
    """swp_swapcount(): the references to a slot, continuation counts included."""
    si = swap_state(m).si_of(entry)
    if si is None:
        return 0
    return _full_count(si, swp_offset(entry))


def folio_swapped(m: Machine, pfn: int) -> bool:
    si = swap_state(m).si_of(int(m.mem_map.private[pfn]))
    if si is None:
        return False
    return swap_count(si.swap_map[swp_offset(int(m.mem_map.private[pfn]))]) != 0


def folio_free_swap(m: Machine, pfn: int) -> bool:
    """folio_free_swap(): drop the swap-cache copy and its slot when no swap PTE refers
    to the slot any more (the folio becomes dirty: the only copy is in memory)."""
    from memsim.mm.swap_state import delete_from_swap_cache
    f = m.mem_map.flags[pfn]
    if not f & _PG_SWAPBACKED or not f & _PG_SWAPCACHE or f & _PG_WRITEBACK:
        return False
    if folio_swapped(m, pfn):
        return False
    delete_from_swap_cache(m, pfn)
    m.mem_map.flags[pfn] |= _PG_DIRTY
    return True


def __try_to_reclaim_swap(st: SwapState, si: SwapInfoStruct, offset: int, flags: int) -> int:
    """__try_to_reclaim_swap(): drop the swap-cache folio of a slot nobody maps (or any,
    TTRS_ANYWAY) once the slot has no references left. Pages reclaimed."""
    from memsim.mm.memory import folio_get, folio_put
    from memsim.mm.swap_state import __delete_from_swap_cache, delete_from_swap_cache
    m = st.m
    entry = swp_entry(si.type, offset)
    pfn = st.cache.get(entry)
    if pfn is None:
        return 0
    folio_get(m, pfn)
    mem = m.mem_map
    need = bool(flags & TTRS_ANYWAY or (flags & TTRS_UNMAPPED and not mem.mapcount1[pfn])
                or (flags & TTRS_FULL and vm_swap_full(st)))
    ret = -1
    if need and not mem.flags[pfn] & _PG_WRITEBACK and si.swap_map[offset] == SWAP_HAS_CACHE:
        if not flags & TTRS_DIRECT:
            delete_from_swap_cache(m, pfn)
        else:
            __delete_from_swap_cache(m, pfn, entry, None)
            mem.refcount[pfn] -= 1
            swap_entry_range_free(st, si, offset, 1)
        mem.flags[pfn] |= _PG_DIRTY
        ret = 1
    folio_put(m, pfn)
    return ret


def free_swap_and_cache(m: Machine, pte: int) -> None:
    """free_swap_and_cache_nr(entry, 1): a swap PTE is zapped; an unmapped swap-cache
    folio left with no references (or any, when swap is more than half full) goes too."""
    if not is_real_swap_pte(pte):
        return
    st = swap_state(m)
    entry = pte_to_swp_entry(pte)
    si = st.si_of(entry)
    if si is None:
        return
    offset = swp_offset(entry)
    usage = __swap_entry_free_locked(si, offset, 1)
    if not usage:
        free_swap_slot(st, entry)
    elif usage == SWAP_HAS_CACHE:
        __try_to_reclaim_swap(st, si, offset, TTRS_UNMAPPED | TTRS_FULL)


def swap_duplicate_pte(m: Machine, pte: int) -> int:
    """fork (copy_nonpresent_pte): the child's swap PTE takes a reference on the slot;
    an exclusive entry becomes shared (cleared in parent and child)."""
    if is_real_swap_pte(pte):
        swap_duplicate(m, pte_to_swp_entry(pte))
        pte &= ~_PAGE_SWP_EXCLUSIVE
    return pte


# ---- swapon / swapoff --------------------------------------------------------------------

def _alloc_swap_info(st: SwapState) -> SwapInfoStruct | None:
    for t, si in enumerate(st.swap_info):
        if si is None or not si.flags:
            return _new_si(st, t)
    if len(st.swap_info) >= MAX_SWAPFILES:
        return None
    st.swap_info.append(None)
    return _new_si(st, len(st.swap_info) - 1)


def _new_si(st: SwapState, t: int) -> SwapInfoStruct:
    si = SwapInfoStruct(type=t, name="", partition=False, flags=SWP_USED)
    st.swap_info[t] = si
    return si


def _setup_clusters(m: Machine, si: SwapInfoStruct, maxpages: int) -> None:
    """setup_clusters(): cluster 0 (the header) and the tail beyond maxpages are in use;
    free clusters are queued column by column so consecutive allocations spread over
    the 64 MiB swap-cache address spaces."""
    nr = -(-maxpages // SWAPFILE_CLUSTER)
    si.cluster_info = [SwapClusterInfo(i) for i in range(nr)]
    si.percpu_next = [SWAP_NEXT_INVALID] * m.nr_cpus
    si.cluster_info[0].count += 1
    for i in range(maxpages, nr * SWAPFILE_CLUSTER):
        si.cluster_info[i // SWAPFILE_CLUSTER].count += 1
    col = si.cluster_next // SWAPFILE_CLUSTER % SWAP_CLUSTER_COLS
    for k in range(SWAP_CLUSTER_COLS):
        j = (k + col) % SWAP_CLUSTER_COLS
        for i in range(-(-nr // SWAP_CLUSTER_COLS)):
            idx = i * SWAP_CLUSTER_COLS + j
            if idx >= nr:
                continue
            ci = si.cluster_info[idx]
            if ci.count:
                ci.flags = CLUSTER_FLAG_NONFULL
                _list_move_tail(ci, si.nonfull_clusters)
            else:
                ci.flags = CLUSTER_FLAG_FREE
                _list_move_tail(ci, si.free_clusters)


def sys_swapon(m: Machine, spec: int | str, priority: int = -1, *, size: int | None = None,
               rotational: bool = False, synchronous: bool = False) -> int:
    """
    swapon(2) on a model device: *spec* is a size in bytes (a swap file ``/swapfile``,
    ``/swapfile2`` ...) or a path (``/dev/...`` is a partition) with *size*. The area is
    mkswap'ed: slot 0 is the header; ``pages = size / 4096 - 1``. *priority* -1 assigns
    ``--least_priority``; 0..32767 is SWAP_FLAG_PREFER. *rotational* devices get no
    clusters and turn VMA readahead off; *synchronous* ones (zram, pmem:
    SWP_SYNCHRONOUS_IO) let do_swap_page read a singly-referenced slot without the swap
    cache. Returns 0 or -errno.
    # SIM: the area is not a file of the model's VFS; its I/O never touches the page cache.
    """
    st = swap_state(m)
    if isinstance(spec, int):
        size = spec
        names = {si.name for si in st.swap_info if si is not None and si.flags}
        name = "/swapfile"
        n = 2
        while name in names:
            name = f"/swapfile{n}"
            n += 1
    else:
        name = spec
        if size is None:
            raise MemsimError(f"swapon {spec}: give the area's size (size=...)")
        if any(si is not None and si.flags and si.name == name for si in st.swap_info):
            return -EBUSY
    if priority < -1 or priority > 32767:
        return -EINVAL
    if size is None or size // 4096 < 2:
        return -EINVAL
    si = _alloc_swap_info(st)
    if si is None:
        return -EPERM
    si.name = name
    si.partition = name.startswith("/dev/")
    # read_swap_header(): last_page = size/PAGE_SIZE - 1, maxpages = last_page + 1
    maxpages = size // 4096
    si.lowest_bit = 1
    si.cluster_next = 1
    si.cluster_nr = 0
    si.highest_bit = maxpages - 1
    si.max = maxpages
    si.pages = maxpages - 1
    si.swap_map = bytearray(maxpages)
    si.swap_map[0] = SWAP_MAP_BAD
    si.flags |= SWP_BLKDEV if si.partition else 0
    si.flags |= SWP_SYNCHRONOUS_IO if synchronous else 0
    if not rotational:
        si.flags |= SWP_SOLIDSTATE
        _setup_clusters(m, si, maxpages)
    else:
        st.nr_rotate_swap += 1
    # enable_swap_info()
    if priority >= 0:
        si.prio = priority
    else:
        st.least_priority -= 1
        si.prio = st.least_priority
    si.flags |= SWP_WRITEOK
    st.nr_swap_pages += si.pages
    st.total_swap_pages += si.pages
    _plist_add(st.active, si)
    _plist_add(st.avail, si)
    st.sync()
    m.printk(f"Adding {si.pages * 4}k swap on {name}.  Priority:{si.prio} extents:1 "
             f"across:{si.pages * 4}k {'SS' if si.solidstate() else ''}")
    # enable_swap_slots_cache()
    st.swap_slot_cache_initialized = True
    st.swap_slot_cache_enabled = bool(st.active)
    return 0


def try_to_unuse(m: Machine, si: SwapInfoStruct) -> int:
    """try_to_unuse(): bring every page of the device back (unuse_mm over every process's
    anonymous VMAs, swap-in through the swap cache), then drop the swap-cache copies."""
    from memsim.mm.memory import folio_put
    from memsim.mm.swap_state import lookup_swap_cache, swapin_readahead, unuse_pte
    st = swap_state(m)
    from memsim.mm.shmem import shmem_unuse
    for _ in range(3):
        if not si.inuse_pages:
            return 0
        if shmem_unuse(m, si.type) < 0:
            return -ENOMEM
        for task in list(getattr(m, "tasks", {}).values()):
            if task.exit_state is not None or task.mm is None:
                continue
            for vma in list(task.mm.vmas):
                if vma.anon_vma is None:
                    continue
                for t, i0, i1 in list(task.mm.pgd.iter_tables(vma.vm_start, vma.vm_end)):
                    for i in range(i0, i1):
                        pte = int(t.pte[i])
                        if not is_real_swap_pte(pte) or pte_swp_type(pte) != si.type:
                            continue
                        addr = t.base + (i << PAGE_SHIFT)
                        entry = pte_to_swp_entry(pte)
                        pfn = lookup_swap_cache(m, entry, vma, addr)
                        if pfn is None:
                            pfn = swapin_readahead(m, entry, vma, addr)
                        if pfn is None:
                            if si.swap_map[swp_offset(entry)] in (0, SWAP_MAP_BAD):
                                continue
                            return -ENOMEM
                        unuse_pte(m, vma, addr, entry, pfn)
                        folio_free_swap(m, pfn)
                        folio_put(m, pfn)
        for off in range(1, si.max):
            c = si.swap_map[off]
            if not c or swap_count(c) == SWAP_MAP_BAD:
                continue
            pfn = st.cache.get(swp_entry(si.type, off))
            if pfn is not None:
                folio_free_swap(m, pfn)
    return 0 if not si.inuse_pages else -EBUSY


def sys_swapoff(m: Machine, spec: str | int) -> int:
    """swapoff(2): the device leaves the lists, its pages come back in (try_to_unuse),
    later devices with automatic priorities move up one. Returns 0 or -errno."""
    from memsim.mm.util import security_vm_enough_memory_mm, vm_unacct_memory
    st = swap_state(m)
    si = None
    for p in st.active:
        if p.flags & SWP_WRITEOK and (p.name == spec or p.type == spec):
            si = p
            break
    if si is None:
        return -EINVAL
    mm = getattr(getattr(m, "current", None), "mm", None)
    if security_vm_enough_memory_mm(m, mm, si.pages) != 0:
        return -ENOMEM
    vm_unacct_memory(m, si.pages)
    if si in st.avail:
        st.avail.remove(si)
    if si.prio < 0:
        idx = st.active.index(si)
        for other in st.active[idx + 1:]:
            other.prio += 1
        st.least_priority += 1
    st.active.remove(si)
    st.nr_swap_pages -= si.pages
    st.total_swap_pages -= si.pages
    si.flags &= ~SWP_WRITEOK
    st.sync()
    # disable_swap_slots_cache_lock(): drain every CPU's cache
    st.swap_slot_cache_enabled = False
    drain_swap_slots_cache(st)
    err = try_to_unuse(m, si)
    if err:
        # reinsert_swap_info()
        si.flags |= SWP_WRITEOK
        st.nr_swap_pages += si.pages
        st.total_swap_pages += si.pages
        _plist_add(st.active, si)
        if si.highest_bit:
            _plist_add(st.avail, si)
        st.swap_slot_cache_enabled = bool(st.active)
        st.sync()
        return err
    st.swap_slot_cache_enabled = bool(st.active)
    if not si.solidstate():
        st.nr_rotate_swap -= 1
    si.swap_map = bytearray()
    si.cluster_info = None
    si.max = 0
    si.flags = 0
    si.data.clear()
    si.zeromap.clear()
    st.sync()
    return 0


def si_swapinfo(m: Machine) -> tuple[int, int]:
    """si_swapinfo(): (freeswap, totalswap) in pages, devices being swapped off included."""
    st = swap_state(m)
    extra = 0
    for si in st.swap_info:
        if si is not None and si.flags & SWP_USED and not si.flags & SWP_WRITEOK:
            extra += si.inuse_pages
    return st.nr_swap_pages + extra, st.total_swap_pages + extra


def swaps_show(m: Machine) -> str:
    """/proc/swaps (swap_show): devices in swap_info[] order."""
    out = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"]
    st = swap_state(m)
    for si in st.swap_info:
        if si is None or not si.flags & SWP_USED or not si.swap_map:
            continue
        nbytes = si.pages * 4
        inuse = si.inuse_pages * 4
        path = si.name.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011") \
            .replace("\n", "\\012")
        ln = len(path)
        out.append(f"{path}{' ' * (40 - ln if ln < 40 else 1)}"
                   f"{'partition' if si.partition else 'file' + chr(9)}\t{nbytes}\t"
                   f"{chr(9) if nbytes < 10000000 else ''}{inuse}\t"
                   f"{chr(9) if inuse < 10000000 else ''}{si.prio}\n")
    return "".join(out)


# ---- validation --------------------------------------------------------------------------

def validate_swap(m: Machine) -> None:
    """swap_map counts equal the swap PTEs referring to each slot (+ SWAP_HAS_CACHE for a
    swap-cache folio or a slot parked in a slots cache); MM_SWAPENTS equals each mm's swap
    PTEs; inuse_pages and nr_swap_pages add up; swap-cache folios carry their entry."""
    from collections import Counter

    from memsim.errors import CounterMismatchError
    st = swap_state(m)
    refs: Counter[int] = Counter()
    for task in getattr(m, "tasks", {}).values():
        if task.exit_state is not None or task.mm is None:
            continue
        n = 0
        for t in task.mm.pgd.leaf.values():
            if not t.nr_used:
                continue
            for i in range(len(t.ptes)):
                pte = int(t.pte[i])
                if pte and is_real_swap_pte(pte):
                    refs[pte_to_swp_entry(pte)] += 1
                    n += 1
        if n != task.mm.rss_stat[MM_SWAPENTS]:
            raise CounterMismatchError(f"pid {task.pid}: MM_SWAPENTS is "
                                       f"{task.mm.rss_stat[MM_SWAPENTS]}, page tables hold "
                                       f"{n} swap entries")
    shmem_list = getattr(m, "shmem_swaplist", {})
    for mapping in shmem_list.values():
        both = set(mapping.swapped) & set(mapping.i_pages)
        if both:
            raise CounterMismatchError(f"shmem {mapping!r}: indices {sorted(both)[:5]} are "
                                       "both in the page cache and out on swap")
        for e in mapping.swapped.values():
            refs[e] += 1                      # the shmem slot's count (SWAP_MAP_SHMEM)
    parked = set()
    for c in st.slots:
        parked.update(c.slots[c.cur:c.cur + c.nr])
        parked.update(c.slots_ret)
    mem = m.mem_map
    for entry, pfn in st.cache.items():
        if not folio_test_swapcache(m, pfn) or int(mem.private[pfn]) != entry:
            raise CounterMismatchError(f"swap cache: page {pfn:#x} of entry {entry:#x} lacks "
                                       "PG_swapcache or its entry")
    free_total = 0
    total = 0
    for si in st.swap_info:
        if si is None or not si.swap_map:
            continue
        inuse = 0
        import numpy as np
        used = np.frombuffer(bytes(si.swap_map), dtype=np.uint8).nonzero()[0]
        for off in (int(x) for x in used):
            mc = si.swap_map[off]
            if off == 0 or mc == SWAP_MAP_BAD:
                continue
            inuse += 1
            e = swp_entry(si.type, off)
            cnt = _full_count(si, off)
            if cnt != refs.get(e, 0):
                raise CounterMismatchError(f"swap {si.name} slot {off}: count {cnt}, "
                                           f"{refs.get(e, 0)} swap PTEs and shmem entries")
            cached = e in st.cache
            if bool(mc & SWAP_HAS_CACHE) != (cached or (mc == SWAP_HAS_CACHE and e in parked)):
                raise CounterMismatchError(f"swap {si.name} slot {off}: map {mc:#x}, in swap "
                                           f"cache: {cached}")
        if inuse != si.inuse_pages:
            raise CounterMismatchError(f"swap {si.name}: inuse_pages {si.inuse_pages}, "
                                       f"{inuse} slots in use")
        if si.flags & SWP_WRITEOK:
            total += si.pages
            free_total += si.pages - inuse
    if total != st.total_swap_pages or free_total != st.nr_swap_pages:
        raise CounterMismatchError(f"swap: total/free {st.total_swap_pages}/"
                                   f"{st.nr_swap_pages} pages, devices say {total}/"
                                   f"{free_total}")
    for e in refs:
        si = st.si_of(e)
        if si is None or not si.swap_map[swp_offset(e)]:
            raise CounterMismatchError(f"swap PTE refers to free slot {e:#x}")


# ---- boot --------------------------------------------------------------------------------

def swap_init(m: Machine) -> None:
    """The machine's swap layer: the state and the hooks the core calls."""
    from memsim.mm import swap_state as ss
    swap_state(m)
    setattr(m, "swapon",  # noqa: B010
            lambda spec, priority=-1, **kw: _check(sys_swapon(m, spec, priority, **kw),
                                                    "swapon"))
    setattr(m, "swapoff", lambda spec: _check(sys_swapoff(m, spec), "swapoff"))  # noqa: B010
    setattr(m, "do_swap_page_hook",  # noqa: B010
            lambda task, vma, address, flags, orig: ss.do_swap_page(m, task, vma, address,
                                                                     flags, orig))
    setattr(m, "swap_duplicate_hook", lambda pte: swap_duplicate_pte(m, pte))  # noqa: B010
    setattr(m, "free_swap_and_cache_hook", lambda pte: free_swap_and_cache(m, pte))  # noqa: B010
    setattr(m, "swap_entry_for_unmap", lambda pfn: ss.swap_entry_for_unmap(m, pfn))  # noqa: B010
    setattr(m, "swp_swapcount",  # noqa: B010 (smaps SwapPss: the count of a swap PTE's slot)
            lambda pte: swp_swapcount(m, pte_to_swp_entry(pte)))
    setattr(m, "swap_cache_present_hook",  # noqa: B010
            lambda pte: pte_to_swp_entry(pte) in swap_state(m).cache)
    setattr(m, "free_swap_cache_hook", lambda pfn: ss.free_swap_cache(m, pfn))  # noqa: B010
    setattr(m, "folio_free_swap_hook", lambda pfn: folio_free_swap(m, pfn))  # noqa: B010
    setattr(m, "validate_swap_hook", lambda: validate_swap(m))  # noqa: B010
    st = swap_state(m)
    st.sync()
    size = int(m.config.values.get("swap", 0) or 0)
    if size:
        _check(sys_swapon(m, size), "swapon (swap= setting)")


def _check(ret: int, what: str) -> int:
    if ret < 0:
        import errno
        import os
        raise OSError(-ret, f"{what}: {os.strerror(-ret)} ({errno.errorcode.get(-ret, '?')})")
    return ret


__all__ = ["SwapState", "SwapInfoStruct", "swap_state", "sys_swapon", "sys_swapoff",
           "swaps_show", "folio_free_swap", "swp_swapcount", "validate_swap"]
