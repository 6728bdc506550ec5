"""
LRU list management of mm/swap.c (6.12): the per-CPU folio batches (struct cpu_fbatches:
lru_add, lru_move_tail, lru_deactivate_file, lru_deactivate, lru_lazyfree, lru_activate;
FOLIO_BATCH_SIZE 31 — each queued folio holds a reference until the batch drains),
folio_add_lru / folio_add_lru_vma, folio_mark_accessed's two-step promotion,
folio_activate, folio_deactivate, deactivate_file_folio, folio_mark_lazyfree (MADV_FREE),
folio_rotate_reclaimable, lru_add_drain / lru_add_drain_all, lru_note_cost and
__page_cache_release (the last reference takes a folio off its list).

The list primitives are mm/mm_inline.py; reclaim is mm/vmscan.py; the mlock side of the
unevictable list is mm/mlock.py (it calls mlock_lru / munlock_lru here).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from memsim.include.mm import VM_LOCKED, VM_SPECIAL
from memsim.include.page_flags import PageFlags, PG_swapcache
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.mm.mm_inline import (
    folio_is_file_lru,
    folio_lruvec,
    folio_nr_pages,
    lruvec_add_folio,
    lruvec_add_folio_tail,
    lruvec_del_folio,
)

if TYPE_CHECKING:
    from memsim.include.mmzone import Lruvec
    from memsim.machine import Machine

#: FOLIO_BATCH_SIZE (PAGEVEC_SIZE before 6.x): a per-CPU batch drains at 31 folios
PAGEVEC_SIZE = 31
FOLIO_BATCH_SIZE = PAGEVEC_SIZE
#: SWAP_CLUSTER_MAX: the unit of reclaim and of lru_note_cost's I/O cost
SWAP_CLUSTER_MAX = 32

_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_ACTIVE = 1 << PageFlags.PG_active
_PG_LRU = 1 << PageFlags.PG_lru
_PG_UNEVICTABLE = 1 << PageFlags.PG_unevictable
_PG_IDLE = 1 << PageFlags.PG_idle
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_SWAPCACHE = 1 << PG_swapcache
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_WRITEBACK = 1 << PageFlags.PG_writeback
_PG_LOCKED = 1 << PageFlags.PG_locked
_PG_RECLAIM = 1 << PageFlags.PG_reclaim
_PG_HEAD = 1 << PageFlags.PG_head

#: the batches of struct cpu_fbatches, in lru_add_drain_cpu()'s drain order
FBATCH_NAMES = ("lru_add", "lru_move_tail", "lru_deactivate_file", "lru_deactivate",
                "lru_lazyfree", "lru_activate")


def cpu_fbatches(m: Machine, cpu: int | None = None) -> dict[str, list[int]]:
    """per_cpu(cpu_fbatches, cpu): name -> the queued PFNs (created on first use)."""
    all_: list[dict[str, list[int]]] | None = getattr(m, "lru_fbatches", None)
    if all_ is None:
        all_ = [{n: [] for n in FBATCH_NAMES} for _ in range(m.nr_cpus)]
        m.lru_fbatches = all_  # type: ignore[attr-defined]
    return all_[m.current_cpu if cpu is None else cpu]


def _folio_head(m: Machine, pfn: int) -> int:
    h1 = m.mem_map.compound_head1[pfn]
    return h1 - 1 if h1 else pfn


def folio_test_swapcache(f: int) -> bool:
    """folio_test_swapcache(): PG_swapcache (PG_owner_priv_1) counts only with swapbacked."""
    return bool(f & _PG_SWAPBACKED and f & _PG_SWAPCACHE)


def folio_evictable(m: Machine, pfn: int) -> bool:
    """folio_evictable(): not mlocked and not in an unevictable mapping (SIM: no
    AS_UNEVICTABLE mappings such as ramfs or SHM_LOCK)."""
    return not m.mem_map.flags[pfn] & _PG_MLOCKED


# ---- move functions (run with the folio off its list and PG_lru clear) --------------------------

def lru_add(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lru_add(): onto the list its flags choose; mlocked folios are culled to unevictable."""
    mem = m.mem_map
    f = mem.flags[pfn]
    was_unevictable = f & _PG_UNEVICTABLE
    f &= ~_PG_UNEVICTABLE
    nr = folio_nr_pages(m, pfn)
    if folio_evictable(m, pfn):
        if was_unevictable:
            m.vm_event[VmEventItem.UNEVICTABLE_PGRESCUED] += nr
    else:
        f = (f & ~_PG_ACTIVE) | _PG_UNEVICTABLE
        if not was_unevictable:
            m.vm_event[VmEventItem.UNEVICTABLE_PGCULLED] += nr
    mem.flags[pfn] = f
    lruvec_add_folio(m, lruvec, pfn)


