"""
shmem/tmpfs objects (mm/shmem.c, mm/memfd.c, 6.12): memfds and the "/dev/zero" file behind
every MAP_SHARED|MAP_ANONYMOUS mapping. Their pages live only in the page cache
(mm/filemap.py), swap-backed (PG_swapbacked), counted in NR_FILE_PAGES and NR_SHMEM
(meminfo Cached and Shmem; the mapping process counts them in RssShmem, see
``is_shmem``). Pages are allocated zeroed on first touch (shmem_fault, write()); reading a
hole with read() allocates nothing.

Under memory pressure reclaim writes shmem pages to swap (``shmem_writeout``): the page
leaves the page cache for the swap cache and the mapping keeps the swap entry in its slot
(``AddressSpace.swapped``, the xarray's swap value entries); the next lookup
(``shmem_get_folio``: a fault, read(), write()) reads it back (``shmem_swapin_folio``).
Truncation frees the entries, swapoff brings them back (``shmem_unuse``).

# SIM: no huge pages (shmem_enabled=never, as the oracle's machine), no size limits /
# shmem_acct accounting, no mempolicies; a shmem swap-in reads one slot (no
# swap_cluster_readahead); the slot's mapping reference is an ordinary count of 1, not
# SWAP_MAP_SHMEM.
"""

from __future__ import annotations

from errno import EFAULT, EINVAL, EPERM
from typing import TYPE_CHECKING, Any

