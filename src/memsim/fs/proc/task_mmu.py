"""
/proc/PID/maps, smaps, smaps_rollup, statm and ksm_stat (fs/proc/task_mmu.c,
fs/proc/base.c): Linux 6.12 semantics (smaps_pte_entry/smaps_account), 6.18 text.

``smap_counts(m, vma)`` is the structured form of one smaps block (kB by field name); the
text renderers and the conformance runner (memsim/conform.py) both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from memsim.include import mm as vmf
from memsim.include.mm_types import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    PAGE_MAPPING_ANON,
    PAGE_MAPPING_KSM,
    MmStruct,
    VmAreaStruct,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_SPECIAL,
    PTE_PFN_MASK,
    SWP_MIGRATION_READ,
    SWP_PTE_MARKER,
    is_guard_pte,
    pte_swp_type,
)

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PSS_SHIFT = 12
HPAGE_PMD_NR = 512
#: seq_setwidth(m, 25 + sizeof(void *) * 6 - 1): a 64-bit maps line is padded to this
#: width, then one space precedes the name
MAPS_NAME_COLUMN = 25 + 8 * 6 - 1

_PG_DIRTY = 1 << PageFlags.PG_dirty
_PG_REFERENCED = 1 << PageFlags.PG_referenced
_PG_YOUNG = 1 << PageFlags.PG_young
_PG_SWAPBACKED = 1 << PageFlags.PG_swapbacked
_PG_HEAD = 1 << PageFlags.PG_head
_PG_LRU = 1 << PageFlags.PG_lru
_PTE_PRESENT_ANY = _PAGE_PRESENT | _PAGE_PROTNONE

#: 6.18 VM_MAYBE_GUARD (bit 11): set by MADV_GUARD_INSTALL, shown as "gu"
VM_MAYBE_GUARD = 1 << 11
MMF_DISABLE_THP = 24
MMF_VM_MERGE_ANY = 30

#: show_smap_vma_flags() mnemonics of the oracle's x86-64 6.18 config (no soft-dirty, no
#: pkeys shown, userfaultfd minor, shadow stack), printed in bit order
_MNEMONICS: tuple[tuple[int, str], ...] = tuple(sorted((
    (vmf.VM_READ, "rd"), (vmf.VM_WRITE, "wr"), (vmf.VM_EXEC, "ex"), (vmf.VM_SHARED, "sh"),
    (vmf.VM_MAYREAD, "mr"), (vmf.VM_MAYWRITE, "mw"), (vmf.VM_MAYEXEC, "me"),
    (vmf.VM_MAYSHARE, "ms"), (vmf.VM_GROWSDOWN, "gd"), (vmf.VM_UFFD_MISSING, "um"),
    (vmf.VM_PFNMAP, "pf"), (VM_MAYBE_GUARD, "gu"), (vmf.VM_UFFD_WP, "uw"),
    (vmf.VM_LOCKED, "lo"), (vmf.VM_IO, "io"), (vmf.VM_SEQ_READ, "sr"),
    (vmf.VM_RAND_READ, "rr"), (vmf.VM_DONTCOPY, "dc"), (vmf.VM_DONTEXPAND, "de"),
    (vmf.VM_LOCKONFAULT, "lf"), (vmf.VM_ACCOUNT, "ac"), (vmf.VM_NORESERVE, "nr"),
    (vmf.VM_HUGETLB, "ht"), (vmf.VM_SYNC, "sf"), (vmf.VM_ARCH_1, "ar"),
    (vmf.VM_WIPEONFORK, "wf"), (vmf.VM_DONTDUMP, "dd"), (vmf.VM_MIXEDMAP, "mm"),
    (vmf.VM_HUGEPAGE, "hg"), (vmf.VM_NOHUGEPAGE, "nh"), (vmf.VM_MERGEABLE, "mg"),
    (vmf.VM_SHADOW_STACK, "ss"), (vmf.VM_UFFD_MINOR, "ui"), (vmf.VM_DROPPABLE, "dp"),
    (vmf.VM_SEALED, "sl"),
)))

#: smaps fields after the maps line, in 6.18 order (value in kB unless noted)
SMAPS_FIELDS: tuple[str, ...] = (
    "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean",
    "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM",
    "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb",
    "Private_Hugetlb", "Swap", "SwapPss", "Locked", "THPeligible", "ProtectionKey")
#: the three extra lines of smaps_rollup after Pss_Dirty
ROLLUP_EXTRA = ("Pss_Anon", "Pss_File", "Pss_Shmem")


def vm_flags_text(flags: int) -> str:
    """The words after ``VmFlags:`` (each followed by one space, as the kernel prints)."""
    return "".join(f"{name} " for bit, name in _MNEMONICS if flags & bit)


# ---- naming -------------------------------------------------------------------------------

def seq_path_escape(path: str) -> str:
    """seq_path(m, path, "\\n"): newlines become the octal escape ``\\012``."""
    return path.replace("\n", "\\012")


def vma_is_initial_heap(vma: VmAreaStruct) -> bool:
    mm = vma.vm_mm
    return vma.vm_start < mm.brk and vma.vm_end > mm.start_brk


def vma_is_initial_stack(vma: VmAreaStruct) -> bool:
    mm = vma.vm_mm
    return vma.vm_start <= mm.start_stack <= vma.vm_end


def get_vma_name(vma: VmAreaStruct) -> str | None:
    """get_vma_name(): the name column of a maps line, or None when it stays empty."""
    f = vma.vm_file
    anon_name: str | None = getattr(vma, "anon_name", None)
    if f is not None:
        if anon_name:
            return f"[anon_shmem:{anon_name}]"
        return seq_path_escape(str(f.d_path()))
    ops = vma.vm_ops
    name = vma.special_name or (getattr(ops, "name", None) if ops is not None else None)
    if name:
        return str(name)
    if vma_is_initial_heap(vma):
        return "[heap]"
    if vma_is_initial_stack(vma):
        return "[stack]"
    if anon_name:
        return f"[anon:{anon_name}]"
    return None


def _file_dev_ino(vma: VmAreaStruct) -> tuple[str, int, int]:
    f = vma.vm_file
    if f is None:
        return "00:00", 0, 0
    inode = f.f_inode
    sb = inode.i_sb
    return f"{sb.major:02x}:{sb.minor:02x}", int(inode.i_ino), vma.vm_pgoff << PAGE_SHIFT


def show_vma_header(start: int, end: int, flags: int, pgoff_bytes: int, dev: str, ino: int,
                    name: str | None) -> str:
    """show_vma_header_prefix() + the padded name, with the newline."""
    perms = ("r" if flags & vmf.VM_READ else "-") + ("w" if flags & vmf.VM_WRITE else "-") \
        + ("x" if flags & vmf.VM_EXEC else "-") + ("s" if flags & vmf.VM_MAYSHARE else "p")
    line = f"{start:08x}-{end:08x} {perms} {pgoff_bytes:08x} {dev} {ino} "
    if name is None:
        return line + "\n"
    if len(line) < MAPS_NAME_COLUMN:            # seq_pad(m, ' '): pad, then one space
        line += " " * (MAPS_NAME_COLUMN - len(line))
    return line + " " + name + "\n"


def show_map_vma(vma: VmAreaStruct) -> str:
    """One /proc/PID/maps line."""
    dev, ino, off = _file_dev_ino(vma)
    return show_vma_header(vma.vm_start, vma.vm_end, vma.vm_flags, off, dev, ino,
                           get_vma_name(vma))


def show_maps(m: Machine, task: Any) -> str:
    return "".join(show_map_vma(v) for v in task.mm.vmas)


# ---- page state ---------------------------------------------------------------------------

def folio_head(m: Machine, pfn: int) -> int:
    h1 = m.mem_map.compound_head1[pfn]
    return int(h1) - 1 if h1 else pfn


def folio_nr_pages(m: Machine, head: int) -> int:
    mm_ = m.mem_map
    if not mm_.flags[head] & _PG_HEAD:
        return 1
    return 1 << int(mm_.compound_order[head])


def folio_entire_mapcount(m: Machine, head: int) -> int:
    """PMD mappings of a large folio (provided by mm/huge_memory.py once THP maps PMDs)."""
    from memsim.mm import huge_memory
    fn = getattr(huge_memory, "folio_entire_mapcount", None)
    return int(fn(m, head)) if fn is not None else 0


def precise_page_mapcount(m: Machine, pfn: int) -> int:
    """folio_precise_page_mapcount() with CONFIG_PAGE_MAPCOUNT: PTE maps + PMD maps."""
    n = int(m.mem_map.mapcount1[pfn])
    head = folio_head(m, pfn)
    if head != pfn or m.mem_map.flags[pfn] & _PG_HEAD:
        n += folio_entire_mapcount(m, head)
    return n


def folio_is_anon(m: Machine, head: int) -> bool:
    return bool(m.mem_map.mapping[head] & PAGE_MAPPING_ANON)


def folio_is_ksm(m: Machine, head: int) -> bool:
    mask = PAGE_MAPPING_ANON | PAGE_MAPPING_KSM
    return m.mem_map.mapping[head] & mask == mask


def _is_zero(m: Machine, pfn: int) -> bool:
    if pfn == m.zero_pfn:
        return True
    from memsim.mm import huge_memory
    fn = getattr(huge_memory, "is_huge_zero_pfn", None)
    return bool(fn(m, pfn)) if fn is not None else False


# ---- smaps accounting ---------------------------------------------------------------------

@dataclass(slots=True)
class MemSizeStats:
    """struct mem_size_stats: bytes, Pss values shifted left by PSS_SHIFT."""

    resident: int = 0
    shared_clean: int = 0
    shared_dirty: int = 0
    private_clean: int = 0
    private_dirty: int = 0
    referenced: int = 0
    anonymous: int = 0
    lazyfree: int = 0
    anonymous_thp: int = 0
    shmem_thp: int = 0
    file_thp: int = 0
    swap: int = 0
    shared_hugetlb: int = 0
    private_hugetlb: int = 0
    ksm: int = 0
    pss: int = 0
    pss_anon: int = 0
    pss_file: int = 0
    pss_shmem: int = 0
    pss_dirty: int = 0
    pss_locked: int = 0
    swap_pss: int = 0

    def add(self, o: MemSizeStats) -> None:
        for k in self.__slots__:
            setattr(self, k, getattr(self, k) + getattr(o, k))


def _page_accumulate(m: Machine, mss: MemSizeStats, head: int, size: int, pss: int,
                     dirty: bool, locked: bool, private: bool) -> None:
    """smaps_page_accumulate()."""
    flags = m.mem_map.flags[head]
    mss.pss += pss
    if folio_is_anon(m, head):
        mss.pss_anon += pss
    elif flags & _PG_SWAPBACKED:
        mss.pss_shmem += pss
    else:
        mss.pss_file += pss
    if locked:
        mss.pss_locked += pss
    if dirty or flags & _PG_DIRTY:
        mss.pss_dirty += pss
        if private:
            mss.private_dirty += size
        else:
            mss.shared_dirty += size
    elif private:
        mss.private_clean += size
    else:
        mss.shared_clean += size


def smaps_account(m: Machine, mss: MemSizeStats, pfn: int, compound: bool, young: bool,
                  dirty: bool, locked: bool, present: bool) -> None:
    """smaps_account() for one PTE (or one PMD when *compound*)."""
    mm_ = m.mem_map
    head = folio_head(m, pfn)
    flags = mm_.flags[head]
    nr = folio_nr_pages(m, head) if compound else 1
    size = nr * PAGE_SIZE
    if folio_is_anon(m, head):
        mss.anonymous += size
        if not flags & _PG_SWAPBACKED and not dirty and not flags & _PG_DIRTY:
            mss.lazyfree += size
    if folio_is_ksm(m, head):
        mss.ksm += size
    mss.resident += size
    if young or flags & (_PG_YOUNG | _PG_REFERENCED):
        mss.referenced += size
    if mm_.refcount[head] == 1 or not present:
        _page_accumulate(m, mss, head, size, size << PSS_SHIFT, dirty, locked, present)
        return
    page = head if compound else pfn
    for i in range(nr):
        mc = precise_page_mapcount(m, page + i)
        pss = PAGE_SIZE << PSS_SHIFT
        if mc >= 2:
            pss //= mc
        _page_accumulate(m, mss, head, PAGE_SIZE, pss, dirty, locked, mc < 2)


def _vm_normal_page(m: Machine, pte: int) -> int | None:
    if pte & _PAGE_SPECIAL:
        return None
    pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
    if _is_zero(m, pfn) or pfn >= m.mem_map.nr_pfns:
        return None
    return pfn


def smap_gather_stats(m: Machine, vma: VmAreaStruct) -> MemSizeStats:
    """smap_gather_stats(): walk the PMDs and PTEs of *vma*."""
    mss = MemSizeStats()
    pgd = vma.vm_mm.pgd
    if pgd is None:
        return mss
    locked = bool(vma.vm_flags & vmf.VM_LOCKED)
    shift = pgd.pmd_shift
    start, end = vma.vm_start, vma.vm_end
    # PMD-mapped folios
    for key, hp in list(pgd.huge.items()):
        addr = key << shift
        if addr < start or addr >= end or not hp & _PTE_PRESENT_ANY:
            continue
        pfn = _vm_normal_page(m, hp)
        if pfn is None:
            continue
        head = folio_head(m, pfn)
        if folio_is_anon(m, head):
            mss.anonymous_thp += HPAGE_PMD_NR * PAGE_SIZE
        elif m.mem_map.flags[head] & _PG_SWAPBACKED:
            mss.shmem_thp += HPAGE_PMD_NR * PAGE_SIZE
        else:
            mss.file_thp += HPAGE_PMD_NR * PAGE_SIZE
        smaps_account(m, mss, pfn, True, bool(hp & _PAGE_ACCESSED), bool(hp & _PAGE_DIRTY),
                      locked, True)
    for t, lo, hi in pgd.iter_tables(start, end):
        ptes = t.ptes[lo:hi]
        for i in np.flatnonzero(ptes).tolist():
            pte = int(ptes[i])
            if pte & _PTE_PRESENT_ANY:
                pfn = _vm_normal_page(m, pte)
                if pfn is None:
                    continue
                smaps_account(m, mss, pfn, False, bool(pte & _PAGE_ACCESSED),
                              bool(pte & _PAGE_DIRTY), locked, True)
                continue
            typ = pte_swp_type(pte)
            if typ < SWP_MIGRATION_READ:
                # a real swap entry
                mss.swap += PAGE_SIZE
                cnt = _swap_count(m, pte)
                mss.swap_pss += (PAGE_SIZE << PSS_SHIFT) // cnt if cnt >= 2 \
                    else PAGE_SIZE << PSS_SHIFT
            elif typ != SWP_PTE_MARKER:
                # SIM: migration/hwpoison entries are not modelled: no page to account
                continue
    # shmem objects: pages swapped out of the object count as Swap of the mapping
    f = vma.vm_file
    if f is not None:
        swapped = getattr(f.f_mapping, "swapped", None)
        if swapped and (vma.vm_flags & vmf.VM_SHARED or not vma.vm_flags & vmf.VM_WRITE):
            # shmem_swap_usage(): the object's entries inside the VMA's file range
            # (SIM: a private writable mapping's walk of shmem swap entries is not done)
            lo, hi = vma.vm_pgoff, vma.vm_pgoff + ((vma.vm_end - vma.vm_start) >> 12)
            usage = sum(1 for i in swapped if lo <= i < hi)
            mss.swap += usage * PAGE_SIZE
    return mss


def _swap_count(m: Machine, pte: int) -> int:
    fn = getattr(m, "swp_swapcount", None)
    return int(fn(pte)) if fn is not None else 1


# ---- THP eligibility --------------------------------------------------------------------

def thp_enabled_mode(m: Machine) -> str:
    """/sys/kernel/mm/transparent_hugepage/enabled (always, madvise or never)."""
    mode = getattr(m, "thp_enabled", None)
    if isinstance(mode, str):
        return mode
    return str(m.config["thp"])


def thp_vma_allowable(m: Machine, vma: VmAreaStruct) -> bool:
    """
    thp_vma_allowable_orders(vma, vm_flags, TVA_SMAPS | TVA_ENFORCE_SYSFS, THP_ORDERS_ALL)
    for the PMD order (the oracle's config: every mTHP size "never", 2048kB "inherit").
    # SIM: only the PMD order; file THP (READ_ONLY_THP_FOR_FS, shmem huge=) is never
    # eligible, as on the oracle's machine (shmem_enabled=never).
    """
    flags = vma.vm_flags
    if not vma.vma_is_anonymous():
        return False
    mode = thp_enabled_mode(m)
    if not (mode == "always" or (flags & vmf.VM_HUGEPAGE and mode == "madvise")):
        return False
    if flags & vmf.VM_NOHUGEPAGE or vma.vm_mm.flags & (1 << MMF_DISABLE_THP):
        return False
    if vma.special_name is not None or vma.vm_ops is not None:
        return False
    hsize = HPAGE_PMD_NR * PAGE_SIZE
    haddr = (vma.vm_end - hsize) & ~(hsize - 1)
    if haddr < vma.vm_start or haddr + hsize > vma.vm_end:
        return False
    if flags & (vmf.VM_GROWSDOWN) and \
            flags & vmf.VM_STACK_INCOMPLETE_SETUP == vmf.VM_STACK_INCOMPLETE_SETUP:
        return False
    return True


# ---- smaps text -----------------------------------------------------------------------------

def _kb(mss_bytes: int) -> int:
    return mss_bytes >> 10


def mss_counts(mss: MemSizeStats) -> dict[str, int]:
    """The counters of __show_smap() in kB (Pss_* included, for the rollup)."""
    return {
        "Rss": _kb(mss.resident),
        "Pss": _kb(mss.pss >> PSS_SHIFT),
        "Pss_Dirty": _kb(mss.pss_dirty >> PSS_SHIFT),
        "Pss_Anon": _kb(mss.pss_anon >> PSS_SHIFT),
        "Pss_File": _kb(mss.pss_file >> PSS_SHIFT),
        "Pss_Shmem": _kb(mss.pss_shmem >> PSS_SHIFT),
        "Shared_Clean": _kb(mss.shared_clean),
        "Shared_Dirty": _kb(mss.shared_dirty),
        "Private_Clean": _kb(mss.private_clean),
        "Private_Dirty": _kb(mss.private_dirty),
        "Referenced": _kb(mss.referenced),
        "Anonymous": _kb(mss.anonymous),
        "KSM": _kb(mss.ksm),
        "LazyFree": _kb(mss.lazyfree),
        "AnonHugePages": _kb(mss.anonymous_thp),
        "ShmemPmdMapped": _kb(mss.shmem_thp),
        "FilePmdMapped": _kb(mss.file_thp),
        "Shared_Hugetlb": _kb(mss.shared_hugetlb),
        "Private_Hugetlb": _kb(mss.private_hugetlb),
        "Swap": _kb(mss.swap),
        "SwapPss": _kb(mss.swap_pss >> PSS_SHIFT),
        "Locked": _kb(mss.pss_locked >> PSS_SHIFT),
    }


def smap_counts(m: Machine, vma: VmAreaStruct) -> dict[str, int]:
    """Every value of the VMA's smaps block by field name (kB; THPeligible 0/1)."""
    mss = smap_gather_stats(m, vma)
    c = mss_counts(mss)
    out = {"Size": (vma.vm_end - vma.vm_start) >> 10, "KernelPageSize": 4, "MMUPageSize": 4}
    out.update({k: v for k, v in c.items() if k not in ROLLUP_EXTRA})
    out["THPeligible"] = int(thp_vma_allowable(m, vma))
    out["ProtectionKey"] = 0
    return out


def _smaps_line(name: str, value: int, unit: bool = True) -> str:
    label = f"{name}:"
    if name == "Private_Hugetlb":       # the one label that eats a column of the value
        return f"{label} {value:7d} kB\n"
    return f"{label:<16s}{value:8d}" + (" kB\n" if unit else "\n")


def show_smap(m: Machine, vma: VmAreaStruct, pkeys: bool = True) -> str:
    """One /proc/PID/smaps block (show_smap)."""
    c = smap_counts(m, vma)
    out = [show_map_vma(vma)]
    for k in SMAPS_FIELDS:
        if k == "ProtectionKey" and not pkeys:
            continue
        out.append(_smaps_line(k, c[k], unit=k not in ("THPeligible", "ProtectionKey")))
    out.append(f"VmFlags: {vm_flags_text(vma.vm_flags)}\n")
    return "".join(out)


def show_smaps(m: Machine, task: Any) -> str:
    return "".join(show_smap(m, v) for v in task.mm.vmas)


def show_smaps_rollup(m: Machine, task: Any) -> str:
    """/proc/PID/smaps_rollup: one [rollup] header and the sums over every VMA."""
    vmas = task.mm.vmas
    total = MemSizeStats()
    for v in vmas:
        total.add(smap_gather_stats(m, v))
    start = vmas[0].vm_start if vmas else 0
    end = vmas[-1].vm_end if vmas else 0
    out = [show_vma_header(start, end, 0, 0, "00:00", 0, "[rollup]")]
    c = mss_counts(total)
    for k in ("Rss", "Pss", "Pss_Dirty", *ROLLUP_EXTRA, "Shared_Clean", "Shared_Dirty",
              "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree",
              "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb",
              "Private_Hugetlb", "Swap", "SwapPss", "Locked"):
        out.append(_smaps_line(k, c[k]))
    return "".join(out)


# ---- statm / ksm_stat ---------------------------------------------------------------------

def task_statm(mm: MmStruct) -> tuple[int, int, int, int, int]:
    """task_statm(): (size, resident, shared, text, data) in pages."""
    shared = mm.rss_stat[MM_FILEPAGES] + mm.rss_stat[MM_SHMEMPAGES]
    text = (((mm.end_code + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
            - (mm.start_code & ~(PAGE_SIZE - 1))) >> PAGE_SHIFT
    data = mm.data_vm + mm.stack_vm
    resident = shared + mm.rss_stat[MM_ANONPAGES]
    return mm.total_vm, resident, shared, text, data


def show_statm(m: Machine, task: Any) -> str:
    size, resident, shared, text, data = task_statm(task.mm)
    return f"{size} {resident} {shared} {text} 0 {data} 0\n"


#: sizeof(struct ksm_rmap_item) on x86-64
KSM_RMAP_ITEM_SIZE = 64


def ksm_process_mergeable(mm: MmStruct) -> bool:
    if mm.flags & (1 << MMF_VM_MERGE_ANY):
        return True
    return any(v.vm_flags & vmf.VM_MERGEABLE for v in mm.vmas)


def ksm_stat_values(mm: MmStruct) -> dict[str, int | str]:
    """The fields of /proc/PID/ksm_stat (6.18)."""
    profit = (mm.ksm_merging_pages + mm.ksm_zero_pages) * PAGE_SIZE \
        - mm.ksm_rmap_items * KSM_RMAP_ITEM_SIZE
    return {
        "ksm_rmap_items": mm.ksm_rmap_items,
        "ksm_zero_pages": mm.ksm_zero_pages,
        "ksm_merging_pages": mm.ksm_merging_pages,
        "ksm_process_profit": profit,
        "ksm_merge_any": "yes" if mm.flags & (1 << MMF_VM_MERGE_ANY) else "no",
        "ksm_mergeable": "yes" if ksm_process_mergeable(mm) else "no",
    }


def show_ksm_stat(m: Machine, task: Any) -> str:
    v = ksm_stat_values(task.mm)
    return "".join(f"{k} {v[k]}\n" for k in ("ksm_rmap_items", "ksm_zero_pages",
                                            "ksm_merging_pages", "ksm_process_profit")) + \
        f"ksm_merge_any: {v['ksm_merge_any']}\nksm_mergeable: {v['ksm_mergeable']}\n"


# ---- per-page codes (pagemap + kpageflags as the oracle reads them) -------------------------

def page_code(m: Machine, mm: MmStruct, addr: int) -> tuple[str, int | None]:
    """
    The oracle's per-page letter for the page at *addr* (legend.pages) and the PFN it maps
    (None for holes, swap entries and the zero page).
    """
    pgd = mm.pgd
    key = addr >> pgd.pmd_shift
    t = pgd.leaf.get(key)
    if t is not None:
        pte = int(t.pte[(addr >> PAGE_SHIFT) & (pgd.ptrs_per_pte - 1)])
    else:
        hp = pgd.huge.get(key)
        if hp is None or not hp & _PTE_PRESENT_ANY:
            return ".", None
        pte = hp + (((addr >> PAGE_SHIFT) & (HPAGE_PMD_NR - 1)) << PAGE_SHIFT)
    if pte == 0:
        return ".", None
    if not pte & _PTE_PRESENT_ANY:
        return ("g" if is_guard_pte(pte) else "s"), None
    pfn = (pte & PTE_PFN_MASK) >> PAGE_SHIFT
    if _is_zero(m, pfn):
        return "z", None
    if pte & _PAGE_SPECIAL or pfn >= m.mem_map.nr_pfns:
        return "a", pfn
    head = folio_head(m, pfn)
    if folio_is_ksm(m, head):
        return "K", pfn
    excl = precise_page_mapcount(m, pfn) == 1
    if not folio_is_anon(m, head):
        return ("F" if excl else "f"), pfn
    if head != pfn or m.mem_map.flags[pfn] & _PG_HEAD:
        return ("H" if excl else "h"), pfn
    return ("A" if excl else "a"), pfn
