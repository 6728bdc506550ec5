"""vmalloc (mm/vmalloc.py, 6.12 mm/vmalloc.c): address placement, guard pages, lazy purge,
the page-table walk, /proc/vmallocinfo against the real 6.18 sample's line shapes, meminfo,
kvmalloc's fallback and the kernel's failure reports."""

from __future__ import annotations

import re

import pytest

from conftest import shared_path
from memsim.arch import PAGE_SIZE
from memsim.include.gfp import GFP_KERNEL
from memsim.machine import Machine
from memsim.mm.maccess import KernelAccessError
from memsim.mm.vmalloc import VM_MAP_PUT_PAGES, fls

VMALLOC_START = 0xFFFFC90000000000
#: the first free address on the 2-CPU fixture: boot vmaps one 16 KiB IRQ stack per CPU,
#: each followed by its guard page
FIRST_FREE = VMALLOC_START + 2 * (16384 + PAGE_SIZE)

# "0x%pK-0x%pK %7ld" + " %pS" + " pages=%d" + " phys=%pa" + tags + " N%u=%u" (s_show, 6.12)
_HEAD = r"0x[0-9a-f]{16}-0x[0-9a-f]{16} [ \d]{6}\d+"
_CALLER = r" [A-Za-z_.<>][\w.<>]*\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?"
LINE_RE = re.compile(
    _HEAD + rf"(?:{_CALLER})?(?: pages=\d+)?(?: phys=0x[0-9a-f]{{16}})?(?: ioremap)?"
    r"(?: sparse)?(?: vmalloc)?(?: vmap)?(?: user)?(?: dma-coherent)?(?: vpages)?"
    r"(?: N\d+=\d+)*")
UNPURGED_RE = re.compile(_HEAD + r" unpurged vm_area")


@pytest.fixture()
def m() -> Machine:
    return Machine.boot(arch="x86_64", mem="4G", cpus=2)


@pytest.mark.kernel_report
def test_placement_and_guard_pages(m: Machine) -> None:
    a = m.vmalloc(4 * PAGE_SIZE)
    b = m.vmalloc(100)
    assert a == FIRST_FREE
    assert b == a + 5 * PAGE_SIZE          # 4 pages + 1 guard page
    assert m.is_vmalloc_addr(a) and not m.is_vmalloc_addr(m.page_address(0x1000) or 0)
    m.kernel_write(a + 4 * PAGE_SIZE - 1, b"z")
    assert m.kernel_read(a + 4 * PAGE_SIZE - 1, 1) == b"z"
    with pytest.raises(KernelAccessError):
        m.kernel_write(a + 4 * PAGE_SIZE, b"x")     # the guard page
    assert f"BUG: unable to handle page fault for address: {a + 4 * PAGE_SIZE:016x}" \
        in m.dmesg()
    assert "#PF: supervisor write access in kernel mode" in m.dmesg()


def test_pte_walk_and_vmalloc_to_page(m: Machine) -> None:
    a = m.vmalloc(3 * PAGE_SIZE)
    assert a is not None
    for i in range(3):
        w = m.vmalloc_pte_walk(a + i * PAGE_SIZE + 7)
        assert w.level == "pte" and w.present
        assert w.pfn == m.vmalloc_to_page(a + i * PAGE_SIZE) == \
            m.vmalloc_to_pfn(a + i * PAGE_SIZE)
        assert w.prot == 0x8000000000000163                 # PAGE_KERNEL (NX)
        assert w.entry == (w.pfn << 12) | w.prot
        assert m.page_count(w.pfn) == 1
    guard = m.vmalloc_pte_walk(a + 3 * PAGE_SIZE)
    assert guard.level is None and not guard.present and m.vmalloc_to_page(guard.addr) is None
    # the bytes land in the page vmalloc_to_page names
    m.kernel_write(a + PAGE_SIZE + 5, b"hello")
    assert bytes(m.page_data[m.vmalloc_to_page(a + PAGE_SIZE) or -1][5:10]) == b"hello"


