"""Processes: spawn layout, mmap/munmap/brk, faults, COW after fork, exit, overcommit."""

from __future__ import annotations

import errno
import signal

import pytest

from memsim.include.mm import (
    VM_ACCOUNT,
    VM_GROWSDOWN,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYWRITE,
    VM_READ,
    VM_WRITE,
)
from memsim.include.mm_types import MM_ANONPAGES
from memsim.include.mman import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered
from memsim.mm.swap import lru_add_drain
from memsim.mm.vma import vma_lookup

PAGE = 4096
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS


@pytest.fixture
def m() -> Machine:
    return Machine.boot(mem="1G", cpus=2)


def free_total(m: Machine) -> int:
    return m.nr_free_pages() + m.nr_pcp_pages()


def test_spawn_layout_without_randomisation(m: Machine) -> None:
    p = m.spawn("cat", randomize=False)
    mm = p.mm
    # task_size - max(128 MiB, 8 MiB stack + 1 MiB guard gap)
    assert mm.mmap_base == 0x7FFFF7FFF000
    assert p.mm.start_brk == p.mm.brk
    names = [v.special_name for v in mm.vmas if v.special_name]
    assert names == ["[vvar]", "[vdso]"]
    vdso = [v for v in mm.vmas if v.special_name == "[vdso]"][0]
    assert vdso.vm_end == mm.mmap_base
    stack = mm.vmas[-1]
    assert stack.vm_end == 0x7FFFFFFFF000
    assert stack.vm_flags & VM_GROWSDOWN and stack.vm_flags & VM_ACCOUNT
    assert stack.nr_pages == 33
    # the argument page was written: one anonymous page resident
    assert mm.rss_stat[MM_ANONPAGES] == 1
    assert p.read(mm.arg_start, 4) == b"cat\0"
    m.validate()


def test_spawn_is_deterministic_per_seed() -> None:
    a = Machine.boot(mem="1G", seed=7).spawn("x")
    b = Machine.boot(mem="1G", seed=7).spawn("x")
    c = Machine.boot(mem="1G", seed=8).spawn("x")
    assert [(v.vm_start, v.vm_end) for v in a.mm.vmas] == \
        [(v.vm_start, v.vm_end) for v in b.mm.vmas]
    assert a.mm.mmap_base != c.mm.mmap_base


def test_anon_mmaps_are_placed_top_down_and_merge(m: Machine) -> None:
    p = m.spawn("t", randomize=False)
    a = p.mmap(0, 4 * PAGE, RW, ANON)
    b = p.mmap(0, 2 * PAGE, RW, ANON)
    assert b == a - 2 * PAGE
    v = vma_lookup(p.mm, b)
    assert v is not None and (v.vm_start, v.vm_end) == (b, a + 4 * PAGE)
    assert v.vm_flags == VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT
    assert v.vm_pgoff == b >> 12


def test_zero_page_then_write(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 4 * PAGE, RW, ANON)
    rss0, flt0 = p.mm.rss_stat[MM_ANONPAGES], p.min_flt
    assert p.touch(a, 4 * PAGE) == b"\0\0\0\0"
    assert p.mm.rss_stat[MM_ANONPAGES] == rss0
    assert p.min_flt == flt0 + 4
    assert p.mm.pgd.pte_get(a) >> 12 & ((1 << 40) - 1) == m.zero_pfn
    p.touch(a, 4 * PAGE)                       # mapped: no more faults
    assert p.min_flt == flt0 + 4
    p.write(a + 10, b"hello")
    assert p.mm.rss_stat[MM_ANONPAGES] == rss0 + 1
    assert p.min_flt == flt0 + 5
    assert p.read(a + 8, 8) == b"\0\0hello\0"
    m.validate()


