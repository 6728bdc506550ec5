"""
VMA merging and splitting (mm/vma.c, mm/vma.h): the rules that decide whether a new or
changed range joins its neighbours, and split_vma().

The merge rules follow 6.12 (virtual.md §2.5) with the anon_vma compatibility test of the
6.18 kernel the oracle was recorded on ("mm/vma: fix incorrectly disallowed anonymous VMA
merges"): a VMA whose anon_vma is shared with a fork parent (more than one chain entry)
never gives or takes an anon_vma in a merge; otherwise one side without an anon_vma is
compatible with any anon_vma. Lookups and the VMA list are in mm/mmap.py.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from memsim.include.mm import (
    VM_ACCOUNT,
    VM_EXEC,
    VM_LOCKED,
    VM_READ,
    VM_SOFTDIRTY,
    VM_SPECIAL,
    VM_WRITE,
    is_data_mapping,
    is_exec_mapping,
    is_stack_mapping,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct

if TYPE_CHECKING:
    from memsim.machine import Machine

_vm_end = attrgetter("vm_end")
_vm_start = attrgetter("vm_start")


class VmaError(Exception):
    """An errno from a VMA operation (split over max_map_count, ...)."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


# ---- the VMA list ------------------------------------------------------------------------

def vma_index(mm: MmStruct, addr: int) -> int:
    """Index of the first VMA with vm_end > addr (len(vmas) if none)."""
    return bisect_right(mm.vmas, addr, key=_vm_end)


