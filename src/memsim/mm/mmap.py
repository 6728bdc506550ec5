"""
Address-space layout and the mapping syscalls (mm/mmap.c, mm/vma.c __mmap_region and
do_vmi_munmap, arch/x86/mm/mmap.c, arch/x86/kernel/sys_x86_64.c): mmap, munmap, brk,
get_unmapped_area, stack expansion. Return values are the kernel's: an address or a
negative errno (the raising process API is kernel/task.py).

Related: VMA merge/split rules in mm/vma.py, faults and zapping in mm/memory.py,
overcommit in mm/util.py, mprotect/mremap/madvise/mlock in their own modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memsim.fs.file import fput, get_file
from memsim.include.mm import (
    VM_ACCOUNT,
    VM_DATA_DEFAULT_FLAGS,
    VM_DONTCOPY,
    VM_DONTDUMP,
    VM_DROPPABLE,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_HUGETLB,
    VM_LOCKED,
    VM_LOCKED_MASK,
    VM_LOCKONFAULT,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_NOHUGEPAGE,
    VM_NORESERVE,
    VM_READ,
    VM_SEALED,
    VM_SHADOW_STACK,
    VM_SHARED,
    VM_SPECIAL,
    VM_SYNC,
    VM_WIPEONFORK,
    VM_WRITE,
    calc_vm_flag_bits,
    calc_vm_prot_bits,
)
from memsim.include.mm_types import MmStruct, VmAreaStruct
from memsim.include.mman import (
    EACCES,
    EBADF,
    EEXIST,
    EINVAL,
    ENODEV,
    ENOMEM,
    EOPNOTSUPP,
    EOVERFLOW,
    EPERM,
    LEGACY_MAP_MASK,
    MAP_ANONYMOUS,
    MAP_DROPPABLE,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NONBLOCK,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_SYNC,
    MAP_TYPE,
    PROT_EXEC,
    PROT_READ,
)
from memsim.include.pgtable_types import vm_get_page_prot
from memsim.mm import vma as vmalib
from memsim.mm.util import security_vm_enough_memory_mm, vm_unacct_memory
from memsim.mm.vma import (
    VmaError,
    __split_vma,
    find_vma,
    find_vma_intersection,
    find_vma_prev,
    vm_stat_account,
    vma_link,
    vma_lookup,
    vma_merge_new_range,
    vmas_in_range,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
PMD_SIZE = 1 << 21
#: stack_guard_gap = 256 << PAGE_SHIFT (mm/mmap.c)
STACK_GUARD_GAP = 256 << 12
RLIM_INFINITY = (1 << 64) - 1
#: the process's limits (root; RLIMIT_STACK and RLIMIT_MEMLOCK at their usual defaults)
RLIMIT_STACK_CUR = 8 << 20
RLIMIT_MEMLOCK_CUR = 8 << 20


@dataclass(frozen=True, slots=True)
class UserLayout:
    """The arch constants of the user address space (virtual.md §1)."""

    task_size: int
    #: mmap_rnd_bits (Kconfig default), and STACK_RND_MASK in pages
    mmap_rnd_bits: int
    stack_rnd_mask: int
    #: the ELF_ET_DYN_BASE a PIE executable is loaded at (before randomisation)
    et_dyn_base: int
    #: range brk start is randomised over (arch_randomize_brk)
    brk_rnd_range: int
    #: arch_get_unmapped_area_topdown of x86 skips the generic prev-VMA hint check
    x86_hint: bool


LAYOUTS: dict[str, UserLayout] = {
    "x86_64": UserLayout((1 << 47) - PAGE_SIZE, 28, 0x3FFFFF, ((1 << 47) - PAGE_SIZE) // 3 * 2,
                         1 << 30, True),
    "i386": UserLayout(0xC0000000, 8, 0x7FF, 0x400000, 32 << 20, True),
    "arm64": UserLayout(1 << 48, 18, 0x3FFFF, (1 << 48) // 3 * 2, 1 << 30, False),
    "arm": UserLayout(0xBF000000, 8, 0x7FF, 0xBF000000 // 3 * 2, 32 << 20, False),
}


def PAGE_ALIGN(x: int) -> int:
    return (x + PAGE_SIZE - 1) & PAGE_MASK


def vm_start_gap(vma: VmAreaStruct) -> int:
    if vma.vm_flags & VM_GROWSDOWN:
        return max(vma.vm_start - STACK_GUARD_GAP, 0)
    if vma.vm_flags & VM_SHADOW_STACK:
        return max(vma.vm_start - PAGE_SIZE, 0)
    return vma.vm_start


def vm_end_gap(vma: VmAreaStruct) -> int:
    # SIM: no VM_GROWSUP architecture is modelled
    return vma.vm_end


# ---- layout ------------------------------------------------------------------------------

def mmap_base(task_size: int, rnd: int, stack_rnd_mask: int, randomize: bool) -> int:
    """mmap_base() of arch/x86/mm/mmap.c (generic mm/util.c is the same for 4 KiB pages)."""
    gap = RLIMIT_STACK_CUR
    pad = (stack_rnd_mask << 12 if randomize else 0) + STACK_GUARD_GAP
    gap += pad
    gap_min = 128 << 20
    gap_max = task_size // 6 * 5
    gap = min(max(gap, gap_min), gap_max)
    return PAGE_ALIGN(task_size - gap - rnd)


def arch_pick_mmap_layout(m: Machine, mm: MmStruct, randomize: bool, rng: Any) -> None:
    """arch_pick_mmap_layout(): top-down from mmap_base (MMF_TOPDOWN)."""
    lay = LAYOUTS[m.arch.name]
    rnd = (rng.getrandbits(lay.mmap_rnd_bits) << 12) if randomize else 0
    mm.task_size = lay.task_size
    mm.mmap_base = mmap_base(lay.task_size, rnd, lay.stack_rnd_mask, randomize)
    mm.mmap_legacy_base = PAGE_ALIGN(lay.task_size // 3) + rnd


# ---- get_unmapped_area -------------------------------------------------------------------

def unmapped_area_topdown(m: Machine, mm: MmStruct, length: int, low: int, high: int,
                          align_mask: int = 0, align_offset: int = 0) -> int:
    """vm_unmapped_area() top-down: the highest gap of *length* in ``[low, high)``."""
    low = max(low, m.sysctl.mmap_min_addr)
    need = length + align_mask
    vmas = mm.vmas
    j = vmalib.vma_index(mm, high - 1) if high > 0 else 0
    while True:
        nxt = vmas[j] if j < len(vmas) else None
        prev = vmas[j - 1] if j > 0 else None
        gap_end = high if nxt is None else min(high, vm_start_gap(nxt))
        gap_start = low if prev is None else max(low, vm_end_gap(prev))
        if gap_end - gap_start >= need:
            addr = gap_end - length
            addr -= (addr - align_offset) & align_mask
            return addr
        if prev is None or prev.vm_end <= low:
            return -ENOMEM
        j -= 1


def unmapped_area(m: Machine, mm: MmStruct, length: int, low: int, high: int,
                  align_mask: int = 0, align_offset: int = 0) -> int:
    """vm_unmapped_area() bottom-up: the lowest gap of *length* in ``[low, high)``."""
    low = max(low, m.sysctl.mmap_min_addr)
    need = length + align_mask
    prev_end = low
    for vma in mm.vmas:
        if vma.vm_end <= low:
            continue
        gap_end = min(vm_start_gap(vma), high)
        start = max(prev_end, low)
        if gap_end >= start + need:
            addr = start + ((align_offset - start) & align_mask)
            return addr
        prev_end = max(prev_end, vm_end_gap(vma))
        if prev_end >= high:
            break
    if high >= max(prev_end, low) + need:
        start = max(prev_end, low)
        return start + ((align_offset - start) & align_mask)
    return -ENOMEM


def arch_get_unmapped_area_topdown(m: Machine, mm: MmStruct, addr0: int, length: int,
                                   pgoff: int, flags: int) -> int:
    lay = LAYOUTS[m.arch.name]
    task_size = mm.task_size
    if length > task_size:
        return -ENOMEM
    if flags & MAP_FIXED:
        return addr0
    if addr0:
        addr = addr0 & PAGE_MASK
        if addr + length <= task_size:
            vma, prev = find_vma_prev(mm, addr)
            ok = vma is None or addr + length <= vm_start_gap(vma)
            if not lay.x86_hint:
                ok = ok and addr >= m.sysctl.mmap_min_addr and \
                    (prev is None or addr >= vm_end_gap(prev))
            if ok:
                return addr
    a = unmapped_area_topdown(m, mm, length, PAGE_SIZE, mm.mmap_base)
    if a >= 0:
        return a
    # the kernel falls back to a bottom-up search of the whole space
    return unmapped_area(m, mm, length, mm.mmap_legacy_base, task_size)


def __get_unmapped_area(m: Machine, mm: MmStruct, file: Any, addr: int, length: int,
                        pgoff: int, flags: int, vm_flags: int) -> int:
    """__get_unmapped_area(): choose (or check) the address of a new mapping."""
    if length > mm.task_size:
        return -ENOMEM
    if file is None:
        pgoff = 0
    thp = m.config["thp"] != "never"
    if file is None and not (flags & MAP_SHARED) and not addr and thp \
            and length % PMD_SIZE == 0 and not (flags & MAP_FIXED):
        a = thp_get_unmapped_area(m, mm, addr, length, pgoff, flags)
    else:
        a = arch_get_unmapped_area_topdown(m, mm, addr, length, pgoff, flags)
    if a < 0:
        return a
    if a > mm.task_size - length:
        return -ENOMEM
    if a & ~PAGE_MASK:
        return -EINVAL
    return security_mmap_addr(m, a)


def thp_get_unmapped_area(m: Machine, mm: MmStruct, addr: int, length: int, pgoff: int,
                          flags: int) -> int:
    """__thp_get_unmapped_area(): a PMD-aligned slot for a PMD-multiple anon mapping."""
    off = pgoff << 12
    size = PMD_SIZE
    len_pad = length + size
    if len_pad < length:
        return arch_get_unmapped_area_topdown(m, mm, addr, length, pgoff, flags)
    ret = arch_get_unmapped_area_topdown(m, mm, addr, len_pad, pgoff, flags)
    if ret < 0:
        return arch_get_unmapped_area_topdown(m, mm, addr, length, pgoff, flags)
    if ret == addr:
        return addr
    off_sub = (off - ret) & (size - 1)
    if off_sub == 0:
        return ret + size
    return ret + off_sub


def security_mmap_addr(m: Machine, addr: int) -> int:
    """cap_mmap_addr(): below mmap_min_addr needs CAP_SYS_RAWIO, which root has."""
    # SIM: simulated processes run as root (as the oracle's subject), so this passes
    return addr


# ---- mmap --------------------------------------------------------------------------------

def round_hint_to_min(m: Machine, hint: int) -> int:
    hint &= PAGE_MASK
    mmin = m.sysctl.mmap_min_addr
    if hint and hint < mmin:
        return PAGE_ALIGN(mmin)
    return hint


def do_mmap(m: Machine, task: Any, file: Any, addr: int, length: int, prot: int, flags: int,
            vm_flags: int, pgoff: int) -> tuple[int, int]:
    """do_mmap(): (address or -errno, bytes to populate)."""
    mm: MmStruct = task.mm
    if not length:
        return -EINVAL, 0
    if flags & MAP_FIXED_NOREPLACE:
        flags |= MAP_FIXED
    if not (flags & MAP_FIXED):
        addr = round_hint_to_min(m, addr)
    length = PAGE_ALIGN(length)
    if not length or length > (1 << 64) - PAGE_SIZE:
        return -ENOMEM, 0
    if pgoff + (length >> 12) >= 1 << 64:
        return -EOVERFLOW, 0
    if mm.map_count > m.sysctl.max_map_count:
        return -ENOMEM, 0
    vm_flags |= calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags, m.config["thp"] != "never") \
        | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
    addr = __get_unmapped_area(m, mm, file, addr, length, pgoff, flags, vm_flags)
    if addr < 0:
        return addr, 0
    if flags & MAP_FIXED_NOREPLACE and find_vma_intersection(mm, addr, addr + length):
        return -EEXIST, 0
    # SIM: root has CAP_IPC_LOCK: no RLIMIT_MEMLOCK checks (can_do_mlock, mlock_future_ok)
    if file is not None:
        inode = file.f_inode
        typ = flags & MAP_TYPE
        if typ == MAP_SHARED:
            flags &= LEGACY_MAP_MASK
            typ = MAP_SHARED_VALIDATE
        if typ == MAP_SHARED_VALIDATE:
            # flags_mask: ext4 declares mmap_supported_flags = MAP_SYNC, shmem nothing;
            # whether MAP_SYNC really works (DAX) is ext4_file_mmap's question, asked after
            # the old range is gone (file_mmap below)
            supported = 0 if getattr(inode, "is_shmem", False) else MAP_SYNC
            if flags & ~(LEGACY_MAP_MASK | supported | MAP_SHARED_VALIDATE):
                return -EOPNOTSUPP, 0
            if prot & 0x2:
                if not file.writable():
                    return -EACCES, 0
            vm_flags |= VM_SHARED | VM_MAYSHARE
            if not file.writable():
                vm_flags &= ~(VM_MAYWRITE | VM_SHARED)
        elif typ != MAP_PRIVATE:
            return -EINVAL, 0
        if not file.readable():
            return -EACCES, 0
        if vm_flags & VM_GROWSDOWN:
            return -EINVAL, 0
        seals = getattr(inode, "seals", 0)
        if seals and vm_flags & VM_SHARED and vm_flags & VM_WRITE and seals & 0x8:
            return -EPERM, 0
    else:
        typ = flags & MAP_TYPE
        if typ == MAP_SHARED:
            if vm_flags & VM_GROWSDOWN:
                return -EINVAL, 0
            pgoff = 0
            vm_flags |= VM_SHARED | VM_MAYSHARE
        elif typ == MAP_DROPPABLE:
            vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP
        elif typ == MAP_PRIVATE:
            pgoff = addr >> 12
        else:
            return -EINVAL, 0
    if flags & MAP_NORESERVE and m.sysctl.overcommit_memory != 2:
        vm_flags |= VM_NORESERVE
    addr = mmap_region(m, task, file, addr, length, vm_flags, pgoff)
    populate = 0
    if addr >= 0 and ((vm_flags & VM_LOCKED and not vm_flags & VM_LOCKONFAULT)
                      or flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE):
        populate = length
    return addr, populate


def accountable_mapping(file: Any, vm_flags: int) -> bool:
    """Private writable mappings are charged (hugetlb and NORESERVE are not)."""
    return vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE | VM_HUGETLB) == VM_WRITE


def mmap_region(m: Machine, task: Any, file: Any, addr: int, length: int, vm_flags: int,
                pgoff: int) -> int:
    """mmap_region() / __mmap_region() of 6.12."""
    mm: MmStruct = task.mm
    end = addr + length
    nr_pages = length >> 12
    # 1. the VMAs being replaced (MAP_FIXED): count what they held
    old = vmas_in_range(mm, addr, end)
    nr_accounted = 0
    if old:
        for v in old:
            s, e = max(v.vm_start, addr), min(v.vm_end, end)
            if v.vm_flags & VM_ACCOUNT:
                nr_accounted += (e - s) >> 12
            if v.vm_flags & VM_SEALED:
                return -EPERM
        # gather + split: fails with ENOMEM at the map-count limit
        err = _munmap_range(m, mm, addr, end, check_limit=True, dry_run=True)
        if err:
            return err
    charged = 0
    if accountable_mapping(file, vm_flags):
        charged = nr_pages - nr_accounted
        if charged and security_vm_enough_memory_mm(m, mm, charged):
            return -ENOMEM
        vm_flags |= VM_ACCOUNT
    # SIM: shared anonymous memory is not charged (shmem_acct_size is not modelled,
    # mm/shmem.py), so only private writable mappings move Committed_AS
    if old:
        # the old range is unmapped (its charge is refunded as part of the unmap)
        _munmap_range(m, mm, addr, end, check_limit=False)
    nxt, prev = find_vma_prev(mm, addr)
    merged = None
    if file is not None or not vm_flags & VM_SHARED:
        # a shared anonymous mapping gets its own shmem file below: it never merges
        merged = vma_merge_new_range(m, mm, prev, nxt, addr, end, vm_flags, file, pgoff)
    if merged is not None:
        vma = merged
    else:
        vma = VmAreaStruct(addr, end, mm, vm_flags, pgoff)
        vma.vm_page_prot = vm_get_page_prot(vm_flags)
        if file is not None:
            get_file(file)
            vma.vm_file = file
            err = file_mmap(m, file, vma)
            if err:
                fput(m, file)
                if charged:
                    vm_unacct_memory(m, charged)
                return err
        elif vm_flags & VM_SHARED:
            from memsim.mm.shmem import shmem_zero_setup
            shmem_zero_setup(m, vma)
        vma_link(mm, vma)
        # vm_ops may have changed the flags
        vm_flags = vma.vm_flags
    vm_stat_account(mm, vm_flags, nr_pages)
    if vm_flags & VM_LOCKED:
        if vm_flags & (VM_SPECIAL | VM_HUGETLB):
            vma.vm_flags &= ~VM_LOCKED_MASK
        else:
            mm.locked_vm += nr_pages
    vma.vm_page_prot = vm_get_page_prot(vma.vm_flags)
    _maybe_writenotify(vma)
    return addr


def _maybe_writenotify(vma: VmAreaStruct) -> None:
    """vma_set_page_prot(): shared writable file mappings that track dirtying map read-only."""
    from memsim.mm.memory import vma_wants_writenotify
    if vma_wants_writenotify(vma):
        vma.vm_page_prot = vm_get_page_prot(vma.vm_flags & ~VM_SHARED)


def file_mmap(m: Machine, file: Any, vma: VmAreaStruct) -> int:
    """call_mmap(): the file's f_op->mmap sets vm_ops (generic_file_mmap / shmem_mmap)."""
    fn = getattr(file, "mmap", None)
    if fn is None:
        return -ENODEV
    if vma.vm_flags & VM_SYNC and not getattr(file, "supports_map_sync", False):
        return -EOPNOTSUPP          # ext4_file_mmap(): daxdev_mapping_supported()
    r = fn(m, vma)
    return int(r) if r else 0