def test_fork_cow_counts_match_the_kernel(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 8 * PAGE, RW, ANON)
    p.touch(a, 8 * PAGE, write=True, val=ord("a"))
    anon_before = m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED]
    c = p.fork()
    pfn0 = p.mm.pgd.pte_get(a) >> 12 & ((1 << 40) - 1)
    lru_add_drain(m)        # the per-CPU lru_add batch holds a reference until drained
    assert m.mem_map.mapcount1[pfn0] == 2 and m.mem_map.refcount[pfn0] == 2
    assert m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] == anon_before
    flt = c.min_flt
    c.touch(a, PAGE, write=True, val=ord("c"))
    assert c.min_flt == flt + 1
    assert p.read(a, 1) == b"a" and c.read(a, 1) == b"c"
    assert m.mem_map.mapcount1[pfn0] == 1 and m.mem_map.refcount[pfn0] == 1
    # the parent's page is not exclusive after fork, but refcount 1: reused, no copy
    pflt = p.min_flt
    p.touch(a, PAGE, write=True, val=ord("p"))
    assert p.min_flt == pflt + 1
    assert p.mm.pgd.pte_get(a) >> 12 & ((1 << 40) - 1) == pfn0
    # a shared page written by the parent is copied
    p.touch(a + PAGE, PAGE, write=True, val=ord("q"))
    assert c.read(a + PAGE, 1) == b"a"
    m.validate()
    c.exit()
    assert p.wait(c) == (c.pid, 0)
    m.validate()


def test_exit_frees_everything(m: Machine) -> None:
    def cached() -> int:
        return m.nodes[0].vm_stat[NodeStatItem.NR_FILE_PAGES]

    before = free_total(m) + cached()
    p = m.spawn("t")
    a = p.mmap(0, 64 * PAGE, RW, ANON)
    p.touch(a, 64 * PAGE, write=True)
    c = p.fork()
    c.touch(a, 8 * PAGE, write=True, val=1)
    c.exit()
    p.exit()
    # what is left is the executable's pages in the page cache, as on a real machine
    assert free_total(m) + cached() == before
    assert m.nodes[0].vm_stat[NodeStatItem.NR_ANON_MAPPED] == 0
    assert m.nodes[0].vm_stat[NodeStatItem.NR_PAGETABLE] == 0
    assert m.vm_committed_as == 0
    m.validate()


def test_munmap_hole_drops_rss_and_refill_merges(m: Machine) -> None:
    p = m.spawn("t")
    res = p.mmap(0, 64 * PAGE, PROT_NONE, ANON)
    a = p.mmap(res + 8 * PAGE, 8 * PAGE, RW, ANON | MAP_FIXED)
    p.touch(a, 8 * PAGE, write=True)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    n = p.mm.map_count
    p.munmap(a + 2 * PAGE, 2 * PAGE)
    assert p.mm.rss_stat[MM_ANONPAGES] == rss - 2
    assert p.mm.map_count == n + 1          # the RW VMA is now two
    p.mmap(a + 2 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED)
    v = vma_lookup(p.mm, a)
    assert v is not None and (v.vm_start, v.vm_end) == (a, a + 8 * PAGE)
    m.validate()


