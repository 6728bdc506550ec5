"""
Kernel Samepage Merging (mm/ksm.c, virtual.md §13): ksmd scans the anonymous pages of
MADV_MERGEABLE VMAs and merges identical ones into write-protected KSM pages.

* ``m.ksm`` (``Ksm``): the /sys/kernel/mm/ksm knobs (run, sleep_millisecs, pages_to_scan,
  use_zero_pages, merge_across_nodes, max_page_sharing, smart_scan) and counters
  (pages_shared, pages_sharing, pages_unshared, pages_volatile, full_scans, ...);
* the scan: mm_slots in ksm_mm_head order, one rmap_item per scanned page
  (get_next_rmap_item), cmp_and_merge_page(): the checksum must be unchanged since the
  previous scan before a page enters the unstable tree (rebuilt every full scan); a match
  there merges both pages into a new KSM page (stable tree); a stable-tree match maps the
  page to the existing KSM page; use_zero_pages merges empty pages with the zero page;
* merging (try_to_merge_one_page): write_protect_page() (PTE read-only and clean, the
  dirty bit moved to the folio), then replace_page() maps the KSM page instead. A KSM page
  has page->mapping = the stable node's handle | PAGE_MAPPING_ANON | PAGE_MAPPING_KSM
  (mm/mapping.py), which is what rmap.PageKsm() tests;
* ``ksm_madvise`` (MADV_MERGEABLE / MADV_UNMERGEABLE for mm/madvise.py), break_ksm()
  through handle_mm_fault(FAULT_FLAG_UNSHARE) (mm/memory.py copies the page), ksm_exit.

``m.ksm.run_scans(n)`` runs ksmd deterministically until full_scans advanced by *n* (the
conformance runner's ``ksm_scan``). Per-mm counters live on MmStruct (ksm_merging_pages,
ksm_rmap_items, ksm_zero_pages); /proc/PID/ksm_stat is rendered by fs/proc/task_mmu.py.

# SIM: the stable and unstable trees are dicts keyed by page content instead of rbtrees
# ordered by memcmp (same matches, no tree shape); no stable_node chains
# (max_page_sharing is not enforced), no NUMA split of the trees, no migration nodes,
# large folios are not merged (the kernel would try to split them first).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memsim.include.mm import (
    VM_DONTEXPAND,
    VM_DROPPABLE,
    VM_HUGETLB,
    VM_IO,
    VM_MAYSHARE,
    VM_MERGEABLE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_SHARED,
)
from memsim.include.mm_types import MM_ANONPAGES, MmStruct, VmAreaStruct
from memsim.include.page_flags import PageFlags, PG_anon_exclusive
from memsim.include.pgtable_types import (
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SPECIAL,
    PTE_PFN_MASK,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MMF_VM_MERGEABLE = 16
MMF_VM_MERGE_ANY = 30
#: sizeof(struct ksm_rmap_item) on x86-64 (ksm_process_profit)
KSM_RMAP_ITEM_SIZE = 64
FAULT_FLAG_UNSHARE = 1 << 10
FAULT_FLAG_REMOTE = 1 << 7
VM_FAULT_SIGBUS = 0x2
VM_FAULT_SIGSEGV = 0x40
VM_FAULT_OOM = 0x1
_PG_ANON_EXCL = 1 << PG_anon_exclusive
_PG_DIRTY = 1 << PageFlags.PG_dirty
_ZERO = bytes(PAGE_SIZE)


@dataclass(eq=False)
class StableNode:
    """struct ksm_stable_node: one KSM page and the rmap_items that map it."""

    kpfn: int
    handle: int
    key: bytes
    hlist: list[RmapItem] = field(default_factory=list)


@dataclass(eq=False)
class RmapItem:
    """struct ksm_rmap_item: one scanned (mm, address)."""

    mm: MmStruct
    address: int
    oldchecksum: int = 0
    #: STABLE_FLAG: the stable node this item is on
    head: StableNode | None = None
    #: UNSTABLE_FLAG + the scan seqnr it was inserted in, or -1
    unstable_seqnr: int = -1
    unstable_key: bytes = b""
    age: int = 0
    remaining_skips: int = 0


@dataclass(eq=False)
class MmSlot:
    """struct ksm_mm_slot: an mm registered with KSM and its rmap_items by address."""

    mm: MmStruct
    rmap_list: list[RmapItem] = field(default_factory=list)


def calc_checksum(data: bytes | bytearray | None) -> int:
    """calc_checksum(): # SIM: crc32 of the page instead of xxhash."""
    return zlib.crc32(data if data is not None else _ZERO)


