"""
The anonymous page's whole life (seeds chapter 2.14), followed page by page: first touch,
swap-out by reclaim (add_to_swap, try_to_unmap, swap_writepage, removal from the swap
cache), the swap PTE, a major swap-in fault, swap-out of the clean swap-cache copy, fork
of the swapped page, COW, and exit freeing the slot — with the exact counters
(pswpout/pswpin, SwapFree/SwapCached, MM_SWAPENTS, swap_map).
"""

from __future__ import annotations

from memsim.fs.proc.registry import read
from memsim.include.mm_types import MM_ANONPAGES, MM_SWAPENTS
from memsim.include.mman import MADV_PAGEOUT, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.include.page_flags import PageFlags, PG_anon_exclusive, PG_swapcache
from memsim.include.pgtable_types import (
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SWP_EXCLUSIVE,
    pte_pfn,
    pte_present,
    swp_entry_pte,
)
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm.memory import folio_get, folio_put
from memsim.mm.page_io import swap_writepage
from memsim.mm.rmap import try_to_unmap
from memsim.mm.swap_state import add_to_swap, delete_from_swap_cache, pageout_anon_folio
from memsim.mm.swapfile import SWAP_HAS_CACHE, drain_swap_slots_cache, swap_state, swp_entry

PAGE = 4096
#: 16 MiB swap file: 4096 slots, slot 0 is the header -> 4095 usable (16380 kB)
SWAP_BYTES = 16 << 20


def meminfo(m: Machine) -> dict[str, int]:
    out = {}
    for line in read(m, "/proc/meminfo").splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0])
    return out


def vmstat(m: Machine, key: str) -> int:
    for line in read(m, "/proc/vmstat").splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    raise KeyError(key)