def test_fixed_noreplace_and_errors(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 4 * PAGE, RW, ANON)
    with pytest.raises(OSError) as e:
        p.mmap(a, PAGE, RW, ANON | MAP_FIXED_NOREPLACE)
    assert e.value.errno == errno.EEXIST
    assert p.syscall("mmap", a, 0, RW, ANON | MAP_FIXED, -1, 0) == -errno.EINVAL
    assert p.syscall("mmap", a + 16, PAGE, RW, ANON | MAP_FIXED, -1, 0) == -errno.EINVAL
    assert p.syscall("mmap", a, PAGE, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -errno.EINVAL
    assert p.syscall("mmap", a, PAGE, RW, MAP_PRIVATE | MAP_FIXED, 9999, 0) == -errno.EBADF
    assert p.syscall("mmap", 0, 1 << 52, RW, ANON, -1, 0) == -errno.ENOMEM
    assert p.syscall("munmap", a + 1, PAGE) == -errno.EINVAL
    assert p.syscall("munmap", a, 0) == -errno.EINVAL


def test_segfaults(m: Machine) -> None:
    p = m.spawn("victim")
    a = p.mmap(0, PAGE, PROT_READ, ANON)
    c = p.fork()
    with pytest.raises(SignalDelivered) as e:
        c.write(a, b"x")
    assert e.value.signo == signal.SIGSEGV and e.value.si_code == 2     # SEGV_ACCERR
    assert not c.alive
    assert f"victim[{c.pid}]: segfault at {a:x} ip " in m.dmesg()
    assert " error 7 " not in m.dmesg() and " error 6 " in m.dmesg()
    c2 = p.fork()
    with pytest.raises(SignalDelivered) as e:
        c2.read(0x1000, 1)
    assert e.value.si_code == 1                                          # SEGV_MAPERR
    assert p.alive
    m.validate()


def test_stack_grows_down_on_fault(m: Machine) -> None:
    p = m.spawn("t")
    stack = p.mm.vmas[-1]
    start = stack.vm_start
    p.write(start - 3 * PAGE, b"deep")
    assert stack.vm_start == start - 3 * PAGE
    assert p.read(start - 3 * PAGE, 4) == b"deep"


def test_brk_grow_touch_shrink(m: Machine) -> None:
    p = m.spawn("t")
    b0 = p.brk(0)
    assert p.brk(b0 + 10 * PAGE) == b0 + 10 * PAGE
    heap = vma_lookup(p.mm, b0)
    assert heap is not None and heap.vm_end == b0 + 10 * PAGE
    p.touch(b0, 10 * PAGE, write=True)
    rss = p.mm.rss_stat[MM_ANONPAGES]
    assert p.brk(b0 + 4 * PAGE + 5) == b0 + 4 * PAGE + 5
    heap = vma_lookup(p.mm, b0)
    assert heap is not None and heap.vm_end == b0 + 5 * PAGE
    assert p.mm.rss_stat[MM_ANONPAGES] == rss - 5
    assert p.brk(b0 - PAGE) == b0 + 4 * PAGE + 5          # below start_brk: refused
    m.validate()


def test_overcommit_never_refuses_and_logs() -> None:
    m = Machine.boot(mem="1G", **{"vm.overcommit_memory": 2})
    p = m.spawn("hog")
    limit = m.totalram_pages * 50 // 100
    assert p.syscall("mmap", 0, (limit + 1) * PAGE, RW, ANON, -1, 0) == -errno.ENOMEM
    assert f"__vm_enough_memory: pid: {p.pid}, comm: hog, bytes: " in m.dmesg()
    # read-only or NORESERVE-less shared anon is not charged in the same way
    assert p.syscall("mmap", 0, (limit + 1) * PAGE, PROT_READ, ANON, -1, 0) > 0


def test_shared_anon_is_not_copied_on_fork(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS)
    p.write(a, b"shared")
    c = p.fork()
    assert c.mm.pgd.pte_get(a) == 0            # not copied: faulted in again
    c.write(a + 1, b"H")
    assert p.read(a, 6) == b"sHared"
    m.validate()


def test_pgfault_vmstat_counts(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, 16 * PAGE, RW, ANON)
    before = m.vm_event[VmEventItem.PGFAULT]
    p.touch(a, 16 * PAGE, write=True)
    assert m.vm_event[VmEventItem.PGFAULT] == before + 16


def test_bulk_touch_equals_page_by_page() -> None:
    """The slice-at-a-time write-fault path leaves exactly the per-fault state."""
    import numpy as np
    ms = []
    for step in (1, 0):
        mm = Machine.boot(mem="1G", seed=3)
        p = mm.spawn("t")
        a = p.mmap(0, 1000 * PAGE, RW, ANON)
        if step:
            p.touch(a, 1000 * PAGE, write=True)
        else:
            for i in range(1000):
                p.write(a + i * PAGE, b"\0")
        ms.append((mm, p))
    (m1, p1), (m2, p2) = ms
    for f in ("flags_a", "refcount_a", "mapcount1_a", "mapping_a", "index_a"):
        assert np.array_equal(getattr(m1.mem_map, f), getattr(m2.mem_map, f)), f
    assert p1.min_flt == p2.min_flt and p1.mm.rss_stat == p2.mm.rss_stat
    assert sorted(p1.mm.pgd.leaf) == sorted(p2.mm.pgd.leaf)


def test_rmap_walk_and_try_to_unmap(m: Machine) -> None:
    import os

    from memsim.include.mman import MADV_FREE
    from memsim.mm.memory import folio_get, folio_put
    from memsim.mm.rmap import rmap_walk, try_to_unmap
    p = m.spawn("t")
    fd = p.open("/f", os.O_RDWR, data=b"F" * 4 * PAGE)
    a = p.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, fd)
    p.read(a, 1)
    c = p.fork()
    c.read(a, 1)
    pfn = p.mm.pgd.pte_get(a) >> 12 & ((1 << 40) - 1)
    walk = sorted((v.vm_mm.owner.pid, addr) for v, addr in rmap_walk(m, pfn))
    assert walk == sorted([(p.pid, a), (c.pid, a)])
    lru_add_drain(m)                        # the lru_add batch's reference
    folio_get(m, pfn)                       # the caller's reference, as reclaim isolates
    assert try_to_unmap(m, pfn)
    folio_put(m, pfn)
    assert p.mm.pgd.pte_get(a) == 0 and c.mm.pgd.pte_get(a) == 0
    assert m.mem_map.refcount[pfn] == 1     # the page cache's
    assert p.read(a, 1) == b"F"             # faulted back in from the page cache
    # anonymous: no swap device, so only a clean lazy-free page can go
    b = p.mmap(0, PAGE, RW, ANON)
    p.write(b, b"x")
    apfn = p.mm.pgd.pte_get(b) >> 12 & ((1 << 40) - 1)
    folio_get(m, apfn)
    assert not try_to_unmap(m, apfn)
    folio_put(m, apfn)
    p.madvise(b, PAGE, MADV_FREE)
    lru_add_drain(m)
    folio_get(m, apfn)
    assert try_to_unmap(m, apfn)
    folio_put(m, apfn)
    assert p.read(b, 1) == b"\0"            # discarded: reads see a fresh zero page
    m.validate()