class Ksm:
    """The KSM daemon's state (``m.ksm``)."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        # sysfs knobs (defaults of 6.12; the oracle's ksm_settings_before)
        self.run = 0
        self.sleep_millisecs = 20
        self.pages_to_scan = 100
        self.use_zero_pages = 0
        self.merge_across_nodes = 1
        self.max_page_sharing = 256
        self.smart_scan = 1
        self.stable_node_chains_prune_millisecs = 2000
        # counters
        self.pages_shared = 0
        self.pages_sharing = 0
        self.pages_unshared = 0
        self.rmap_items = 0
        self.pages_scanned = 0
        self.pages_skipped = 0
        self.stable_node_chains = 0
        self.stable_node_dups = 0
        self.zero_pages = 0
        #: ksm_scan.seqnr (full_scans)
        self.seqnr = 0
        self.mm_slots: list[MmSlot] = []
        self.slot_of: dict[int, MmSlot] = {}
        self.stable_tree: dict[bytes, StableNode] = {}
        self.unstable_tree: dict[bytes, RmapItem] = {}
        self.zero_checksum = calc_checksum(None)
        # scan cursor: index into mm_slots (-1 = ksm_mm_head)
        self._cur = -1
        self._cur_items: list[RmapItem] = []
        self._pending: list[tuple[VmAreaStruct, int]] = []
        self._pending_pos = 0
        self._item_pos = 0
        self._any_vma = False
        self._cur_removed = False

    # -- sysfs ----------------------------------------------------------------------------
    @property
    def full_scans(self) -> int:
        return self.seqnr

    @property
    def pages_volatile(self) -> int:
        v = self.rmap_items - self.pages_shared - self.pages_sharing - self.pages_unshared
        return max(v, 0)

    @property
    def general_profit(self) -> int:
        return (self.pages_sharing + self.zero_pages) * PAGE_SIZE - \
            self.rmap_items * KSM_RMAP_ITEM_SIZE

    def sysfs(self) -> dict[str, int]:
        """/sys/kernel/mm/ksm/* as name -> value."""
        return {
            "full_scans": self.full_scans, "general_profit": self.general_profit,
            "ksm_zero_pages": self.zero_pages, "max_page_sharing": self.max_page_sharing,
            "merge_across_nodes": self.merge_across_nodes,
            "pages_scanned": self.pages_scanned, "pages_shared": self.pages_shared,
            "pages_sharing": self.pages_sharing, "pages_skipped": self.pages_skipped,
            "pages_to_scan": self.pages_to_scan, "pages_unshared": self.pages_unshared,
            "pages_volatile": self.pages_volatile, "run": self.run,
            "sleep_millisecs": self.sleep_millisecs, "smart_scan": self.smart_scan,
            "stable_node_chains": self.stable_node_chains,
            "stable_node_chains_prune_millisecs": self.stable_node_chains_prune_millisecs,
            "stable_node_dups": self.stable_node_dups, "use_zero_pages": self.use_zero_pages,
        }

    # -- mm registration ---------------------------------------------------------------
    def enter(self, mm: MmStruct) -> None:
        """__ksm_enter(): register *mm* (scanned last in the current pass)."""
        if id(mm) in self.slot_of:
            mm.flags |= 1 << MMF_VM_MERGEABLE
            return
        slot = MmSlot(mm)
        self.slot_of[id(mm)] = slot
        # list_add_tail before the scan cursor: the new mm is scanned at the end of this
        # pass (at the tail when no scan is in progress)
        if self._cur >= 0:
            self.mm_slots.insert(self._cur, slot)
            self._cur += 1
        else:
            self.mm_slots.append(slot)
        mm.flags |= 1 << MMF_VM_MERGEABLE

    def ksm_enter(self, mm: MmStruct) -> int:
        """__ksm_enter() as madvise calls it: 0 or -errno."""
        self.enter(mm)
        return 0

    def exit(self, mm: MmStruct) -> None:
        """ksm_exit() / __ksm_exit(): drop the mm's rmap_items and its slot."""
        slot = self.slot_of.pop(id(mm), None)
        if slot is None:
            return
        for item in slot.rmap_list:
            self.remove_rmap_item_from_tree(item)
            self._free_rmap_item(item)
        slot.rmap_list.clear()
        idx = self.mm_slots.index(slot)
        del self.mm_slots[idx]
        if self._cur > idx:
            self._cur -= 1
        elif self._cur == idx:
            # the scan cursor was on this mm: continue with the next one
            self._cur -= 1
            self._pending = []
            self._pending_pos = 0
            self._cur_removed = True
        mm.flags &= ~(1 << MMF_VM_MERGEABLE)

    # -- rmap items -----------------------------------------------------------------------
    def _free_rmap_item(self, item: RmapItem) -> None:
        self.rmap_items -= 1
        item.mm.ksm_rmap_items -= 1

    def remove_rmap_item_from_tree(self, item: RmapItem) -> None:
        """remove_rmap_item_from_tree(): leave the stable or unstable tree."""
        node = item.head
        if node is not None:
            if self.ksm_get_folio(node) is not None:
                node.hlist.remove(item)
                if node.hlist:
                    self.pages_sharing -= 1
                else:
                    self.pages_shared -= 1
                item.mm.ksm_merging_pages -= 1
                if not node.hlist:
                    # the KSM page stays a KSM page until freed; the empty node goes
                    # when the page is gone (stable_node ... remove_node_from_stable_tree)
                    pass
            item.head = None
        elif item.unstable_seqnr >= 0:
            if item.unstable_seqnr == self.seqnr and \
                    self.unstable_tree.get(item.unstable_key) is item:
                del self.unstable_tree[item.unstable_key]
            self.pages_unshared -= 1
            item.unstable_seqnr = -1

    def ksm_get_folio(self, node: StableNode) -> int | None:
        """ksm_get_folio(): the KSM page of *node*, or None (stale node removed)."""
        mem = self.m.mem_map
        if mem.mapping[node.kpfn] == node.handle and mem.refcount[node.kpfn] > 0:
            return node.kpfn
        self.remove_node_from_stable_tree(node)
        return None

    def remove_node_from_stable_tree(self, node: StableNode) -> None:
        for i, item in enumerate(node.hlist):
            if i < len(node.hlist) - 1:
                self.pages_sharing -= 1
            else:
                self.pages_shared -= 1
            item.mm.ksm_merging_pages -= 1
            item.head = None
        node.hlist.clear()
        if self.stable_tree.get(node.key) is node:
            del self.stable_tree[node.key]
        self.m.mapping_registry.unregister(node.handle)

    # -- page helpers ------------------------------------------------------------------------
    def _pte(self, mm: MmStruct, addr: int) -> int:
        return int(mm.pgd.pte_get(addr))

    def _set_pte(self, mm: MmStruct, addr: int, pte: int) -> None:
        t = mm.pgd.pte_table(addr)
        t.pte[(addr >> PAGE_SHIFT) & (mm.pgd.ptrs_per_pte - 1)] = pte

    def _content(self, pfn: int) -> bytes:
        d = self.m.page_data.get(pfn)
        return bytes(d) if d is not None else _ZERO

    def _anon_page(self, mm: MmStruct, addr: int) -> int | None:
        """folio_walk_start() + folio_test_anon(): the small anon page mapped at *addr*."""
        from memsim.mm.huge_memory import folio_test_large
        m = self.m
        if (addr >> mm.pgd.pmd_shift) in mm.pgd.huge:
            return None
        pte = self._pte(mm, addr)
        if not pte & _PAGE_PRESENT or pte & _PAGE_SPECIAL:
            return None
        pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
        if pfn == m.zero_pfn or not m.mem_map.mapping[pfn] & 1:
            return None
        if folio_test_large(m, pfn):
            return None      # SIM: large folios are not split for KSM
        return pfn

    # -- merging ------------------------------------------------------------------------------
    def write_protect_page(self, mm: MmStruct, addr: int, pfn: int) -> bool:
        pte = self._pte(mm, addr)
        if (pte & PTE_PFN_MASK) >> PAGE_SHIFT != pfn:
            return False
        mem = self.m.mem_map
        # folio_mapcount + 1 != folio_ref_count: pinned pages are not merged (the scan
        # holds no reference here, so mapcount == refcount)
        if mem.refcount[pfn] != mem.mapcount1[pfn]:
            return False
        mem.flags[pfn] &= ~_PG_ANON_EXCL               # folio_try_share_anon_rmap_pte
        if pte & _PAGE_DIRTY:
            mem.flags[pfn] |= _PG_DIRTY                # folio_mark_dirty
        self._set_pte(mm, addr, pte & ~(_PAGE_RW | _PAGE_DIRTY))
        return True

    def replace_page(self, vma: VmAreaStruct, addr: int, pfn: int, kpfn: int) -> None:
        """replace_page(): map *kpfn* (a KSM page or the zero page) instead of *pfn*."""
        from memsim.mm.memory import folio_put
        from memsim.mm.rmap import folio_add_anon_rmap_pte, folio_remove_rmap_pte
        m = self.m
        mm = vma.vm_mm
        if kpfn != m.zero_pfn:
            m.mem_map.refcount[kpfn] += 1
            folio_add_anon_rmap_pte(m, kpfn)
            newpte = (kpfn << PAGE_SHIFT) | vma.vm_page_prot
        else:
            newpte = (kpfn << PAGE_SHIFT) | vma.vm_page_prot | _PAGE_SPECIAL | _PAGE_DIRTY
            self.zero_pages += 1
            mm.ksm_zero_pages += 1
            mm.rss_stat[MM_ANONPAGES] -= 1
        self._set_pte(mm, addr, newpte & ~_PAGE_RW)
        folio_remove_rmap_pte(m, pfn)
        folio_put(m, pfn)

    def try_to_merge_one_page(self, vma: VmAreaStruct, addr: int, pfn: int,
                              kpfn: int | None) -> bool:
        if kpfn == pfn:
            return True
        if not self.m.mem_map.mapping[pfn] & 1:
            return False
        if not self.write_protect_page(vma.vm_mm, addr, pfn):
            return False
        if kpfn is None:
            # the page becomes a KSM page (its stable node is set by stable_tree_insert)
            return True
        if self._content(pfn) != self._content(kpfn):     # pages_identical()
            return False
        self.replace_page(vma, addr, pfn, kpfn)
        return True

    def _vma(self, mm: MmStruct, addr: int) -> VmAreaStruct | None:
        """find_mergeable_vma()."""
        from memsim.mm.vma import vma_lookup
        vma = vma_lookup(mm, addr)
        if vma is None or not vma.vm_flags & VM_MERGEABLE or vma.anon_vma is None:
            return None
        return vma

    def try_to_merge_with_ksm_page(self, item: RmapItem, pfn: int, kpfn: int | None) -> bool:
        vma = self._vma(item.mm, item.address)
        if vma is None:
            return False
        ok = self.try_to_merge_one_page(vma, item.address, pfn, kpfn)
        if ok:
            # unstable tree -> stable: remove_rmap_item_from_tree()
            self.remove_rmap_item_from_tree(item)
        return ok

    def stable_tree_insert(self, kpfn: int, key: bytes) -> StableNode:
        m = self.m
        handle = m.mapping_registry.register(None, anon=True, ksm=True)
        node = StableNode(kpfn, handle, key)
        m.mapping_registry.objs[handle] = node
        m.mem_map.mapping[kpfn] = handle                # folio_set_stable_node()
        self.stable_tree[key] = node
        return node

    def stable_tree_append(self, item: RmapItem, node: StableNode) -> None:
        item.head = node
        node.hlist.insert(0, item)
        if len(node.hlist) > 1:
            self.pages_sharing += 1
        else:
            self.pages_shared += 1
        item.mm.ksm_merging_pages += 1

    def stable_tree_search(self, key: bytes) -> StableNode | None:
        node = self.stable_tree.get(key)
        if node is None:
            return None
        if self.ksm_get_folio(node) is None:
            return None
        return node

    def cmp_and_merge_page(self, pfn: int, item: RmapItem) -> None:
        """cmp_and_merge_page(): one scanned page."""
        m = self.m
        mem = m.mem_map
        page_node: StableNode | None = None
        h = mem.mapping[pfn]
        if h & 3 == 3:
            obj = m.mapping_registry.get(h)
            page_node = obj if isinstance(obj, StableNode) else None
        if page_node is not None:
            if item.head is page_node:
                return
        else:
            self.remove_rmap_item_from_tree(item)
            checksum = calc_checksum(m.page_data.get(pfn))
            if item.oldchecksum != checksum:
                item.oldchecksum = checksum
                return
            if self.use_zero_pages and item.oldchecksum == self.zero_checksum:
                vma = self._vma(item.mm, item.address)
                if vma is None:
                    return
                if self._content(pfn) == _ZERO and \
                        self.write_protect_page(vma.vm_mm, item.address, pfn):
                    self.replace_page(vma, item.address, pfn, m.zero_pfn)
                    return
        key = self._content(pfn)
        node = self.stable_tree_search(key)
        if node is not None and node.kpfn == pfn and item.head is page_node:
            return
        self.remove_rmap_item_from_tree(item)
        if node is not None:
            if self.try_to_merge_with_ksm_page(item, pfn, node.kpfn):
                self.stable_tree_append(item, node)
            return
        tree_item = self.unstable_tree_search_insert(item, pfn, key)
        if tree_item is None:
            return
        tree_pfn = self._anon_page(tree_item.mm, tree_item.address)
        if tree_pfn is None:
            return
        # try_to_merge_two_pages(): this page becomes the KSM page
        if not self.try_to_merge_with_ksm_page(item, pfn, None):
            return
        if not self.try_to_merge_with_ksm_page(tree_item, tree_pfn, pfn):
            # break_cow(rmap_item): # SIM: the page is left write-protected, not a KSM page
            return
        node = self.stable_tree_insert(pfn, key)
        self.stable_tree_append(tree_item, node)
        self.stable_tree_append(item, node)

    def unstable_tree_search_insert(self, item: RmapItem, pfn: int,
                                    key: bytes) -> RmapItem | None:
        tree_item = self.unstable_tree.get(key)
        if tree_item is not None:
            tree_pfn = self._anon_page(tree_item.mm, tree_item.address)
            if tree_pfn is not None and tree_pfn != pfn and self._content(tree_pfn) == key \
                    and tree_item.head is None:
                return tree_item
            if tree_pfn == pfn:
                return None
        item.unstable_seqnr = self.seqnr
        item.unstable_key = key
        self.unstable_tree[key] = item
        self.pages_unshared += 1
        return None

    # -- the scan -----------------------------------------------------------------------------
    def should_skip_rmap_item(self, pfn: int, item: RmapItem) -> bool:
        from memsim.mm.rmap import PageKsm
        if not self.smart_scan:
            return False
        if PageKsm(self.m, pfn):
            return False
        age = item.age
        if age != 255:
            item.age += 1
        if age < 3:
            return False
        if not item.remaining_skips:
            item.remaining_skips = 1 if age <= 3 else 2 if age <= 5 else 4 if age <= 8 else 8
            return False
        self.pages_skipped += 1
        item.remaining_skips -= 1
        self.remove_rmap_item_from_tree(item)
        return True

    def _start_mm(self) -> None:
        slot = self.mm_slots[self._cur]
        self._cur_items = slot.rmap_list
        self._item_pos = 0
        pending: list[tuple[VmAreaStruct, int]] = []
        for vma in slot.mm.vmas:
            if not vma.vm_flags & VM_MERGEABLE or vma.anon_vma is None:
                continue
            pending.extend((vma, a) for a in range(vma.vm_start, vma.vm_end, PAGE_SIZE))
        self._pending = pending
        self._pending_pos = 0
        self._any_vma = any(v.vm_flags & VM_MERGEABLE for v in slot.mm.vmas)

    def get_next_rmap_item(self, mm: MmStruct, addr: int) -> RmapItem:
        items = self._cur_items
        while self._item_pos < len(items):
            it = items[self._item_pos]
            if it.address == addr:
                self._item_pos += 1
                return it
            if it.address > addr:
                break
            del items[self._item_pos]
            self.remove_rmap_item_from_tree(it)
            self._free_rmap_item(it)
        it = RmapItem(mm, addr)
        items.insert(self._item_pos, it)
        self._item_pos += 1
        self.rmap_items += 1
        mm.ksm_rmap_items += 1
        return it

    def _advance_after_mm(self) -> bool:
        """The end of one mm's pass; True when the full scan is complete."""
        removed = self._cur_removed
        self._cur_removed = False
        if not removed:
            slot = self.mm_slots[self._cur]
            # remove_trailing_rmap_items()
            for it in slot.rmap_list[self._item_pos:]:
                self.remove_rmap_item_from_tree(it)
                self._free_rmap_item(it)
            del slot.rmap_list[self._item_pos:]
            if not self._any_vma:
                # no VM_MERGEABLE VMA left: drop the mm as __ksm_exit would
                self.slot_of.pop(id(slot.mm), None)
                del self.mm_slots[self._cur]
                slot.mm.flags &= ~(1 << MMF_VM_MERGEABLE)
                self._cur -= 1
        self._cur += 1
        if self._cur < len(self.mm_slots):
            self._start_mm()
            return False
        self._cur = -1
        self.seqnr += 1
        return True

    def scan_get_next(self) -> tuple[RmapItem, int] | None:
        """scan_get_next_rmap_item(): the next page to look at, None at the end of a pass."""
        if self._cur < 0 and not self._cur_removed:
            if not self.mm_slots:
                return None
            # pages in per-CPU LRU batches hold a reference write_protect_page() would
            # see: drain them at the start of each full scan (6.12 does the same)
            from memsim.mm.swap import lru_add_drain_all
            lru_add_drain_all(self.m)
            self.unstable_tree = {}
            self._cur = 0
            self._start_mm()
        while True:
            while self._pending_pos < len(self._pending):
                vma, addr = self._pending[self._pending_pos]
                self._pending_pos += 1
                pfn = self._anon_page(vma.vm_mm, addr)
                if pfn is None:
                    continue
                item = self.get_next_rmap_item(vma.vm_mm, addr)
                if self.should_skip_rmap_item(pfn, item):
                    continue
                return item, pfn
            if self._advance_after_mm():
                return None

    def ksm_do_scan(self, npages: int) -> None:
        for _ in range(npages):
            nxt = self.scan_get_next()
            if nxt is None:
                return
            item, pfn = nxt
            self.cmp_and_merge_page(pfn, item)
            self.pages_scanned += 1

    def run_scans(self, n: int, max_batches: int = 1_000_000) -> int:
        """
        Run ksmd (batches of pages_to_scan) until full_scans advanced by *n*; returns how
        many full scans completed (0 when run != 1 or no mm is registered: ``idle``).
        """
        if self.run != 1:
            return 0
        start = self.seqnr
        for _ in range(max_batches):
            if self.seqnr - start >= n or not self.mm_slots and self._cur < 0 \
                    and not self._cur_removed:
                break
            self.ksm_do_scan(max(1, self.pages_to_scan))
        return self.seqnr - start

    # -- madvise / unmerge ---------------------------------------------------------------------
    def unmerge_range(self, vma: VmAreaStruct, start: int, end: int,
                      task: Any = None) -> int:
        """unmerge_ksm_pages(): break_ksm() every KSM page in ``[start, end)``."""
        for addr in range(start, end, PAGE_SIZE):
            err = self.break_ksm(vma, addr, task)
            if err:
                return err
        return 0

    def break_ksm(self, vma: VmAreaStruct, addr: int, task: Any = None) -> int:
        from memsim.mm.memory import handle_mm_fault
        from memsim.mm.rmap import PageKsm
        m = self.m
        mm = vma.vm_mm
        if task is None:
            task = mm.owner
        for _ in range(8):
            pte = self._pte(mm, addr)
            if not pte & _PAGE_PRESENT:
                return 0
            pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
            ksm_page = (pfn != m.zero_pfn and not pte & _PAGE_SPECIAL and PageKsm(m, pfn)) \
                or (pfn == m.zero_pfn and bool(pte & _PAGE_DIRTY))
            if not ksm_page:
                return 0
            ret = handle_mm_fault(m, task, vma, addr, FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE)
            if ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV):
                return -14
            if ret & VM_FAULT_OOM:
                return -12
        return 0


def ksm(m: Machine) -> Ksm:
    k: Ksm | None = getattr(m, "ksm", None)
    if k is None:
        k = ksm_init(m)
    return k


def ksm_init(m: Machine) -> Ksm:
    """ksm_init(): the daemon state and the exit hook (kernel/task.py exit_mmap)."""
    k = Ksm(m)
    setattr(m, "ksm", k)  # noqa: B010 (not a declared Machine field)
    setattr(m, "ksm_exit_hook", k.exit)  # noqa: B010 (not a declared Machine field)
    return k


def vma_ksm_compatible(vma: VmAreaStruct) -> bool:
    if vma.vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND
                       | VM_HUGETLB | VM_MIXEDMAP | VM_DROPPABLE):
        return False
    return True


def ksm_madvise(m: Machine, vma: VmAreaStruct, start: int, end: int, advice: int,
                vm_flags: int, task: Any = None) -> tuple[int, int]:
    """ksm_madvise(): (error, new vm_flags) for MADV_MERGEABLE / MADV_UNMERGEABLE."""
    k = ksm(m)
    mm = vma.vm_mm
    if advice == MADV_MERGEABLE:
        if vm_flags & VM_MERGEABLE:
            return 0, vm_flags
        if not vma_ksm_compatible(vma):
            return 0, vm_flags
        if not mm.flags & (1 << MMF_VM_MERGEABLE):
            k.enter(mm)
        return 0, vm_flags | VM_MERGEABLE
    if advice == MADV_UNMERGEABLE:
        if not vm_flags & VM_MERGEABLE:
            return 0, vm_flags
        if vma.anon_vma is not None:
            err = k.unmerge_range(vma, start, end, task)
            if err:
                return err, vm_flags
        return 0, vm_flags & ~VM_MERGEABLE
    return 0, vm_flags


def ksm_process_profit(mm: MmStruct) -> int:
    """ksm_process_profit() (fs/proc/base.c ksm_stat)."""
    return (mm.ksm_merging_pages + mm.ksm_zero_pages) * PAGE_SIZE - \
        mm.ksm_rmap_items * KSM_RMAP_ITEM_SIZE


def ksm_might_unmap_zero_page(m: Machine, mm: MmStruct, pte: int) -> None:
    """ksm_might_unmap_zero_page(): a KSM-placed zero page (dirty zero PTE) goes away."""
    if (pte & PTE_PFN_MASK) >> PAGE_SHIFT == m.zero_pfn and pte & _PAGE_DIRTY:
        k: Ksm | None = getattr(m, "ksm", None)
        if k is not None:
            k.zero_pages -= 1
        mm.ksm_zero_pages -= 1