# ---- munmap ------------------------------------------------------------------------------

def _munmap_range(m: Machine, mm: MmStruct, start: int, end: int, check_limit: bool,
                  dry_run: bool = False) -> int:
    """
    do_vmi_align_munmap(): split the edge VMAs, zap and remove everything in
    ``[start, end)``. With *dry_run* only the split limit is checked.
    """
    from memsim.mm.memory import unmap_region
    vmas = vmas_in_range(mm, start, end)
    if not vmas:
        return 0
    first, last = vmas[0], vmas[-1]
    if dry_run:
        if check_limit and first.vm_start < start and end < first.vm_end and \
                mm.map_count >= m.sysctl.max_map_count:
            return -ENOMEM
        return 0
    for v in vmas:
        if v.vm_flags & VM_SEALED:
            return -EPERM
    if first.vm_start < start:
        if check_limit and end < first.vm_end and mm.map_count >= m.sysctl.max_map_count:
            return -ENOMEM
        try:
            __split_vma(m, mm, first, start, new_below=True)
        except VmaError as e:
            return -e.errno
    if last.vm_end > end:
        try:
            __split_vma(m, mm, last, end, new_below=False)
        except VmaError as e:
            return -e.errno
    vmas = vmas_in_range(mm, start, end)
    _, prev = find_vma_prev(mm, start)
    nxt = find_vma(mm, end)
    floor = prev.vm_end if prev is not None else 0
    ceiling = nxt.vm_start if nxt is not None else mm.task_size
    unmap_region(m, mm, vmas, floor, ceiling)
    for v in vmas:
        remove_vma_accounting(m, mm, v)
        remove_vma(m, mm, v)
    return 0


