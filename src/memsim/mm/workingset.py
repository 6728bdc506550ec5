"""
Workingset detection (mm/workingset.c, 6.12, classic LRU; virtual.md §9): on eviction
a shadow entry packs the node's non-resident age (with memcg id 0, the node id and the
PG_workingset bit, as pack_shadow() lays them out) into the page-cache slot (or the swap
cache's, mm/swap_state.py); on refault the distance between the age then and now is
compared with the workingset size and a recent refault is activated at once.

Shadows of the page cache live in ``mapping.shadows`` (index -> shadow, mm/filemap.py
pops them in filemap_add_folio and calls workingset_refault()). The counters are the
node's WORKINGSET_* items.

# SIM: the shadow-node shrinker (count_shadow_nodes / shadow_lru_isolate) is modelled as a
# cap on the number of 64-slot blocks holding only shadows (max_nodes = LRU pages / 8);
# excess blocks are dropped oldest first and counted in workingset_nodereclaim.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from memsim.include.mmzone import Lruvec
from memsim.include.page_flags import PageFlags
from memsim.include.vmstat_items import NodeStatItem

if TYPE_CHECKING:
    from memsim.machine import Machine

BITS_PER_LONG = 64
BITS_PER_XA_VALUE = BITS_PER_LONG - 1
WORKINGSET_SHIFT = 1
#: CONFIG_NODES_SHIFT of the x86-64 distribution kernels (Debian/Ubuntu: 10)
NODES_SHIFT = 10
MEM_CGROUP_ID_SHIFT = 16
EVICTION_SHIFT = (BITS_PER_LONG - BITS_PER_XA_VALUE) + WORKINGSET_SHIFT + NODES_SHIFT + \
    MEM_CGROUP_ID_SHIFT
EVICTION_MASK = ((1 << BITS_PER_LONG) - 1) >> EVICTION_SHIFT
XA_CHUNK_SHIFT = 6

_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_WORKINGSET = 1 << PageFlags.PG_workingset
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_HEAD = 1 << PageFlags.PG_head


def workingset_init(m: Machine) -> None:
    """workingset_init(): bucket_order from the RAM size (0 unless > 2^36 pages)."""
    timestamp_bits = BITS_PER_LONG - EVICTION_SHIFT
    max_order = max(0, (m.totalram_pages - 1).bit_length())
    m.workingset_bucket_order = max(0, max_order - timestamp_bits)  # type: ignore[attr-defined]
    m.workingset_shadow_blocks = OrderedDict()  # type: ignore[attr-defined]


def _bucket_order(m: Machine) -> int:
    return int(getattr(m, "workingset_bucket_order", 0))


def pack_shadow(memcgid: int, nid: int, eviction: int, workingset: bool) -> int:
    """pack_shadow(): eviction | memcg id | node | workingset, as an xarray value entry."""
    eviction &= EVICTION_MASK
    eviction = (eviction << MEM_CGROUP_ID_SHIFT) | memcgid
    eviction = (eviction << NODES_SHIFT) | nid
    eviction = (eviction << WORKINGSET_SHIFT) | int(workingset)
    return (eviction << 1) | 1                   # xa_mk_value()


def unpack_shadow(shadow: int) -> tuple[int, int, int, bool]:
    """unpack_shadow(): (memcg id, node, eviction, workingset)."""
    entry = shadow >> 1
    workingset = bool(entry & ((1 << WORKINGSET_SHIFT) - 1))
    entry >>= WORKINGSET_SHIFT
    nid = entry & ((1 << NODES_SHIFT) - 1)
    entry >>= NODES_SHIFT
    memcgid = entry & ((1 << MEM_CGROUP_ID_SHIFT) - 1)
    entry >>= MEM_CGROUP_ID_SHIFT
    return memcgid, nid, entry, workingset


def workingset_age_nonresident(m: Machine, lruvec: Lruvec, nr_pages: int) -> None:
    """workingset_age_nonresident(): advance the non-resident clock."""
    lruvec.nonresident_age += nr_pages


def _nr(m: Machine, pfn: int) -> int:
    mem = m.mem_map
    return 1 << mem.compound_order[pfn] if mem.flags[pfn] & _PG_HEAD else 1


def workingset_eviction(m: Machine, pfn: int) -> int:
    """workingset_eviction(): the shadow for a folio being evicted; ages the clock."""
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_eviction
        return lru_gen_eviction(m, pfn)
    nid = m.page_zone(pfn).node
    lruvec = m.nodes[nid].lruvec
    eviction = lruvec.nonresident_age >> _bucket_order(m)
    workingset_age_nonresident(m, lruvec, _nr(m, pfn))
    return pack_shadow(0, nid, eviction, bool(m.mem_map.flags[pfn] & _PG_WORKINGSET))


def workingset_test_recent(m: Machine, shadow: int, file: bool) -> tuple[bool, bool]:
    """workingset_test_recent(): (refault distance <= workingset size, workingset bit)."""
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_test_recent
        recent, _nid, _token, ws = lru_gen_test_recent(m, shadow, file)
        return recent, ws
    _memcgid, nid, eviction, workingset = unpack_shadow(shadow)
    eviction <<= _bucket_order(m)
    if nid >= len(m.nodes):
        return False, workingset
    pgdat = m.nodes[nid]
    refault = pgdat.lruvec.nonresident_age
    refault_distance = (refault - eviction) & EVICTION_MASK
    vs = pgdat.vm_stat
    workingset_size = vs[NodeStatItem.NR_ACTIVE_FILE]
    if not file:
        workingset_size += vs[NodeStatItem.NR_INACTIVE_FILE]
    if int(getattr(m, "nr_swap_pages", 0) or 0) > 0:
        workingset_size += vs[NodeStatItem.NR_ACTIVE_ANON]
        if file:
            workingset_size += vs[NodeStatItem.NR_INACTIVE_ANON]
    return refault_distance <= workingset_size, workingset


def workingset_refault(m: Machine, pfn: int, shadow: int) -> None:
    """
    workingset_refault(): a folio is brought back where a shadow was: count the refault;
    a recent one is activated (PG_active set before it is added to the LRU), ages the
    clock, and if it was in the workingset, PG_workingset + lru_note_cost_refault.
    """
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_refault
        lru_gen_refault(m, pfn, shadow)
        return
    mem = m.mem_map
    file = not mem.flags[pfn] & _PG_SWAPBACKED
    nr = _nr(m, pfn)
    pgdat = m.nodes[m.page_zone(pfn).node]
    vs = pgdat.vm_stat
    vs[NodeStatItem.WORKINGSET_REFAULT_BASE + int(file)] += nr
    recent, workingset = workingset_test_recent(m, shadow, file)
    if not recent:
        return
    mem.flags[pfn] |= _PG_ACTIVE
    workingset_age_nonresident(m, pgdat.lruvec, nr)
    vs[NodeStatItem.WORKINGSET_ACTIVATE_BASE + int(file)] += nr
    if workingset:
        mem.flags[pfn] |= _PG_WORKINGSET
        from memsim.mm.swap import lru_note_cost_refault
        lru_note_cost_refault(m, pfn)
        vs[NodeStatItem.WORKINGSET_RESTORE_BASE + int(file)] += nr


def workingset_activation(m: Machine, pfn: int) -> None:
    """workingset_activation(): folio_mark_accessed() activated a folio: age the clock."""
    workingset_age_nonresident(m, m.nodes[m.page_zone(pfn).node].lruvec, _nr(m, pfn))


# ---- page-cache shadows ---------------------------------------------------------------------

def store_shadow(m: Machine, mapping: Any, index: int, shadow: int) -> None:
    """Leave *shadow* in the page-cache slot *index* (__filemap_remove_folio's shadow)."""
    shadows: dict[int, int] | None = getattr(mapping, "shadows", None)
    if shadows is None:
        return
    shadows[index] = shadow
    blocks: OrderedDict[tuple[int, int], int] = m.workingset_shadow_blocks  # type: ignore
    key = (mapping.handle, index >> XA_CHUNK_SHIFT)
    if key in blocks:
        blocks[key] += 1
        return
    blocks[key] = 1
    nid = 0                 # SIM: the shadow-node gauge is kept on node 0
    m.nodes[nid].vm_stat[NodeStatItem.WORKINGSET_NODES] += 1
    _shadow_shrink(m, nid)


def take_shadow(m: Machine, mapping: Any, index: int) -> int | None:
    """Remove and return the shadow at *index* (filemap_add_folio replacing it)."""
    shadows: dict[int, int] | None = getattr(mapping, "shadows", None)
    if not shadows:
        return None
    shadow = shadows.pop(index, None)
    if shadow is not None:
        _block_dec(m, mapping.handle, index)
    return shadow


def _block_dec(m: Machine, handle: int, index: int) -> None:
    blocks: Any = getattr(m, "workingset_shadow_blocks", {})
    key = (handle, index >> XA_CHUNK_SHIFT)
    n = blocks.get(key)
    if n is None:
        return
    if n <= 1:
        del blocks[key]
        m.nodes[0].vm_stat[NodeStatItem.WORKINGSET_NODES] -= 1
    else:
        blocks[key] = n - 1


def _shadow_shrink(m: Machine, nid: int) -> None:
    """count_shadow_nodes()/shadow_lru_isolate(): keep at most LRU pages / 8 nodes."""
    from memsim.mm.mapping import mapping_from_handle
    blocks: OrderedDict[tuple[int, int], int] = m.workingset_shadow_blocks  # type: ignore
    pgdat = m.nodes[nid]
    pages = sum(pgdat.lruvec.nr[:4])
    max_nodes = pages >> (XA_CHUNK_SHIFT - 3)
    while len(blocks) > max(max_nodes, 1):
        (handle, block), _n = blocks.popitem(last=False)
        pgdat.vm_stat[NodeStatItem.WORKINGSET_NODES] -= 1
        pgdat.vm_stat[NodeStatItem.WORKINGSET_NODERECLAIM] += 1
        mapping: Any = mapping_from_handle(m, handle)
        shadows = getattr(mapping, "shadows", None)
        if shadows:
            lo = block << XA_CHUNK_SHIFT
            for i in range(lo, lo + (1 << XA_CHUNK_SHIFT)):
                shadows.pop(i, None)


__all__ = ["workingset_eviction", "workingset_refault", "workingset_activation",
           "workingset_age_nonresident", "pack_shadow", "unpack_shadow", "store_shadow",
           "take_shadow", "EVICTION_SHIFT", "EVICTION_MASK"]