from memsim.fs.file import O_RDWR, File, fput
from memsim.fs.inode import (
    F_SEAL_FUTURE_WRITE,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    KIND_MEMFD,
    KIND_SHMEM_ZERO,
    Inode,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.mm.filemap import (
    PAGE_SHIFT,
    PAGE_SIZE,
    AddressSpace,
    PG_dirty,
    PG_swapbacked,
    PG_uptodate,
    _node_mod,
    filemap_add_folio,
    filemap_alloc_folio,
    filemap_map_pages,
    filemap_unaccount_folio,
    mapping_of_pfn,
    page_read,
)
from memsim.mm.memory import VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_SIGBUS, VmOps
from memsim.mm.truncate import truncate_inode_pages_range, unmap_mapping_range

if TYPE_CHECKING:
    from memsim.include.mm_types import VmAreaStruct
    from memsim.machine import Machine

# enum sgp_type
SGP_READ = 0        # don't exceed i_size, don't allocate page
SGP_NOALLOC = 1     # similar, but fail on hole or use fallocated page
SGP_CACHE = 2       # don't exceed i_size, may allocate page
SGP_WRITE = 3       # may exceed i_size, may allocate !Uptodate page
SGP_FALLOC = 4      # like SGP_WRITE, but make existing page Uptodate

# memfd_create flags (include/uapi/linux/memfd.h)
MFD_CLOEXEC = 0x0001
MFD_ALLOW_SEALING = 0x0002
MFD_HUGETLB = 0x0004
MFD_NOEXEC_SEAL = 0x0008
MFD_EXEC = 0x0010
MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC
MFD_NAME_PREFIX = "memfd:"
MFD_NAME_MAX_LEN = 255 - len(MFD_NAME_PREFIX)


def shmem_mapping(mapping: Any) -> bool:
    """shmem_mapping()"""
    return isinstance(mapping, AddressSpace) and mapping.is_shmem


def is_shmem(mapping: Any) -> bool:
    """Pages of this mapping count as Shmem (meminfo) and RssShmem (the mapping mm)."""
    return shmem_mapping(mapping)


def shmem_get_folio(m: Machine, inode: Inode, index: int, sgp: int) -> int | None:
    """
    shmem_get_folio_gfp(): the page at *index*, allocated (GFP_HIGHUSER_MOVABLE, the
    mapping's mask) and zeroed if missing and *sgp* allows it. None for a hole under
    SGP_READ / SGP_NOALLOC. Raises nothing: -EINVAL past i_size and -ENOMEM come back as
    negative ints.
    """
    mapping = inode.i_mapping
    if sgp <= SGP_CACHE and index << PAGE_SHIFT >= inode.i_size:
        return -EINVAL
    pfn = mapping.i_pages.get(index)
    if pfn is not None:
        return pfn
    if mapping.swapped and index in mapping.swapped:
        return shmem_swapin_folio(m, mapping, index)
    if sgp in (SGP_READ, SGP_NOALLOC):
        return None
    pfn = filemap_alloc_folio(m, mapping.gfp_mask)
    if pfn is None:
        from errno import ENOMEM
        return -ENOMEM
    filemap_add_folio(m, mapping, pfn, index)      # shmem_add_to_page_cache()
    if sgp != SGP_WRITE:
        m.page_data.pop(pfn, None)                 # clear_highpage()
        m.mem_map.flags[pfn] |= PG_uptodate        # folio_mark_uptodate()
    return pfn


def shmem_fault(m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
    """shmem_fault(): the page (allocated zeroed if missing) with a reference for the
    caller; VM_FAULT_SIGBUS past EOF. Never a major fault without swap."""
    inode: Inode = vma.vm_file.f_inode
    mapping = inode.i_mapping
    major = bool(mapping.swapped) and pgoff in mapping.swapped and \
        pgoff << PAGE_SHIFT < inode.i_size
    pfns_in = m.vm_event[VmEventItem.PSWPIN]
    pfn = shmem_get_folio(m, inode, pgoff, SGP_CACHE)
    if pfn is None or pfn < 0:
        return -1, VM_FAULT_SIGBUS if pfn == -EINVAL else VM_FAULT_OOM
    m.mem_map.refcount[pfn] += 1
    if major and m.vm_event[VmEventItem.PSWPIN] != pfns_in:
        m.vm_event[VmEventItem.PGMAJFAULT] += 1         # read from the swap device
        return pfn, VM_FAULT_MAJOR
    return pfn, 0


class ShmemVmOps(VmOps):
    """shmem_vm_ops / shmem_anon_vm_ops: shmem_fault, filemap_map_pages, no page_mkwrite
    (shmem does not account dirty pages)."""

    name = None
    dirty_accounting = False

    def fault(self, m: Machine, vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, int]:
        return shmem_fault(m, vma, pgoff, flags)

    def map_pages(self, m: Machine, vma: VmAreaStruct, start_pgoff: int,
                  end_pgoff: int) -> list[tuple[int, int]]:
        return filemap_map_pages(m, vma, start_pgoff, end_pgoff)

    def is_shmem(self) -> bool:
        return True


shmem_vm_ops = ShmemVmOps()
shmem_anon_vm_ops = ShmemVmOps()


def shmem_mmap(m: Machine, file: File, vma: VmAreaStruct) -> int:
    """shmem_mmap(): memfd seals, file_accessed, shmem_vm_ops."""
    inode = file.f_inode
    from memsim.include.mm import VM_MAYWRITE, VM_SHARED, VM_WRITE
    if inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) and vma.vm_flags & VM_SHARED:
        # memfd_check_seals_mmap(): a shared writable map is refused, else no MAYWRITE
        if vma.vm_flags & VM_WRITE:
            return -EPERM
        vma.vm_flags &= ~VM_MAYWRITE
    vma.vm_ops = shmem_vm_ops
    return 0


def shmem_file_setup(m: Machine, name: str, size: int, kind: str) -> File:
    """__shmem_file_setup() on shm_mnt: a new unlinked shmem inode and an O_RDWR file."""
    vfs = m.vfs
    inode = vfs.new_inode(vfs.shm_sb, kind, name, shmem=True)
    inode.i_size = size
    inode.i_nlink = 0       # never linked: the last fput evicts it
    file: File = vfs.new_file(inode, O_RDWR)
    return file


def shmem_kernel_file_setup(m: Machine, name: str, size: int) -> File:
    """shmem_kernel_file_setup(): an S_PRIVATE shmem file (the /dev/zero object)."""
    return shmem_file_setup(m, name, size, KIND_SHMEM_ZERO)


def shmem_zero_setup(m: Machine, vma: VmAreaStruct) -> int:
    """
    shmem_zero_setup(): a MAP_SHARED|MAP_ANONYMOUS VMA gets its own "dev/zero" shmem file
    of the VMA's size (maps: "/dev/zero (deleted)") and shmem_anon_vm_ops. The VMA owns
    the file's reference.
    """
    size = vma.vm_end - vma.vm_start
    file = shmem_kernel_file_setup(m, "dev/zero", size)
    if vma.vm_file is not None:
        fput(m, vma.vm_file)
    vma.vm_file = file
    vma.vm_ops = shmem_anon_vm_ops
    return 0


def memfd_create(m: Machine, name: str, flags: int) -> File | int:
    """memfd_create(): a shmem file "memfd:NAME" (-EINVAL for bad flags or a long name).
    The caller installs it in the fd table (MFD_CLOEXEC -> O_CLOEXEC)."""
    if flags & ~MFD_ALL_FLAGS:
        return -EINVAL
    if flags & MFD_HUGETLB:
        return -EINVAL      # SIM: hugetlbfs is not modelled
    if flags & MFD_EXEC and flags & MFD_NOEXEC_SEAL:
        return -EINVAL
    if len(name.encode()) > MFD_NAME_MAX_LEN:
        return -EINVAL
    file = shmem_file_setup(m, MFD_NAME_PREFIX + name, 0, KIND_MEMFD)
    if not flags & MFD_ALLOW_SEALING:
        file.f_inode.seals |= F_SEAL_SEAL
    return file


def shmem_file_read(m: Machine, file: File, pos: int, count: int) -> tuple[bytes, int] | int:
    """shmem_file_read_iter(): holes read as zeros (ZERO_PAGE) without allocating."""
    inode = file.f_inode
    out = bytearray()
    while count > 0 and pos < inode.i_size:
        index = pos >> PAGE_SHIFT
        offset = pos & (PAGE_SIZE - 1)
        nbytes = min(PAGE_SIZE - offset, count, inode.i_size - pos)
        pfn = shmem_get_folio(m, inode, index, SGP_READ)
        if pfn is not None and pfn < 0:
            if not out:
                return pfn if pfn != -EINVAL else -EFAULT
            break
        if pfn is None:
            out += bytes(nbytes)
        else:
            out += page_read(m, pfn)[offset:offset + nbytes]
        pos += nbytes
        count -= nbytes
    return bytes(out), pos


def shmem_truncate_range(m: Machine, inode: Inode, lstart: int, lend: int) -> None:
    """shmem_truncate_range() -> shmem_undo_range(): free the pages inside, zero partial
    pages (dirty shmem pages go too: they are not accounted as dirty); swap entries in
    the range are freed (truncate_inode_pages_range calls shmem_free_swap_range)."""
    truncate_inode_pages_range(m, inode.i_mapping, lstart, lend)


# ---- swap ---------------------------------------------------------------------------------

#: AOP_WRITEPAGE_ACTIVATE: the folio stays (redirtied) and reclaim activates it
AOP_WRITEPAGE_ACTIVATE = 0x80000


def shmem_swaplist(m: Machine) -> dict[int, AddressSpace]:
    """shmem_swaplist: the shmem mappings that have pages out on swap (by handle)."""
    sl: dict[int, AddressSpace] | None = getattr(m, "shmem_swaplist", None)
    if sl is None:
        sl = {}
        m.shmem_swaplist = sl  # type: ignore[attr-defined]
    return sl


def shmem_writeout(m: Machine, pfn: int) -> int:
    """
    shmem_writepage() for reclaim's pageout() (the folio is unmapped, isolated and was
    just cleaned by folio_clear_dirty_for_io): a swap slot, the swap cache, the page cache
    slot replaced by the swap entry (shmem_delete_from_page_cache), then swap_writepage.
    Without swap or a free slot the folio is redirtied and stays (AOP_WRITEPAGE_ACTIVATE).
    """
    from memsim.mm.page_io import swap_writepage
    from memsim.mm.swap_state import add_to_swap_cache
    from memsim.mm.swapfile import folio_alloc_swap, swap_duplicate, swap_state
    mem = m.mem_map
    mapping = mapping_of_pfn(m, pfn)
    st = swap_state(m)
    entry = 0
    if mapping is not None and st.total_swap_pages and not mem.compound_head1[pfn]:
        entry = folio_alloc_swap(m, pfn)
    if not entry:
        mem.flags[pfn] |= PG_dirty                   # redirty: folio_mark_dirty()
        return AOP_WRITEPAGE_ACTIVATE
    assert mapping is not None
    index = int(mem.index[pfn])
    add_to_swap_cache(m, pfn, entry)
    swap_duplicate(m, entry)                         # swap_shmem_alloc(): the slot's count
    # shmem_delete_from_page_cache(folio, swp_to_radix_entry(swap))
    del mapping.i_pages[index]
    mapping.nrpages -= 1
    filemap_unaccount_folio(m, mapping, pfn)
    mem.mapping[pfn] = 0
    mem.refcount[pfn] -= 1                           # the page cache's reference
    mapping.swapped[index] = entry                   # info->swapped++
    shmem_swaplist(m)[mapping.handle] = mapping
    mem.flags[pfn] |= PG_swapbacked
    return swap_writepage(m, pfn)


def shmem_swapin_folio(m: Machine, mapping: AddressSpace, index: int) -> int:
    """
    shmem_swapin_folio(): the swap-cache folio of the slot (read from the device when it
    is not cached) goes back into the page cache at *index*, dirty, its slot freed. The
    PFN (no reference for the caller), or -ENOMEM.
    """
    from errno import ENOMEM

    from memsim.mm.swap_state import delete_from_swap_cache, read_swap_cache_async
    from memsim.mm.swapfile import swap_free
    entry = mapping.swapped[index]
    pfn = read_swap_cache_async(m, entry, mapping.gfp_mask)     # with a reference
    if pfn is None:
        return -ENOMEM
    mem = m.mem_map
    # shmem_add_to_page_cache(folio, mapping, index, swp_to_radix_entry(swap))
    mem.mapping[pfn] = mapping.handle
    mem.index[pfn] = index
    mem.flags[pfn] |= PG_swapbacked | PG_uptodate
    mapping.i_pages[index] = pfn
    mapping.nrpages += 1
    mem.refcount[pfn] += 1                           # the page cache's reference
    _node_mod(m, pfn, NodeStatItem.NR_FILE_PAGES, 1)
    _node_mod(m, pfn, NodeStatItem.NR_SHMEM, 1)
    del mapping.swapped[index]                       # shmem_recalc_inode(inode, 0, -1)
    if not mapping.swapped:
        shmem_swaplist(m).pop(mapping.handle, None)
    delete_from_swap_cache(m, pfn)
    mem.flags[pfn] |= PG_dirty                       # folio_mark_dirty()
    swap_free(m, entry)
    mem.refcount[pfn] -= 1                           # the lookup's reference
    return pfn


def shmem_free_swap_range(m: Machine, mapping: AddressSpace, start: int, end: int) -> None:
    """shmem_undo_range()'s shmem_free_swap(): the swap entries of indices [start, end)."""
    from memsim.mm.swapfile import free_swap_and_cache, swp_entry_to_pte
    for index in sorted(i for i in mapping.swapped if start <= i < end):
        entry = mapping.swapped.pop(index)
        free_swap_and_cache(m, swp_entry_to_pte(entry))
    if not mapping.swapped:
        shmem_swaplist(m).pop(mapping.handle, None)


def shmem_unuse(m: Machine, swap_type: int) -> int:
    """shmem_unuse(): swapoff brings every shmem page on device *swap_type* back in;
    0 or -ENOMEM."""
    from memsim.mm.swapfile import swp_type
    for mapping in list(shmem_swaplist(m).values()):
        for index in sorted(i for i, e in mapping.swapped.items() if swp_type(e) == swap_type):
            if shmem_swapin_folio(m, mapping, index) < 0:
                from errno import ENOMEM
                return -ENOMEM
    return 0


def shmem_setattr_size(m: Machine, inode: Inode, newsize: int) -> int:
    """The size part of shmem_setattr(): seals, i_size, unmap + truncate when shrinking."""
    oldsize = inode.i_size
    if (newsize < oldsize and inode.seals & F_SEAL_SHRINK) or \
            (newsize > oldsize and inode.seals & F_SEAL_GROW):
        return -EPERM
    inode.i_size = newsize
    if newsize <= oldsize:
        holebegin = (newsize + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        if oldsize > holebegin:
            unmap_mapping_range(m, inode.i_mapping, holebegin, 0, True)
        if inode.i_mapping.nrpages:
            shmem_truncate_range(m, inode, newsize, -1)
        if oldsize > holebegin:
            unmap_mapping_range(m, inode.i_mapping, holebegin, 0, True)
    return 0


def shmem_punch_hole(m: Machine, inode: Inode, offset: int, length: int) -> int:
    """shmem_fallocate(FALLOC_FL_PUNCH_HOLE): unmap the whole pages (not COW copies), then
    free them and zero the partial ends. What MADV_REMOVE does on shmem."""
    if inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
        return -EPERM
    unmap_start = (offset + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    unmap_end = ((offset + length) & ~(PAGE_SIZE - 1)) - 1
    if unmap_end > unmap_start:
        unmap_mapping_range(m, inode.i_mapping, unmap_start, 1 + unmap_end - unmap_start,
                            False)
    shmem_truncate_range(m, inode, offset, offset + length - 1)
    return 0