def test_vfree_lazy_purge_and_reuse(m: Machine) -> None:
    st = m.vmalloc_state
    assert st.lazy_max_pages() == fls(2) * (32 << 20) // PAGE_SIZE == 16384
    m.vfree(m.vmalloc(8 * PAGE_SIZE))    # warm the kmalloc caches of vm_struct/pages[]
    st.purge_vmap_area_lazy()
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    a = m.vmalloc(8 * PAGE_SIZE)
    assert a is not None
    m.vfree(a)
    assert m.nr_free_pages() + m.nr_pcp_pages() == free0      # pages back at once
    assert m.vmalloc_to_page(a) is None                         # unmapped at once
    assert "unpurged vm_area" in m.proc("vmallocinfo")
    b = m.vmalloc(8 * PAGE_SIZE)
    assert b == a + 9 * PAGE_SIZE                               # range not reused yet
    m.vfree(b)
    assert st.purge_vmap_area_lazy() == 2
    assert st.free_start == [FIRST_FREE]                        # merged back into one
    assert m.vmalloc(8 * PAGE_SIZE) == a
    # past lazy_max_pages() the purge happens by itself
    c = m.vmalloc(16384 * PAGE_SIZE)
    m.vfree(c)
    # c's range (16385 pages) crossed the limit and was purged; its pages array (128 KiB,
    # vmalloc'ed itself) was freed after it and waits on the purge list
    assert st.nr_purges == 3 and len(st.purge_list) == 1 and st.vmap_lazy_nr == 33


@pytest.mark.kernel_report
def test_vfree_null_and_double_free(m: Machine) -> None:
    m.vfree(None)
    a = m.vmalloc(PAGE_SIZE)
    m.vfree(a)
    m.vfree(a)
    assert f"Trying to vfree() nonexistent vm area ({a:016x})" in m.dmesg()
    assert "WARNING: CPU: 0 PID: 1 at mm/vmalloc.c:3426 vfree" in m.dmesg()


def test_vmallocinfo_lines(m: Machine) -> None:
    def test_caller() -> int | None:
        return m.vmalloc(16 * 1024)

    a = test_caller()
    u = m.vmalloc_user(PAGE_SIZE)
    pages = [m.alloc_page(GFP_KERNEL) for _ in range(2)]
    v = m.vmap([p for p in pages if p is not None])
    z = m.vzalloc(PAGE_SIZE)
    m.vfree(z)
    text = m.proc("/proc/vmallocinfo")
    lines = text.splitlines()
    boot = [ln for ln in lines if "irq_init_percpu_irqstack" in ln]
    assert len(boot) == 2 and lines[:2] == boot          # the CPUs' IRQ stacks come first
    lines = lines[2:]
    assert lines[0].startswith(f"0x{a:016x}-0x{a + 20480:016x}   20480 test_caller+0x")
    assert re.fullmatch(r"0x[0-9a-f]{16}-0x[0-9a-f]{16}   20480 test_caller\+0x[0-9a-f]+/0x1000 "
                        r"pages=4 vmalloc N0=4", lines[0])
    assert re.fullmatch(rf"0x{u:016x}-0x{u + 2 * PAGE_SIZE:016x}    8192 "
                        r"test_vmallocinfo_lines\+0x[0-9a-f]+/0x1000 pages=1 vmalloc user N0=1",
                        lines[1])
    assert re.fullmatch(rf"0x{v:016x}-0x{v + 3 * PAGE_SIZE:016x}   12288 "
                        r"test_vmallocinfo_lines\+0x[0-9a-f]+/0x1000 vmap", lines[2])
    assert lines[3] == f"0x{z:016x}-0x{z + 2 * PAGE_SIZE:016x}    8192 unpurged vm_area"
    for ln in lines:
        assert LINE_RE.fullmatch(ln) or UNPURGED_RE.fullmatch(ln), ln
    m.vunmap(v or 0)
    m.vfree(u)


def test_vmallocinfo_regex_matches_real_sample() -> None:
    """The regexes above, derived from s_show's format, accept every line of the real
    6.18 x86-64 sample (so the model's lines, which they also accept, share its shapes)."""
    sample = shared_path("data", "proc-6.18-x86_64", "vmallocinfo").read_text()
    shapes = set()
    for ln in sample.splitlines():
        assert LINE_RE.fullmatch(ln) or UNPURGED_RE.fullmatch(ln), ln
        shapes.add(" ".join(w for w in ln.split()[2:] if not w.startswith(("0x", "N0=", "phys="))
                            and "+0x" not in w and not w.startswith("pages=")))
    assert {"vmalloc", "vmap", "ioremap", "unpurged vm_area"} <= shapes


def test_vpages_for_big_areas(m: Machine) -> None:
    a = m.vmalloc(10 << 20)               # 2560 pointers = 20 KiB: the array is vmalloc'ed
    lines = m.proc("vmallocinfo").splitlines()[2:]      # after the boot IRQ stacks
    assert re.search(r"  *10489856 \S+ pages=2560 vmalloc vpages N0=2560$", lines[0])
    assert re.search(r"   24576 \S+ pages=5 vmalloc N0=5$", lines[1])
    m.vfree(a)
    assert m.vmalloc_state.nr_vmalloc_pages == 0