def remove_vma_accounting(m: Machine, mm: MmStruct, v: VmAreaStruct) -> None:
    n = v.nr_pages
    if v.vm_flags & VM_LOCKED:
        mm.locked_vm -= n
    if v.vm_flags & VM_ACCOUNT:
        vm_unacct_memory(m, n)
    vm_stat_account(mm, v.vm_flags, -n)


def remove_vma(m: Machine, mm: MmStruct, v: VmAreaStruct) -> None:
    """Take *v* off the tree, drop its anon_vma links and file reference, vm_ops->close."""
    from memsim.mm.rmap import unlink_anon_vmas
    vmalib.vma_unlink(mm, v)
    unlink_anon_vmas(m, v)
    close = getattr(v.vm_ops, "close", None) if v.vm_ops is not None else None
    if close is not None:
        close(v)
    if v.vm_file is not None:
        fput(m, v.vm_file)


def do_munmap(m: Machine, mm: MmStruct, start: int, length: int) -> int:
    """do_vmi_munmap(): 0 or -errno."""
    if start & ~PAGE_MASK or start > mm.task_size or length > mm.task_size - start:
        return -EINVAL
    end = start + PAGE_ALIGN(length)
    if end == start:
        return -EINVAL
    return _munmap_range(m, mm, start, end, check_limit=True)