def status_kb(m: Machine, pid: int, key: str) -> int:
    for line in read(m, f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def smaps_field(m: Machine, pid: int, addr: int, key: str) -> int:
    lines = read(m, f"/proc/{pid}/smaps").splitlines()
    inside = False
    for line in lines:
        if "-" in line.split()[0] and not line.split()[0].endswith(":"):
            inside = int(line.split("-")[0], 16) == addr
        elif inside and line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def boot() -> Machine:
    m = Machine.boot(arch="x86_64", mem="256M", cpus=2)
    m.swapon(SWAP_BYTES)
    return m


def test_anon_page_life() -> None:
    m = boot()
    st = swap_state(m)
    si = st.swap_info[0]
    assert si is not None
    ev = m.vm_event
    assert meminfo(m)["SwapTotal"] == 16380 and meminfo(m)["SwapFree"] == 16380

    # -- birth: the first write fault gives a zeroed private page, anon and exclusive
    p = m.spawn("life")
    a = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    data1 = bytes(range(256)) * 16
    anon0 = p.mm.rss_stat[MM_ANONPAGES]          # the stack's page
    p.write(a, data1)
    mm = p.mm
    pte = mm.pgd.pte_get(a)
    pfn = pte_pfn(pte)
    mem = m.mem_map
    assert mem.mapping[pfn] & 1 and mem.flags[pfn] & (1 << PG_anon_exclusive)
    assert mm.rss_stat[MM_ANONPAGES] == anon0 + 1 and mm.rss_stat[MM_SWAPENTS] == 0
    from memsim.mm import swap as mswap
    mswap.lru_add_drain(m)                       # the lru_add batch reaches the list
    assert mem.flags[pfn] & (1 << PageFlags.PG_lru)
    assert not mem.flags[pfn] & (1 << PageFlags.PG_active)   # new anon: inactive list

    # -- swap-out, step by step as shrink_folio_list does it
    folio_get(m, pfn)                            # isolation reference
    assert add_to_swap(m, pfn)
    entry = int(mem.private[pfn])
    # the first free cluster (1) and the slots cache's batch of 64 from it
    assert entry == swp_entry(0, 512)
    assert si.swap_map[512] == SWAP_HAS_CACHE
    assert mem.flags[pfn] & (1 << PG_swapcache) and mem.flags[pfn] & (1 << PageFlags.PG_dirty)
    assert meminfo(m)["SwapFree"] == (4095 - 64) * 4      # the batch left nr_swap_pages
    assert meminfo(m)["SwapCached"] == 4
    assert "\t256\t" in read(m, "/proc/swaps")             # inuse_pages: 64 slots

    assert try_to_unmap(m, pfn)
    pte = mm.pgd.pte_get(a)
    assert pte == swp_entry_pte(0, 512) | _PAGE_SWP_EXCLUSIVE
    assert si.swap_map[512] == SWAP_HAS_CACHE | 1
    assert mm.rss_stat[MM_ANONPAGES] == anon0 and mm.rss_stat[MM_SWAPENTS] == 1
    assert not mem.flags[pfn] & (1 << PG_anon_exclusive)  # the exclusive bit is in the PTE
    assert status_kb(m, p.pid, "VmSwap") == 4

    assert ev[VmEventItem.PSWPOUT] == 0
    swap_writepage(m, pfn)
    assert ev[VmEventItem.PSWPOUT] == 1
    assert si.data[512] == data1
    delete_from_swap_cache(m, pfn)
    assert si.swap_map[512] == 1
    folio_put(m, pfn)                            # the page is freed
    assert mem.refcount[pfn] == 0
    assert meminfo(m)["SwapCached"] == 0
    m.validate()

    # -- swap-in: a read fault on the swap PTE is major and reads the slot
    maj = p.maj_flt
    majfault = ev[VmEventItem.PGMAJFAULT]
    assert p.read(a, PAGE) == data1
    assert p.maj_flt == maj + 1 and ev[VmEventItem.PGMAJFAULT] == majfault + 1
    assert ev[VmEventItem.PSWPIN] == 1 and ev[VmEventItem.SWAP_RA] == 0
    pte = mm.pgd.pte_get(a)
    pfn2 = pte_pfn(pte)
    assert pte_present(pte) and pte & _PAGE_RW and not pte & _PAGE_DIRTY   # exclusive entry
    assert mem.flags[pfn2] & (1 << PG_anon_exclusive)
    assert si.swap_map[512] == SWAP_HAS_CACHE               # read fault: slot kept
    assert meminfo(m)["SwapCached"] == 4
    assert mm.rss_stat[MM_ANONPAGES] == anon0 + 1 and mm.rss_stat[MM_SWAPENTS] == 0
    assert status_kb(m, p.pid, "VmSwap") == 0
    m.validate()

    # -- a write through the (writable) PTE, then reclaim again: same slot, written again
    data2 = b"B" * PAGE
    p.write(a, data2)
    assert p.madvise(a, PAGE, MADV_PAGEOUT) == 0
    assert mm.pgd.pte_get(a) == swp_entry_pte(0, 512) | _PAGE_SWP_EXCLUSIVE
    assert ev[VmEventItem.PSWPOUT] == 2 and si.data[512] == data2
    assert si.swap_map[512] == 1
    m.validate()

    # -- a clean swap-cache copy is not written twice; the reclaim left a workingset
    # shadow in the slot, so this swap-in is a refault
    assert p.read(a, 1) == b"B"
    assert ev[VmEventItem.PSWPIN] == 2
    assert vmstat(m, "workingset_refault_anon") == 1
    pfn3 = pte_pfn(mm.pgd.pte_get(a))
    folio_get(m, pfn3)
    assert pageout_anon_folio(m, pfn3)
    folio_put(m, pfn3)
    assert ev[VmEventItem.PSWPOUT] == 2
    assert si.swap_map[512] == 1
    m.validate()

    # -- fork: the child shares the slot; the entry is no longer exclusive anywhere
    c = p.fork()
    assert si.swap_map[512] == 2
    assert mm.pgd.pte_get(a) == swp_entry_pte(0, 512)
    assert c.mm.pgd.pte_get(a) == swp_entry_pte(0, 512)
    assert c.mm.rss_stat[MM_SWAPENTS] == 1
    assert smaps_field(m, p.pid, a, "Swap") == 4
    assert smaps_field(m, p.pid, a, "SwapPss") == 2
    m.validate()

    # -- COW: the parent's write swaps the page in (major) and copies it
    p.write(a, b"P")
    assert ev[VmEventItem.PSWPIN] == 3
    ppfn = pte_pfn(mm.pgd.pte_get(a))
    assert si.swap_map[512] == SWAP_HAS_CACHE | 1           # the child's reference
    shared = st.cache[swp_entry(0, 512)]
    assert ppfn != shared and mem.mapcount1[shared] == 0
    assert p.read(a, 2) == b"PB"
    m.validate()

    # -- the child finds the page in the swap cache: a minor fault, no read
    cmaj = c.maj_flt
    assert c.read(a, 2) == b"BB"
    assert c.maj_flt == cmaj and ev[VmEventItem.PSWPIN] == 3
    assert pte_pfn(c.mm.pgd.pte_get(a)) == shared
    assert si.swap_map[512] == SWAP_HAS_CACHE
    m.validate()

    # -- death: the child's exit drops the swap cache copy; the slot goes to the
    # per-CPU return cache (SwapFree moves when that cache is flushed)
    free_before = meminfo(m)["SwapFree"]
    c.exit()
    assert swp_entry(0, 512) not in st.cache
    assert si.swap_map[512] == SWAP_HAS_CACHE
    assert swp_entry(0, 512) in st.slots[m.raw_smp_processor_id()].slots_ret
    assert meminfo(m)["SwapCached"] == 0 and meminfo(m)["SwapFree"] == free_before
    p.exit()
    m.validate()
    drain_swap_slots_cache(st)
    assert si.swap_map[512] == 0 and si.inuse_pages == 0
    assert meminfo(m)["SwapFree"] == 16380
    m.validate()


def test_exit_with_swap_pte_frees_the_slot() -> None:
    m = boot()
    st = swap_state(m)
    si = st.swap_info[0]
    assert si is not None
    p = m.spawn("x")
    a = p.mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(4):
        p.write(a + i * PAGE, bytes([i + 1]) * PAGE)
    assert p.madvise(a, 4 * PAGE, MADV_PAGEOUT) == 0
    assert p.mm.rss_stat[MM_SWAPENTS] == 4 and m.vm_event[VmEventItem.PSWPOUT] == 4
    assert [si.swap_map[o] for o in range(512, 516)] == [1, 1, 1, 1]
    m.validate()
    p.exit()
    # free_swap_and_cache(): count 0 -> the slots wait in the return cache
    assert [si.swap_map[o] for o in range(512, 516)] == [SWAP_HAS_CACHE] * 4
    drain_swap_slots_cache(st)
    assert si.inuse_pages == 0 and meminfo(m)["SwapFree"] == 16380
    m.validate()


def test_zero_page_is_not_written() -> None:
    m = boot()
    p = m.spawn("z")
    a = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"\0" * 8)
    assert p.madvise(a, PAGE, MADV_PAGEOUT) == 0
    ev = m.vm_event
    assert ev[VmEventItem.SWPOUT_ZERO] == 1 and ev[VmEventItem.PSWPOUT] == 0
    assert p.read(a, 8) == b"\0" * 8
    assert ev[VmEventItem.SWPIN_ZERO] == 1 and ev[VmEventItem.PSWPIN] == 0
    m.validate()