def test_meminfo_vmalloc_used(m: Machine) -> None:
    def used() -> str:
        return next(ln for ln in m.proc("meminfo").splitlines()
                    if ln.startswith("VmallocUsed:"))
    assert used() == "VmallocUsed:           0 kB"
    a = m.vmalloc(100 * PAGE_SIZE)
    assert used() == "VmallocUsed:         400 kB"
    assert "VmallocChunk:          0 kB" in m.proc("meminfo")
    m.vfree(a)
    assert used() == "VmallocUsed:           0 kB"


def test_kvmalloc_falls_back_to_vmalloc(m: Machine) -> None:
    p = m.kvmalloc(10 << 20, GFP_KERNEL)
    assert p is not None and m.is_vmalloc_addr(p)
    # the caller is the model user's frame, as slab's callers are
    assert " test_kvmalloc_falls_back_to_vmalloc+0x" in m.proc("vmallocinfo")
    assert m.vmalloc_pte_walk(p).level == "pmd"        # kvmalloc allows huge mappings
    m.kvfree(p)
    assert m.vmalloc_state.nr_vmalloc_pages == 0
    z = m.kvzalloc(5 << 20, GFP_KERNEL)       # above MAX_PAGE_ORDER: kmalloc fails
    assert z is not None and m.is_vmalloc_addr(z) and m.kernel_read(z, 4096) == bytes(4096)
    m.kvfree(z)
    q = m.kvmalloc(64, GFP_KERNEL)
    assert q is not None and not m.is_vmalloc_addr(q)
    m.kvfree(q)


def test_vmalloc_huge(m: Machine) -> None:
    h = m.vmalloc_huge(4 << 20, GFP_KERNEL)
    assert h is not None and h % (2 << 20) == 0
    w = m.vmalloc_pte_walk(h + 5 * PAGE_SIZE)
    assert w.level == "pmd" and w.prot & 0x80
    assert w.pfn == (m.vmalloc_to_page(h) or 0) + 5
    small = m.vmalloc_huge(64 * 1024, GFP_KERNEL)      # below PMD_SIZE: small pages
    assert small is not None and m.vmalloc_pte_walk(small).level == "pte"
    m.vfree(h)
    m.vfree(small)
    assert m.vmalloc_state.nr_vmalloc_pages == 0
    m.validate()


@pytest.mark.kernel_report
def test_vmap_put_pages_and_vunmap(m: Machine) -> None:
    pages = [m.alloc_page(GFP_KERNEL) or 0 for _ in range(3)]
    v = m.vmap(pages)
    assert v is not None and [m.vmalloc_to_page(v + i * PAGE_SIZE) for i in range(3)] == pages
    m.vunmap(v)
    assert m.vmalloc_to_page(v) is None and m.page_count(pages[0]) == 1
    m.vunmap(v)
    assert "Trying to vunmap() nonexistent vm area" in m.dmesg()
    w = m.vmap(pages, VM_MAP_PUT_PAGES | 0x4)
    assert w is not None and " pages=3 vmap" in m.proc("vmallocinfo")
    for p in pages:
        m.free_page_pfn(p)


def test_i386_range_and_failure_reports() -> None:
    m = Machine.boot(arch="i386", mem="1G", cpus=1)
    st = m.vmalloc_state
    high_memory = 0xC0000000 + (m.max_low_pfn << 12)
    assert st.vmalloc_start == high_memory + (8 << 20)
    a = m.vmalloc(PAGE_SIZE)
    assert a == st.vmalloc_start
    assert re.fullmatch(r"0x[0-9a-f]{8}-0x[0-9a-f]{8}    8192 \S+ pages=1 vmalloc",
                        m.proc("vmallocinfo").splitlines()[0])
    assert m.vmalloc(256 << 20) is None          # larger than the ~120 MiB range
    log = m.dmesg()
    assert (f"vmalloc_node_range for size {(256 << 20) + PAGE_SIZE} failed: Address range "
            f"restricted to {st.vmalloc_start:#x} - {st.vmalloc_end:#x}") in log
    assert f"vmalloc error: size {256 << 20}, vm_struct allocation failed, mode:" in log


def test_vmalloc_larger_than_ram(m: Machine) -> None:
    assert m.vmalloc(64 << 30) is None
    assert f"memsim: vmalloc error: size {64 << 30}, exceeds total pages, mode:0xcc0" \
        in m.dmesg()


