"""
mremap(2) (mm/mremap.c, copy_vma() of mm/vma.c; virtual.md §3.5): shrink in place, grow in
place (vma_merge_extend), or move — a new VMA (merged into its neighbours when it can be)
that takes the old page-table entries over, then the old range is unmapped (kept, empty,
with MREMAP_DONTUNMAP). Pages are not copied: a moved anonymous page keeps its anon_vma and
index, so the new VMA keeps the old vm_pgoff.

The control flow is that of the 6.18 kernel the oracle runs (the 6.17 rework around
``struct vma_remap_struct``): argument checks first (check_mremap_params), and a
MREMAP_FIXED move with old_len == new_len may span several VMAs and gaps (remap_move), each
VMA moved to the same offset in the target range. 6.12 handled one VMA only (EFAULT).

Related: munmap and get_unmapped_area in mm/mmap.py, merge rules in mm/vma.py, sealing in
mm/mseal.py, populate of a grown mlocked range in mm/mlock.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memsim.fs.file import get_file
from memsim.include.mm import (
    VM_ACCOUNT,
    VM_DONTEXPAND,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_MAYSHARE,
    VM_MERGEABLE,
    VM_PFNMAP,
    VM_SHARED,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    EFAULT,
    EINVAL,
    ENOMEM,
    EPERM,
    MAP_FIXED,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
)
from memsim.kernel.task import register_syscall
from memsim.mm.memory import pte_clear, set_pte_at
from memsim.mm.mmap import PAGE_ALIGN, __get_unmapped_area, do_munmap
from memsim.mm.util import security_vm_enough_memory_mm, vm_acct_memory, vm_unacct_memory
from memsim.mm.vma import (
    dup_anon_vma,
    find_vma,
    find_vma_intersection,
    find_vma_prev,
    vm_stat_account,
    vma_dup,
    vma_link,
    vma_lookup,
    vma_merge_new_range,
    vmas_in_range,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
_U64 = (1 << 64) - 1

MREMAP_NO_RESIZE = 1
MREMAP_SHRINK = 2
MREMAP_EXPAND = 3


@dataclass(slots=True, eq=False)
class VmaRemap:
    """struct vma_remap_struct (6.17+): one mremap request as it is worked through."""

    addr: int
    old_len: int
    new_len: int
    flags: int
    new_addr: int
    vma: VmAreaStruct | None = None
    delta: int = 0
    remap_type: int = MREMAP_NO_RESIZE
    #: the VMA is mlocked and grew: populate the new part afterwards
    mlocked: bool = False


def _can_modify_vma(vma: VmAreaStruct) -> bool:
    from memsim.mm.mseal import can_modify_vma
    return can_modify_vma(vma)


def vrm_implies_new_addr(vrm: VmaRemap) -> bool:
    return bool(vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))


def vrm_move_only(vrm: VmaRemap) -> bool:
    return bool(vrm.flags & MREMAP_FIXED) and vrm.old_len == vrm.new_len


def vrm_overlaps(vrm: VmaRemap) -> bool:
    return vrm.addr + vrm.old_len > vrm.new_addr and vrm.new_addr + vrm.new_len > vrm.addr


def vrm_set_delta(vrm: VmaRemap) -> None:
    vrm.delta = abs(vrm.new_len - vrm.old_len)
    if vrm.new_len == vrm.old_len:
        vrm.remap_type = MREMAP_NO_RESIZE
    elif vrm.new_len < vrm.old_len:
        vrm.remap_type = MREMAP_SHRINK
    else:
        vrm.remap_type = MREMAP_EXPAND


def vrm_will_map_new(vrm: VmaRemap) -> bool:
    return vrm.remap_type == MREMAP_EXPAND or vrm_implies_new_addr(vrm)


def may_expand_vm(mm: MmStruct, flags: int, npages: int) -> bool:
    """may_expand_vm(): RLIMIT_AS / RLIMIT_DATA checks."""
    # SIM: the limits are RLIM_INFINITY (the oracle's root subject), so this always passes
    return True


def check_mremap_params(m: Machine, mm: MmStruct, vrm: VmaRemap) -> int:
    """check_mremap_params() (6.17+): everything that needs no VMA."""
    flags = vrm.flags
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        return -EINVAL
    if vrm.addr & (PAGE_SIZE - 1):
        return -EINVAL
    if not vrm.new_len:
        return -EINVAL
    if vrm.new_len > mm.task_size:
        return -EINVAL
    if not vrm_implies_new_addr(vrm):
        return 0
    if vrm.new_addr > mm.task_size - vrm.new_len:
        return -EINVAL
    if vrm.new_addr & (PAGE_SIZE - 1):
        return -EINVAL
    if not flags & MREMAP_MAYMOVE:
        return -EINVAL
    if flags & MREMAP_DONTUNMAP and vrm.old_len != vrm.new_len:
        return -EINVAL
    if vrm_overlaps(vrm):
        return -EINVAL
    # worst case both the source and the target VMA split in three (see move_vma)
    if mm.map_count + 2 >= m.sysctl_max_map_count() - 3:
        return -ENOMEM
    return 0


def check_prep_vma(m: Machine, vrm: VmaRemap) -> int:
    """check_prep_vma() (6.17+; vma_to_resize() of 6.12): the checks that need the VMA."""
    vma = vrm.vma
    if vma is None:
        return -EFAULT
    if not _can_modify_vma(vma):
        return -EPERM
    vrm_set_delta(vrm)
    if not vrm_implies_new_addr(vrm):
        vrm.new_addr = vrm.addr
    if not vrm_will_map_new(vrm):
        return 0
    old_len, new_len, addr = vrm.old_len, vrm.new_len, vrm.addr
    if not old_len and not vma.vm_flags & (VM_SHARED | VM_MAYSHARE):
        # pr_warn_once()
        task = vma.vm_mm.owner
        m.note_once("mremap-dup-private",
                    f"{getattr(task, 'comm', '?')} ({getattr(task, 'pid', 0)}): attempted to "
                    "duplicate a private mapping with mremap.  This is not supported.")
        return -EINVAL
    if vrm.flags & MREMAP_DONTUNMAP and vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP):
        return -EINVAL
    if old_len > vma.vm_end - addr:
        return -EFAULT
    if new_len == old_len:
        return 0
    if vma.vm_flags & VM_LOCKED:
        vrm.mlocked = True
    pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
    if pgoff + (new_len >> PAGE_SHIFT) >= 1 << 64:
        return -EINVAL
    if vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP):
        return -EFAULT
    # SIM: mlock_future_ok() passes: root has CAP_IPC_LOCK
    if not may_expand_vm(vma.vm_mm, vma.vm_flags, vrm.delta >> PAGE_SHIFT):
        return -ENOMEM
    return 0


# ---- moving page tables -------------------------------------------------------------------

def move_page_tables(m: Machine, vma: VmAreaStruct, old_addr: int, new_vma: VmAreaStruct,
                     new_addr: int, length: int) -> int:
    """
    move_page_tables(): every entry of ``[old_addr, old_addr + length)`` (present pages, the
    zero page, swap entries, guard markers) moves to the same offset at *new_addr*. The
    pages' rmap state (mapcount, anon_vma, index) and the RSS counters do not change.
    Returns the bytes moved.
    """
    mm = vma.vm_mm
    pgd = mm.pgd
    if pgd.huge:
        # SIM: a PMD-mapped THP in the range is split and moved PTE by PTE (the kernel
        # moves the whole PMD with move_huge_pmd when source and target are aligned)
        from memsim.mm.huge_memory import split_huge_pmd
        shift = pgd.pmd_shift
        for key in [k for k in pgd.huge if old_addr >> shift <= k <= (old_addr + length - 1)
                    >> shift]:
            split_huge_pmd(m, vma, key << shift)
    # SIM: entries move one by one; the kernel moves whole PMD/PUD tables when both ranges
    # are aligned (move_normal_pmd), which only changes which page-table pages are used
    moves: list[tuple[int, int]] = []
    for t, i0, i1 in list(pgd.iter_tables(old_addr, old_addr + length)):
        ptes = t.pte
        for i in range(i0, i1):
            pte = int(ptes[i])
            if pte:
                moves.append((t.base + (i << PAGE_SHIFT), pte))
    delta = new_addr - old_addr
    for addr, pte in moves:
        pte_clear(mm, addr)
        set_pte_at(mm, addr + delta, pte)
    return length


def copy_vma(m: Machine, vma: VmAreaStruct, addr: int, length: int,
             pgoff: int) -> tuple[VmAreaStruct, VmAreaStruct]:
    """
    copy_vma() (mm/vma.c): the VMA that will hold ``[addr, addr + length)`` — a neighbour
    extended over it when the merge rules allow, else a copy of *vma* linked there.
    Returns (new_vma, vma): the source may itself have been the merge target (an unfaulted
    anonymous VMA moved next to itself).
    """
    mm = vma.vm_mm
    vma_start = vma.vm_start
    if vma.vma_is_anonymous() and vma.anon_vma is None:
        # unfaulted: take the pgoff of the new place, which keeps it mergeable
        pgoff = addr >> PAGE_SHIFT
    nxt, prev = find_vma_prev(mm, addr)
    if nxt is not None and nxt.vm_start < addr + length:
        raise AssertionError("copy_vma: target range not empty")
    # 6.18 copy_vma() merges with vmg.middle = NULL (a new range): the anon_vma test has
    # no source VMA to look at
    new_vma = vma_merge_new_range(m, mm, prev, nxt, addr, addr + length, vma.vm_flags,
                                  vma.vm_file, pgoff, vma.anon_vma, None)
    if new_vma is not None:
        # 6.16+ vma_expand(): the target takes the source's anon_vma (vmg->copied_from)
        if new_vma is not vma:
            dup_anon_vma(m, new_vma, vma)
        if vma_start >= new_vma.vm_start and vma_start < new_vma.vm_end:
            vma = new_vma
        return new_vma, vma
    from memsim.mm.rmap import anon_vma_clone
    new_vma = vma_dup(vma)
    new_vma.vm_start, new_vma.vm_end, new_vma.vm_pgoff = addr, addr + length, pgoff
    anon_vma_clone(new_vma, vma)
    vma_link(mm, new_vma)
    return new_vma, vma


def move_vma(m: Machine, task: Any, vrm: VmaRemap) -> int:
    """move_vma(): the new VMA at vrm.new_addr, the PTEs moved, the old range unmapped."""
    vma = vrm.vma
    assert vma is not None
    mm = vma.vm_mm
    old_addr, old_len, new_len, new_addr = vrm.addr, vrm.old_len, vrm.new_len, vrm.new_addr
    dontunmap = bool(vrm.flags & MREMAP_DONTUNMAP)
    to_account = new_len - old_len
    vm_flags = vma.vm_flags
    split_before = vma.vm_start != old_addr
    split_after = vma.vm_end != old_addr + old_len
    if mm.map_count >= m.sysctl_max_map_count() - 3:
        return -ENOMEM
    if dontunmap:
        to_account = new_len
    ops = vma.vm_ops
    may_split = getattr(ops, "may_split", None) if ops is not None else None
    if may_split is not None:
        err = 0
        if split_before:
            err = may_split(vma, old_addr)
        if not err and split_after:
            err = may_split(vma, old_addr + old_len)
        if err:
            return int(err)
    # ksm_madvise(MADV_UNMERGEABLE) on the range, leaving vm_flags as they are
    if vm_flags & VM_MERGEABLE:
        ksm = getattr(m, "ksm", None)
        if ksm is not None:
            ksm.unmerge_range(vma, old_addr, old_addr + old_len)
    if dontunmap and vma.vm_flags & VM_LOCKED:
        from memsim.mm.vma import VmaError, split_vma
        try:
            if split_before:
                split_vma(m, mm, vma, old_addr, new_below=True)
            if split_after:
                split_vma(m, mm, vma, old_addr + old_len, new_below=False)
        except VmaError as e:
            return -e.errno
    if vm_flags & VM_ACCOUNT:
        if security_vm_enough_memory_mm(m, mm, to_account >> PAGE_SHIFT):
            return -ENOMEM
    new_pgoff = vma.vm_pgoff + ((old_addr - vma.vm_start) >> PAGE_SHIFT)
    new_vma, vma = copy_vma(m, vma, new_addr, new_len, new_pgoff)
    move_page_tables(m, vma, old_addr, new_vma, new_addr, old_len)
    # (vm_ops->mremap: no modelled mapping has one)
    account_start = account_end = False
    if vm_flags & VM_ACCOUNT and not dontunmap:
        # conceal VM_ACCOUNT so that the unmap does not refund the moved charge
        vma.vm_flags &= ~VM_ACCOUNT
        account_start = vma.vm_start < old_addr
        account_end = vma.vm_end > old_addr + old_len
    hiwater_vm = mm.hiwater_vm
    vm_stat_account(mm, vma.vm_flags, new_len >> PAGE_SHIFT)
    if dontunmap:
        # the old VMA stays, empty; it is never mlocked (locked_vm is left alone)
        vma.vm_flags &= ~VM_LOCKED_MASK
        if vma.vm_start == old_addr and vma.vm_end == old_addr + old_len:
            from memsim.mm.rmap import unlink_anon_vmas
            unlink_anon_vmas(m, vma)
            if vma.vma_is_anonymous() and vma.vm_file is None:
                vma.vm_pgoff = vma.vm_start >> PAGE_SHIFT
        return new_addr
    if do_munmap(m, mm, old_addr, old_len) < 0:
        # unable to split: just get the accounts right
        if vm_flags & VM_ACCOUNT:
            vm_acct_memory(m, old_len >> PAGE_SHIFT)
        account_start = account_end = False
    if vm_flags & VM_LOCKED:
        mm.locked_vm += new_len >> PAGE_SHIFT
        vrm.mlocked = True
    mm.hiwater_vm = hiwater_vm
    if account_start:
        _, prev = find_vma_prev(mm, old_addr)
        if prev is not None:
            prev.vm_flags |= VM_ACCOUNT
    if account_end:
        nxt = find_vma(mm, old_addr)
        if nxt is not None:
            nxt.vm_flags |= VM_ACCOUNT
    return new_addr


# ---- the three shapes of a request -------------------------------------------------------------

def shrink_vma(m: Machine, vrm: VmaRemap) -> int:
    """shrink_vma(): unmap the tail ``[addr + new_len, addr + old_len)``."""
    vma = vrm.vma
    assert vma is not None
    mm = vma.vm_mm
    r = do_munmap(m, mm, vrm.addr + vrm.new_len, vrm.delta)
    vrm.vma = vma_lookup(mm, vrm.addr)
    return r


def vma_expandable(m: Machine, vma: VmAreaStruct, delta: int) -> bool:
    end = vma.vm_end + delta
    if end < vma.vm_end:
        return False
    mm = vma.vm_mm
    if find_vma_intersection(mm, vma.vm_end, end) is not None:
        return False
    a = __get_unmapped_area(m, mm, None, vma.vm_start, end - vma.vm_start, 0, MAP_FIXED, 0)
    return a >= 0 and not a & (PAGE_SIZE - 1)


def expand_vma_in_place(m: Machine, vrm: VmaRemap) -> int:
    """The VMA grows over the free range after it (vma_merge_extend), merging onwards."""
    vma = vrm.vma
    assert vma is not None
    mm = vma.vm_mm
    pages = vrm.delta >> PAGE_SHIFT
    charged = 0
    if vma.vm_flags & VM_ACCOUNT:
        if security_vm_enough_memory_mm(m, mm, pages):
            return -ENOMEM
        charged = pages
    nxt = find_vma(mm, vma.vm_end)
    merged = vma_merge_new_range(m, mm, vma, nxt, vma.vm_end, vma.vm_end + vrm.delta,
                                 vma.vm_flags, vma.vm_file, vma.vm_pgoff + vma.nr_pages,
                                 vma.anon_vma, vma)
    if merged is None:
        vm_unacct_memory(m, charged)
        return -ENOMEM
    vm_stat_account(mm, merged.vm_flags, pages)
    if merged.vm_flags & VM_LOCKED:
        mm.locked_vm += pages
        vrm.mlocked = True
    return 0


def vrm_set_new_addr(m: Machine, vrm: VmaRemap) -> int:
    vma = vrm.vma
    assert vma is not None
    pgoff = vma.vm_pgoff + ((vrm.addr - vma.vm_start) >> PAGE_SHIFT)
    new_addr = vrm.new_addr if vrm_implies_new_addr(vrm) else 0
    map_flags = 0
    if vrm.flags & MREMAP_FIXED:
        map_flags |= MAP_FIXED
    if vma.vm_flags & VM_MAYSHARE:
        map_flags |= MAP_SHARED
    res = __get_unmapped_area(m, vma.vm_mm, vma.vm_file, new_addr, vrm.new_len, pgoff,
                              map_flags, 0)
    if res < 0:
        return res
    vrm.new_addr = res
    return 0


def expand_vma(m: Machine, task: Any, vrm: VmaRemap) -> int:
    vma = vrm.vma
    assert vma is not None
    if vma.vm_end - vrm.addr == vrm.old_len and vma_expandable(m, vma, vrm.delta):
        err = expand_vma_in_place(m, vrm)
        return err if err else vrm.addr
    if not vrm.flags & MREMAP_MAYMOVE:
        return -ENOMEM
    err = vrm_set_new_addr(m, vrm)
    if err:
        return err
    return move_vma(m, task, vrm)


def mremap_at(m: Machine, task: Any, vrm: VmaRemap) -> int:
    if vrm.remap_type == MREMAP_NO_RESIZE:
        return vrm.addr
    if vrm.remap_type == MREMAP_SHRINK:
        err = shrink_vma(m, vrm)
        return err if err else vrm.addr
    return expand_vma(m, task, vrm)


def mremap_to(m: Machine, task: Any, vrm: VmaRemap) -> int:
    """mremap_to(): a move to vrm.new_addr (MREMAP_FIXED) or wherever there is room."""
    mm: MmStruct = task.mm
    if vrm.flags & MREMAP_FIXED:
        err = do_munmap(m, mm, vrm.new_addr, vrm.new_len)
        if err:
            return err
        # unmapping the target may have split the source VMA
        vrm.vma = vma_lookup(mm, vrm.addr)
        if vrm.vma is None:
            return -EFAULT
    if vrm.remap_type == MREMAP_SHRINK:
        err = shrink_vma(m, vrm)
        if err:
            return err
        vrm.old_len = vrm.new_len
        if vrm.vma is None:
            return -EFAULT
    if vrm.flags & MREMAP_DONTUNMAP:
        assert vrm.vma is not None
        if not may_expand_vm(mm, vrm.vma.vm_flags, vrm.old_len >> PAGE_SHIFT):
            return -ENOMEM
    err = vrm_set_new_addr(m, vrm)
    if err:
        return err
    return move_vma(m, task, vrm)


def remap_move(m: Machine, task: Any, vrm: VmaRemap) -> int:
    """
    remap_move() (6.17+): a MREMAP_FIXED move of the same length moves every VMA of
    ``[addr, addr + old_len)`` (split at the range edges), each one to the same offset in
    the target, gaps included; a gap at the start of the range is EFAULT.
    """
    mm: MmStruct = task.mm
    start, end = vrm.addr, vrm.addr + vrm.old_len
    target = vrm.new_addr
    res = -EFAULT
    seen = False
    last_end = 0
    pos = start
    while pos < end:
        vma = find_vma(mm, pos)
        if vma is None or vma.vm_start >= end:
            break
        if not seen and start < vma.vm_start:
            return -EFAULT
        addr = max(vma.vm_start, start)
        length = min(end, vma.vm_end) - addr
        offset = vma.vm_start - last_end if seen else 0
        last_end = vma.vm_end
        # SIM: every modelled mapping is "multi allowed" (no userfaultfd; files use the
        # generic / THP get_unmapped_area)
        piece = VmaRemap(addr, length, length, vrm.flags, target + offset, vma)
        r = check_prep_vma(m, piece)
        if not r:
            r = mremap_to(m, task, piece)
        if r < 0:
            return r
        if not seen:
            res = r
        seen = True
        target = r + length
        pos = addr + length
    return res


# ---- the syscall -------------------------------------------------------------------------------

def do_mremap(m: Machine, task: Any, addr: int, old_len: int, new_len: int, flags: int,
              new_addr: int) -> int:
    mm: MmStruct = task.mm
    vrm = VmaRemap(addr & _U64, PAGE_ALIGN(old_len & _U64) & _U64,
                   PAGE_ALIGN(new_len & _U64) & _U64, flags, new_addr & _U64)
    res = check_mremap_params(m, mm, vrm)
    if res:
        return res
    if vrm_move_only(vrm):
        res = remap_move(m, task, vrm)
    else:
        vrm.vma = vma_lookup(mm, vrm.addr)
        res = check_prep_vma(m, vrm)
        if res:
            return res
        res = mremap_to(m, task, vrm) if vrm_implies_new_addr(vrm) else mremap_at(m, task, vrm)
    if res >= 0 and vrm.mlocked and vrm.new_len > vrm.old_len:
        from memsim.mm.mlock import __mm_populate
        __mm_populate(m, task, vrm.new_addr + vrm.old_len, vrm.delta, True)
    return res


@register_syscall("mremap")
def sys_mremap(m: Machine, task: Any, addr: int, old_len: int, new_len: int, flags: int = 0,
               new_addr: int = 0) -> int:
    """mremap(2): the (new) address, or -errno."""
    return do_mremap(m, task, addr, old_len, new_len, flags, new_addr)


__all__ = ["sys_mremap", "do_mremap", "move_page_tables", "copy_vma", "vmas_in_range",
           "get_file"]
