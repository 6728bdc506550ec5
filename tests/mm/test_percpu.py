"""Per-CPU variables and the per-CPU allocator (mm/percpu.py)."""

from __future__ import annotations

import pytest

from memsim.include.gfp import GFP_ATOMIC, GFP_KERNEL
from memsim.machine import Machine
from memsim.mm.percpu import PCPU_MIN_UNIT_SIZE, pcpu_build_alloc_info


def boot(arch: str = "x86_64", cpus: int = 2) -> Machine:
    return Machine.boot(arch=arch, mem="512M", cpus=cpus)


def meminfo_kb(m: Machine, key: str) -> int:
    for line in m.proc("meminfo").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(key)


def test_first_chunk_layout_x86_64() -> None:
    m = boot()
    ai = m.pcpu_alloc_info
    # s + r + d = the embedded size (arch.percpu_unit); 2 CPUs in a 2 MiB atom: upa 2
    assert (ai.reserved_size, ai.dyn_size, ai.atom_size) == (8192, 28672, 2 << 20)
    assert ai.static_size == 512 * 1024 - 8192 - 28672
    assert ai.unit_size == 1 << 20
    assert "percpu: Embedded 128 pages/cpu s487424 r8192 d28672 u1048576" in m.dmesg()
    st = m.percpu
    # the group area is atom-aligned in the direct map; CPU 1's unit one unit_size further
    assert st.pcpu_base_addr % (2 << 20) == 0
    assert st.per_cpu_offset == [st.pcpu_base_addr, st.pcpu_base_addr + (1 << 20)]
    assert m.percpu_unit_phys[1] - m.percpu_unit_phys[0] == 1 << 20
    # the unused tail of each unit went back to memblock: only size_sum per CPU is reserved
    mb = m.memblock
    assert mb is not None
    assert mb.is_reserved(m.percpu_unit_phys[1] + 512 * 1024 - 1)
    assert not mb.is_reserved(m.percpu_unit_phys[1] + 512 * 1024)
    assert meminfo_kb(m, "Percpu") == 2 * 512


def test_unit_size_choice_and_i386() -> None:
    # 3 CPUs: upa 4 wastes one unit (<= 3/3), so four 512 KiB units
    m3 = boot(cpus=3)
    ai = m3.pcpu_alloc_info
    assert ai.unit_size == 512 * 1024 and ai.groups[0].cpu_map == [0, 1, 2, None]
    assert m3.percpu.pcpu_nr_units == 4
    m = boot("i386")
    ai = pcpu_build_alloc_info(m)
    assert (ai.reserved_size, ai.dyn_size, ai.atom_size, ai.unit_size) == (0, 28672, 4096,
                                                                           64 * 1024)
    assert m.percpu.pcpu_reserved_chunk is None


def test_static_variables_are_per_cpu() -> None:
    m = boot()
    a = m.DEFINE_PER_CPU("counter", 8)
    b = m.define_per_cpu("flag", 4)
    assert (a.addr, b.addr) == (0, 8)
    assert m.per_cpu_ptr(a, 1) - m.per_cpu_ptr(a, 0) == m.pcpu_alloc_info.unit_size
    # the copies live in the first chunk, in the direct map
    assert m.virt_to_pfn(m.per_cpu_ptr(a, 1)) == m.percpu_unit_phys[1] >> 12
    m.per_cpu_write(a, 0, 5)
    m.per_cpu_write(a, 1, 7)
    m.this_cpu_add(a, 10)                    # on CPU 0
    m.current_cpu = 1
    m.this_cpu_write(b, 0xFFFFFFFF + 3)      # truncated to the variable's 4 bytes
    assert m.this_cpu_read(a) == 7
    m.current_cpu = 0
    assert (m.per_cpu(a, 0), m.per_cpu(a, 1)) == (15, 7)
    assert (m.per_cpu(b, 0), m.per_cpu(b, 1)) == (0, 2)
    assert m.kernel_read(m.per_cpu_ptr(a, 1), 8) == (7).to_bytes(8, "little")


def test_alloc_percpu_first_fit_alignment_and_reuse() -> None:
    m = boot()
    st = m.percpu
    dyn_start = st.pcpu_first_chunk.base_addr - st.pcpu_base_addr
    assert dyn_start == m.pcpu_alloc_info.static_size + 8192
    p1 = m.alloc_percpu(8, 8)
    p2 = m.alloc_percpu(2, 1)                # rounded up to 4 bytes, 4-aligned
    p3 = m.alloc_percpu(16, 64)
    p4 = m.alloc_percpu(4, 4)
    assert p1 == dyn_start and p2 == dyn_start + 8
    assert p3 == dyn_start + 64              # aligned past p2
    assert p4 == dyn_start + 12              # first fit: the hole before p3
    m.free_percpu(p2)
    assert m.alloc_percpu(4, 4) == p2        # reuse after free
    m.free_percpu(p1)
    assert m.alloc_percpu(12, 4) == dyn_start + 16   # the 8-byte hole is too small
    # per_cpu_ptr and zeroed memory in every unit
    for cpu in range(2):
        addr = m.per_cpu_ptr(p3, cpu)
        assert addr == st.pcpu_base_addr + st.pcpu_unit_offsets[cpu] + p3
        assert m.kernel_read(addr, 16) == bytes(16)
    m.this_cpu_write(p3, 0x1234, 8)
    assert m.per_cpu(p3, 0, 8) == 0x1234 and m.per_cpu(p3, 1, 8) == 0
    assert meminfo_kb(m, "Percpu") == 1024   # all inside the populated first chunk


