"""Swap devices: swapon/swapoff, priorities, slot allocation order, /proc/swaps, swapoff's
try_to_unuse, the overcommit limit (mm/swapfile.py)."""

from __future__ import annotations

import pytest

from memsim.fs.proc.registry import read
from memsim.include.mm_types import MM_SWAPENTS
from memsim.include.mman import MADV_PAGEOUT, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.include.pgtable_types import pte_present, pte_swp_offset, pte_swp_type
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm.swap_state import swap_use_vma_readahead
from memsim.mm.swapfile import (
    get_swap_pages,
    swap_state,
    swapcache_free_entries,
    swp_offset,
    swp_type,
    sys_swapoff,
    sys_swapon,
)

PAGE = 4096
HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def boot() -> Machine:
    return Machine.boot(arch="x86_64", mem="256M", cpus=2)


def meminfo(m: Machine, key: str) -> int:
    for line in read(m, "/proc/meminfo").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def test_proc_swaps_text_and_priorities() -> None:
    m = boot()
    assert read(m, "/proc/swaps") == HEADER
    m.swapon("/dev/vdb", size=1 << 30)
    m.swapon(64 << 20)
    m.swapon("/swap2", 7, size=8 << 20)
    assert read(m, "/proc/swaps") == HEADER + (
        "/dev/vdb                                partition\t1048572\t\t0\t\t-2\n"
        "/swapfile                               file\t\t65532\t\t0\t\t-3\n"
        "/swap2                                  file\t\t8188\t\t0\t\t7\n")
    assert meminfo(m, "SwapTotal") == 1048572 + 65532 + 8188
    # swapoff of an automatic priority: the later automatic ones move up
    m.swapoff("/dev/vdb")
    assert read(m, "/proc/swaps") == HEADER + (
        "/swapfile                               file\t\t65532\t\t0\t\t-2\n"
        "/swap2                                  file\t\t8188\t\t0\t\t7\n")
    m.swapon("/dev/vdc", size=4 << 20)
    # the free swap_info[] slot 0 is reused; least_priority went back to -2
    assert read(m, "/proc/swaps").splitlines()[1].startswith("/dev/vdc ")
    assert read(m, "/proc/swaps").splitlines()[1].endswith("\t-3")


def test_swapon_errors() -> None:
    m = boot()
    assert sys_swapon(m, "/dev/vdb", size=1 << 20) == 0
    assert sys_swapon(m, "/dev/vdb", size=1 << 20) == -16      # EBUSY
    assert sys_swapon(m, "/dev/vdd", size=4096) == -22         # EINVAL: header only
    assert sys_swapoff(m, "/nope") == -22
    with pytest.raises(OSError):
        m.swapoff("/nope")


def test_highest_priority_first_and_round_robin() -> None:
    m = boot()
    m.swapon("/dev/low", size=8 << 20)                    # -2
    m.swapon("/dev/a", 10, size=8 << 20)
    m.swapon("/dev/b", 10, size=8 << 20)
    st = swap_state(m)
    # equal priorities take turns (plist_requeue), the lower one is not used
    got = [get_swap_pages(st, 1)[0] for _ in range(7)]
    assert [swp_type(e) for e in got] == [1, 2, 1, 2, 1, 2, 1]
    # within a device: consecutive slots of the per-CPU cluster
    assert [swp_offset(e) for e in got if swp_type(e) == 1] == [512, 513, 514, 515]
    free0 = meminfo(m, "SwapFree")
    swapcache_free_entries(st, got)         # the slots' SWAP_HAS_CACHE usage goes
    assert meminfo(m, "SwapFree") == free0 + 7 * 4
    m.validate()


def test_cluster_order_of_a_large_device() -> None:
    """setup_clusters(): free clusters are queued column by column (32 columns), so the
    first cluster of a 128-cluster device is cluster 32."""
    m = boot()
    m.swapon(256 << 20)
    p = m.spawn("c")
    a = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"c" * PAGE)
    p.madvise(a, PAGE, MADV_PAGEOUT)
    pte = p.mm.pgd.pte_get(a)
    assert pte_swp_type(pte) == 0 and pte_swp_offset(pte) == 32 * 512
    # the slots cache took a batch of SWAP_BATCH = 64 entries
    assert "\t256\t" in read(m, "/proc/swaps")
    m.validate()


def test_swap_slots_cache_batches() -> None:
    m = boot()
    m.swapon(16 << 20)
    p = m.spawn("s")
    n = 70
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(n):
        p.write(a + i * PAGE, bytes([i % 250 + 1]) * PAGE)
    p.madvise(a, n * PAGE, MADV_PAGEOUT)
    offs = [pte_swp_offset(p.mm.pgd.pte_get(a + i * PAGE)) for i in range(n)]
    assert offs == list(range(512, 512 + n))
    # two batches of 64 taken: SwapFree drops by 128 pages
    assert meminfo(m, "SwapFree") == (4095 - 128) * 4
    assert p.mm.rss_stat[MM_SWAPENTS] == n
    m.validate()


