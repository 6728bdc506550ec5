"""
struct page for every PFN, as a struct of arrays (include/linux/mm_types.h).

``MemMap`` holds one numpy array per field, indexed by PFN, plus a ``memoryview`` of each
for fast scalar access from Python (a memoryview element read/write costs about half of a
numpy element access). The arrays are allocated zero-filled, which the host kernel backs
lazily: only the parts of the memmap the model touches cost host memory, which is how a
256 GiB machine fits in well under 1 GiB. The field encodings are chosen so that *zero is
the state of a page freshly handed to the buddy allocator*:

======================  ==============================================================
field                   encoding
======================  ==============================================================
``flags``               PG_* bits (include/page_flags.py); zone/node bits live in
                        ``page_zone()`` instead of the top bits
``refcount``            ``_refcount``
``mapcount1``           ``_mapcount + 1``: 0 means the kernel's -1 (unmapped)
``page_type``           top byte of the kernel's ``page_type`` word (0 = no type; 0xf0
                        buddy, 0xf2 table, 0xf5 slab …)
``private``             ``page->private`` (the buddy order of a free block's head)
``mapping``             handle into ``Machine.mappings`` (0 = NULL)
``index``               ``page->index``
``compound_head1``      head PFN + 1 on tail pages, 0 otherwise
``compound_order``      the order of a compound page, kept on its head page
``lru_next/lru_prev``   LRU list links (PFN + 1, 0 = none), used by reclaim
======================  ==============================================================

# SIM: the kernel keeps the compound order in the first tail page (folio->_flags_1) and
# the buddy/pcp links in struct page; here the order is on the head and the free lists
# hold their own links (include/mmzone.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ZEROS = bytes(4 << 10 << 2)   # enough zero bytes for 4-byte fields of a MAX_ORDER block

PGTY_BUDDY = 0xF0
PGTY_OFFLINE = 0xF1
PGTY_TABLE = 0xF2
PGTY_GUARD = 0xF3
PGTY_HUGETLB = 0xF4
PGTY_SLAB = 0xF5
PGTY_ZSMALLOC = 0xF6
PGTY_UNACCEPTED = 0xF7


@dataclass(slots=True, eq=False)
class MemMap:
    """The memmap: struct page state for PFNs ``[0, nr_pfns)``."""

    nr_pfns: int
    flags_a: np.ndarray
    refcount_a: np.ndarray
    mapcount1_a: np.ndarray
    page_type_a: np.ndarray
    private_a: np.ndarray
    mapping_a: np.ndarray
    index_a: np.ndarray
    compound_head1_a: np.ndarray
    compound_order_a: np.ndarray
    lru_next_a: np.ndarray
    lru_prev_a: np.ndarray
    flags: memoryview
    refcount: memoryview
    mapcount1: memoryview
    page_type: memoryview
    private: memoryview
    mapping: memoryview
    index: memoryview
    compound_head1: memoryview
    compound_order: memoryview
    lru_next: memoryview
    lru_prev: memoryview
    #: byte views of the fields the free-time checks read, for fast all-zero tests
    flags_b: memoryview
    refcount_b: memoryview
    mapcount1_b: memoryview
    mapping_b: memoryview

    @classmethod
    def allocate(cls, nr_pfns: int) -> MemMap:
        """Zero-filled arrays for *nr_pfns* pages (host memory is committed lazily)."""
        arrays = {
            "flags_a": np.zeros(nr_pfns, dtype=np.uint32),
            "refcount_a": np.zeros(nr_pfns, dtype=np.int32),
            "mapcount1_a": np.zeros(nr_pfns, dtype=np.int32),
            "page_type_a": np.zeros(nr_pfns, dtype=np.uint8),
            "private_a": np.zeros(nr_pfns, dtype=np.int64),
            "mapping_a": np.zeros(nr_pfns, dtype=np.int32),
            "index_a": np.zeros(nr_pfns, dtype=np.int64),
            "compound_head1_a": np.zeros(nr_pfns, dtype=np.int32),
            "compound_order_a": np.zeros(nr_pfns, dtype=np.uint8),
            "lru_next_a": np.zeros(nr_pfns, dtype=np.int32),
            "lru_prev_a": np.zeros(nr_pfns, dtype=np.int32),
        }
        views = {k[:-2]: memoryview(v) for k, v in arrays.items()}  # type: ignore[arg-type]
        byte_views = {f"{k}_b": memoryview(arrays[f"{k}_a"]).cast("B")  # type: ignore[arg-type]
                      for k in ("flags", "refcount", "mapcount1", "mapping")}
        return cls(nr_pfns=nr_pfns, **arrays, **views, **byte_views)  # type: ignore[arg-type]

    def range_is_clean(self, start: int, end: int) -> bool:
        """
        True when pages ``[start, end)`` have no flags, references, mappings or types: the
        state free_pages_prepare() expects of every tail page (one memcmp per field).
        """
        n = end - start
        z4 = _ZEROS[:4 * n]
        return (self.flags_b[4 * start:4 * end].tobytes() == z4
                and self.refcount_b[4 * start:4 * end].tobytes() == z4
                and self.mapcount1_b[4 * start:4 * end].tobytes() == z4
                and self.mapping_b[4 * start:4 * end].tobytes() == z4
                and self.page_type[start:end].tobytes() == _ZEROS[:n])

    def reset_page(self, pfn: int) -> None:
        """Clear every field of one page (the state of a free buddy page)."""
        self.flags[pfn] = 0
        self.refcount[pfn] = 0
        self.mapcount1[pfn] = 0
        self.page_type[pfn] = 0
        self.private[pfn] = 0
        self.mapping[pfn] = 0
        self.index[pfn] = 0
        self.compound_head1[pfn] = 0
        self.compound_order[pfn] = 0


# ---- address spaces (include/linux/mm_types.h: vm_area_struct, mm_struct) -----------

MM_FILEPAGES = 0
MM_ANONPAGES = 1
MM_SWAPENTS = 2
MM_SHMEMPAGES = 3
NR_MM_COUNTERS = 4

#: page->mapping low bit for anonymous folios (PAGE_MAPPING_ANON), KSM adds bit 1
PAGE_MAPPING_ANON = 0x1
PAGE_MAPPING_KSM = 0x2


@dataclass(slots=True, eq=False)
class VmAreaStruct:
    """struct vm_area_struct: one mapping ``[vm_start, vm_end)`` of an mm."""

    vm_start: int
    vm_end: int
    vm_mm: MmStruct
    vm_flags: int
    vm_pgoff: int
    #: the struct file mapped (fs/file.py File), None for anonymous memory
    vm_file: Any = None
    #: struct anon_vma (mm/rmap.py AnonVma), allocated on the first anonymous fault
    anon_vma: Any = None
    #: anon_vma_chain entries linking this VMA to every anon_vma it may hold pages of
    anon_vma_chain: list[Any] = field(default_factory=list)
    #: PTE template (include/pgtable_types.py vm_get_page_prot)
    vm_page_prot: int = 0
    #: vm_operations_struct (mm/memory.py VmOps); None for private anonymous VMAs
    vm_ops: Any = None
    #: special mappings ([vdso], [vvar]) name them through vm_ops->name
    special_name: str | None = None
    #: swap_readahead_info: last fault address, window and hits of VMA swap readahead
    swap_readahead_info: int = 0

    @property
    def nr_pages(self) -> int:
        return (self.vm_end - self.vm_start) >> 12

    def vma_is_anonymous(self) -> bool:
        return self.vm_ops is None

    def linear_page_index(self, addr: int) -> int:
        return ((addr - self.vm_start) >> 12) + self.vm_pgoff

    def __repr__(self) -> str:
        return (f"<vma {self.vm_start:#x}-{self.vm_end:#x} flags={self.vm_flags:#x} "
                f"pgoff={self.vm_pgoff:#x}{' file' if self.vm_file else ''}>")


@dataclass(slots=True, eq=False)
class MmStruct:
    """struct mm_struct: a process address space (VMAs, page tables, counters)."""

    #: VMAs sorted by address. # SIM: a Python list searched with bisect stands in for the
    #: maple tree (find_vma and friends keep their semantics, mm/mmap.py)
    vmas: list[VmAreaStruct] = field(default_factory=list)
    #: the page tables (mm/pgtable.py PgTable), allocated by mm_alloc
    pgd: Any = None
    map_count: int = 0
    total_vm: int = 0
    locked_vm: int = 0
    pinned_vm: int = 0
    data_vm: int = 0
    exec_vm: int = 0
    stack_vm: int = 0
    hiwater_rss: int = 0
    hiwater_vm: int = 0
    rss_stat: list[int] = field(default_factory=lambda: [0] * NR_MM_COUNTERS)
    pgtables_bytes: int = 0
    def_flags: int = 0
    mmap_base: int = 0
    mmap_legacy_base: int = 0
    task_size: int = 0
    start_code: int = 0
    end_code: int = 0
    start_data: int = 0
    end_data: int = 0
    start_brk: int = 0
    brk: int = 0
    start_stack: int = 0
    arg_start: int = 0
    arg_end: int = 0
    env_start: int = 0
    env_end: int = 0
    mm_users: int = 1
    mm_count: int = 1
    #: MMF_* bits (MMF_VM_MERGEABLE, MMF_VM_MERGE_ANY, MMF_HAS_MDWE, ...)
    flags: int = 0
    #: the task that owns this mm (kernel/task.py TaskStruct)
    owner: Any = None
    #: KSM per-mm counters (mm/ksm.py)
    ksm_merging_pages: int = 0
    ksm_rmap_items: int = 0
    ksm_zero_pages: int = 0

    def get_mm_counter(self, member: int) -> int:
        return self.rss_stat[member]

    def get_mm_rss(self) -> int:
        r = self.rss_stat
        return r[MM_FILEPAGES] + r[MM_ANONPAGES] + r[MM_SHMEMPAGES]
