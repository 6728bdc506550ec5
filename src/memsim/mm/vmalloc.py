"""
vmalloc (6.12 mm/vmalloc.c): virtually contiguous kernel memory built from scattered pages.

The VMALLOC range of the machine's architecture (``vmalloc_range()`` in fs/proc/meminfo.py:
x86_64 4-level ``0xffffc90000000000`` + 32 TiB, i386 ``high_memory + 8 MiB`` up to below the
pkmap area, arm and arm64 as their headers give) is managed as ``vmap_area``s:

* free space: sorted, non-overlapping ``[start, end)`` ranges (two bisect-sorted lists);
  ``alloc_vmap_area`` takes the *lowest* free range that holds an aligned block of the
  requested size (``find_vmap_lowest_match``) and clips it (``va_clip``);
* busy areas: keyed by start address, each with its ``vm_struct`` (size includes the guard
  page unless ``VM_NO_GUARD``);
* lazily freed areas: ``vfree``/``vunmap`` unmap the pages at once but keep the virtual
  range on a purge list (``unpurged vm_area`` in /proc/vmallocinfo) until more than
  ``lazy_max_pages()`` pages are pending; ``__purge_vmap_area_lazy`` then returns them to
  the free space, merging neighbours (``merge_or_add_vmap_area``).

The kernel page table of the range is a dict virtual page -> PFN (``Vmalloc.pte``);
``vmalloc_pte_walk`` reports what a walk of init_mm finds there, and a resolver in
``m.kaddr_resolvers`` lets ``m.kernel_read``/``m.kernel_write`` reach vmalloc memory (a guard
page or a freed range resolves to nothing, so maccess prints the page-fault oops).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memsim.arch import PAGE_SHIFT, PAGE_SIZE
from memsim.errors import MemsimError
from memsim.include.gfp import (
    __GFP_DMA,
    __GFP_DMA32,
    __GFP_HIGHMEM,
    __GFP_NOFAIL,
    __GFP_NOWARN,
    __GFP_ZERO,
    GFP_KERNEL,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

# vm_struct.flags (include/linux/vmalloc.h)
VM_IOREMAP = 0x00000001
VM_ALLOC = 0x00000002
VM_MAP = 0x00000004
VM_USERMAP = 0x00000008
VM_DMA_COHERENT = 0x00000010
VM_UNINITIALIZED = 0x00000020
VM_NO_GUARD = 0x00000040
VM_KASAN = 0x00000080
VM_FLUSH_RESET_PERMS = 0x00000100
VM_MAP_PUT_PAGES = 0x00000200
VM_ALLOW_HUGE_VMAP = 0x00000400
VM_SPARSE = 0x00001000

NUMA_NO_NODE = -1
SHMLBA = PAGE_SIZE       # x86, arm64 (vmalloc_user's alignment)
PMD_SHIFT = 21          # x86_64 / arm64 with 4 KiB pages
PMD_SIZE = 1 << PMD_SHIFT
IOREMAP_RAM_WARN_LINE = 217          # arch/x86/mm/ioremap.c __ioremap_caller WARN_ONCE
IOREMAP_MAX_ORDER = 7 + PAGE_SHIFT   # x86_64 (PUD_SHIFT with huge ioremap is larger)

# __vmalloc_area_node(): pages arrays above this come from vmalloc themselves ("vpages")
_PTR_SIZE = 8

# might_sleep() call sites in 6.12 mm/vmalloc.c
ALLOC_VMAP_AREA_MIGHT_SLEEP_LINE = 2030
REMOVE_VM_AREA_MIGHT_SLEEP_LINE = 3289
VFREE_MIGHT_SLEEP_LINE = 3419
VFREE_WARN_LINE = 3426
VUNMAP_MIGHT_SLEEP_LINE = 3467
VUNMAP_WARN_LINE = 3473
VMAP_MIGHT_SLEEP_LINE = 3503

# x86 PTE bits: PAGE_KERNEL = PRESENT|RW|ACCESSED|DIRTY|GLOBAL (+NX on 64-bit / PAE)
_PAGE_PRESENT = 0x001
_PAGE_PSE = 0x080
_PAGE_NX = 1 << 63
__PAGE_KERNEL = 0x163
_PAGE_KERNEL_BITS = __PAGE_KERNEL

# module-level aliases: kernel "__" names cannot be spelled inside a class body
_GFP_DMA = __GFP_DMA
_GFP_DMA32 = __GFP_DMA32
_GFP_HIGHMEM = __GFP_HIGHMEM
_GFP_NOFAIL = __GFP_NOFAIL
_GFP_NOWARN = __GFP_NOWARN
_GFP_ZERO = __GFP_ZERO


def fls(x: int) -> int:
    """fls(): 1-based index of the most significant set bit (0 for 0)."""
    return x.bit_length()


def _align(x: int, a: int) -> int:
    return (x + a - 1) & ~(a - 1)


class VmStruct:
    """struct vm_struct: one vmalloc/vmap/ioremap area as its user sees it."""

    __slots__ = ("addr", "size", "flags", "pages", "page_order", "nr_pages", "phys_addr",
                 "caller", "requested_size", "pages_addr", "kaddr")

    def __init__(self, size: int, flags: int, caller: str, requested_size: int) -> None:
        self.addr = 0
        #: bytes, including the guard page
        self.size = size
        self.flags = flags
        #: PFNs of the backing pages (nr_pages entries; huge areas list every subpage)
        self.pages: list[int] = []
        self.page_order = 0
        self.nr_pages = 0
        self.phys_addr = 0
        self.caller = caller
        self.requested_size = requested_size
        #: kernel address of the pages array (kmalloc'ed, or vmalloc'ed -> "vpages")
        self.pages_addr: int | None = None
        #: kernel address of the vm_struct itself (kzalloc'ed)
        self.kaddr: int | None = None


class VmapArea:
    """struct vmap_area: ``[va_start, va_end)`` of the VMALLOC range."""

    __slots__ = ("va_start", "va_end", "vm")

    def __init__(self, va_start: int, va_end: int, vm: VmStruct | None) -> None:
        self.va_start = va_start
        self.va_end = va_end
        self.vm = vm


@dataclass(frozen=True, slots=True)
class PteWalk:
    """What a page-table walk of init_mm finds for one vmalloc address."""

    addr: int
    #: "pte" for a 4 KiB entry, "pmd" for a huge (PMD_SIZE) leaf, None if nothing mapped
    level: str | None
    pfn: int | None
    present: bool
    #: the entry's protection bits (PAGE_KERNEL, plus _PAGE_PSE for a PMD leaf)
    prot: int
    #: the raw entry value ((pfn << PAGE_SHIFT) | prot)
    entry: int


class Vmalloc:
    """The vmalloc state of one machine (the kernel's vmap_area trees and lists)."""

    def __init__(self, m: Machine) -> None:
        from memsim.fs.proc.meminfo import vmalloc_range
        self.m = m
        self.vmalloc_start, self.vmalloc_end = vmalloc_range(m)
        # SIM: the free tree covers the VMALLOC range only (the kernel's covers the whole
        # address space minus busy areas; every caller here allocates inside the range).
        self.free_start: list[int] = [self.vmalloc_start]
        self.free_end: list[int] = [self.vmalloc_end]
        # SIM: one vmap node (6.12 splits busy/lazy lists over nr_vmap_nodes and keeps
        # per-size pools of purged areas; here purged areas go straight to the free tree).
        self.busy: dict[int, VmapArea] = {}
        self.busy_starts: list[int] = []
        self.purge_list: list[VmapArea] = []
        self.vmap_lazy_nr = 0
        self.nr_vmalloc_pages = 0
        self.nr_purges = 0
        #: kernel page table of the range: virtual page number -> PFN
        self.pte: dict[int, int] = {}
        #: virtual page numbers mapped by PMD leaves (huge vmalloc)
        self.pmd_mapped: set[int] = set()
        #: vfree() from interrupt context: deferred to process context (vfree_atomic)
        self.deferred: list[int] = []
        bits64 = m.arch.bits == 64
        self.prot = _PAGE_KERNEL_BITS | (_PAGE_NX if bits64 else 0)
        self.huge_ok = m.arch.name in ("x86_64", "arm64")
        self.numa_info = bits64      # CONFIG_NUMA on the 64-bit configs modelled

    # ---------------------------------------------------------------- vmap_area management

    def lazy_max_pages(self) -> int:
        """lazy_max_pages(): fls(num_online_cpus()) * 32 MiB worth of pages."""
        return fls(self.m.nr_cpus) * (32 * 1024 * 1024 // PAGE_SIZE)

    def _find_lowest_match(self, size: int, align: int, vstart: int) -> int | None:
        """find_vmap_lowest_match(): lowest aligned start of *size* bytes in free space."""
        # SIM: a linear scan of the sorted free list instead of the augmented rb-tree's
        # subtree_max_size descent; same answer (the lowest fitting address).
        fs, fe = self.free_start, self.free_end
        i = max(0, bisect.bisect_right(fs, vstart) - 1)
        for j in range(i, len(fs)):
            s, e = fs[j], fe[j]
            if e <= vstart:
                continue
            nva = _align(s if s > vstart else vstart, align)
            if nva + size <= e:
                return nva
        return None

    def _va_clip(self, addr: int, size: int) -> None:
        """va_clip(): take [addr, addr + size) out of the free range holding it."""
        fs, fe = self.free_start, self.free_end
        j = bisect.bisect_right(fs, addr) - 1
        s, e = fs[j], fe[j]
        assert s <= addr and addr + size <= e
        del fs[j], fe[j]
        if addr + size < e:
            fs.insert(j, addr + size)
            fe.insert(j, e)
        if s < addr:
            fs.insert(j, s)
            fe.insert(j, addr)

    def _merge_or_add(self, start: int, end: int) -> None:
        """merge_or_add_vmap_area(): give [start, end) back, merging with neighbours."""
        fs, fe = self.free_start, self.free_end
        j = bisect.bisect_left(fs, start)
        if j < len(fs) and fs[j] == end:          # merge with next
            fs[j] = start
            if j > 0 and fe[j - 1] == start:      # and with previous
                fs[j] = fs[j - 1]
                del fs[j - 1], fe[j - 1]
            return
        if j > 0 and fe[j - 1] == start:          # merge with previous
            fe[j - 1] = end
            return
        fs.insert(j, start)
        fe.insert(j, end)

    def alloc_vmap_area(self, size: int, align: int, vstart: int, vend: int, gfp: int,
                        vm: VmStruct | None) -> VmapArea | None:
        """alloc_vmap_area(): lowest free range; purge lazily freed areas and retry once."""
        m = self.m
        might_sleep(m, ALLOC_VMAP_AREA_MIGHT_SLEEP_LINE)
        if size <= 0 or size & (PAGE_SIZE - 1) or align & (align - 1):
            raise MemsimError(f"alloc_vmap_area: bad size {size:#x} / align {align:#x}")
        purged = False
        while True:
            addr = self._find_lowest_match(size, align, vstart)
            if addr is not None and addr + size <= vend:
                break
            if not purged:
                self.purge_vmap_area_lazy()   # reclaim_and_purge_vmap_areas()
                purged = True
                continue
            if not gfp & _GFP_NOWARN and m.ratelimit("printk_ratelimit", 5_000_000_000, 10):
                m.printk(f"vmalloc_node_range for size {size} failed: Address range "
                         f"restricted to {vstart:#x} - {vend:#x}", level=4)
            return None
        self._va_clip(addr, size)
        va = VmapArea(addr, addr + size, vm)
        if vm is not None:
            vm.addr = addr
            vm.size = size
        self.busy[addr] = va
        bisect.insort(self.busy_starts, addr)
        return va

    def _detach(self, addr: int) -> VmapArea | None:
        va = self.busy.pop(addr, None)
        if va is not None:
            del self.busy_starts[bisect.bisect_left(self.busy_starts, addr)]
        return va

    def free_vmap_area_noflush(self, va: VmapArea) -> None:
        """free_vmap_area_noflush(): onto the purge list; drain past lazy_max_pages()."""
        self.purge_list.append(va)
        self.vmap_lazy_nr += (va.va_end - va.va_start) >> PAGE_SHIFT
        if self.vmap_lazy_nr > self.lazy_max_pages():
            # SIM: the kernel schedules drain_vmap_work; the model drains at once.
            self.purge_vmap_area_lazy()

    def purge_vmap_area_lazy(self) -> int:
        """__purge_vmap_area_lazy(): flush the TLB once for all lazily freed areas and
        return them to the free space. Returns how many areas were purged."""
        n = len(self.purge_list)
        if not n:
            return 0
        for va in self.purge_list:
            self._merge_or_add(va.va_start, va.va_end)
        self.purge_list.clear()
        self.vmap_lazy_nr = 0
        self.nr_purges += 1
        return n

    # ---------------------------------------------------------------- page tables

    def _map(self, addr: int, pfns: list[int]) -> None:
        """vmap_pages_range(): install one PTE per page."""
        vpn = addr >> PAGE_SHIFT
        pte = self.pte
        for i, pfn in enumerate(pfns):
            pte[vpn + i] = pfn

    def _unmap(self, va: VmapArea) -> None:
        """vunmap_range_noflush(): clear the entries (the TLB flush waits for the purge)."""
        pte = self.pte
        pmd = self.pmd_mapped
        for vpn in range(va.va_start >> PAGE_SHIFT, va.va_end >> PAGE_SHIFT):
            pte.pop(vpn, None)
            if pmd:
                pmd.discard(vpn)

    def pte_walk(self, addr: int) -> PteWalk:
        """vmalloc_pte_walk(): pgd -> p4d -> pud -> pmd -> pte of init_mm for *addr*."""
        vpn = addr >> PAGE_SHIFT
        pfn = self.pte.get(vpn)
        if pfn is None:
            return PteWalk(addr, None, None, False, 0, 0)
        if vpn in self.pmd_mapped:
            prot = self.prot | _PAGE_PSE
            head = pfn - (vpn & ((PMD_SIZE >> PAGE_SHIFT) - 1))
            return PteWalk(addr, "pmd", pfn, True, prot, (head << PAGE_SHIFT) | prot)
        return PteWalk(addr, "pte", pfn, True, self.prot, (pfn << PAGE_SHIFT) | self.prot)

    # ---------------------------------------------------------------- allocation

    def get_vm_area_node(self, size: int, align: int, shift: int, flags: int, start: int,
                         end: int, node: int, gfp: int, caller: str) -> VmStruct | None:
        """__get_vm_area_node(): a vm_struct and its vmap_area (guard page included)."""
        m = self.m
        if m.in_interrupt():
            m.debug.vm_bug_on("mm/vmalloc.c", 3177)     # BUG_ON(in_interrupt())
            return None
        requested = size
        size = _align(size, 1 << shift)
        if not size:
            return None
        if flags & VM_IOREMAP:
            order = max(PAGE_SHIFT, min((size - 1).bit_length(), IOREMAP_MAX_ORDER))
            align = 1 << order
        kaddr = m.kmalloc_node(72, (gfp & ~(_GFP_HIGHMEM | _GFP_DMA | _GFP_DMA32)) | _GFP_ZERO,
                               node)   # kzalloc_node(sizeof(struct vm_struct))
        if kaddr is None:
            return None
        if not flags & VM_NO_GUARD:
            size += PAGE_SIZE
        area = VmStruct(size, flags, caller, requested)
        area.kaddr = kaddr
        if self.alloc_vmap_area(size, align, start, end, gfp, area) is None:
            m.kfree(kaddr)
            return None
        return area

    def _alloc_pages(self, area: VmStruct, gfp: int, order: int, node: int,
                     nr_pages: int) -> list[int]:
        """vm_area_alloc_pages(): order-0 pages in bulk, or high-order blocks (huge)."""
        m = self.m
        out: list[int] = []
        if order == 0:
            bulk_gfp = gfp & ~_GFP_NOFAIL
            while len(out) < nr_pages:
                want = min(100, nr_pages - len(out))
                got = (m.alloc_pages_bulk(bulk_gfp, want) if node == NUMA_NO_NODE
                       else [p for p in (m.alloc_pages_node(node, bulk_gfp, 0),)
                             if p is not None])
                if not got:
                    break
                out.extend(got)
        while len(out) < nr_pages:
            page = (m.alloc_pages(gfp, order) if node == NUMA_NO_NODE
                    else m.alloc_pages_node(node, gfp, order))
            if page is None:
                break
            # SIM: the kernel split_page()s high-order blocks; the model keeps the block
            # and frees it whole (see vfree), listing every subpage in vm->pages.
            out.extend(range(page, page + (1 << order)))
        return out

    def _free_area_pages(self, area: VmStruct) -> None:
        m = self.m
        step = 1 << area.page_order
        for i in range(0, len(area.pages), step):
            m.free_pages_pfn(area.pages[i], area.page_order)

    def vmalloc_area_node(self, area: VmStruct, gfp: int, shift: int, node: int) -> bool:
        """__vmalloc_area_node(): pages array, pages, mapping."""
        m = self.m
        nr_small = (area.size - (0 if area.flags & VM_NO_GUARD else PAGE_SIZE)) >> PAGE_SHIFT
        array_size = nr_small * _PTR_SIZE
        nested = (gfp & ~(_GFP_HIGHMEM | _GFP_DMA | _GFP_DMA32)) | _GFP_ZERO
        if not gfp & (_GFP_DMA | _GFP_DMA32):
            gfp |= _GFP_HIGHMEM
        if array_size > PAGE_SIZE:
            area.pages_addr = self.vmalloc_node_range(
                array_size, 1, self.vmalloc_start, self.vmalloc_end, nested, 0, node,
                area.caller)
        else:
            area.pages_addr = m.kmalloc_node(array_size, nested, node)
        if area.pages_addr is None:
            _warn_alloc(m, gfp, f"vmalloc error: size {nr_small * PAGE_SIZE}, failed to "
                                f"allocated page array size {array_size}")
            self._free_vm_struct(area)
            return False
        order = shift - PAGE_SHIFT
        area.page_order = order
        if order:
            gfp |= _GFP_NOWARN
        area.pages = self._alloc_pages(area, gfp, order, node, nr_small)
        area.nr_pages = len(area.pages)
        self.nr_vmalloc_pages += area.nr_pages
        if area.nr_pages != nr_small:
            if order == 0:
                _warn_alloc(m, gfp, f"vmalloc error: size {area.nr_pages * PAGE_SIZE}, "
                                    "failed to allocate pages")
            self._vfree_area(area)
            return False
        self._map(area.addr, area.pages)
        if order:
            self.pmd_mapped.update(range(area.addr >> PAGE_SHIFT,
                                         (area.addr >> PAGE_SHIFT) + nr_small))
        return True

    def vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp: int,
                           vm_flags: int, node: int, caller: str) -> int | None:
        """__vmalloc_node_range_noprof()"""
        m = self.m
        self._drain_deferred()
        if not size:
            m.debug.warn_on_once("__vmalloc_node_range_noprof", "!size", "mm/vmalloc.c", 3839)
            return None
        if size >> PAGE_SHIFT > m.totalram_pages:
            _warn_alloc(m, gfp, f"vmalloc error: size {size}, exceeds total pages")
            return None
        real_size, real_align = size, align
        shift = PAGE_SHIFT
        if vm_flags & VM_ALLOW_HUGE_VMAP:
            per_node = size // (m.nr_nodes if node == NUMA_NO_NODE else 1)
            # SIM: arch_vmap_pte_supported_shift() is PAGE_SHIFT (no contiguous-PTE sizes).
            if self.huge_ok and per_node >= PMD_SIZE:
                shift = PMD_SHIFT
            align = max(real_align, 1 << shift)
        while True:
            area = self.get_vm_area_node(real_size, align, shift,
                                         VM_ALLOC | VM_UNINITIALIZED | vm_flags, start, end,
                                         node, gfp, caller)
            if area is None:
                nofail = bool(gfp & _GFP_NOFAIL)
                _warn_alloc(m, gfp, f"vmalloc error: size {real_size}, vm_struct allocation "
                                    f"failed{'. Retrying.' if nofail else ''}")
                # SIM: __GFP_NOFAIL would retry forever; the model fails instead.
            elif self.vmalloc_area_node(area, gfp, shift, node):
                area.flags &= ~VM_UNINITIALIZED
                return area.addr
            if shift > PAGE_SHIFT:
                shift, align = PAGE_SHIFT, real_align
                continue
            return None

    # ---------------------------------------------------------------- freeing

    def _free_vm_struct(self, area: VmStruct) -> None:
        """remove_vm_area() for a half-built area: unmap, lazy-free the range, kfree."""
        va = self._detach(area.addr)
        if va is not None:
            self._unmap(va)
            self.free_vmap_area_noflush(va)
        if area.kaddr is not None:
            self.m.kfree(area.kaddr)

    def _vfree_area(self, area: VmStruct) -> None:
        self._free_vm_struct(area)
        if not area.flags & VM_MAP_PUT_PAGES:
            self.nr_vmalloc_pages -= area.nr_pages
        self._free_area_pages(area)
        self._free_pages_array(area)

    def _free_pages_array(self, area: VmStruct) -> None:
        """kvfree(vm->pages)"""
        if area.pages_addr is None:
            return
        if self.is_vmalloc_addr(area.pages_addr):
            self.vfree(area.pages_addr)
        else:
            self.m.kfree(area.pages_addr)
        area.pages_addr = None

    def remove_vm_area(self, addr: int) -> VmStruct | None:
        """remove_vm_area(): detach the area, unmap it, put the range on the purge list."""
        might_sleep(self.m, REMOVE_VM_AREA_MIGHT_SLEEP_LINE)
        va = self.busy.get(addr)
        if va is None or va.vm is None:
            return None
        self._detach(addr)
        self._unmap(va)
        self.free_vmap_area_noflush(va)
        return va.vm

    def _drain_deferred(self) -> None:
        """delayed_vfree_work(): vfree()s queued from interrupt context."""
        if self.deferred and not self.m.in_interrupt():
            todo, self.deferred = self.deferred, []
            for addr in todo:
                self.vfree(addr)

    def vfree(self, addr: int | None) -> None:
        """vfree(): free the pages, lazily free the virtual range."""
        m = self.m
        if m.in_interrupt():
            if addr:
                self.deferred.append(addr)    # vfree_atomic()
            return
        might_sleep(m, VFREE_MIGHT_SLEEP_LINE)
        # SIM: delayed_vfree_work runs at the next vmalloc/vfree in process context
        self._drain_deferred()
        if not addr:
            return
        vm = self.remove_vm_area(addr)
        if vm is None:
            m.debug.warn_text(f"Trying to vfree() nonexistent vm area ({_ptr(m, addr)})",
                              "vfree", "mm/vmalloc.c", VFREE_WARN_LINE)
            return
        if not vm.flags & VM_MAP_PUT_PAGES:
            self.nr_vmalloc_pages -= vm.nr_pages
        self._free_area_pages(vm)
        self._free_pages_array(vm)
        if vm.kaddr is not None:
            m.kfree(vm.kaddr)

    def vmap(self, pages: list[int], flags: int = VM_MAP, caller: str = "") -> int | None:
        """vmap(): map existing pages contiguously (no pages allocated)."""
        m = self.m
        might_sleep(m, VMAP_MIGHT_SLEEP_LINE)
        count = len(pages)
        if count > m.totalram_pages or not count:
            return None
        area = self.get_vm_area_node(count << PAGE_SHIFT, 1, PAGE_SHIFT, flags,
                                     self.vmalloc_start, self.vmalloc_end, NUMA_NO_NODE,
                                     GFP_KERNEL, caller)
        if area is None:
            return None
        self._map(area.addr, list(pages))
        if flags & VM_MAP_PUT_PAGES:
            area.pages = list(pages)
            area.nr_pages = count
        return area.addr

    def vunmap(self, addr: int) -> None:
        """vunmap(): release a vmap() mapping (the pages stay with their owner)."""
        m = self.m
        if m.in_interrupt():
            m.debug.vm_bug_on("mm/vmalloc.c", 3466)     # BUG_ON(in_interrupt())
            return
        might_sleep(m, VUNMAP_MIGHT_SLEEP_LINE)
        if not addr:
            return
        vm = self.remove_vm_area(addr)
        if vm is None:
            m.debug.warn_text(f"Trying to vunmap() nonexistent vm area ({_ptr(m, addr)})",
                              "vunmap", "mm/vmalloc.c", VUNMAP_WARN_LINE)
            return
        if vm.kaddr is not None:
            m.kfree(vm.kaddr)

    # ---------------------------------------------------------------- ioremap (x86)

    def ioremap(self, phys_addr: int, size: int, caller: str = "") -> int | None:
        """ioremap() / __ioremap_caller() (arch/x86/mm/ioremap.c): map device memory.
        RAM is refused with the kernel's WARN ("ioremap on RAM at …")."""
        m = self.m
        last = phys_addr + size - 1
        if not size or last < phys_addr:
            return None
        first_pfn, last_pfn = phys_addr >> PAGE_SHIFT, last >> PAGE_SHIFT
        if any(m.pfn_valid(p) for p in range(first_pfn, min(last_pfn, m.max_pfn - 1) + 1)):
            key = "ioremap-ram"
            if key not in m.debug.warned_once:
                m.debug.warned_once.add(key)
                m.debug.warn_text(f"ioremap on RAM at 0x{phys_addr:016x} - 0x{last:016x}",
                                  "__ioremap_caller", "arch/x86/mm/ioremap.c",
                                  IOREMAP_RAM_WARN_LINE)
            return None
        offset = phys_addr & (PAGE_SIZE - 1)
        base = phys_addr - offset
        size = _align(last + 1, PAGE_SIZE) - base
        area = self.get_vm_area_node(size, 1, PAGE_SHIFT, VM_IOREMAP, self.vmalloc_start,
                                     self.vmalloc_end, NUMA_NO_NODE, GFP_KERNEL, caller)
        if area is None:
            return None
        area.phys_addr = base
        # device memory: PTEs to PFNs the memmap does not cover (no struct page)
        self._map(area.addr, list(range(base >> PAGE_SHIFT, (base + size) >> PAGE_SHIFT)))
        return area.addr + offset

    def iounmap(self, addr: int) -> None:
        """iounmap(): drop an ioremap() mapping."""
        m = self.m
        area = self.find_vm_area(addr & ~(PAGE_SIZE - 1))
        if area is None or not area.flags & VM_IOREMAP:
            m.printk(f"iounmap: bad address {_ptr(m, addr)}", level=3)
            m.debug.dump_stack()
            return
        vm = self.remove_vm_area(area.addr)
        if vm is not None and vm.kaddr is not None:
            m.kfree(vm.kaddr)

    # ---------------------------------------------------------------- lookups

    def is_vmalloc_addr(self, addr: int) -> bool:
        return self.vmalloc_start <= addr < self.vmalloc_end

    def vmalloc_to_page(self, addr: int) -> int | None:
        """vmalloc_to_page(): the page mapped at *addr* (the proper subpage of a huge
        mapping), or None."""
        return self.pte.get(addr >> PAGE_SHIFT)

    def find_vm_area(self, addr: int) -> VmStruct | None:
        """find_vm_area(): the busy area containing *addr*."""
        i = bisect.bisect_right(self.busy_starts, addr) - 1
        if i < 0:
            return None
        va = self.busy[self.busy_starts[i]]
        return va.vm if addr < va.va_end else None

    # ---------------------------------------------------------------- /proc/vmallocinfo

    def vmallocinfo(self) -> str:
        """vmalloc_info_show(): busy areas in address order, then unpurged ones."""
        m = self.m
        width = 16 if m.arch.bits == 64 else 8
        out: list[str] = []
        for start in self.busy_starts:
            va = self.busy[start]
            v = va.vm
            if v is None or v.flags & VM_UNINITIALIZED:
                continue
            parts = [f"0x{v.addr:0{width}x}-0x{v.addr + v.size:0{width}x} {v.size:7d}"]
            if v.caller:
                parts.append(f" {v.caller}")
            if v.nr_pages:
                parts.append(f" pages={v.nr_pages}")
            if v.phys_addr:
                parts.append(f" phys=0x{v.phys_addr:0{width}x}")
            for flag, tag in ((VM_IOREMAP, " ioremap"), (VM_SPARSE, " sparse"),
                              (VM_ALLOC, " vmalloc"), (VM_MAP, " vmap"), (VM_USERMAP, " user"),
                              (VM_DMA_COHERENT, " dma-coherent")):
                if v.flags & flag:
                    parts.append(tag)
            if v.pages_addr is not None and self.is_vmalloc_addr(v.pages_addr):
                parts.append(" vpages")
            if self.numa_info and v.nr_pages:
                counters: dict[int, int] = {}
                for pfn in v.pages:
                    nid = m.page_zone(pfn).node
                    counters[nid] = counters.get(nid, 0) + 1
                parts.extend(f" N{nid}={counters[nid]}" for nid in sorted(counters))
            out.append("".join(parts) + "\n")
        for va in self.purge_list:
            out.append(f"0x{va.va_start:0{width}x}-0x{va.va_end:0{width}x} "
                       f"{va.va_end - va.va_start:7d} unpurged vm_area\n")
        return "".join(out)


# -------------------------------------------------------------------- helpers


def _ptr(m: Machine, addr: int) -> str:
    # SIM: %p prints the raw address (as with no_hash_pointers), not a hashed value.
    return f"{addr:0{16 if m.arch.bits == 64 else 8}x}"


def _warn_alloc(m: Machine, gfp: int, msg: str) -> None:
    from memsim.mm.page_alloc import warn_alloc
    warn_alloc(m, gfp, None, msg)


def might_sleep(m: Machine, line: int) -> None:
    """might_sleep() at mm/vmalloc.c:*line* (the report comes from kernel/sched.py)."""
    m.might_sleep("mm/vmalloc.c", line)


def _resolve(m: Machine, addr: int) -> int | None:
    """kaddr resolver: the PFN mapped at a vmalloc address (None: guard, hole, freed)."""
    return m.vmalloc_state.pte.get(addr >> PAGE_SHIFT)


def vmalloc_init(m: Machine) -> Vmalloc:
    """vmalloc_init(): the free space of the VMALLOC range and the address resolver."""
    state = Vmalloc(m)
    m.vmalloc_state = state
    m.kaddr_resolvers.append(_resolve)
    return state


def vmalloc_nr_pages(m: Machine) -> int:
    """vmalloc_nr_pages(): pages backing vmalloc areas (meminfo VmallocUsed)."""
    return m.vmalloc_state.nr_vmalloc_pages


def vmallocinfo_show(m: Machine) -> str:
    """/proc/vmallocinfo"""
    return m.vmalloc_state.vmallocinfo()