def test_swapoff_brings_pages_back() -> None:
    m = boot()
    m.swapon(16 << 20)
    p = m.spawn("off")
    n = 10
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(n):
        p.write(a + i * PAGE, bytes([i + 1]) * PAGE)
    c = p.fork()
    p.madvise(a, n * PAGE, MADV_PAGEOUT)           # the pages are shared: stay mapped
    assert p.mm.rss_stat[MM_SWAPENTS] == 0
    c.exit()
    p.madvise(a, n * PAGE, MADV_PAGEOUT)
    assert p.mm.rss_stat[MM_SWAPENTS] == n
    assert m.vm_event[VmEventItem.PSWPOUT] == n
    m.validate()
    m.swapoff("/swapfile")
    assert p.mm.rss_stat[MM_SWAPENTS] == 0
    assert m.vm_event[VmEventItem.PSWPIN] == n
    for i in range(n):
        assert pte_present(p.mm.pgd.pte_get(a + i * PAGE))
        assert p.read(a + i * PAGE, 2) == bytes([i + 1]) * 2
    assert read(m, "/proc/swaps") == HEADER
    assert meminfo(m, "SwapTotal") == 0 and meminfo(m, "SwapFree") == 0
    assert meminfo(m, "SwapCached") == 0
    m.validate()


def test_commit_limit_counts_swap() -> None:
    m = boot()
    before = meminfo(m, "CommitLimit")
    m.swapon(16 << 20)
    assert meminfo(m, "CommitLimit") == before + 16380


def test_rotational_device_uses_cluster_readahead() -> None:
    m = boot()
    m.swapon("/dev/sdb", size=16 << 20, rotational=True)
    assert not swap_use_vma_readahead(m)
    p = m.spawn("rot")
    n = 16
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(n):
        p.write(a + i * PAGE, bytes([i + 1]) * PAGE)
    p.madvise(a, n * PAGE, MADV_PAGEOUT)
    # next-fit from slot 1 (no clusters on rotational devices)
    assert [pte_swp_offset(p.mm.pgd.pte_get(a + i * PAGE)) for i in range(n)] == \
        list(range(1, n + 1))
    major = []
    for i in range(n):
        maj = p.maj_flt
        assert p.read(a + i * PAGE, 1) == bytes([i + 1])
        if p.maj_flt != maj:
            major.append(i)
    # aligned blocks of 8 slots (slot 0 is the header): 1-7, 8-15, then slot 16
    assert major == [0, 7, 15]
    ev = m.vm_event
    assert ev[VmEventItem.PSWPIN] == n and ev[VmEventItem.SWAP_RA] == 6 + 7 + 0
    m.validate()
    m.swapoff("/dev/sdb")
    assert swap_use_vma_readahead(m)


def test_synchronous_device_skips_the_swap_cache() -> None:
    """SWP_SYNCHRONOUS_IO (zram): a slot with one reference is read into a new folio
    outside the swap cache; the slot is freed at once and the page is exclusive."""
    from memsim.include.pgtable_types import _PAGE_RW
    from memsim.mm.swapfile import SWAP_HAS_CACHE
    m = boot()
    m.swapon("/dev/zram0", 100, size=16 << 20, synchronous=True)
    st = swap_state(m)
    si = st.swap_info[0]
    assert si is not None
    p = m.spawn("z")
    a = p.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"z" * 2 * PAGE)
    p.madvise(a, 2 * PAGE, MADV_PAGEOUT)
    maj = p.maj_flt
    assert p.read(a, 1) == b"z"
    assert p.maj_flt == maj + 1 and m.vm_event[VmEventItem.PSWPIN] == 1
    assert m.vm_event[VmEventItem.SWAP_RA] == 0              # no readahead
    assert meminfo(m, "SwapCached") == 0 and not st.cache
    assert si.swap_map[512] == SWAP_HAS_CACHE                # freed into the slots cache
    assert si.swap_map[513] == 1
    assert p.mm.pgd.pte_get(a) & _PAGE_RW
    m.validate()
    c = p.fork()                                             # count 2: through the cache
    assert c.read(a + PAGE, 1) == b"z"
    assert meminfo(m, "SwapCached") == 4
    m.validate()


def test_vma_ra_enabled_knob() -> None:
    from memsim.fs.proc.registry import write
    m = boot()
    m.swapon(16 << 20)
    assert read(m, "/sys/kernel/mm/swap/vma_ra_enabled") == "true\n"
    assert swap_use_vma_readahead(m)
    write(m, "/sys/kernel/mm/swap/vma_ra_enabled", "0")
    assert read(m, "/sys/kernel/mm/swap/vma_ra_enabled") == "false\n"
    assert not swap_use_vma_readahead(m)


def test_swap_setting_at_boot() -> None:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=2, swap="64M")
    assert read(m, "/proc/swaps").splitlines()[1].split() == \
        ["/swapfile", "file", "65532", "0", "-2"]
    assert meminfo(m, "SwapTotal") == 65532