def find_vma(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """find_vma(): the first VMA with ``vm_end > addr`` (it may start above addr)."""
    vmas = mm.vmas
    i = bisect_right(vmas, addr, key=_vm_end)
    return vmas[i] if i < len(vmas) else None


def vma_lookup(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """vma_lookup(): the VMA containing *addr*, or None."""
    vmas = mm.vmas
    i = bisect_right(vmas, addr, key=_vm_end)
    if i < len(vmas) and vmas[i].vm_start <= addr:
        return vmas[i]
    return None


def find_vma_prev(mm: MmStruct, addr: int) -> tuple[VmAreaStruct | None, VmAreaStruct | None]:
    """find_vma_prev(): (find_vma(addr), the VMA before it)."""
    vmas = mm.vmas
    i = bisect_right(vmas, addr, key=_vm_end)
    vma = vmas[i] if i < len(vmas) else None
    prev = vmas[i - 1] if i > 0 else None
    return vma, prev


def find_vma_intersection(mm: MmStruct, start: int, end: int) -> VmAreaStruct | None:
    vma = find_vma(mm, start)
    if vma is not None and vma.vm_start < end:
        return vma
    return None


def vma_pos(mm: MmStruct, vma: VmAreaStruct) -> int:
    """Where *vma* sits in ``mm.vmas``: a bisect on vm_start (starts stay sorted even while
    a merge is adjusting bounds); the linear search only if a merge has made two VMAs
    start at the same address for a moment."""
    vmas = mm.vmas
    i = bisect_left(vmas, vma.vm_start, key=_vm_start)
    if i < len(vmas) and vmas[i] is vma:
        return i
    return vmas.index(vma)


def vma_prev(mm: MmStruct, vma: VmAreaStruct) -> VmAreaStruct | None:
    i = vma_pos(mm, vma)
    return mm.vmas[i - 1] if i > 0 else None


def vma_next(mm: MmStruct, vma: VmAreaStruct) -> VmAreaStruct | None:
    i = vma_pos(mm, vma)
    return mm.vmas[i + 1] if i + 1 < len(mm.vmas) else None


def vmas_in_range(mm: MmStruct, start: int, end: int) -> list[VmAreaStruct]:
    """Every VMA overlapping ``[start, end)``, in address order."""
    vmas = mm.vmas
    i = bisect_right(vmas, start, key=_vm_end)
    out = []
    while i < len(vmas) and vmas[i].vm_start < end:
        out.append(vmas[i])
        i += 1
    return out


def vma_link(mm: MmStruct, vma: VmAreaStruct) -> None:
    """Insert *vma* into the tree and the file's i_mmap; map_count += 1."""
    vmas = mm.vmas
    vmas.insert(bisect_right(vmas, vma.vm_start, key=_vm_end), vma)
    mm.map_count += 1
    if vma.vm_file is not None:
        i_mmap_insert(vma)


def vma_unlink(mm: MmStruct, vma: VmAreaStruct) -> None:
    """Remove *vma* from the tree and i_mmap; map_count -= 1."""
    del mm.vmas[vma_pos(mm, vma)]
    mm.map_count -= 1
    if vma.vm_file is not None:
        i_mmap_remove(vma)


def i_mmap_insert(vma: VmAreaStruct) -> None:
    mapping = vma.vm_file.f_mapping
    lst: list[VmAreaStruct] | None = getattr(mapping, "i_mmap", None)
    if lst is None:
        lst = []
        mapping.i_mmap = lst
    lst.append(vma)


def i_mmap_remove(vma: VmAreaStruct) -> None:
    lst = getattr(vma.vm_file.f_mapping, "i_mmap", None)
    if lst is not None and vma in lst:
        lst.remove(vma)


# ---- accounting --------------------------------------------------------------------------

def vm_stat_account(mm: MmStruct, flags: int, npages: int) -> None:
    """vm_stat_account(): total_vm and the exec/stack/data split."""
    mm.total_vm += npages
    if is_exec_mapping(flags):
        mm.exec_vm += npages
    elif is_stack_mapping(flags):
        mm.stack_vm += npages
    elif is_data_mapping(flags):
        mm.data_vm += npages
    if mm.total_vm > mm.hiwater_vm:
        mm.hiwater_vm = mm.total_vm


# ---- merge rules -------------------------------------------------------------------------

def vma_had_uncowed_parents(vma: VmAreaStruct | None) -> bool:
    return vma is not None and vma.anon_vma is not None and len(vma.anon_vma_chain) != 1


def is_mergeable_anon_vma(src_anon: Any, src: VmAreaStruct | None,
                          tgt: VmAreaStruct) -> bool:
    """6.18 is_mergeable_anon_vma(): may *tgt* and the range (anon_vma *src_anon*) merge?"""
    tgt_anon = tgt.anon_vma
    if tgt_anon is None and src_anon is not None:
        return not vma_had_uncowed_parents(src)
    if tgt_anon is not None and src_anon is None:
        return not vma_had_uncowed_parents(tgt)
    return src_anon is tgt_anon


def is_mergeable_vma(vma: VmAreaStruct, flags: int, file: Any) -> bool:
    return ((vma.vm_flags ^ flags) & ~VM_SOFTDIRTY) == 0 and vma.vm_file is file \
        and vma.special_name is None


def can_merge_remove_vma(vma: VmAreaStruct) -> bool:
    ops = vma.vm_ops
    return ops is None or getattr(ops, "close", None) is None


def _can_merge_after(prev: VmAreaStruct, flags: int, file: Any, pgoff: int, anon: Any,
                     src: VmAreaStruct | None) -> bool:
    return (is_mergeable_vma(prev, flags, file) and is_mergeable_anon_vma(anon, src, prev)
            and prev.vm_pgoff + prev.nr_pages == pgoff)


def _can_merge_before(nxt: VmAreaStruct, flags: int, file: Any, pgoff: int, pglen: int,
                      anon: Any, src: VmAreaStruct | None) -> bool:
    return (is_mergeable_vma(nxt, flags, file) and is_mergeable_anon_vma(anon, src, nxt)
            and nxt.vm_pgoff == pgoff + pglen)


def _anon_compatible(a: VmAreaStruct, b: VmAreaStruct) -> bool:
    return a.anon_vma is None or b.anon_vma is None or a.anon_vma is b.anon_vma


def dup_anon_vma(m: Machine, dst: VmAreaStruct, src: VmAreaStruct) -> None:
    """dup_anon_vma(): *dst* takes over *src*'s anon_vma when it has none."""
    from memsim.mm.rmap import anon_vma_clone
    if src.anon_vma is not None and dst.anon_vma is None:
        dst.anon_vma = src.anon_vma
        anon_vma_clone(dst, src)


def vma_merge_new_range(m: Machine, mm: MmStruct, prev: VmAreaStruct | None,
                        nxt: VmAreaStruct | None, start: int, end: int, flags: int,
                        file: Any, pgoff: int, anon_vma: Any = None,
                        src: VmAreaStruct | None = None) -> VmAreaStruct | None:
    """
    vma_merge_new_range(): extend *prev* and/or *nxt* over the new range ``[start, end)``
    instead of creating a VMA; returns the VMA now covering it, or None.
    """
    if flags & VM_SPECIAL:
        return None
    pglen = (end - start) >> 12
    left = (prev is not None and prev.vm_end == start
            and _can_merge_after(prev, flags, file, pgoff, anon_vma, src))
    right = (nxt is not None and nxt.vm_start == end
             and _can_merge_before(nxt, flags, file, pgoff, pglen, anon_vma, src))
    if left and right:
        assert prev is not None and nxt is not None
        right = _anon_compatible(prev, nxt) and can_merge_remove_vma(nxt)
    if left and right:
        assert prev is not None and nxt is not None
        dup_anon_vma(m, prev, nxt)
        _remove_merged(m, mm, nxt)
        prev.vm_end = nxt.vm_end
        return prev
    if left:
        assert prev is not None
        prev.vm_end = end
        return prev
    if right:
        assert nxt is not None
        nxt.vm_start = start
        nxt.vm_pgoff = pgoff
        return nxt
    return None


def _remove_merged(m: Machine, mm: MmStruct, vma: VmAreaStruct) -> None:
    """A VMA swallowed by a merge: off the tree, its anon_vma links dropped."""
    from memsim.mm.rmap import unlink_anon_vmas
    vma_unlink(mm, vma)
    unlink_anon_vmas(m, vma)
    if vma.vm_file is not None:
        from memsim.fs.file import fput  # (fs/file.py imports the mm layer: late import)
        fput(m, vma.vm_file)


def vma_merge_existing_range(m: Machine, mm: MmStruct, vma: VmAreaStruct,
                             prev: VmAreaStruct | None, start: int, end: int,
                             flags: int) -> VmAreaStruct | None:
    """
    vma_merge_existing_range(): ``[start, end)`` of *vma* gets *flags*; merge it with the
    neighbour(s) it touches if they are compatible. Returns the merged VMA or None.
    """
    left_side = start == vma.vm_start
    right_side = end == vma.vm_end
    if flags & VM_SPECIAL or (not left_side and not right_side):
        return None
    file = vma.vm_file
    anon = vma.anon_vma
    pgoff = vma.vm_pgoff + ((start - vma.vm_start) >> 12)
    pglen = (end - start) >> 12
    merge_left = (left_side and prev is not None and prev.vm_end == start
                  and _can_merge_after(prev, flags, file, pgoff, anon, vma))
    nxt = vma_next(mm, vma) if right_side else None
    merge_right = (nxt is not None and nxt.vm_start == end
                   and _can_merge_before(nxt, flags, file, pgoff, pglen, anon, vma))
    if merge_left and merge_right:
        assert prev is not None and nxt is not None
        merge_right = _anon_compatible(prev, nxt)
    if not merge_left and not merge_right:
        return None
    merge_will_delete_vma = left_side and right_side
    if merge_will_delete_vma and not can_merge_remove_vma(vma):
        return None
    merge_both = merge_left and merge_right
    if merge_both and nxt is not None and not can_merge_remove_vma(nxt):
        merge_right = merge_both = False
    if merge_both:
        assert prev is not None and nxt is not None
        dup_anon_vma(m, prev, nxt if nxt.anon_vma is not None else vma)
        _remove_merged(m, mm, vma)
        _remove_merged(m, mm, nxt)
        prev.vm_end = nxt.vm_end
        return prev
    if merge_left:
        assert prev is not None
        dup_anon_vma(m, prev, vma)
        prev.vm_end = end
        if merge_will_delete_vma:
            _remove_merged(m, mm, vma)
        else:
            vma.vm_pgoff += (end - vma.vm_start) >> 12
            vma.vm_start = end
        return prev
    assert nxt is not None
    dup_anon_vma(m, nxt, vma)
    nxt.vm_pgoff -= pglen
    nxt.vm_start = start
    if merge_will_delete_vma:
        _remove_merged(m, mm, vma)
    else:
        vma.vm_end = start
    return nxt


# ---- splitting ---------------------------------------------------------------------------

def vma_dup(vma: VmAreaStruct) -> VmAreaStruct:
    """vm_area_dup(): a copy of *vma* (no anon_vma chains yet)."""
    new = VmAreaStruct(vma.vm_start, vma.vm_end, vma.vm_mm, vma.vm_flags, vma.vm_pgoff,
                       vma.vm_file, vma.anon_vma, [], vma.vm_page_prot, vma.vm_ops,
                       vma.special_name)
    if new.vm_file is not None:
        from memsim.fs.file import get_file
        get_file(new.vm_file)
    return new


def __split_vma(m: Machine, mm: MmStruct, vma: VmAreaStruct, addr: int,
                new_below: bool) -> VmAreaStruct:
    """
    __split_vma(): cut *vma* at *addr*; the new VMA is the part below *addr* when
    *new_below*, else the part above. Returns the new VMA. THP PMDs straddling *addr*
    are split first.
    """
    from memsim.mm.rmap import anon_vma_clone
    ops = vma.vm_ops
    may_split = getattr(ops, "may_split", None) if ops is not None else None
    if may_split is not None:
        err = may_split(vma, addr)
        if err:
            raise VmaError(-err)
    split_huge_pmd_address(m, vma, addr)
    new = vma_dup(vma)
    if new_below:
        new.vm_end = addr
    else:
        new.vm_start = addr
        new.vm_pgoff += (addr - vma.vm_start) >> 12
    anon_vma_clone(new, vma)
    if new_below:
        vma.vm_pgoff += (addr - vma.vm_start) >> 12
        vma.vm_start = addr
    else:
        vma.vm_end = addr
    vma_link(mm, new)
    return new


def split_vma(m: Machine, mm: MmStruct, vma: VmAreaStruct, addr: int,
              new_below: bool) -> VmAreaStruct:
    """split_vma(): as __split_vma, refused with ENOMEM at vm.max_map_count."""
    if mm.map_count >= m.sysctl_max_map_count():
        raise VmaError(12)
    return __split_vma(m, mm, vma, addr, new_below)


def vma_modify_flags(m: Machine, mm: MmStruct, vma: VmAreaStruct,
                     prev: VmAreaStruct | None, start: int, end: int,
                     flags: int) -> VmAreaStruct:
    """
    vma_modify_flags(): the VMA that covers exactly ``[start, end)`` of *vma* and will
    get *flags* — merged into a neighbour if possible, else split off *vma*. The caller
    sets vm_flags on the result. Raises VmaError(ENOMEM) when a split is refused.
    """
    merged = vma_merge_existing_range(m, mm, vma, prev, start, end, flags)
    if merged is not None:
        return merged
    if vma.vm_start < start:
        split_vma(m, mm, vma, start, new_below=True)
    if vma.vm_end > end:
        split_vma(m, mm, vma, end, new_below=False)
    return vma


def split_huge_pmd_address(m: Machine, vma: VmAreaStruct, addr: int) -> None:
    """Split a huge PMD that maps across *addr* (mm/huge_memory.py when THP is mapped)."""
    pgd = vma.vm_mm.pgd
    if pgd is None or not pgd.huge:
        return
    key = addr >> pgd.pmd_shift
    if key in pgd.huge and addr & ((1 << pgd.pmd_shift) - 1):
        from memsim.mm.huge_memory import split_huge_pmd
        split_huge_pmd(m, vma, key << pgd.pmd_shift)


def vma_is_accessible(vma: VmAreaStruct) -> bool:
    return bool(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))


def vma_locked_pages_delta(vma: VmAreaStruct) -> int:
    return vma.nr_pages if vma.vm_flags & VM_LOCKED else 0


__all__ = ["VM_ACCOUNT", "VmaError", "find_vma", "vma_lookup", "split_vma",
           "vma_merge_new_range", "vma_merge_existing_range", "vma_modify_flags"]


def anon_vma_compatible(a: VmAreaStruct, b: VmAreaStruct) -> bool:
    return (a.vm_end == b.vm_start and a.vm_file is b.vm_file
            and not ((a.vm_flags ^ b.vm_flags) & ~(VM_READ | VM_WRITE | VM_EXEC | VM_SOFTDIRTY))
            and b.vm_pgoff == a.vm_pgoff + ((b.vm_start - a.vm_start) >> 12))


def find_mergeable_anon_vma(vma: VmAreaStruct) -> Any:
    """
    find_mergeable_anon_vma(): an adjacent VMA's anon_vma that *vma* may share (so the two
    stay mergeable), only when that neighbour's anon_vma is not shared with a fork parent.
    """
    mm = vma.vm_mm
    i = vma_pos(mm, vma)
    if i + 1 < len(mm.vmas):
        nxt = mm.vmas[i + 1]
        if anon_vma_compatible(vma, nxt) and nxt.anon_vma is not None \
                and len(nxt.anon_vma_chain) == 1:
            return nxt.anon_vma
    if i > 0:
        prev = mm.vmas[i - 1]
        if anon_vma_compatible(prev, vma) and prev.anon_vma is not None \
                and len(prev.anon_vma_chain) == 1:
            return prev.anon_vma
    return None
