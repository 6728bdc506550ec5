"""madvise(2): oracle scenario replays plus exact page-state, fault and errno checks."""

from __future__ import annotations

import pytest

from conftest import assert_conforms
from memsim.include.mm import (
    VM_DONTCOPY,
    VM_MAYBE_GUARD,
    VM_MERGEABLE,
    VM_RAND_READ,
    VM_SEQ_READ,
    VM_WIPEONFORK,
)
from memsim.include.mm_types import MM_ANONPAGES
from memsim.include.mman import (
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOMEM,
    EPERM,
    MADV_COLD,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_FREE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
    MADV_MERGEABLE,
    MADV_NORMAL,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_WIPEONFORK,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import _PAGE_ACCESSED, _PAGE_DIRTY, is_guard_pte
from memsim.include.vmstat_items import VmEventItem
from memsim.kernel.task import TaskStruct
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
SWAPBACKED = 1 << PageFlags.PG_swapbacked

SCENARIOS = ["madv_dontneed_retouch", "madv_free_lazyfree", "guard_regions",
             "zero_page_read_then_write", "mlock_mremap_and_dontneed_locked",
             "mseal_blocks_changes"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_oracle_scenario(name: str) -> None:
    assert_conforms(name)


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="1G", cpus=2)


def window(m: Machine, npages: int = 64) -> tuple[TaskStruct, int]:
    p = m.spawn("t")
    r = p.mmap(0, npages * PAGE + (4 << 20), PROT_NONE, ANON)
    return p, (r + (2 << 20)) & ~((2 << 20) - 1)


def pfn_at(p: TaskStruct, addr: int) -> int:
    return int(p.mm.pgd.pte_get(addr) >> 12 & ((1 << 40) - 1))


def test_validity_and_holes(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("madvise", w, PAGE, 7) == -EINVAL          # unknown advice
    assert p.syscall("madvise", w + 1, PAGE, MADV_NORMAL) == -EINVAL
    assert p.syscall("madvise", w, 0, MADV_DONTNEED) == 0
    p.munmap(w + 4 * PAGE, 4 * PAGE)
    p.mmap(w + 8 * PAGE, 4 * PAGE, RW, ANON | MAP_FIXED)
    # the hole gives ENOMEM, but both VMAs were advised
    assert p.syscall("madvise", w, 12 * PAGE, MADV_RANDOM) == -ENOMEM
    for a in (w, w + 8 * PAGE):
        v = vma_lookup(p.mm, a)
        assert v is not None and v.vm_flags & VM_RAND_READ


def test_flag_advices_split_and_merge(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    count = p.mm.map_count
    p.madvise(w + 2 * PAGE, 2 * PAGE, MADV_SEQUENTIAL)
    v = vma_lookup(p.mm, w + 2 * PAGE)
    assert v is not None and (v.vm_start, v.vm_end) == (w + 2 * PAGE, w + 4 * PAGE)
    assert v.vm_flags & VM_SEQ_READ and p.mm.map_count == count + 2
    p.madvise(w + 2 * PAGE, 2 * PAGE, MADV_NORMAL)
    assert p.mm.map_count == count                                  # merged back
    p.madvise(w, 8 * PAGE, MADV_DONTFORK)
    p.madvise(w, 8 * PAGE, MADV_WIPEONFORK)
    p.madvise(w, 8 * PAGE, MADV_MERGEABLE)
    v = vma_lookup(p.mm, w)
    assert v is not None
    assert v.vm_flags & (VM_DONTCOPY | VM_WIPEONFORK | VM_MERGEABLE) == \
        VM_DONTCOPY | VM_WIPEONFORK | VM_MERGEABLE
    p.mmap(w + 16 * PAGE, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    assert p.syscall("madvise", w + 16 * PAGE, PAGE, MADV_WIPEONFORK) == -EINVAL
    p.madvise(w + 16 * PAGE, PAGE, MADV_MERGEABLE)                  # silently skipped
    v = vma_lookup(p.mm, w + 16 * PAGE)
    assert v is not None and not v.vm_flags & VM_MERGEABLE


def test_split_at_max_map_count_is_eagain(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    m.sysctl.max_map_count = p.mm.map_count
    assert p.syscall("madvise", w + 2 * PAGE, PAGE, MADV_RANDOM) == -EAGAIN


def test_free_lazyfree_batch_and_pageout(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 32 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, 32 * PAGE, write=True, val=ord("f"))
    rss = p.mm.rss_stat[MM_ANONPAGES]
    ev = m.vm_event[VmEventItem.PGLAZYFREE]
    p.madvise(w, 32 * PAGE, MADV_FREE)
    pfns = [pfn_at(p, w + i * PAGE) for i in range(32)]
    # 31 pages drained from the per-CPU batch; the 32nd is still swap-backed
    assert [bool(m.mem_map.flags[f] & SWAPBACKED) for f in pfns] == [False] * 31 + [True]
    assert m.vm_event[VmEventItem.PGLAZYFREE] == ev + 31
    assert not p.mm.pgd.pte_get(w) & (_PAGE_DIRTY | _PAGE_ACCESSED)
    assert p.mm.rss_stat[MM_ANONPAGES] == rss
    flt = p.min_flt
    assert p.read(w, 1) == b"f"
    p.write(w + PAGE, b"g")                  # the PTE is writable: no fault, dirty again
    assert p.min_flt == flt
    assert p.mm.pgd.pte_get(w + PAGE) & _PAGE_DIRTY
    freed = m.vm_event[VmEventItem.PGLAZYFREED]
    p.madvise(w, 32 * PAGE, MADV_PAGEOUT)
    assert p.mm.rss_stat[MM_ANONPAGES] == rss - 31
    assert m.vm_event[VmEventItem.PGLAZYFREED] == freed + 31
    assert p.mm.pgd.pte_get(w) == 0 and pfn_at(p, w + PAGE) == pfns[1]
    assert m.mem_map.flags[pfns[1]] & SWAPBACKED
    assert p.read(w + PAGE, 1) == b"g" and p.read(w + 2 * PAGE, 1) == b"\0"


def test_pageout_keeps_dirty_anon_without_swap_and_cold(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, 4 * PAGE, write=True, val=1)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    p.madvise(w, 4 * PAGE, MADV_PAGEOUT)
    assert p.mm.rss_stat[MM_ANONPAGES] == rss
    p.madvise(w, 4 * PAGE, MADV_COLD)
    assert not p.mm.pgd.pte_get(w) & _PAGE_ACCESSED
    # folio_deactivate() queues on the per-CPU lru_deactivate batch (mm/swap.py)
    from memsim.mm.swap import lru_add_drain
    lru_add_drain(m)
    assert not m.mem_map.flags[pfn_at(p, w)] & (1 << PageFlags.PG_active)
    p.mlock(w, PAGE)
    assert p.syscall("madvise", w, PAGE, MADV_COLD) == -EINVAL
    assert p.syscall("madvise", w, PAGE, MADV_DONTNEED) == -EINVAL
    assert p.syscall("madvise", w, PAGE, MADV_FREE) == -EINVAL
    assert p.syscall("madvise", w, PAGE, MADV_DONTNEED_LOCKED) == 0


def test_guard_install_remove(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 8 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(w, 8 * PAGE, write=True, val=3)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    count = p.mm.map_count
    p.madvise(w + 2 * PAGE, 2 * PAGE, MADV_GUARD_INSTALL)
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_MAYBE_GUARD and p.mm.map_count == count
    assert is_guard_pte(p.mm.pgd.pte_get(w + 2 * PAGE))
    assert p.mm.rss_stat[MM_ANONPAGES] == rss - 2
    c = p.fork()
    with pytest.raises(SignalDelivered):
        c.read(w + 3 * PAGE, 1)
    p.wait(c)
    p.madvise(w, 8 * PAGE, MADV_DONTNEED)
    assert is_guard_pte(p.mm.pgd.pte_get(w + 3 * PAGE))
    p.madvise(w, 8 * PAGE, MADV_GUARD_REMOVE)
    assert p.mm.pgd.pte_get(w + 3 * PAGE) == 0
    assert p.read(w + 3 * PAGE, 1) == b"\0"
    p.mlock(w, 8 * PAGE)
    assert p.syscall("madvise", w, PAGE, MADV_GUARD_INSTALL) == -EINVAL


def test_populate(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    flt = p.min_flt
    p.madvise(w, 2 * PAGE, MADV_POPULATE_READ)
    assert p.min_flt == flt + 2 and pfn_at(p, w) == m.zero_pfn
    rss = p.mm.rss_stat[MM_ANONPAGES]
    p.madvise(w, 4 * PAGE, MADV_POPULATE_WRITE)
    assert p.mm.rss_stat[MM_ANONPAGES] == rss + 4
    p.mmap(w + 8 * PAGE, 2 * PAGE, PROT_READ, ANON | MAP_FIXED)
    assert p.syscall("madvise", w + 8 * PAGE, PAGE, MADV_POPULATE_WRITE) == -EINVAL
    p.munmap(w + 4 * PAGE, 4 * PAGE)
    assert p.syscall("madvise", w, 8 * PAGE, MADV_POPULATE_READ) == -ENOMEM
    p.mmap(w + 16 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED)
    p.madvise(w + 16 * PAGE, PAGE, MADV_GUARD_INSTALL)
    assert p.syscall("madvise", w + 16 * PAGE, PAGE, MADV_POPULATE_READ) == -EFAULT


def test_remove_and_mseal(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 2 * PAGE, RW, ANON | MAP_FIXED)
    assert p.syscall("madvise", w, PAGE, MADV_REMOVE) == -EINVAL     # no file
    p.mmap(w + 8 * PAGE, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    p.write(w + 8 * PAGE, b"x")
    p.madvise(w + 8 * PAGE, PAGE, MADV_REMOVE)
    assert p.read(w + 8 * PAGE, 1) == b"\0"
    p.mprotect(w, 2 * PAGE, PROT_READ)
    p.mseal(w, 2 * PAGE)
    assert p.syscall("madvise", w, PAGE, MADV_DONTNEED) == -EPERM
    assert p.syscall("madvise", w, PAGE, MADV_RANDOM) == 0
