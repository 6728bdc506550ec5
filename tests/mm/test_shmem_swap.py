"""
shmem pages under memory pressure go to swap and come back (mm/shmem.py shmem_writeout,
shmem_swapin_folio): shared anonymous memory and memfds larger than RAM keep their
contents, truncation frees their swap slots, swapoff brings them home.
"""

from __future__ import annotations

from memsim.config import MachineConfig
from memsim.include.mman import MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE
from memsim.include.vmstat_items import NodeStatItem, VmEventItem
from memsim.machine import Machine
from memsim.mm.shmem import shmem_swaplist
from memsim.mm.swapfile import swap_state

PAGE = 4096


def boot(swap: int = 64 << 20) -> Machine:
    m = Machine.boot(MachineConfig.build({"mem": "64M"}))
    if swap:
        m.swapon(swap)
    return m


def _fill(p, a: int, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        p.write(a + i * PAGE, bytes([i % 251 + 1]) * 8)


def _swapped(m: Machine) -> int:
    return sum(len(mp.swapped) for mp in shmem_swaplist(m).values())


def test_shared_anonymous_memory_larger_than_ram_swaps_and_keeps_its_contents() -> None:
    m = boot()
    p = m.spawn("shm")
    n = 6000                                    # about 23 MiB usable: more than fits
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
    _fill(p, a, n)
    m.validate()
    out = m.vm_event[VmEventItem.PSWPOUT]
    assert out > 0 and m.vm_event[VmEventItem.OOM_KILL] == 0
    # every page is either in the page cache (Shmem) or in a slot the mapping holds
    shmem = m.nodes[0].vm_stat[NodeStatItem.NR_SHMEM]
    assert shmem + _swapped(m) == n
    maj0, in0 = m.vm_event[VmEventItem.PGMAJFAULT], m.vm_event[VmEventItem.PSWPIN]
    assert all(p.read(a + i * PAGE, 8) == bytes([i % 251 + 1]) * 8 for i in range(n))
    # each page read back from the device was a major fault of its own
    assert m.vm_event[VmEventItem.PSWPIN] - in0 == m.vm_event[VmEventItem.PGMAJFAULT] - maj0 > 0
    m.validate()


def test_a_forked_child_sees_the_swapped_pages() -> None:
    m = boot()
    p = m.spawn("shm")
    n = 6000
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
    _fill(p, a, n)
    c = p.fork()
    assert c.read(a, 8) == bytes([1]) * 8                # page 0 went to swap first
    c.write(a + 7 * PAGE, b"child")
    assert p.read(a + 7 * PAGE, 5) == b"child"
    c.exit()
    p.wait(c)
    m.validate()


def test_truncate_frees_the_slots_and_munmap_of_the_last_user_frees_everything() -> None:
    m = boot()
    p = m.spawn("memfd")
    fd = p.memfd_create("big")
    n = 6000
    p.ftruncate(fd, n * PAGE)
    for i in range(n):
        p.pwrite(fd, b"m%d" % i, i * PAGE)
    st = swap_state(m)
    assert _swapped(m) > 0
    used = st.total_swap_pages - st.nr_swap_pages
    assert used >= _swapped(m)
    # a partial last page that is out on swap comes back to be zeroed past EOF
    p.ftruncate(fd, 10 * PAGE + 2)
    assert p.pread(fd, 8, 10 * PAGE) == b"m1"
    assert p.pread(fd, 4, 0) == b"m0\0\0"
    assert all(idx <= 10 for mp in shmem_swaplist(m).values() for idx in mp.swapped)
    m.validate()
    p.close(fd)
    m.validate()
    assert _swapped(m) == 0


def test_swapoff_brings_shmem_pages_back() -> None:
    m = boot(32 << 20)
    p = m.spawn("shm")
    n = 6000
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
    _fill(p, a, n)
    p.munmap(a + 3000 * PAGE, 3000 * PAGE)     # the object keeps its pages: shrink memory
    b = p.mmap(0, 3000 * PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS)   # a second object
    assert p.read(b, 1) == b"\0"
    p.munmap(b, 3000 * PAGE)
    # the remaining object still holds 6000 pages' worth: swapoff cannot fit them all
    # until half of it goes (truncation by the VMA's end is not a thing: free it by
    # punching a hole)
    from memsim.include.mman import MADV_REMOVE
    p.madvise(a + 1000 * PAGE, 2000 * PAGE, MADV_REMOVE)
    assert m.swapoff("/swapfile") == 0
    assert _swapped(m) == 0
    assert p.read(a + 5 * PAGE, 8) == bytes([6]) * 8
    assert p.read(a + 1500 * PAGE, 8) == bytes(8)              # punched: zeros
    m.validate()


def test_without_swap_shmem_pages_stay() -> None:
    m = boot(swap=0)
    p = m.spawn("shm")
    a = p.mmap(0, 2000 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
    _fill(p, a, 2000)
    from memsim.include.mman import MADV_PAGEOUT
    p.madvise(a, 2000 * PAGE, MADV_PAGEOUT)
    assert m.vm_event[VmEventItem.PSWPOUT] == 0
    assert m.nodes[0].vm_stat[NodeStatItem.NR_SHMEM] >= 2000
    assert p.read(a + 1999 * PAGE, 8) == bytes([1999 % 251 + 1]) * 8
    m.validate()


def test_smaps_swap_of_a_shared_mapping_counts_its_objects_slots() -> None:
    m = boot()
    p = m.spawn("shm")
    n = 6000
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)
    _fill(p, a, n)
    swapped = _swapped(m)
    assert swapped > 0
    smaps = m.proc(f"{p.pid}/smaps")
    block = smaps[smaps.index(f"{a:08x}-"):]
    swap_kb = int(block.split("\nSwap:")[1].split()[0])
    assert swap_kb == swapped * 4
    rollup = m.proc(f"{p.pid}/smaps_rollup")
    total = sum(int(x.split()[0]) for x in smaps.split("\nSwap:")[1:])
    assert int(rollup.split("\nSwap:")[1].split()[0]) == total >= swapped * 4


def test_write_to_a_swapped_out_page_swaps_it_in_first() -> None:
    # shmem_write_begin() -> shmem_get_folio(SGP_WRITE): a partial write keeps the rest
    # of the page (found by tests/mm/test_shmem_stateful.py: the page used to be
    # replaced by a fresh zeroed one while its swap entry stayed behind)
    m = boot()
    p = m.spawn("shm")
    fd = p.memfd_create("obj")
    p.ftruncate(fd, 8 * PAGE)
    a = p.mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd)
    p.write(a + 5 * PAGE + 99, b"mapped")
    from memsim.include.mman import MADV_PAGEOUT
    p.madvise(a, 8 * PAGE, MADV_PAGEOUT)
    assert _swapped(m) == 1
    p.pwrite(fd, b"written", 5 * PAGE + 300)
    assert _swapped(m) == 0
    assert p.pread(fd, 6, 5 * PAGE + 99) == b"mapped"
    assert p.read(a + 5 * PAGE + 300, 7) == b"written"
    m.validate()