@pytest.mark.kernel_report
def test_sleeping_in_atomic_and_vfree_from_irq(m: Machine) -> None:
    m.clock_ns += 2_000_000_000
    with m.preempt_disabled(cpu=0):
        a = m.vmalloc(PAGE_SIZE)
    # the first sleeping call is kzalloc_node() of the vm_struct (__get_vm_area_node);
    # __might_resched() reports once per jiffy, so alloc_vmap_area's might_sleep is quiet
    assert "BUG: sleeping function called from invalid context at " \
        "include/linux/sched/mm.h:321" in m.dmesg()
    assert a is not None
    page = m.alloc_page(GFP_KERNEL)
    assert page is not None
    m.clock_ns += 2_000_000_000
    with m.preempt_disabled(cpu=1):
        v = m.vmap([page])
    assert "BUG: sleeping function called from invalid context at mm/vmalloc.c:3503" \
        in m.dmesg()
    m.vunmap(v or 0)
    with m.irq_context(cpu=0):
        m.vfree(a)                      # vfree_atomic(): deferred, still mapped
    assert m.vmalloc_to_page(a) is not None
    assert "mm/vmalloc.c:3419" not in m.dmesg()
    m.vfree(None)                       # process context: the deferred free runs
    assert m.vmalloc_to_page(a) is None and m.vmalloc_state.nr_vmalloc_pages == 0


@pytest.mark.kernel_report
def test_vmalloc_and_vunmap_in_interrupt_are_bugs() -> None:
    m = Machine.boot(mem="1G", cpus=2)
    with m.irq_context(cpu=0):
        mark = m.log.mark()
        assert m.vmalloc(8192) is None
        text = m.log.since(mark)
    assert "kernel BUG at mm/vmalloc.c:3177!" in text
    p = m.alloc_pages(GFP_KERNEL, 0)
    assert p is not None
    addr = m.vmap([p])
    assert addr is not None
    with m.softirq_context(cpu=0):
        mark = m.log.mark()
        m.vunmap(addr)
        assert "kernel BUG at mm/vmalloc.c:3466!" in m.log.since(mark)
    assert m.vmalloc_to_pfn(addr) == p                 # nothing was unmapped
    m.vunmap(addr)


@pytest.mark.kernel_report
def test_ioremap_device_memory_and_vmallocinfo() -> None:
    m = Machine.boot(mem="1G", cpus=2)
    addr = m.ioremap(0xFEBD0000 + 0x10, 0x2000)        # PCI MMIO (the 3-4 GiB hole)
    assert addr is not None and addr & 0xFFF == 0x10
    line = next(ln for ln in m.proc("vmallocinfo").splitlines() if " ioremap" in ln)
    assert re.fullmatch(r"0x[0-9a-f]{16}-0x[0-9a-f]{16}\s+16384 "
                        r"test_ioremap_device_memory_and_vmallocinfo\+0x[0-9a-f]+/0x1000 "
                        r"phys=0x00000000febd0000 ioremap", line)
    assert m.vmalloc_to_pfn(addr) == 0xFEBD0
    mark = m.log.mark()
    assert m.ioremap(0x100000, 4096) is None              # RAM
    assert "ioremap on RAM at 0x0000000000100000 - 0x0000000000100fff" in m.log.since(mark)
    m.iounmap(addr)
    assert " ioremap" not in m.proc("vmallocinfo")
    mark = m.log.mark()
    m.iounmap(addr)
    assert "iounmap: bad address" in m.log.since(mark)


@pytest.mark.kernel_report
def test_vfree_in_atomic_context_reports_sleeping() -> None:
    m = Machine.boot(mem="1G", cpus=2)
    a = m.vmalloc(8192)
    assert a is not None
    with m.preempt_disabled():
        mark = m.log.mark()
        m.vfree(a)
        text = m.log.since(mark)
    assert text.startswith("BUG: sleeping function called from invalid context at "
                           "mm/vmalloc.c:3419\n")
    assert m.vmalloc_to_page(a) is None


@pytest.mark.parametrize(("arch", "start", "end"), [
    ("arm64", 0xFFFF800080000000, 0xFFFFFDFFBF800000),   # VMEMMAP_START - 8 MiB
    ("arm", 0xF0000000, 0xFF800000),                     # (high_memory + 8M) & ~(8M - 1)
])
def test_vmalloc_placement_other_arches(arch: str, start: int, end: int) -> None:
    m = Machine.boot(arch=arch, mem="1G")
    assert (m.vmalloc_state.vmalloc_start, m.vmalloc_state.vmalloc_end) == (start, end)
    a = m.vmalloc(4096)
    b = m.vmalloc(4096)
    assert (a, b) == (start, start + 2 * PAGE_SIZE)          # one guard page between
    m.kernel_write(a, b"ok")
    assert m.kernel_read(a, 2) == b"ok"