def lru_move_tail(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lru_move_tail(): a folio whose writeback finished goes to the inactive tail."""
    mem = m.mem_map
    if mem.flags[pfn] & _PG_UNEVICTABLE:
        return
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] &= ~_PG_ACTIVE
    lruvec_add_folio_tail(m, lruvec, pfn)
    m.vm_event[VmEventItem.PGROTATED] += folio_nr_pages(m, pfn)


def lru_deactivate_file(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lru_deactivate_file(): an unmapped page cache folio that failed invalidation."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if f & _PG_UNEVICTABLE or mem.mapcount1[pfn]:
        return
    nr = folio_nr_pages(m, pfn)
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = f & ~(_PG_ACTIVE | _PG_REFERENCED)
    if f & (_PG_WRITEBACK | _PG_DIRTY):
        lruvec_add_folio(m, lruvec, pfn)
        mem.flags[pfn] |= _PG_RECLAIM
    else:
        lruvec_add_folio_tail(m, lruvec, pfn)
        m.vm_event[VmEventItem.PGROTATED] += nr
    if f & _PG_ACTIVE:
        m.vm_event[VmEventItem.PGDEACTIVATE] += nr


def lru_deactivate(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lru_deactivate(): active -> head of inactive (MADV_COLD)."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if f & _PG_UNEVICTABLE or not (f & _PG_ACTIVE or m.lru_gen_on):
        return
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = f & ~(_PG_ACTIVE | _PG_REFERENCED)
    lruvec_add_folio(m, lruvec, pfn)
    m.vm_event[VmEventItem.PGDEACTIVATE] += folio_nr_pages(m, pfn)


def lru_lazyfree(m: Machine, lruvec: Lruvec | None, pfn: int) -> None:
    """lru_lazyfree(): a clean anonymous folio becomes lazy-free (PG_swapbacked cleared,
    so it moves to the inactive file list)."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if not mem.mapping[pfn] & 1 or not f & _PG_SWAPBACKED or folio_test_swapcache(f) or \
            f & _PG_UNEVICTABLE:
        return
    if lruvec is not None:
        lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = f & ~(_PG_ACTIVE | _PG_REFERENCED | _PG_SWAPBACKED)
    if lruvec is not None:
        lruvec_add_folio(m, lruvec, pfn)
    m.vm_event[VmEventItem.PGLAZYFREE] += folio_nr_pages(m, pfn)


def lru_activate(m: Machine, lruvec: Lruvec, pfn: int) -> None:
    """lru_activate(): inactive -> active head, PGACTIVATE."""
    mem = m.mem_map
    f = mem.flags[pfn]
    if f & (_PG_ACTIVE | _PG_UNEVICTABLE):
        return
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = f | _PG_ACTIVE
    lruvec_add_folio(m, lruvec, pfn)
    m.vm_event[VmEventItem.PGACTIVATE] += folio_nr_pages(m, pfn)


_MOVE_FNS: dict[str, Callable[[Any, Any, int], None]] = {
    "lru_add": lru_add, "lru_move_tail": lru_move_tail,
    "lru_deactivate_file": lru_deactivate_file, "lru_deactivate": lru_deactivate,
    "lru_lazyfree": lru_lazyfree, "lru_activate": lru_activate,
}


def _lru_add_fast(m: Machine, items: list[int], batch_refs: bool = True) -> bool:
    """
    lru_add of a whole batch at once when every folio is an order-0, evictable folio not
    on a list, still referenced by someone besides the batch, and all share one zone and
    one list: the same links, flags, counters and references as one lru_add() each.
    """
    import numpy as np
    mem = m.mem_map
    arr = np.fromiter(items, dtype=np.int64, count=len(items))
    fl = mem.flags_a[arr]
    bad = _PG_HEAD | _PG_MLOCKED | _PG_UNEVICTABLE | _PG_LRU
    if (fl & bad).any() or (mem.refcount_a[arr] < (2 if batch_refs else 1)).any():
        return False
    kind = fl & (_PG_SWAPBACKED | _PG_ACTIVE)
    if (kind != kind[0]).any():
        return False
    zb = np.frombuffer(m._zone_of_block, dtype=np.uint8)[arr >> 10]
    if (zb != zb[0]).any() or zb[0] == 255:
        return False
    first = items[0]
    lruvec = folio_lruvec(m, first)
    from memsim.mm.mm_inline import folio_lru_list, update_lru_size
    lru = folio_lru_list(m, first)
    n = len(items)
    nxt = mem.lru_next_a
    prv = mem.lru_prev_a
    old = lruvec.head[lru]
    # each folio goes to the head: the last one ends up first
    nxt[arr[1:]] = arr[:-1] + 1
    nxt[first] = old
    prv[arr[:-1]] = arr[1:] + 1
    prv[items[-1]] = 0
    if old:
        prv[old - 1] = first + 1
    else:
        lruvec.tail[lru] = first + 1
    lruvec.head[lru] = items[-1] + 1
    mem.flags_a[arr] = fl | _PG_LRU
    update_lru_size(m, lruvec, first, lru, n)
    if batch_refs:
        mem.refcount_a[arr] -= 1
    return True


def folio_add_lru_bulk(m: Machine, pfns: list[int]) -> None:
    """folio_add_lru() of new order-0 folios, in order (the batch moves every 31)."""
    batch = cpu_fbatches(m)["lru_add"]
    rc = m.mem_map.refcount
    i = 0
    n = len(pfns)
    if batch and n >= FOLIO_BATCH_SIZE - len(batch):
        i = FOLIO_BATCH_SIZE - len(batch)          # complete the pending batch
        for pfn in pfns[:i]:
            rc[pfn] += 1
        batch.extend(pfns[:i])
        folio_batch_move_lru(m, batch, "lru_add")
    full = (n - i) // FOLIO_BATCH_SIZE * FOLIO_BATCH_SIZE
    if full and not getattr(m, "lru_gen_on", False) and \
            _lru_add_fast(m, pfns[i:i + full], batch_refs=False):
        i += full       # whole batches: their reference is taken and dropped again
    while i < n:
        room = FOLIO_BATCH_SIZE - len(batch)
        chunk = pfns[i:i + room]
        for pfn in chunk:
            rc[pfn] += 1
        batch.extend(chunk)
        i += len(chunk)
        if len(batch) >= FOLIO_BATCH_SIZE:
            folio_batch_move_lru(m, batch, "lru_add")


def folio_batch_move_lru(m: Machine, batch: list[int], name: str) -> None:
    """
    folio_batch_move_lru(): apply the batch's move function to each folio still on the
    LRU (lru_add: to each), then drop the batch's references (folios_put).
    """
    if name == "lru_add" and len(batch) > 1 and not getattr(m, "lru_gen_on", False) \
            and _lru_add_fast(m, batch):
        batch.clear()
        return
    move_fn = _MOVE_FNS[name]
    mem = m.mem_map
    items = list(batch)
    batch.clear()
    for pfn in items:
        if name != "lru_add":
            if not mem.flags[pfn] & _PG_LRU:
                continue            # isolated meanwhile (folio_test_clear_lru failed)
            mem.flags[pfn] &= ~_PG_LRU
        move_fn(m, folio_lruvec(m, pfn), pfn)
        mem.flags[pfn] |= _PG_LRU
    from memsim.mm.memory import folio_put
    for pfn in items:
        folio_put(m, pfn)


def folio_batch_add_and_move(m: Machine, pfn: int, name: str) -> None:
    """__folio_batch_add_and_move(): queue with a reference; a full batch (or a large
    folio: folio_may_be_lru_cached() is false) is moved at once."""
    mem = m.mem_map
    mem.refcount[pfn] += 1                # folio_get()
    batch = cpu_fbatches(m)[name]
    batch.append(pfn)
    if len(batch) >= FOLIO_BATCH_SIZE or mem.flags[pfn] & _PG_HEAD or \
            getattr(m, "lru_disable_count", 0):
        folio_batch_move_lru(m, batch, name)


# ---- entry points ------------------------------------------------------------------------------

def folio_add_lru(m: Machine, pfn: int) -> None:
    """folio_add_lru(): queue a new folio for its LRU list on this CPU's lru_add batch."""
    h1 = m.mem_map.compound_head1[pfn]      # _folio_head()
    if h1:
        pfn = h1 - 1
    if m.mem_map.flags[pfn] & _PG_LRU:
        m.debug.warn_on_once("folio_add_lru", "VM_BUG_ON_FOLIO(folio_test_lru(folio))")
        return
    if m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_folio_add_lru
        lru_gen_folio_add_lru(m, pfn)       # faulted in: starts in the youngest generation
    folio_batch_add_and_move(m, pfn, "lru_add")


def folio_add_lru_vma(m: Machine, pfn: int, vma: Any) -> None:
    """
    folio_add_lru_vma(): a folio faulted into a VM_LOCKED VMA was made mlocked by
    mlock_new_folio() (mm/memory.py calls it first) and goes to the unevictable list;
    others are queued by folio_add_lru().
    """
    if (vma.vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED and \
            m.mem_map.flags[_folio_head(m, pfn)] & _PG_MLOCKED:
        mlock_new_lru(m, pfn)
    else:
        folio_add_lru(m, pfn)


def mlock_new_lru(m: Machine, pfn: int) -> None:
    """__mlock_new_folio(): a new mlocked folio straight onto the unevictable list.
    SIM: the mlock_fbatch is applied at once (no reference is held by a batch)."""
    pfn = _folio_head(m, pfn)
    mem = m.mem_map
    if mem.flags[pfn] & _PG_LRU:
        return
    mem.flags[pfn] = (mem.flags[pfn] & ~_PG_ACTIVE) | _PG_UNEVICTABLE
    m.vm_event[VmEventItem.UNEVICTABLE_PGCULLED] += folio_nr_pages(m, pfn)
    lruvec_add_folio(m, folio_lruvec(m, pfn), pfn)
    mem.flags[pfn] |= _PG_LRU


def mlock_lru(m: Machine, pfn: int) -> None:
    """mlock_folio() -> mlock_lru(): an mlocked folio on an evictable list moves to the
    unevictable list (UNEVICTABLE_PGCULLED). SIM: no mlock_fbatch."""
    pfn = _folio_head(m, pfn)
    mem = m.mem_map
    f = mem.flags[pfn]
    if not f & _PG_LRU or f & _PG_UNEVICTABLE:
        return
    lruvec = folio_lruvec(m, pfn)
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = (f & ~_PG_ACTIVE) | _PG_UNEVICTABLE
    lruvec_add_folio(m, lruvec, pfn)
    m.vm_event[VmEventItem.UNEVICTABLE_PGCULLED] += folio_nr_pages(m, pfn)


def munlock_lru(m: Machine, pfn: int) -> None:
    """__munlock_folio(): no longer mlocked -> back to an evictable list (PGRESCUED)."""
    pfn = _folio_head(m, pfn)
    mem = m.mem_map
    f = mem.flags[pfn]
    if not f & _PG_LRU or not f & _PG_UNEVICTABLE or f & _PG_MLOCKED:
        return
    lruvec = folio_lruvec(m, pfn)
    lruvec_del_folio(m, lruvec, pfn)
    mem.flags[pfn] = f & ~_PG_UNEVICTABLE
    lruvec_add_folio(m, lruvec, pfn)
    m.vm_event[VmEventItem.UNEVICTABLE_PGRESCUED] += folio_nr_pages(m, pfn)


def folio_activate(m: Machine, pfn: int) -> None:
    """folio_activate(): queue an inactive LRU folio on the lru_activate batch."""
    pfn = _folio_head(m, pfn)
    f = m.mem_map.flags[pfn]
    if f & (_PG_ACTIVE | _PG_UNEVICTABLE) or not f & _PG_LRU:
        return
    folio_batch_add_and_move(m, pfn, "lru_activate")


def __lru_cache_activate_folio(m: Machine, pfn: int) -> None:
    """A folio still on this CPU's lru_add batch is simply marked active."""
    batch = cpu_fbatches(m)["lru_add"]
    for q in reversed(batch):
        if q == pfn:
            m.mem_map.flags[pfn] |= _PG_ACTIVE
            break


def folio_mark_accessed(m: Machine, pfn: int) -> None:
    """
    folio_mark_accessed(): inactive,unreferenced -> inactive,referenced; inactive,
    referenced -> active,unreferenced (folio_activate, or marked active while on the
    lru_add batch) with workingset_activation(); active,unreferenced -> active,referenced.
    Clears PG_idle. With MGLRU: folio_inc_refs() (mm/lru_gen.py) instead.
    """
    pfn = _folio_head(m, pfn)
    if m.lru_gen_on:
        from memsim.mm.lru_gen import folio_inc_refs
        folio_inc_refs(m, pfn)
        return
    flags = m.mem_map.flags
    f = flags[pfn]
    if not f & _PG_REFERENCED:
        flags[pfn] = f | _PG_REFERENCED
    elif f & _PG_UNEVICTABLE:
        pass
    elif not f & _PG_ACTIVE:
        if f & _PG_LRU:
            folio_activate(m, pfn)
        else:
            __lru_cache_activate_folio(m, pfn)
        flags[pfn] &= ~_PG_REFERENCED
        from memsim.mm.workingset import workingset_activation
        workingset_activation(m, pfn)
    if flags[pfn] & _PG_IDLE:
        flags[pfn] &= ~_PG_IDLE


def folio_deactivate(m: Machine, pfn: int) -> None:
    """folio_deactivate(): queue an active LRU folio on the lru_deactivate batch."""
    pfn = _folio_head(m, pfn)
    f = m.mem_map.flags[pfn]
    if f & _PG_UNEVICTABLE or not f & _PG_LRU or not (f & _PG_ACTIVE or m.lru_gen_on):
        return
    folio_batch_add_and_move(m, pfn, "lru_deactivate")


def deactivate_file_folio(m: Machine, pfn: int) -> None:
    """deactivate_file_folio(): an invalidation failed; help reclaim find the folio."""
    pfn = _folio_head(m, pfn)
    f = m.mem_map.flags[pfn]
    if f & _PG_UNEVICTABLE or not f & _PG_LRU:
        return
    folio_batch_add_and_move(m, pfn, "lru_deactivate_file")


def folio_mark_lazyfree(m: Machine, pfn: int) -> None:
    """folio_mark_lazyfree(): queue a clean swap-backed anon LRU folio (MADV_FREE)."""
    pfn = _folio_head(m, pfn)
    mem = m.mem_map
    f = mem.flags[pfn]
    if not mem.mapping[pfn] & 1 or not f & _PG_SWAPBACKED or not f & _PG_LRU or \
            folio_test_swapcache(f) or f & _PG_UNEVICTABLE:
        return
    folio_batch_add_and_move(m, pfn, "lru_lazyfree")


def folio_rotate_reclaimable(m: Machine, pfn: int) -> None:
    """folio_rotate_reclaimable(): writeback of a PG_reclaim folio ended: to the tail."""
    f = m.mem_map.flags[pfn]
    if f & (_PG_LOCKED | _PG_DIRTY | _PG_UNEVICTABLE) or not f & _PG_LRU:
        return
    folio_batch_add_and_move(m, pfn, "lru_move_tail")


def lru_add_drain_cpu(m: Machine, cpu: int) -> None:
    """lru_add_drain_cpu(): move every non-empty batch of *cpu*, in the kernel's order."""
    batches: list[dict[str, list[int]]] | None = getattr(m, "lru_fbatches", None)
    if batches is None:
        return
    fb = batches[cpu]
    for name in FBATCH_NAMES:
        if fb[name]:
            folio_batch_move_lru(m, fb[name], name)


def lru_add_drain(m: Machine) -> None:
    """lru_add_drain(): drain this CPU's batches (mlock_drain_local: SIM no mlock batch)."""
    lru_add_drain_cpu(m, m.current_cpu)


def lru_add_drain_all(m: Machine) -> None:
    """lru_add_drain_all(): every CPU's batches (SIM: drained synchronously here rather
    than by per-CPU work items)."""
    batches: list[dict[str, list[int]]] | None = getattr(m, "lru_fbatches", None)
    if batches is None:
        return
    for cpu in range(len(batches)):
        if any(batches[cpu].values()):
            lru_add_drain_cpu(m, cpu)


def lru_cache_pending(m: Machine) -> int:
    """Folios waiting in any CPU's batches (for tests and validation)."""
    batches: list[dict[str, list[int]]] | None = getattr(m, "lru_fbatches", None)
    if batches is None:
        return 0
    return sum(len(b) for fb in batches for b in fb.values())


def page_cache_release(m: Machine, pfn: int) -> None:
    """
    __page_cache_release(): the last reference to an LRU folio went; take it off its list
    and clear PG_lru/PG_active/PG_unevictable (__folio_clear_lru_flags). Called by
    put_page_testzero() in mm/page_alloc.py.
    """
    mem = m.mem_map
    lruvec_del_folio(m, folio_lruvec(m, pfn), pfn)
    mem.flags[pfn] &= ~(_PG_LRU | _PG_ACTIVE | _PG_UNEVICTABLE)


def lru_note_cost(m: Machine, lruvec: Lruvec, file: bool, nr_io: int, nr_rotated: int) -> None:
    """lru_note_cost(): I/O and rotation cost of reclaim, halved when it outgrows a
    quarter of the LRU pages."""
    cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated
    if file:
        lruvec.file_cost += cost
    else:
        lruvec.anon_cost += cost
    lrusize = lruvec.nr[0] + lruvec.nr[1] + lruvec.nr[2] + lruvec.nr[3]
    if lruvec.file_cost + lruvec.anon_cost > lrusize // 4:
        lruvec.file_cost //= 2
        lruvec.anon_cost //= 2


def lru_note_cost_refault(m: Machine, pfn: int) -> None:
    lru_note_cost(m, folio_lruvec(m, pfn), folio_is_file_lru(m, pfn),
                  folio_nr_pages(m, pfn), 0)


def lru_install_hooks(m: Machine) -> None:
    """Boot: the core's LRU hook points (mm/memory.py, mm/filemap.py) call in here."""
    # partial(): the same calls as a lambda, one Python frame fewer per fault
    m.lru_add_hook = partial(folio_add_lru_vma, m)  # type: ignore[attr-defined]
    m.pagecache_lru_add_hook = partial(folio_add_lru, m)  # type: ignore[attr-defined]
    m.lru_add_bulk_hook = lambda pfns: folio_add_lru_bulk(m, pfns)  # type: ignore[attr-defined]
    # the page leaves its list when the last reference goes (page_cache_release)
    m.pagecache_lru_del_hook = None  # type: ignore[attr-defined]


__all__ = ["folio_add_lru", "folio_add_lru_vma", "folio_mark_accessed", "folio_activate",
           "folio_deactivate", "deactivate_file_folio", "folio_mark_lazyfree",
           "folio_rotate_reclaimable", "lru_add_drain", "lru_add_drain_all",
           "lru_add_drain_cpu", "lru_note_cost", "page_cache_release", "PAGEVEC_SIZE",
           "cpu_fbatches", "lru_cache_pending", "NodeStatItem"]
