"""
The page-fault handler and the PTE-level work behind every mapping change (mm/memory.c,
arch/x86/mm/fault.c): handle_mm_fault and its do_anonymous_page / do_fault /
do_wp_page / do_swap_page branches, zapping (munmap, MADV_DONTNEED, exit), fork's
copy_page_range, unmap_mapping_range for truncation, and the user memory access that
drives all of it (what the CPU does before it raises #PF).

Pages: a PTE holds a reference (``_refcount``) and a map count (``_mapcount``) on the page
it maps (mm/rmap.py). Page contents live in ``m.page_data`` (mm/maccess.py); a page
nobody wrote reads as zeros, which is what a freshly zeroed anonymous page is.

Related: the VMA layer (mm/mmap.py, mm/vma.py), page tables (mm/pgtable.py), the page
cache (mm/filemap.py, mm/shmem.py), GUP/populate (mm/gup.py), THP (mm/huge_memory.py).
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from memsim.errors import MemsimError
from memsim.include.gfp import __GFP_COMP, __GFP_ZERO, GFP_HIGHUSER_MOVABLE
from memsim.include.mm import (
    VM_EXEC,
    VM_GROWSDOWN,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WIPEONFORK,
    VM_WRITE,
)
from memsim.include.mm_types import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MM_SWAPENTS,
    MmStruct,
    VmAreaStruct,
)
from memsim.include.page_flags import PageFlags, PG_anon_exclusive, PG_swapcache
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_RW,
    _PAGE_SPECIAL,
    _PAGE_USER,
    PTE_PFN_MASK,
    is_guard_pte,
    is_pte_marker,
)
from memsim.include.vmstat_items import VmEventItem
from memsim.mm import rmap
from memsim.mm.mapping import mapping_from_handle
from memsim.mm.rmap import (
    PageAnon,
    anon_vma_prepare,
    folio_add_anon_rmap_pte,
    folio_add_file_rmap_pte,
    folio_add_new_anon_rmap,
    folio_remove_rmap_pte,
)
from memsim.mm.vma import find_vma

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)

VM_FAULT_OOM = 0x000001
VM_FAULT_SIGBUS = 0x000002
VM_FAULT_MAJOR = 0x000004
VM_FAULT_HWPOISON = 0x000010
VM_FAULT_HWPOISON_LARGE = 0x000020
VM_FAULT_SIGSEGV = 0x000040
VM_FAULT_NOPAGE = 0x000100
VM_FAULT_LOCKED = 0x000200
VM_FAULT_RETRY = 0x000400
VM_FAULT_FALLBACK = 0x000800
VM_FAULT_DONE_COW = 0x001000
VM_FAULT_ERROR = (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON
                  | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK)

FAULT_FLAG_WRITE = 1 << 0
FAULT_FLAG_MKWRITE = 1 << 1
FAULT_FLAG_ALLOW_RETRY = 1 << 2
FAULT_FLAG_RETRY_NOWAIT = 1 << 3
FAULT_FLAG_KILLABLE = 1 << 4
FAULT_FLAG_TRIED = 1 << 5
FAULT_FLAG_USER = 1 << 6
FAULT_FLAG_REMOTE = 1 << 7
FAULT_FLAG_INSTRUCTION = 1 << 8
FAULT_FLAG_INTERRUPTIBLE = 1 << 9
FAULT_FLAG_UNSHARE = 1 << 10
FAULT_FLAG_ORIG_PTE_VALID = 1 << 11
FAULT_FLAG_VMA_LOCK = 1 << 12

# x86 page-fault error code bits
X86_PF_PROT = 1 << 0
X86_PF_WRITE = 1 << 1
X86_PF_USER = 1 << 2
X86_PF_INSTR = 1 << 4

SEGV_MAPERR = 1
SEGV_ACCERR = 2
BUS_ADRERR = 2

#: fault_around_bytes default (mm/memory.c): 64 KiB -> 16 pages; the live value is
#: ``m.fault_around_pages`` (debugfs fault_around_bytes, set_fault_around_bytes())
FAULT_AROUND_BYTES = 65536


def set_fault_around_bytes(m: Machine, val: int) -> None:
    """
    fault_around_bytes_set(): the debugfs knob, rounded down to a power of two pages and
    capped at one page table (PTRS_PER_PTE pages); 0 or less than a page disables it.
    """
    if val < 0:
        raise ValueError(f"fault_around_bytes: {val} is negative (EINVAL)")
    ptrs = 1024 if m.arch.name == "i386" else 512
    pages = min(val // PAGE_SIZE, ptrs)
    m.fault_around_pages = 1 << (pages.bit_length() - 1) if pages > 0 else 1

_PG_ANON_EXCL = 1 << PG_anon_exclusive
_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_UPTODATE = 1 << PageFlags.PG_uptodate
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_SWAPCACHE = 1 << PG_swapcache
_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_MLOCKED = 1 << PageFlags.PG_mlocked
_PG_HEAD = 1 << PageFlags.PG_head
_PG_LRU = 1 << PageFlags.PG_lru
_PGFAULT = VmEventItem.PGFAULT
_PGMAJFAULT = VmEventItem.PGMAJFAULT
#: folio allocations add __GFP_COMP (folio_alloc_mpol), which order 0 ignores; the
#: OOM report and mm_page_alloc show it (0x140dca)
_GFP_ANON = GFP_HIGHUSER_MOVABLE | __GFP_ZERO | __GFP_COMP
_GFP_ANON_COPY = GFP_HIGHUSER_MOVABLE | __GFP_COMP
_PROT_BITS = ~PTE_PFN_MASK & ((1 << 64) - 1)


class SignalDelivered(MemsimError):  # noqa: N818 (a delivered signal, not an error)
    """A fault the kernel answers with a signal (SIGSEGV/SIGBUS) to the task."""

    def __init__(self, signo: int, si_code: int, addr: int, pid: int) -> None:
        name = signal.Signals(signo).name
        super().__init__(f"{name} (si_code {si_code}) at {addr:#x} in pid {pid}")
        self.signo = signo
        self.si_code = si_code
        self.addr = addr
        self.pid = pid


class VmOps:
    """
    vm_operations_struct: what a non-anonymous VMA does on faults. File and shmem
    mappings install subclasses (mm/filemap.py, mm/shmem.py); special mappings
    ([vdso], [vvar]) use ``SpecialMappingOps``.
    """

    name: str | None = None
    close: Any = None
    may_split: Any = None
    #: page_mkwrite: shared writable mappings get a write-notify fault first
    page_mkwrite: Any = None
    map_pages_ok = True

    def fault(self, m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
        """The page for *pgoff* with a reference for the caller, and VM_FAULT bits."""
        return -1, VM_FAULT_SIGBUS

    def map_pages(self, m: Machine, vma: VmAreaStruct, start_pgoff: int,
                  end_pgoff: int) -> list[tuple[int, int]]:
        """(pgoff, pfn) of cached, uptodate, unlocked pages in ``[start, end]``."""
        return []

    def is_shmem(self) -> bool:
        return False


class SpecialMappingOps(VmOps):
    """_install_special_mapping(): [vdso]/[vvar] backed by fixed kernel pages."""

    def __init__(self, name: str, pages: list[int]) -> None:
        self.name = name
        self.pages = pages
        self.close = self._close

    def _close(self, vma: VmAreaStruct) -> None:
        return None

    def fault(self, m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
        idx = pgoff - vma.vm_pgoff
        if 0 <= idx < len(self.pages):
            pfn = self.pages[idx]
            m.mem_map.refcount[pfn] += 1
            return pfn, 0
        return -1, VM_FAULT_SIGBUS


# ---- setup -------------------------------------------------------------------------------

def init_zero_page(m: Machine) -> None:
    """empty_zero_page: one reserved page of zeros every read fault on anon memory maps."""
    pfn = m.alloc_pages(GFP_HIGHUSER_MOVABLE & ~0x8 | __GFP_ZERO, 0)
    # SIM: the kernel's zero page lives in the kernel image's bss; here it is a page taken
    # at boot and marked reserved (it is never freed and never counted in RSS)
    assert pfn is not None
    m.mem_map.flags[pfn] |= 1 << PageFlags.PG_reserved
    m.zero_pfn = pfn


def is_zero_pfn(m: Machine, pfn: int) -> bool:
    return pfn == m.zero_pfn


# ---- page references ---------------------------------------------------------------------

def folio_get(m: Machine, pfn: int) -> None:
    """folio_get(page_folio(page)): the reference is on the head of a large folio."""
    mm_ = m.mem_map
    head1 = mm_.compound_head1[pfn]
    mm_.refcount[head1 - 1 if head1 else pfn] += 1


#: mm/swap.py's page_cache_release, imported on first use (mm/swap.py imports this module)
_page_cache_release: Any = None


def folio_put(m: Machine, pfn: int) -> None:
    """put_page(): the last reference frees the page (anon state cleared as the kernel does)."""
    global _page_cache_release
    mm_ = m.mem_map
    head1 = mm_.compound_head1[pfn]
    head = head1 - 1 if head1 else pfn
    if mm_.refcount[head] == 1:
        if mm_.flags[head] & _PG_LRU:
            # __folio_put() -> __page_cache_release() first: off the LRU list its
            # flags (still) name (mm/swap.py)
            if _page_cache_release is None:
                from memsim.mm.swap import page_cache_release
                _page_cache_release = page_cache_release
            _page_cache_release(m, head)
        if mm_.flags[head] & _PG_HEAD:
            from memsim.mm.huge_memory import folio_undo_large_rmap
            folio_undo_large_rmap(m, head)
        if mm_.flags[head] & _PG_MLOCKED:
            from memsim.mm.mlock import folio_clear_mlocked_on_free
            folio_clear_mlocked_on_free(m, head)
        if mm_.mapping[head] & 1:
            mm_.mapping[head] = 0
        mm_.index[head] = 0
        mm_.flags[head] &= ~(_PG_ANON_EXCL | _PG_SWAPBACKED | _PG_DIRTY | _PG_UPTODATE
                             | _PG_REFERENCED | _PG_MLOCKED)
        data = m.page_data
        if head in data:
            del data[head]
    m.put_page(head)


def mm_counter_file(m: Machine, pfn: int) -> int:
    """MM_SHMEMPAGES for shmem/memfd pages, MM_FILEPAGES for other page-cache pages."""
    mapping = mapping_from_handle(m, m.mem_map.mapping[pfn])
    if mapping is not None and getattr(mapping, "is_shmem", False):
        return MM_SHMEMPAGES
    return MM_FILEPAGES


def mm_counter(m: Machine, pfn: int) -> int:
    if m.mem_map.mapping[pfn] & 1:
        return MM_ANONPAGES
    return mm_counter_file(m, pfn)


def add_mm_counter(mm: MmStruct, member: int, value: int) -> None:
    mm.rss_stat[member] += value
    if value > 0:
        rss = mm.rss_stat[MM_FILEPAGES] + mm.rss_stat[MM_ANONPAGES] + mm.rss_stat[MM_SHMEMPAGES]
        if rss > mm.hiwater_rss:
            mm.hiwater_rss = rss


def vma_wants_writenotify(vma: VmAreaStruct) -> bool:
    """Shared writable mappings of files that track dirty pages map read-only first."""
    if vma.vm_flags & (VM_WRITE | VM_SHARED) != VM_WRITE | VM_SHARED:
        return False
    ops = vma.vm_ops
    if ops is None:
        return False
    if ops.page_mkwrite is not None:
        return True
    return bool(getattr(ops, "dirty_accounting", False))


def vm_normal_page(m: Machine, vma: VmAreaStruct, pte: int) -> int | None:
    """vm_normal_page(): the struct page behind a PTE, None for special ones (zero page)."""
    if pte & _PAGE_SPECIAL:
        return None
    pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
    if pfn == m.zero_pfn:
        return None
    return pfn


# ---- PTE helpers -------------------------------------------------------------------------

def _pte_slot(mm: MmStruct, addr: int, alloc: bool) -> tuple[Any, int]:
    pgd = mm.pgd
    t = pgd.leaf.get(addr >> pgd.pmd_shift)
    if t is None:
        if not alloc:
            return None, 0
        t = pgd.pte_alloc(addr)
    return t, (addr >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)


def set_pte_at(mm: MmStruct, addr: int, pte: int) -> None:
    pgd = mm.pgd
    t = pgd.leaf.get(addr >> pgd.pmd_shift)
    if t is None:
        t = pgd.pte_alloc(addr)
    i = (addr >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)
    if t.pte[i] == 0 and pte:
        t.nr_used += 1
    elif pte == 0 and t.pte[i]:
        t.nr_used -= 1
    t.pte[i] = pte


def pte_clear(mm: MmStruct, addr: int) -> int:
    t, i = _pte_slot(mm, addr, False)
    if t is None:
        return 0
    old = int(t.pte[i])
    if old:
        t.pte[i] = 0
        t.nr_used -= 1
    return old


def mk_pte(pfn: int, prot: int) -> int:
    return (pfn << PAGE_SHIFT) | prot


def maybe_mkwrite(pte: int, vma: VmAreaStruct) -> int:
    if vma.vm_flags & VM_WRITE:
        return pte | _PAGE_RW
    return pte


# ---- fault handling ----------------------------------------------------------------------

def handle_mm_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                    flags: int) -> int:
    """handle_mm_fault(): resolve one fault; VM_FAULT_* bits. Accounts the fault."""
    if flags & FAULT_FLAG_WRITE and not vma.vm_flags & VM_MAYWRITE:
        ret = VM_FAULT_SIGSEGV
    elif m.lru_gen_on:
        from memsim.mm.lru_gen import lru_gen_enter_fault, lru_gen_exit_fault
        prev = lru_gen_enter_fault(m, vma)      # folios added now start young (MGLRU)
        try:
            ret = __handle_mm_fault(m, task, vma, address, flags)
        finally:
            lru_gen_exit_fault(m, prev)
    else:
        ret = __handle_mm_fault(m, task, vma, address, flags)
    mm_account_fault(m, task, ret, flags)
    return ret


#: the model's clock (m.clock_ns) advances with the work done, so that kernel threads,
#: timers and time series see time pass. # SIM: fixed costs, of the order a 2020s x86
#: machine shows: a minor fault about 1 us, a 4 KiB read from an SSD about 80 us, a write
#: about 20 us (I/O costs are charged in mm/page_io.py and mm/filemap.py).
MINOR_FAULT_NS = 1_000
DISK_READ_NS = 80_000
DISK_WRITE_NS = 20_000


def mm_account_fault(m: Machine, task: Any, ret: int, flags: int) -> None:
    if ret & VM_FAULT_RETRY:
        return
    m.clock_ns += MINOR_FAULT_NS
    m.vm_event[_PGFAULT] += 1
    if ret & VM_FAULT_ERROR:
        return
    if ret & VM_FAULT_MAJOR or flags & FAULT_FLAG_TRIED:
        task.maj_flt += 1
    else:
        task.min_flt += 1


def __handle_mm_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                      flags: int) -> int:
    mm = vma.vm_mm
    address &= PAGE_MASK
    pgd = mm.pgd
    key = address >> pgd.pmd_shift
    if key in pgd.huge:
        from memsim.mm.huge_memory import huge_pmd_fault
        ret = huge_pmd_fault(m, task, vma, address, flags)
        if not ret & VM_FAULT_FALLBACK:
            return ret
    elif key not in pgd.leaf:
        from memsim.mm.huge_memory import create_huge_pmd
        hret = create_huge_pmd(m, task, vma, address, flags)
        if hret is not None and not hret & VM_FAULT_FALLBACK:
            return hret
    return handle_pte_fault(m, task, vma, address, flags)


def handle_pte_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                     flags: int) -> int:
    pgd = vma.vm_mm.pgd
    t = pgd.leaf.get(address >> pgd.pmd_shift)
    if t is not None:
        i = (address >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)
        orig = int(t.pte[i])
    else:
        orig = 0
    if orig == 0:
        if vma.vm_ops is None:
            return do_anonymous_page(m, task, vma, address, flags)
        return do_fault(m, task, vma, address, flags)
    if not orig & (_PAGE_PRESENT | _PAGE_PROTNONE):
        return do_swap_page(m, task, vma, address, flags, orig)
    if orig & _PAGE_PROTNONE and not orig & _PAGE_PRESENT:
        # a PROT_NONE PTE in an accessible VMA would be a NUMA hinting fault
        # SIM: no NUMA balancing; after mprotect the PTEs already carry the VMA's prot
        return 0
    if flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE):
        if not orig & _PAGE_RW:
            return do_wp_page(m, task, vma, address, flags, orig)
        if flags & FAULT_FLAG_WRITE:
            orig |= _PAGE_DIRTY
    t.pte[i] = orig | _PAGE_ACCESSED
    return 0


def do_anonymous_page(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                      flags: int) -> int:
    """do_anonymous_page(): the zero page for reads, a new zeroed page for writes."""
    if vma.vm_flags & VM_SHARED:
        return VM_FAULT_SIGBUS
    mm = vma.vm_mm
    if not flags & FAULT_FLAG_WRITE:
        # mm_forbids_zeropage() is false on every modelled arch
        set_pte_at(mm, address, mk_pte(m.zero_pfn, vma.vm_page_prot) | _PAGE_SPECIAL)
        return 0
    _pte_slot(mm, address, True)      # pte_alloc() comes before the folio allocation
    anon_vma_prepare(m, vma)
    pfn = m.alloc_pages(_GFP_ANON, 0)
    if pfn is None:
        return VM_FAULT_OOM
    m.page_data.pop(pfn, None)
    pte = mk_pte(pfn, vma.vm_page_prot) | _PAGE_ACCESSED
    if vma.vm_flags & VM_WRITE:
        pte |= _PAGE_RW | _PAGE_DIRTY
    add_mm_counter(mm, MM_ANONPAGES, 1)
    folio_add_new_anon_rmap(m, pfn, vma, address)
    folio_add_lru_vma(m, pfn, vma)
    set_pte_at(mm, address, pte)
    return 0


def folio_add_lru_vma(m: Machine, pfn: int, vma: VmAreaStruct) -> None:
    """folio_add_lru_vma(): mlocked VMAs put the page on the unevictable list."""
    if vma.vm_flags & VM_LOCKED:
        from memsim.mm.mlock import mlock_new_folio
        mlock_new_folio(m, pfn)
    hook = getattr(m, "lru_add_hook", None)
    if hook is not None:
        hook(pfn, vma)


def do_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int) -> int:
    ops = vma.vm_ops
    if ops is None:
        return VM_FAULT_SIGBUS
    if not flags & FAULT_FLAG_WRITE:
        return do_read_fault(m, task, vma, address, flags)
    if not vma.vm_flags & VM_SHARED:
        return do_cow_fault(m, task, vma, address, flags)
    return do_shared_fault(m, task, vma, address, flags)


def _map_file_page(m: Machine, vma: VmAreaStruct, address: int, pfn: int, write: bool,
                   young: bool = True) -> None:
    """finish_fault()/set_pte_range() for one page-cache page."""
    mm = vma.vm_mm
    pte = mk_pte(pfn, vma.vm_page_prot)
    if young:
        pte |= _PAGE_ACCESSED
    if write:
        pte |= _PAGE_RW | _PAGE_DIRTY
    add_mm_counter(mm, mm_counter_file(m, pfn), 1)
    folio_add_file_rmap_pte(m, pfn)
    set_pte_at(mm, address, pte)


def do_fault_around(m: Machine, vma: VmAreaStruct, address: int) -> int:
    """do_fault_around(): map the cached pages of the 16-page window around the fault."""
    nr_pages = m.fault_around_pages
    pgd = vma.vm_mm.pgd
    ptrs = pgd.ptrs_per_pte
    pgoff = vma.linear_page_index(address)
    pte_off = (address >> PAGE_SHIFT) & (ptrs - 1)
    vma_off = pgoff - vma.vm_pgoff
    from_pte = max(pte_off & ~(nr_pages - 1), pte_off - min(pte_off, vma_off))
    to_pte = min(ptrs, (pte_off & ~(nr_pages - 1)) + nr_pages,
                 pte_off + ((vma.vm_end - address) >> PAGE_SHIFT)) - 1
    start_pgoff = pgoff - (pte_off - from_pte)
    end_pgoff = pgoff + (to_pte - pte_off)
    pages = vma.vm_ops.map_pages(m, vma, start_pgoff, end_pgoff)
    base = address - ((pgoff - start_pgoff) << PAGE_SHIFT)
    t, _ = _pte_slot(vma.vm_mm, address, True)
    ret = 0
    for off, pfn in pages:
        a = base + ((off - start_pgoff) << PAGE_SHIFT)
        i = (a >> PAGE_SHIFT) & (ptrs - 1)
        if t.pte[i]:
            continue
        folio_get(m, pfn)
        _map_file_page(m, vma, a, pfn, False)
        if a == address:
            ret = VM_FAULT_NOPAGE
    return ret


def do_read_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int) -> int:
    ops = vma.vm_ops
    if ops.map_pages_ok and m.fault_around_pages > 1:
        ret = do_fault_around(m, vma, address)
        if ret:
            return 0
    res: tuple[int, int] = ops.fault(m, vma, vma.linear_page_index(address), flags)
    pfn, ret = res
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY) or pfn < 0:
        return ret
    _map_file_page(m, vma, address, pfn, False)
    return ret & VM_FAULT_MAJOR


def do_cow_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int) -> int:
    """do_cow_fault(): a write to a private file mapping copies the page into anon memory."""
    anon_vma_prepare(m, vma)
    new = m.alloc_pages(_GFP_ANON_COPY, 0)
    if new is None:
        return VM_FAULT_OOM
    res: tuple[int, int] = vma.vm_ops.fault(m, vma, vma.linear_page_index(address), flags)
    pfn, ret = res
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY) or pfn < 0:
        m.put_page(new)
        return ret
    copy_user_highpage(m, new, pfn)
    folio_put(m, pfn)
    mm = vma.vm_mm
    pte = mk_pte(new, vma.vm_page_prot) | _PAGE_ACCESSED | _PAGE_DIRTY
    if vma.vm_flags & VM_WRITE:
        pte |= _PAGE_RW
    add_mm_counter(mm, MM_ANONPAGES, 1)
    folio_add_new_anon_rmap(m, new, vma, address)
    folio_add_lru_vma(m, new, vma)
    set_pte_at(mm, address, pte)
    return ret & VM_FAULT_MAJOR


def do_shared_fault(m: Machine, task: Any, vma: VmAreaStruct, address: int,
                    flags: int) -> int:
    """do_shared_fault(): map the page-cache page writable and dirty it."""
    res: tuple[int, int] = vma.vm_ops.fault(m, vma, vma.linear_page_index(address), flags)
    pfn, ret = res
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY) or pfn < 0:
        return ret
    mkwrite = vma.vm_ops.page_mkwrite
    if mkwrite is not None:
        r: int = mkwrite(m, vma, pfn)
        if r & VM_FAULT_ERROR:
            folio_put(m, pfn)
            return r
    _map_file_page(m, vma, address, pfn, True)
    folio_mark_dirty(m, pfn)
    fault_dirty_shared_page(m, vma)
    return ret & VM_FAULT_MAJOR


def fault_dirty_shared_page(m: Machine, vma: VmAreaStruct) -> None:
    """fault_dirty_shared_page(): after a store dirtied a shared file page, the writer
    is subject to dirty throttling (balance_dirty_pages_ratelimited)."""
    file = vma.vm_file
    mapping = getattr(file, "f_mapping", None) if file is not None else None
    if mapping is not None and vma.vm_ops is not None and vma.vm_ops.page_mkwrite is not None:
        from memsim.mm.page_writeback import balance_dirty_pages_ratelimited
        balance_dirty_pages_ratelimited(m, mapping)


def folio_mark_dirty(m: Machine, pfn: int) -> None:
    mapping = mapping_from_handle(m, m.mem_map.mapping[pfn])
    fn = getattr(mapping, "folio_mark_dirty", None)
    if fn is not None:
        fn(m, pfn)
    else:
        m.mem_map.flags[pfn] |= _PG_DIRTY


def copy_user_highpage(m: Machine, dst: int, src: int) -> None:
    data = m.page_data.get(src)
    if data is None or src == m.zero_pfn:
        m.page_data.pop(dst, None)
    else:
        m.page_data[dst] = bytearray(data)


def do_wp_page(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int,
               orig: int) -> int:
    """do_wp_page(): write to a present read-only PTE: reuse the page or copy it."""
    mm = vma.vm_mm
    pfn = vm_normal_page(m, vma, orig)
    if vma.vm_flags & (VM_SHARED | VM_MAYSHARE):
        if pfn is None:
            return wp_page_reuse(mm, address, orig, vma)
        mkwrite = vma.vm_ops.page_mkwrite if vma.vm_ops is not None else None
        if mkwrite is not None:
            r: int = mkwrite(m, vma, pfn)
            if r & VM_FAULT_ERROR:
                return r
        folio_mark_dirty(m, pfn)
        ret = wp_page_reuse(mm, address, orig, vma)
        fault_dirty_shared_page(m, vma)
        return ret
    mem = m.mem_map
    if pfn is not None and mem.mapping[pfn] & 1 and not rmap.PageKsm(m, pfn):
        if mem.flags[pfn] & _PG_ANON_EXCL or wp_can_reuse_anon_folio(m, pfn, vma):
            mem.flags[pfn] |= _PG_ANON_EXCL
            if flags & FAULT_FLAG_UNSHARE:
                return 0
            return wp_page_reuse(mm, address, orig, vma)
    if pfn is not None and rmap.PageKsm(m, pfn):
        m.vm_event[VmEventItem.COW_KSM] += 1
    return wp_page_copy(m, task, vma, address, flags, orig, pfn)


def wp_can_reuse_anon_folio(m: Machine, pfn: int, vma: VmAreaStruct) -> bool:
    """The sole reference holder may take the page over (refcount == 1)."""
    mem = m.mem_map
    if mem.compound_head1[pfn] or mem.flags[pfn] & _PG_HEAD:
        return False
    if mem.refcount[pfn] > 3:
        return False
    if mem.refcount[pfn] != 1 and not mem.flags[pfn] & _PG_LRU:
        # references from an LRU batch cannot be told apart: lru_add_drain() (6.12)
        from memsim.mm.swap import lru_add_drain
        lru_add_drain(m)
    # a swap-cache page: the cache's reference is allowed if the slot can be freed
    swapcache = int(mem.flags[pfn] & _PG_SWAPBACKED and mem.flags[pfn] & _PG_SWAPCACHE)
    if mem.refcount[pfn] > 1 + swapcache:
        return False
    if swapcache:
        m.folio_free_swap_hook(pfn)  # type: ignore[attr-defined]
    if mem.refcount[pfn] != 1:
        return False
    # folio_move_anon_rmap(): the page now belongs to this VMA's anon_vma
    if vma.anon_vma is not None:
        mem.mapping[pfn] = vma.anon_vma.handle
    return True


def wp_page_reuse(mm: MmStruct, address: int, orig: int, vma: VmAreaStruct) -> int:
    t, i = _pte_slot(mm, address, False)
    t.pte[i] = maybe_mkwrite(orig | _PAGE_ACCESSED | _PAGE_DIRTY, vma)
    return 0


def wp_page_copy(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int,
                 orig: int, old: int | None) -> int:
    """wp_page_copy(): a private copy (zeroed when the old page is the zero page)."""
    mm = vma.vm_mm
    anon_vma_prepare(m, vma)
    if old is None:
        new = m.alloc_pages(_GFP_ANON, 0)
        if new is not None:
            m.page_data.pop(new, None)
    else:
        folio_get(m, old)       # held across the allocation (reclaim may run there)
        new = m.alloc_pages(_GFP_ANON_COPY, 0)
        folio_put(m, old)
        if new is not None:
            copy_user_highpage(m, new, old)
    if new is None:
        return VM_FAULT_OOM
    if old is not None:
        if not m.mem_map.mapping[old] & 1:
            add_mm_counter(mm, mm_counter_file(m, old), -1)
            add_mm_counter(mm, MM_ANONPAGES, 1)
    else:
        add_mm_counter(mm, MM_ANONPAGES, 1)
    pte = mk_pte(new, vma.vm_page_prot) | _PAGE_ACCESSED
    if not flags & FAULT_FLAG_UNSHARE:
        # an unshare (break_ksm, GUP) maps the copy read-only and clean
        pte = maybe_mkwrite(pte | _PAGE_DIRTY, vma)
    folio_add_new_anon_rmap(m, new, vma, address)
    folio_add_lru_vma(m, new, vma)
    t, i = _pte_slot(mm, address, False)
    t.pte[i] = pte
    if old is not None:
        folio_remove_rmap_pte(m, old)
        if vma.vm_flags & VM_LOCKED:
            from memsim.mm.mlock import munlock_vma_folio
            munlock_vma_folio(m, old, vma)
        if m.mem_map.mapping[old] & 1 and m.mem_map.flags[old] & _PG_SWAPCACHE:
            m.free_swap_cache_hook(old)  # type: ignore[attr-defined]
        folio_put(m, old)
    return 0


def do_swap_page(m: Machine, task: Any, vma: VmAreaStruct, address: int, flags: int,
                 orig: int) -> int:
    """do_swap_page(): PTE markers (guard regions) and real swap entries."""
    if is_pte_marker(orig):
        if is_guard_pte(orig):
            return VM_FAULT_SIGSEGV
        return VM_FAULT_SIGBUS
    swapin = getattr(m, "do_swap_page_hook", None)
    if swapin is None:
        return VM_FAULT_SIGBUS
    return int(swapin(task, vma, address, flags, orig))


# ---- the user access path ----------------------------------------------------------------

def access_error(error_code: int, vma: VmAreaStruct) -> bool:
    """access_error() of arch/x86/mm/fault.c."""
    if error_code & X86_PF_WRITE:
        return not vma.vm_flags & VM_WRITE
    if error_code & X86_PF_PROT:
        return True
    return not vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)


def do_user_addr_fault(m: Machine, task: Any, address: int, error_code: int) -> None:
    """do_user_addr_fault(): find the VMA, check access, handle; signal on failure."""
    # the fault runs in the faulting task's context: it is "current" for the allocator
    # and the OOM killer
    if getattr(task, "sigkill_pending", False):
        raise SignalDelivered(signal.SIGKILL, 0, address, task.pid)
    prev = m.current_pid, m.current_comm
    m.current_pid, m.current_comm = task.pid, task.comm
    try:
        _do_user_addr_fault(m, task, address, error_code)
    finally:
        m.current_pid, m.current_comm = prev
    if getattr(task, "sigkill_pending", False):
        # the OOM killer chose the faulting task: it dies on the way back to user space
        raise SignalDelivered(signal.SIGKILL, 0, address, task.pid)


def _do_user_addr_fault(m: Machine, task: Any, address: int, error_code: int) -> None:
    mm = task.mm
    flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE \
        | FAULT_FLAG_USER
    if error_code & X86_PF_WRITE:
        flags |= FAULT_FLAG_WRITE
    if error_code & X86_PF_INSTR:
        flags |= FAULT_FLAG_INSTRUCTION
    # lock_mm_and_find_vma(); its stack expansion only when the VMA starts above address
    vma = find_vma(mm, address)
    if vma is not None and vma.vm_start > address:
        from memsim.mm.mmap import lock_mm_and_find_vma
        vma = lock_mm_and_find_vma(m, mm, address)
    if vma is None:
        bad_area(m, task, address, error_code, SEGV_MAPERR)
    assert vma is not None
    if access_error(error_code, vma):
        bad_area(m, task, address, error_code, SEGV_ACCERR)
    ret = handle_mm_fault(m, task, vma, address, flags)
    while ret & VM_FAULT_RETRY:
        # the lock was dropped for I/O: retry once more with FAULT_FLAG_TRIED (which makes
        # the completed fault a major one)
        flags |= FAULT_FLAG_TRIED
        from memsim.mm.mmap import lock_mm_and_find_vma
        vma = lock_mm_and_find_vma(m, mm, address)
        if vma is None:
            bad_area(m, task, address, error_code, SEGV_MAPERR)
        assert vma is not None
        ret = handle_mm_fault(m, task, vma, address, flags)
    if not ret & VM_FAULT_ERROR:
        return
    if ret & VM_FAULT_OOM:
        from memsim.mm.oom_kill import pagefault_out_of_memory
        pagefault_out_of_memory(m, task)
        # a task the OOM killer chose takes its pending SIGKILL here. SIM: otherwise the
        # kernel retries the fault; the model, where nothing else runs to free memory,
        # ends the task with SIGKILL instead of faulting forever.
        raise SignalDelivered(signal.SIGKILL, 0, address, task.pid)
    if ret & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE):
        force_sig_fault(m, task, signal.SIGBUS, BUS_ADRERR, address, error_code)
    bad_area(m, task, address, error_code, SEGV_MAPERR)


def bad_area(m: Machine, task: Any, address: int, error_code: int, si_code: int) -> None:
    force_sig_fault(m, task, signal.SIGSEGV, si_code, address, error_code)


def force_sig_fault(m: Machine, task: Any, signo: int, si_code: int, address: int,
                    error_code: int) -> None:
    """Deliver the fault signal; an unhandled SIGSEGV logs the segfault line."""
    if signo == signal.SIGSEGV and m.ratelimit("segfault", 5_000_000_000, 10):
        ip = getattr(task, "ip", 0)
        sp = getattr(task, "sp", 0)
        text = (f"{task.comm}[{task.pid}]: segfault at {address:x} ip {ip:016x} "
                f"sp {sp:016x} error {error_code | X86_PF_USER:x}")
        vma = rmap_vma_for_ip(task, ip)
        if vma is not None and vma.vm_file is not None:
            name = getattr(vma.vm_file.f_inode, "name", "?")
            text += (f" in {name}[{ip - vma.vm_start + (vma.vm_pgoff << 12):x},"
                     f"{vma.vm_start:x}+{vma.vm_end - vma.vm_start:x}]")
        text += f" likely on CPU {m.current_cpu} (core {m.current_cpu}, socket 0)"
        m.printk(text, level=6)
    raise SignalDelivered(signo, si_code, address, task.pid)


def rmap_vma_for_ip(task: Any, ip: int) -> VmAreaStruct | None:
    from memsim.mm.vma import vma_lookup
    return vma_lookup(task.mm, ip) if ip else None


def user_access(m: Machine, task: Any, addr: int, write: bool) -> int:
    """
    One user access to *addr* as the MMU performs it: a present PTE with the needed
    permission sets the accessed (and dirty) bit; anything else raises #PF, handled by
    do_user_addr_fault, and the access is retried. Returns the PFN accessed.
    # SIM: accesses are loads and stores; instruction fetches (X86_PF_INSTR, the NX bit)
    # are not modelled — spawn's entry-point fetch is a load.
    """
    mm = task.mm
    pgd = mm.pgd
    for _ in range(4):
        key = addr >> pgd.pmd_shift
        t = pgd.leaf.get(key)
        if t is not None:
            i = (addr >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)
            pte = int(t.pte[i])
            if pte & _PAGE_PRESENT and pte & _PAGE_USER and (not write or pte & _PAGE_RW):
                t.pte[i] = pte | (_PAGE_ACCESSED | _PAGE_DIRTY if write else _PAGE_ACCESSED)
                return (pte & PTE_PFN_MASK) >> PAGE_SHIFT
            code = (X86_PF_PROT if pte & _PAGE_PRESENT else 0) | X86_PF_USER
        else:
            hp: int | None = pgd.huge.get(key)
            if hp is not None and hp & _PAGE_PRESENT and (not write or hp & _PAGE_RW):
                pgd.huge[key] = hp | (_PAGE_ACCESSED | _PAGE_DIRTY if write else
                                      _PAGE_ACCESSED)
                return int(((hp & PTE_PFN_MASK) >> PAGE_SHIFT)
                           + ((addr >> PAGE_SHIFT) & ((1 << (pgd.pmd_shift - PAGE_SHIFT)) - 1)))
            code = (X86_PF_PROT if hp is not None and hp & _PAGE_PRESENT else 0) | X86_PF_USER
        if write:
            code |= X86_PF_WRITE
        do_user_addr_fault(m, task, addr, code)
    raise SignalDelivered(signal.SIGSEGV, SEGV_MAPERR, addr, task.pid)


# ---- zapping -----------------------------------------------------------------------------

class ZapDetails:
    """struct zap_details: what a zap keeps (markers for MADV_DONTNEED, COWs on truncate)."""

    __slots__ = ("even_cows", "keep_markers", "single_folio", "mapping")

    def __init__(self, even_cows: bool = True, keep_markers: bool = False,
                 mapping: Any = None) -> None:
        self.even_cows = even_cows
        self.keep_markers = keep_markers
        self.single_folio = None
        self.mapping = mapping


def zap_pte_range(m: Machine, vma: VmAreaStruct, start: int, end: int,
                  details: ZapDetails | None = None) -> None:
    """zap_pte_range(): clear the PTEs of ``[start, end)``, dropping rmap and references."""
    mm = vma.vm_mm
    pgd = mm.pgd
    if pgd.huge:
        from memsim.mm.huge_memory import zap_huge_pmds
        zap_huge_pmds(m, vma, start, end)
    mem = m.mem_map
    rss = mm.rss_stat
    zero = m.zero_pfn
    keep_markers = details is not None and details.keep_markers
    only_mapping = details.mapping if details is not None else None
    even_cows = details.even_cows if details is not None else True
    locked = bool(vma.vm_flags & VM_LOCKED)
    tables: list[tuple[Any, int, int]]
    if end - start == PAGE_SIZE and not start & (PAGE_SIZE - 1):
        # one page (zap_page_range_single of a page): its table, without the iterator
        t1 = pgd.leaf.get(start >> pgd.pmd_shift)
        i = (start >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)
        tables = [(t1, i, i + 1)] if t1 is not None else []
    else:
        tables = list(pgd.iter_tables(start, end))
    for t, i0, i1 in tables:
        ptes = t.pte
        for i in range(i0, i1):
            pte = ptes[i]
            if not pte:
                continue
            if pte & (_PAGE_PRESENT | _PAGE_PROTNONE):
                pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
                if pfn == zero or pte & _PAGE_SPECIAL:
                    ptes[i] = 0
                    t.nr_used -= 1
                    continue
                anon = mem.mapping[pfn] & 1
                if only_mapping is not None:
                    if anon and not even_cows:
                        continue
                ptes[i] = 0
                t.nr_used -= 1
                if anon:
                    rss[MM_ANONPAGES] -= 1
                else:
                    rss[mm_counter_file(m, pfn)] -= 1
                    if pte & _PAGE_DIRTY:
                        folio_mark_dirty(m, pfn)
                    if pte & _PAGE_ACCESSED:
                        mem.flags[pfn] |= _PG_REFERENCED
                folio_remove_rmap_pte(m, pfn)
                if locked and mem.flags[pfn] & _PG_MLOCKED:
                    from memsim.mm.mlock import munlock_vma_folio
                    munlock_vma_folio(m, pfn, vma)
                if anon and mem.flags[pfn] & _PG_SWAPCACHE:
                    # free_pages_and_swap_cache(): free_swap_cache() before the put
                    m.free_swap_cache_hook(pfn)  # type: ignore[attr-defined]
                folio_put(m, pfn)
            else:
                if is_pte_marker(pte):
                    if keep_markers and is_guard_pte(pte):
                        continue
                    ptes[i] = 0
                    t.nr_used -= 1
                    continue
                if not even_cows:
                    continue            # should_zap_cows(): truncation keeps private COWs
                free = getattr(m, "free_swap_and_cache_hook", None)
                if free is not None:
                    free(int(pte))
                rss[MM_SWAPENTS] -= 1
                ptes[i] = 0
                t.nr_used -= 1


def zap_page_range_single(m: Machine, vma: VmAreaStruct, start: int, size: int,
                          details: ZapDetails | None = None) -> None:
    """zap_page_range_single(): MADV_DONTNEED and friends (VMA stays, tables stay)."""
    zap_pte_range(m, vma, max(start, vma.vm_start), min(start + size, vma.vm_end), details)


def unmap_region(m: Machine, mm: MmStruct, vmas: list[VmAreaStruct], floor: int,
                 ceiling: int) -> None:
    """unmap_region(): zap the VMAs being removed, then free their page tables."""
    if not vmas:
        return
    for v in vmas:
        zap_pte_range(m, v, v.vm_start, v.vm_end)
    mm.pgd.free_pgtables(vmas[0].vm_start, vmas[-1].vm_end, floor, ceiling)


def unmap_mapping_range(m: Machine, mapping: Any, start_pgoff: int, nr: int,
                        even_cows: bool) -> None:
    """unmap_mapping_pages(): zap every PTE mapping file pages ``[start, start+nr)``."""
    end_pgoff = start_pgoff + nr if nr else 1 << 62
    details = ZapDetails(even_cows=even_cows, mapping=mapping)
    for vma in list(getattr(mapping, "i_mmap", ())):
        vstart = vma.vm_pgoff
        vend = vstart + vma.nr_pages
        s = max(start_pgoff, vstart)
        e = min(end_pgoff, vend)
        if s >= e:
            continue
        a = vma.vm_start + ((s - vstart) << PAGE_SHIFT)
        b = vma.vm_start + ((e - vstart) << PAGE_SHIFT)
        zap_pte_range(m, vma, a, b, details)


# ---- fork --------------------------------------------------------------------------------

def vma_needs_copy(dst: VmAreaStruct, src: VmAreaStruct) -> bool:
    if src.vm_flags & (VM_PFNMAP | VM_MIXEDMAP):
        return True
    if src.anon_vma is not None:
        return True
    return False


def is_cow_mapping(flags: int) -> bool:
    return flags & (VM_SHARED | VM_MAYWRITE) == VM_MAYWRITE


def copy_page_range(m: Machine, dst: VmAreaStruct, src: VmAreaStruct) -> None:
    """copy_page_range(): the child's PTEs for a VMA that has anonymous pages."""
    if not vma_needs_copy(dst, src):
        return
    smm, dmm = src.vm_mm, dst.vm_mm
    if smm.pgd.huge:
        from memsim.mm.huge_memory import copy_huge_pmds
        copy_huge_pmds(m, dst, src)
    mem = m.mem_map
    cow = is_cow_mapping(src.vm_flags)
    zero = m.zero_pfn
    drss = dmm.rss_stat
    for t, i0, i1 in list(smm.pgd.iter_tables(src.vm_start, src.vm_end)):
        sptes = t.pte
        base = t.base
        dt = None
        for i in range(i0, i1):
            pte = int(sptes[i])
            if not pte:
                continue
            addr = base + (i << PAGE_SHIFT)
            if dt is None:
                dt = dmm.pgd.pte_alloc(addr)
            if not pte & (_PAGE_PRESENT | _PAGE_PROTNONE):
                # swap entry or marker
                if is_pte_marker(pte):
                    if is_guard_pte(pte):
                        dt.pte[i] = pte
                        dt.nr_used += 1
                    continue
                dup = getattr(m, "swap_duplicate_hook", None)
                if dup is not None:
                    pte = int(dup(pte))
                    if pte != sptes[i]:
                        sptes[i] = pte      # the parent's entry loses its exclusive bit too
                drss[MM_SWAPENTS] += 1
                dt.pte[i] = pte
                dt.nr_used += 1
                continue
            pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
            if pfn != zero and not pte & _PAGE_SPECIAL:
                h1 = mem.compound_head1[pfn]
                mem.refcount[h1 - 1 if h1 else pfn] += 1
                if mem.mapping[pfn] & 1:
                    mem.flags[pfn] &= ~_PG_ANON_EXCL
                    folio_add_anon_rmap_pte(m, pfn)
                    drss[MM_ANONPAGES] += 1
                else:
                    folio_add_file_rmap_pte(m, pfn)
                    drss[mm_counter_file(m, pfn)] += 1
            if cow and pte & _PAGE_RW:
                pte &= ~_PAGE_RW
                sptes[i] = pte
            if src.vm_flags & VM_SHARED:
                pte &= ~_PAGE_DIRTY
            dt.pte[i] = pte & ~_PAGE_ACCESSED
            dt.nr_used += 1
    rss = dmm.rss_stat[MM_FILEPAGES] + dmm.rss_stat[MM_ANONPAGES] + \
        dmm.rss_stat[MM_SHMEMPAGES]
    if rss > dmm.hiwater_rss:
        dmm.hiwater_rss = rss


def page_is_anon(m: Machine, pfn: int) -> bool:
    return PageAnon(m, pfn)


__all__ = ["SignalDelivered", "handle_mm_fault", "user_access", "zap_page_range_single",
           "unmap_region", "copy_page_range", "VM_GROWSDOWN", "VM_WIPEONFORK"]
