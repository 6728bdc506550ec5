"""mlock/mlock2/munlock/mlockall/munlockall: VMAs, locked_vm, PG_mlocked / NR_MLOCK,
populate errors, and oracle scenario replays."""

from __future__ import annotations

import pytest

from conftest import assert_conforms
from memsim.include.mm import VM_LOCKED, VM_LOCKONFAULT
from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.page_flags import PageFlags
from memsim.include.pgtable_types import PTE_PFN_MASK
from memsim.include.vmstat_items import ZoneStatItem
from memsim.machine import Machine
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
PG_MLOCKED = 1 << PageFlags.PG_mlocked

SCENARIOS = ["mlock2_onfault", "mlockall_future_and_map_locked", "mlock_errors",
             "fork_mlock_not_inherited"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_oracle_scenario(name: str) -> None:
    assert_conforms(name)


@pytest.fixture
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="1G", cpus=2)


def window(m: Machine, npages: int = 64):  # type: ignore[no-untyped-def]
    p = m.spawn("t")
    r = p.mmap(0, npages * PAGE + (4 << 20), PROT_NONE, ANON)
    return p, (r + (2 << 20)) & ~((2 << 20) - 1)


def nr_mlock(m: Machine) -> int:
    return sum(z.vm_stat[ZoneStatItem.NR_MLOCK] for z in m.zones)


def pfn_at(p, addr: int) -> int:  # type: ignore[no-untyped-def]
    return (p.mm.pgd.pte_get(addr) & PTE_PFN_MASK) >> 12


def test_mlock_populates_and_counts(m: Machine) -> None:
    p, w = window(m)
    n0 = nr_mlock(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    rss0 = p.mm.get_mm_rss()
    p.touch(w, PAGE, write=True, val=1)            # one page before mlock
    assert p.mlock(w, 4 * PAGE) == 0
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_LOCKED and not v.vm_flags & VM_LOCKONFAULT
    assert p.mm.locked_vm == 4 and p.mm.get_mm_rss() == rss0 + 4
    assert nr_mlock(m) == n0 + 4
    assert all(m.mem_map.flags[pfn_at(p, w + i * PAGE)] & PG_MLOCKED for i in range(4))
    # locking again changes nothing
    assert p.mlock(w, 4 * PAGE) == 0 and p.mm.locked_vm == 4 and nr_mlock(m) == n0 + 4
    # munlock the middle: split in three, pages unlocked
    assert p.munlock(w + PAGE, 2 * PAGE) == 0
    assert [(v.vm_start - w) // PAGE for v in p.mm.vmas if w <= v.vm_start < w + 4 * PAGE] \
        == [0, 1, 3]
    assert p.mm.locked_vm == 2 and nr_mlock(m) == n0 + 2
    assert not m.mem_map.flags[pfn_at(p, w + PAGE)] & PG_MLOCKED
    # unmapping locked pages munlocks them
    p.munmap(w, 4 * PAGE)
    assert p.mm.locked_vm == 0 and nr_mlock(m) == n0


def test_unaligned_start_rounds(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    assert p.mlock(w + 100, PAGE) == 0                # covers pages 0 and 1
    assert p.mm.locked_vm == 2


def test_mlock2_onfault_and_flags(m: Machine) -> None:
    p, w = window(m)
    n0 = nr_mlock(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    rss0 = p.mm.get_mm_rss()
    assert p.syscall("mlock2", w, PAGE, 2) == -22
    assert p.mlock2(w, 4 * PAGE, MLOCK_ONFAULT) == 0
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_LOCKONFAULT and p.mm.get_mm_rss() == rss0
    assert p.mm.locked_vm == 4
    p.touch(w, PAGE, write=True, val=3)               # faulted page is mlocked
    assert nr_mlock(m) == n0 + 1
    # plain mlock over it drops LOCKONFAULT (locked_vm unchanged), populates
    assert p.mlock(w, 4 * PAGE) == 0
    v = vma_lookup(p.mm, w)
    assert v is not None and not v.vm_flags & VM_LOCKONFAULT and p.mm.locked_vm == 4
    # SIM check: the kernel does no page work when only LOCKONFAULT changes, but the
    # populate that follows maps and mlocks the rest
    assert p.mm.get_mm_rss() == rss0 + 4 and nr_mlock(m) == n0 + 4


def test_prot_none_mlock_is_enomem_but_locked(m: Machine) -> None:
    p, w = window(m)
    p.mmap(w, 2 * PAGE, PROT_NONE, ANON | MAP_FIXED)
    # populate_vma_page_range() is -EFAULT on an inaccessible VMA -> ENOMEM
    assert p.syscall("mlock", w, 2 * PAGE) == -12
    v = vma_lookup(p.mm, w)
    assert v is not None and v.vm_flags & VM_LOCKED and p.mm.locked_vm == 2


def test_munlock_unmapped_is_enomem(m: Machine) -> None:
    p, w = window(m)
    p.munmap(w, 4 * PAGE)
    assert p.syscall("munlock", w, PAGE) == -12
    assert p.syscall("mlock", w, PAGE) == -12
    assert p.syscall("mlock", w, 0) == 0


def test_mlockall_validation(m: Machine) -> None:
    p, _ = window(m)
    for flags in (0, MCL_ONFAULT, 8, MCL_CURRENT | 8):
        assert p.syscall("mlockall", flags) == -22


def test_mlockall_current_and_future(m: Machine) -> None:
    p, w = window(m)
    n0 = nr_mlock(m)
    p.mmap(w, 4 * PAGE, RW, ANON | MAP_FIXED)
    total = p.mm.total_vm
    special = sum(v.nr_pages for v in p.mm.vmas if v.special_name)
    assert p.mlockall(MCL_CURRENT | MCL_FUTURE) == 0
    assert p.mm.def_flags & VM_LOCKED and not p.mm.def_flags & VM_LOCKONFAULT
    # every VMA but [vvar]/[vdso] (VM_SPECIAL) is locked
    assert p.mm.locked_vm == total - special
    assert all(bool(v.vm_flags & VM_LOCKED) != bool(v.special_name) for v in p.mm.vmas)
    assert p.mm.get_mm_rss() >= 4 and nr_mlock(m) > n0
    # MCL_FUTURE: a new mapping is locked and populated
    p.mmap(w + 8 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED)
    assert p.mm.pgd.pte_get(w + 9 * PAGE) != 0
    assert p.munlockall() == 0
    assert p.mm.locked_vm == 0 and p.mm.def_flags & VM_LOCKED == 0
    assert nr_mlock(m) == n0
    assert p.mlockall(MCL_FUTURE | MCL_ONFAULT) == 0
    assert p.mm.def_flags & VM_LOCKONFAULT and p.mm.locked_vm == 0


def test_fork_cow_munlocks_old_page(m: Machine) -> None:
    p, w = window(m)
    n0 = nr_mlock(m)
    p.mmap(w, PAGE, RW, ANON | MAP_FIXED)
    p.mlock(w, PAGE)
    old = pfn_at(p, w)
    c = p.fork()
    assert c.mm.locked_vm == 0 and nr_mlock(m) == n0 + 1
    p.touch(w, PAGE, write=True, val=9)               # parent COW copy
    assert m.mem_map.flags[pfn_at(p, w)] & PG_MLOCKED
    assert not m.mem_map.flags[old] & PG_MLOCKED      # the child's page is not locked
    assert nr_mlock(m) == n0 + 1
    c.exit()
    p.wait(c)
    p.exit()
    assert nr_mlock(m) == n0