# ---- brk ---------------------------------------------------------------------------------

def sys_brk(m: Machine, task: Any, brk: int) -> int:
    """brk(2): the new break, or the unchanged one when the request is refused."""
    mm: MmStruct = task.mm
    origbrk = mm.brk
    min_brk = mm.start_brk
    if brk < min_brk:
        return origbrk
    newbrk = PAGE_ALIGN(brk)
    oldbrk = PAGE_ALIGN(mm.brk)
    if oldbrk == newbrk:
        mm.brk = brk
        return brk
    if brk <= mm.brk:
        brkvma = vma_lookup(mm, newbrk)
        if brkvma is None or brkvma.vm_start >= oldbrk:
            return origbrk
        mm.brk = brk
        if _munmap_range(m, mm, newbrk, oldbrk, check_limit=True):
            mm.brk = origbrk
            return origbrk
        return brk
    nxt = find_vma(mm, oldbrk)
    if nxt is not None and newbrk + PAGE_SIZE > vm_start_gap(nxt):
        return origbrk
    brkvma = vma_lookup(mm, mm.start_brk) if mm.brk > mm.start_brk else None
    if brkvma is None:
        _, brkvma = find_vma_prev(mm, oldbrk)
        if brkvma is not None and brkvma.vm_end != oldbrk:
            brkvma = None
    if do_brk_flags(m, mm, brkvma, oldbrk, newbrk - oldbrk, 0) < 0:
        return origbrk
    mm.brk = brk
    if mm.def_flags & VM_LOCKED:
        from memsim.mm.gup import mm_populate
        mm_populate(m, task, oldbrk, newbrk - oldbrk)
    return brk