def test_write_fault_by_sole_user_frees_the_slot() -> None:
    """should_try_to_free_swap(): a write fault of the only user drops the swap copy."""
    m = boot()
    st = swap_state(m)
    si = st.swap_info[0]
    assert si is not None
    p = m.spawn("w")
    a = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"x" * PAGE)
    from memsim.mm import swap as mswap
    mswap.lru_add_drain(m)
    p.madvise(a, PAGE, MADV_PAGEOUT)
    p.write(a, b"y")
    pte = p.mm.pgd.pte_get(a)
    assert pte & _PAGE_RW and pte & _PAGE_DIRTY
    assert swp_entry(0, 512) not in st.cache and si.swap_map[512] == SWAP_HAS_CACHE
    assert meminfo(m)["SwapCached"] == 0
    assert p.read(a, 2) == b"yx"
    m.validate()


def test_madv_willneed_reads_swap_into_the_cache() -> None:
    from memsim.include.mman import MADV_WILLNEED
    m = boot()
    p = m.spawn("ra")
    a = p.mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(8):
        p.write(a + i * PAGE, bytes([i + 1]) * PAGE)
    p.madvise(a, 8 * PAGE, MADV_PAGEOUT)
    ev = m.vm_event
    assert ev[VmEventItem.PSWPOUT] == 8
    assert p.mincore(a, 8 * PAGE) == bytes(8)
    assert p.madvise(a, 8 * PAGE, MADV_WILLNEED) == 0
    assert p.mincore(a, 8 * PAGE) == bytes([1] * 8)     # in the swap cache, unmapped
    assert ev[VmEventItem.PSWPIN] == 8 and meminfo(m)["SwapCached"] == 32
    maj = p.maj_flt
    for i in range(8):
        assert p.read(a + i * PAGE, 1) == bytes([i + 1])
    assert p.maj_flt == maj and ev[VmEventItem.PSWPIN] == 8
    assert p.mm.rss_stat[MM_SWAPENTS] == 0
    m.validate()


