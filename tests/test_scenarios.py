"""The tour steps added with vmalloc, highmem, contexts and stacks read the model back."""

from __future__ import annotations

import pytest

from memsim.machine import Machine
from memsim.scenarios import tour_contexts, tour_highmem, tour_percpu, tour_stacks, tour_vmalloc


def _run(m: Machine, fn: object) -> str:
    lines: list[str] = []
    fn(m, lines.append)  # type: ignore[operator]
    return "\n".join(lines)


@pytest.mark.kernel_report
def test_contexts_step() -> None:
    m = Machine.boot(mem="1G")
    out = _run(m, tour_contexts)
    assert "in irq_context(cpu=0): preempt_count 0x10000, in_atomic() 1" in out
    assert "GFP_ATOMIC, 0) in the handler: ok, 0 dmesg lines" in out
    assert out.count("BUG: sleeping function called from invalid context") == 3
    assert not m.in_atomic()


def test_vmalloc_step() -> None:
    m = Machine.boot(mem="1G")
    out = _run(m, tour_vmalloc)
    # 0xffffc90000000000 + 2 CPUs' IRQ stacks (16 KiB + a guard page each)
    assert "vmalloc(   4096) at 0xffffc9000000a000: 1 pages + 1 guard page, area 8192" in out
    assert "present=False level=None" in out
    assert "pages=256 vmalloc N0=256" in out
    assert "purge_vmap_area_lazy(): 3 areas returned with one TLB flush" in out


@pytest.mark.parametrize("arch", ["i386", "x86_64"])
def test_highmem_and_stacks_steps(arch: str) -> None:
    m = Machine.boot(arch=arch, mem="2G")
    out = _run(m, tour_highmem) + _run(m, tour_stacks)
    if arch == "i386":
        assert "in HighMem; page_address() = None" in out
        assert "pkmap flushes 0 -> 1" in out and "first page now None" in out
        assert "THREAD_SIZE 8192 bytes" in out
    else:
        assert "x86_64 has no high memory" in out
        assert "THREAD_SIZE 16384 bytes" in out
    assert "after freeing them: 0 kB" in out


def test_percpu_step() -> None:
    out = _run(Machine.boot(mem="1G"), tour_percpu)
    assert "64 x alloc_percpu(64 bytes)" in out


@pytest.mark.kernel_report
@pytest.mark.parametrize("arch", ["arm64", "arm", "i386"])
def test_whole_tour_runs_on_every_arch(arch: str) -> None:
    """The tour leaves memory to the parts after it on every arch (arm64's ZONE_DMA is all
    RAM below 4 GiB, so the DMA watermark step must give its pages back)."""
    from memsim.scenarios import tour
    m = Machine.boot(arch=arch, mem="1G")
    lines: list[str] = []
    tour(m, lines.append)
    assert any("Validators: consistent after the slab tour." in ln for ln in lines)
    m.validate()


@pytest.mark.parametrize("arch", ["x86_64", "i386", "arm64", "arm"])
def test_process_step(arch: str) -> None:
    from memsim.scenarios import tour_process
    m = Machine.boot(arch=arch, mem="1G")
    out = _run(m, tour_process)
    assert "sbrk(64 KiB) + write every page: 16 minor faults, [heap] Rss 64 kB" in out
    assert "parent [heap] Rss 64 kB Pss 32 kB Shared_Dirty 64 kB" in out
    assert "child Private_Dirty 4 kB, parent Pss 34 kB" in out
    assert "parent still reads b'aaaaa', child b'child'" in out
    assert "one read fault (1) maps" in out
    assert "a write copies that page: Anonymous 4 kB" in out
    assert "[vdso]" in out and "[stack]" in out and "[heap]" not in out.split("sbrk")[0]
    assert "-> phys" in out


def test_pressure_step() -> None:
    from memsim.scenarios import tour_pressure
    out = _run(Machine.boot(mem="1G"), tour_pressure)
    rows = [ln for ln in out.splitlines() if "MemFree" in ln]
    pswpout = [int(ln.split("pswpout")[1].split()[0]) for ln in rows]
    assert pswpout[0] == 0 and pswpout[-1] > pswpout[-3] > 0     # kswapd swapped out
    assert "the first page came back from swap: b'\\x01', major faults +1" in out
    assert "hog2 invoked oom-killer: gfp_mask=0x140dca(" in out
    assert "Out of memory: Killed process 2 (hog) total-vm:180404kB" in out
    assert "hog alive: False, hog2 alive: True" in out