def do_brk_flags(m: Machine, mm: MmStruct, vma: VmAreaStruct | None, addr: int, length: int,
                 flags: int) -> int:
    """do_brk_flags(): extend the brk VMA or create one (anonymous, accounted)."""
    flags |= VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm.def_flags
    npages = length >> 12
    if mm.map_count > m.sysctl.max_map_count:
        return -ENOMEM
    if security_vm_enough_memory_mm(m, mm, npages):
        return -ENOMEM
    if vma is not None and vma.vm_end == addr and \
            not ((vma.vm_flags ^ flags) & ~0x08000000) and vma.vm_file is None:
        # "just expand": anon_vma-compatible by construction (vma_merge_new_range restricted)
        vma.vm_end = addr + length
    else:
        vma = VmAreaStruct(addr, addr + length, mm, flags, addr >> 12)
        vma.vm_page_prot = vm_get_page_prot(flags)
        vma_link(mm, vma)
    vm_stat_account(mm, flags, npages)
    if flags & VM_LOCKED:
        mm.locked_vm += npages
    return 0


# ---- stack -------------------------------------------------------------------------------

def expand_downwards(m: Machine, mm: MmStruct, vma: VmAreaStruct, address: int) -> int:
    """expand_downwards(): grow a VM_GROWSDOWN VMA down to *address*; 0 or -errno."""
    address &= PAGE_MASK
    if address < m.sysctl.mmap_min_addr:
        return -EPERM
    _, prev = find_vma_prev(mm, vma.vm_start)
    if prev is not None and not (prev.vm_flags & VM_GROWSDOWN) and \
            vmalib.vma_is_accessible(prev) and address - prev.vm_end < STACK_GUARD_GAP:
        return -ENOMEM
    if address >= vma.vm_start:
        return 0
    grow = (vma.vm_start - address) >> 12
    size = vma.vm_end - address
    if size > RLIMIT_STACK_CUR:
        return -ENOMEM
    if grow > vma.vm_pgoff:
        return -ENOMEM
    if vma.vm_flags & VM_ACCOUNT and security_vm_enough_memory_mm(m, mm, grow):
        return -ENOMEM
    vma.vm_start = address
    vma.vm_pgoff -= grow
    if vma.vm_flags & VM_LOCKED:
        mm.locked_vm += grow
    vm_stat_account(mm, vma.vm_flags, grow)
    return 0