def test_new_chunk_when_the_first_is_full() -> None:
    m = boot()
    st = m.percpu
    before = meminfo_kb(m, "Percpu")
    small = m.alloc_percpu(4096, 4096)
    assert small is not None and not m.is_vmalloc_addr(m.per_cpu_ptr(small, 0))
    big = m.alloc_percpu(PCPU_MIN_UNIT_SIZE, 8)   # 32 KiB: more than the 28 KiB dynamic area
    assert big is not None
    addrs = [m.per_cpu_ptr(big, cpu) for cpu in range(2)]
    assert all(m.is_vmalloc_addr(a) for a in addrs)
    assert addrs[1] - addrs[0] == st.pcpu_unit_size
    assert len(st.chunks) == 3               # reserved, first, the new one
    chunk = st.chunks[-1]
    assert chunk.nr_populated == 8           # only the pages the allocation covers
    assert meminfo_kb(m, "Percpu") == before + 8 * 2 * 4
    assert "pcpu_get_vm_areas" in m.proc("vmallocinfo")
    m.this_cpu_add(big, 41, 4)
    m.this_cpu_add(big, 1, 4)
    assert m.per_cpu(big, 0, 4) == 42 and m.per_cpu(big, 1, 4) == 0
    # small requests still go to the first chunk while it has room
    rest = m.alloc_percpu(24 * 1024, 4)
    assert rest is not None and not m.is_vmalloc_addr(m.per_cpu_ptr(rest, 0))
    # an atomic allocation only uses populated pages: the new chunk's 8 are all taken
    assert m.alloc_percpu_gfp(64, 4, GFP_ATOMIC) is None
    assert "atomic=1, atomic alloc failed, no space left" in m.dmesg()
    m.free_percpu(big)
    nxt = m.alloc_percpu_gfp(64, 4, GFP_ATOMIC)
    assert nxt is not None and m.per_cpu_ptr(nxt, 0) == addrs[0]
    assert chunk.nr_populated == 8
    # GFP_KERNEL populates further pages on demand
    # (first fit right after the 64 bytes: offsets 64 .. 32832, so one more page)
    assert m.alloc_percpu(PCPU_MIN_UNIT_SIZE, 4) == nxt + 64
    assert chunk.nr_populated == 9 and meminfo_kb(m, "Percpu") == before + 9 * 2 * 4


def test_atomic_allocation_failure_message() -> None:
    m = boot()
    assert m.alloc_percpu_gfp(PCPU_MIN_UNIT_SIZE, 4, GFP_ATOMIC) is None
    assert ("percpu: allocation failed, size=32768 align=4 atomic=1, atomic alloc failed, "
            "no space left") in m.dmesg()


@pytest.mark.kernel_report
def test_illegal_size_or_align_warns() -> None:
    m = boot()
    assert m.alloc_percpu(0, 4) is None
    assert m.alloc_percpu(PCPU_MIN_UNIT_SIZE + 4, 4) is None
    assert m.alloc_percpu(8, 12) is None
    log = m.dmesg()
    assert "illegal size (0) or align (4) for percpu allocation" in log
    assert "illegal size (32772) or align (4) for percpu allocation" in log
    assert "illegal size (8) or align (12) for percpu allocation" in log
    assert f"WARNING: CPU: 0 PID: {m.current_pid} at mm/percpu.c:1780 pcpu_alloc" in log


@pytest.mark.kernel_report
def test_gfp_kernel_alloc_in_atomic_context_might_sleep() -> None:
    m = boot()
    m.clock_ns += 2_000_000_000
    with m.preempt_disabled():
        assert m.alloc_percpu(8, 8) is not None
    assert ("BUG: sleeping function called from invalid context at "
            "kernel/locking/mutex.c:1014") in m.dmesg()
    m2 = boot()
    with m2.preempt_disabled():
        assert m2.alloc_percpu_gfp(8, 8, GFP_ATOMIC) is not None
    assert "sleeping function" not in m2.dmesg()
    assert GFP_KERNEL


def test_get_cpu_put_cpu_preemption() -> None:
    m = boot()
    v = m.DEFINE_PER_CPU("v", 8)
    assert m.preempt_count == [0, 0]
    assert m.get_cpu() == 0
    assert m.preempt_count[0] == 1 and not m.preemptible()
    m.put_cpu()
    assert m.preempt_count[0] == 0
    addr = m.get_cpu_var(v)
    assert addr == m.per_cpu_ptr(v, 0) and m.preempt_count[0] == 1
    m.put_cpu_var(v)
    assert m.preempt_count[0] == 0
    assert "BUG: using" not in m.dmesg()


@pytest.mark.kernel_report
def test_preemptible_this_cpu_and_smp_processor_id_reports() -> None:
    m = boot()
    v = m.DEFINE_PER_CPU("v", 8)
    m.this_cpu_read(v)                       # this_cpu ops are preempt-safe
    assert "BUG: using" not in m.dmesg()
    with m.preempt_disabled():
        m.__this_cpu_add(v, 1)
        assert m.smp_processor_id() == 0
    assert "BUG: using" not in m.dmesg()
    start = m.log.mark()
    assert m.__this_cpu_read(v) == 1
    lines = m.log.since(start).splitlines()
    assert lines[0].endswith(
        f"BUG: using __this_cpu_read() in preemptible [00000000] code: "
        f"{m.current_comm}/{m.current_pid}")
    assert "caller is test_preemptible_this_cpu_and_smp_processor_id_reports+0x" in lines[1]
    start = m.log.mark()
    assert m.smp_processor_id() == 0
    assert m.log.since(start).splitlines()[0].endswith(
        f"BUG: using smp_processor_id() in preemptible [00000000] code: "
        f"{m.current_comm}/{m.current_pid}")
    m.__this_cpu_write(v, 3)
    assert "BUG: using __this_cpu_write() in preemptible" in m.dmesg()
    assert m.per_cpu(v, 0) == 3