def test_sigbus_beyond_end_of_file(m: Machine) -> None:
    import os
    p = m.spawn("t")
    fd = p.open("/short", os.O_RDWR, data=b"s" * 100)
    a = p.mmap(0, 3 * PAGE, PROT_READ, MAP_SHARED, fd)
    assert p.read(a + 99, 1) == b"s" and p.read(a + 100, 1) == b"\0"
    c = p.fork()
    with pytest.raises(SignalDelivered) as e:
        c.read(a + PAGE, 1)
    assert e.value.signo == signal.SIGBUS and e.value.si_code == 2     # BUS_ADRERR
    assert not c.alive and p.alive


def test_page_info(m: Machine) -> None:
    p = m.spawn("t")
    a = p.mmap(0, PAGE, RW, ANON)
    assert p.page_info(a) is None
    p.read(a, 1)
    assert p.page_info(a)["zero_page"] is True
    p.write(a, b"x")
    lru_add_drain(m)                        # the lru_add batch's reference
    info = p.page_info(a)
    assert info["_refcount"] == 1 and info["_mapcount"] == 0
    assert info["anon"] and info["anon_exclusive"] and "swapbacked" in info["flags"]
    c = p.fork()
    info = p.page_info(a)
    assert info["_refcount"] == 2 and info["_mapcount"] == 1 and not info["anon_exclusive"]
    assert c.page_info(a)["pfn"] == info["pfn"]


def test_fault_around_bytes_knob(m: Machine) -> None:
    import os
    assert m.proc("/sys/kernel/debug/fault_around_bytes") == "65536\n"
    m.proc_write("/sys/kernel/debug/fault_around_bytes", "20000")   # rounded down: 4 pages
    assert m.proc("/sys/kernel/debug/fault_around_bytes") == "16384\n"
    p = m.spawn("t")
    fd = p.open("/big", os.O_RDONLY, data=b"b" * 64 * PAGE)
    a = p.mmap(0, 64 * PAGE, PROT_READ, MAP_PRIVATE, fd)
    file0 = p.mm.rss_stat[0]
    p.read(a + 17 * PAGE, 1)
    assert p.mm.rss_stat[0] - file0 == 4
    m.proc_write("/sys/kernel/debug/fault_around_bytes", "4096")    # off: one page
    p.read(a + 40 * PAGE, 1)
    assert p.mm.rss_stat[0] - file0 == 5