def test_vma_readahead_window() -> None:
    """Sequential faults grow the VMA readahead window (page-cluster 3: up to 8)."""
    m = boot()
    p = m.spawn("seq")
    n = 32
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(n):
        p.write(a + i * PAGE, bytes([i + 1]) * PAGE)
    p.madvise(a, n * PAGE, MADV_PAGEOUT)
    ev = m.vm_event
    major = []
    for i in range(n):
        maj = p.maj_flt
        assert p.read(a + i * PAGE, 1) == bytes([i + 1])
        if p.maj_flt != maj:
            major.append(i)
    # first fault: no history (ra_val 4 = 4 hits) -> window 8 centred, clamped to the
    # VMA start: pages 0-4; then each fault right after the previous window starts a
    # window of 8 at the fault address
    assert major == [0, 5, 13, 21, 29]
    assert ev[VmEventItem.PSWPIN] == n
    assert ev[VmEventItem.SWAP_RA] == ev[VmEventItem.SWAP_RA_HIT] == 4 + 7 + 7 + 7 + 2
    m.validate()


def test_memory_pressure_swaps_out_and_back() -> None:
    """A process outgrowing RAM: reclaim (kswapd / direct) swaps anonymous pages out and
    the faults bring every byte back; counters and swap_map stay consistent."""
    m = Machine.boot(arch="x86_64", mem="64M", cpus=2)
    m.swapon(64 << 20)
    p = m.spawn("big")
    n = 17000                                   # ~66 MiB of anonymous memory
    a = p.mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    for i in range(n):
        p.write(a + i * PAGE, i.to_bytes(4, "little"))
    ev = m.vm_event
    assert ev[VmEventItem.PSWPOUT] > 0
    assert p.mm.rss_stat[MM_SWAPENTS] > 0
    m.validate()
    maj = p.maj_flt
    for i in range(n):
        assert p.read(a + i * PAGE, 4) == i.to_bytes(4, "little")
    assert ev[VmEventItem.PSWPIN] > 0 and p.maj_flt > maj
    used = int(read(m, "/proc/swaps").splitlines()[1].split()[3])
    assert meminfo(m)["SwapFree"] == meminfo(m)["SwapTotal"] - used
    m.validate()
    p.exit()
    m.validate()


def test_shared_swapin_after_fork_is_found_by_rmap() -> None:
    """A folio swapped in by the child after fork is not exclusive: it takes the root
    anon_vma (__folio_set_anon), so reclaim later finds the parent's mapping too."""
    m = boot()
    si = swap_state(m).swap_info[0]
    assert si is not None
    p = m.spawn("par")
    a = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    p.write(a, b"s" * PAGE)
    p.madvise(a, PAGE, MADV_PAGEOUT)
    c = p.fork()
    assert si.swap_map[512] == 2
    assert c.read(a, 1) == b"s"                  # major: a new, shared folio
    assert p.read(a, 1) == b"s"                  # minor: the swap-cache folio
    pfn = pte_pfn(p.mm.pgd.pte_get(a))
    assert pte_pfn(c.mm.pgd.pte_get(a)) == pfn and m.mem_map.mapcount1[pfn] == 2
    assert si.swap_map[512] == SWAP_HAS_CACHE
    m.validate()
    folio_get(m, pfn)
    assert pageout_anon_folio(m, pfn)            # unmapped from both, clean: no write
    folio_put(m, pfn)
    assert p.mm.pgd.pte_get(a) == c.mm.pgd.pte_get(a) == swp_entry_pte(0, 512)
    assert si.swap_map[512] == 2 and m.vm_event[VmEventItem.PSWPOUT] == 1
    m.validate()
    assert c.read(a, 1) == p.read(a, 1) == b"s"
    m.validate()