def lock_mm_and_find_vma(m: Machine, mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """The VMA a fault at *addr* belongs to, growing a stack down to it if needed."""
    vma = find_vma(mm, addr)
    if vma is None:
        return None
    if vma.vm_start <= addr:
        return vma
    if not vma.vm_flags & VM_GROWSDOWN:
        return None
    if expand_downwards(m, mm, vma, addr):
        return None
    return vma


__all__ = ["do_mmap", "do_munmap", "sys_brk", "mmap_region", "arch_pick_mmap_layout",
           "VM_DONTCOPY", "VM_EXEC", "VM_READ", "VM_NOHUGEPAGE", "PROT_READ", "PROT_EXEC",
           "MAP_ANONYMOUS", "MAP_HUGETLB", "MAP_LOCKED", "EBADF", "VM_MAYSHARE"]


# ---- syscall entry points ----------------------------------------------------------------

from memsim.kernel.task import register_syscall  # noqa: E402


@register_syscall("mmap")
def sys_mmap(m: Machine, task: Any, addr: int, length: int, prot: int, flags: int,
             fd: int = -1, off: int = 0) -> int:
    """ksys_mmap_pgoff() -> vm_mmap_pgoff() -> do_mmap() + mm_populate()."""
    if off & ~PAGE_MASK:
        return -EINVAL
    pgoff = off >> 12
    file = None
    if not flags & MAP_ANONYMOUS:
        file = task.files.get(fd) if task.files is not None and fd >= 0 else None
        if file is None:
            return -EBADF
        if flags & MAP_HUGETLB:
            return -EINVAL
    elif flags & MAP_HUGETLB:
        # SIM: no hugetlbfs pool is modelled; the kernel fails the same way with none
        return -ENOMEM
    addr, populate = do_mmap(m, task, file, addr, length, prot, flags, 0, pgoff)
    if addr >= 0 and populate:
        from memsim.mm.gup import mm_populate
        mm_populate(m, task, addr, populate)
    return addr


@register_syscall("munmap")
def sys_munmap(m: Machine, task: Any, addr: int, length: int) -> int:
    return do_munmap(m, task.mm, addr, length)


register_syscall("brk")(sys_brk)
