"""The OOM killer (mm/oom_kill.py): badness, victim choice, the report, panic_on_oom,
/proc/PID/oom_score{,_adj}, the oom_reaper and an end-to-end OOM from a page fault."""

from __future__ import annotations

import re
import signal
from typing import Any

import pytest

from memsim.errors import KernelPanic, MemsimError
from memsim.include.gfp import __GFP_NORETRY, __GFP_RETRY_MAYFAIL, GFP_KERNEL, GFP_NOFS
from memsim.include.mm_types import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS
from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.include.vmstat_items import VmEventItem
from memsim.machine import Machine
from memsim.mm import oom_kill
from memsim.mm.memory import SignalDelivered
from memsim.mm.oom_kill import LONG_MIN, OomControl, oom_badness, out_of_memory

MiB = 1 << 20


def boot(mem: str = "256M", **kw: object) -> Machine:
    return Machine.boot(arch="x86_64", mem=mem, cpus=2,
                        settings={"vm.overcommit_memory": 1, **kw})


def proc_with(m: Machine, name: str, pages: int) -> Any:
    p = m.spawn(name, randomize=False)
    if pages:
        a = p.mmap(0, pages << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        p.touch(a, pages << 12, write=True)
    return p


def expected_badness(m: Machine, p: Any, adj: int) -> int:
    mm = p.mm
    r = mm.rss_stat
    total = m.totalram_pages
    return (r[MM_ANONPAGES] + r[MM_FILEPAGES] + r[MM_SHMEMPAGES] + r[MM_SWAPENTS]
            + mm.pgtables_bytes // 4096 + adj * (total // 1000))


def kernel_oom(m: Machine, gfp: int = GFP_KERNEL) -> OomControl:
    oc = OomControl(gfp_mask=gfp, order=0)
    out_of_memory(m, oc)
    return oc


# ---- oom_badness and /proc/PID/oom_score -----------------------------------------------------

def test_oom_badness_exact() -> None:
    m = boot()
    p = proc_with(m, "worker", 0)
    base = oom_badness(m, p, m.totalram_pages)
    assert base == expected_badness(m, p, 0)
    a = p.mmap(0, 256 << 12, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS)
    pgt = p.mm.pgtables_bytes
    p.touch(a, 256 << 12, write=True)
    grown = (p.mm.pgtables_bytes - pgt) // 4096
    assert oom_badness(m, p, m.totalram_pages) == base + 256 + grown
    total = m.totalram_pages
    for adj in (500, -500, 1000, -999):
        p.oom_score_adj = adj
        # adj *= totalpages / 1000 (integer division first), then added
        assert oom_badness(m, p, total) == expected_badness(m, p, 0) + adj * (total // 1000)
    p.oom_score_adj = -1000
    assert oom_badness(m, p, total) == LONG_MIN
    assert oom_badness(m, m.tasks[p.pid], total) == LONG_MIN


def test_proc_oom_score_and_adj() -> None:
    m = boot()
    p = proc_with(m, "worker", 512)
    pid = p.pid
    total = m.totalram_pages
    assert m.proc(f"{pid}/oom_score_adj") == "0\n"
    bad = expected_badness(m, p, 0)
    assert m.proc(f"{pid}/oom_score") == f"{(1000 + bad * 1000 // total) * 2 // 3}\n"
    assert m.proc_write(f"{pid}/oom_score_adj", "500\n") == 4
    assert p.oom_score_adj == 500
    assert m.proc(f"{pid}/oom_score_adj") == "500\n"
    bad = expected_badness(m, p, 500)
    assert m.proc(f"{pid}/oom_score") == f"{(1000 + bad * 1000 // total) * 2 // 3}\n"
    # -1000: exempt, oom_score 0; the legacy oom_adj reads -17
    m.proc_write(f"{pid}/oom_score_adj", "-1000")
    assert m.proc(f"{pid}/oom_score") == "0\n"
    assert m.proc(f"{pid}/oom_adj") == "-17\n"
    m.proc_write(f"{pid}/oom_score_adj", "1000")
    assert int(m.proc(f"{pid}/oom_score")) >= 1333
    assert m.proc(f"{pid}/oom_adj") == "15\n"
    for bad_text in ("1001", "-1001", "abc"):
        with pytest.raises(MemsimError, match="EINVAL"):
            m.proc_write(f"{pid}/oom_score_adj", bad_text)
    # legacy oom_adj: 15 -> 1000, -17 -> -1000, else adj * 1000 / 17 (truncated)
    m.proc_write(f"{pid}/oom_adj", "-5")
    assert p.oom_score_adj == -294
    assert "/oom_adj is deprecated, please use" in m.dmesg()
    m.proc_write(f"{pid}/oom_adj", "15")
    assert p.oom_score_adj == 1000
    # kstrtoint(..., 0): hex and octal too
    m.proc_write(f"{pid}/oom_score_adj", "0x10\n")
    assert p.oom_score_adj == 16
    m.proc_write(f"{pid}/oom_score_adj", "010")
    assert p.oom_score_adj == 8
    m.proc_write(f"{pid}/oom_score_adj", "1000")
    # inherited across fork
    c = p.fork()
    assert m.proc(f"{c.pid}/oom_score_adj") == "1000\n"
    # a zombie has no mm: oom_score 0, its oom_score_adj still readable
    c.exit(0)
    assert m.proc(f"{c.pid}/oom_score") == "0\n"
    assert m.proc(f"{c.pid}/oom_score_adj") == "1000\n"


def test_sysctls() -> None:
    m = boot()
    assert m.proc("sys/vm/panic_on_oom") == "0\n"
    assert m.proc("sys/vm/oom_kill_allocating_task") == "0\n"
    assert m.proc("sys/vm/oom_dump_tasks") == "1\n"
    m.sysctl_write("vm.panic_on_oom", 2)
    assert m.proc("sys/vm/panic_on_oom") == "2\n"
    with pytest.raises(MemsimError):
        m.sysctl_write("vm.panic_on_oom", 3)
    m2 = boot(**{"vm.oom_dump_tasks": 0})
    assert m2.sysctl.oom_dump_tasks == 0


# ---- victim choice ----------------------------------------------------------------------------

def test_victim_is_the_largest_and_adj_rules() -> None:
    m = boot()
    a = proc_with(m, "a", 100)
    b = proc_with(m, "b", 300)
    c = proc_with(m, "c", 200)
    oc = kernel_oom(m)
    assert oc.chosen is b and oc.freed
    assert b.exit_state is not None and b.killed_by == signal.SIGKILL
    assert b.pid not in m.tasks
    # oom_score_adj 1000 makes the small one the victim
    m.proc_write(f"{a.pid}/oom_score_adj", "1000")
    assert kernel_oom(m).chosen is a
    # OOM_SCORE_ADJ_MIN: exempt even when it is the only big one
    d = proc_with(m, "d", 400)
    d.oom_score_adj = -1000
    assert kernel_oom(m).chosen is c
    assert d.exit_state is None
    assert m.vm_event[VmEventItem.OOM_KILL] == 3
    assert "oom_kill 3\n" in m.proc("vmstat")
    m.validate()


def test_ties_go_to_the_later_task() -> None:
    m = boot()
    proc_with(m, "one", 50)
    two = proc_with(m, "two", 50)
    assert kernel_oom(m).chosen is two


def test_no_killable_process_panics() -> None:
    m = boot()
    p = proc_with(m, "immune", 10)
    p.oom_score_adj = -1000
    with pytest.raises(KernelPanic):
        kernel_oom(m)
    log = m.dmesg()
    assert "Out of memory and no killable processes..." in log
    assert "Kernel panic - not syncing: System is deadlocked on memory" in log


def test_gfp_nofs_does_not_kill() -> None:
    m = boot()
    p = proc_with(m, "p", 10)
    assert out_of_memory(m, OomControl(gfp_mask=GFP_NOFS, order=0))
    assert p.exit_state is None
    assert "invoked oom-killer" not in m.dmesg()


# ---- the report -------------------------------------------------------------------------------

def test_report_text() -> None:
    m = boot()
    small = proc_with(m, "small", 20)
    big = proc_with(m, "bigone", 300)
    big.oom_score_adj = 7
    rows = []
    for t in (small, big):
        mm = t.mm
        r = mm.rss_stat
        rss = r[MM_ANONPAGES] + r[MM_FILEPAGES] + r[MM_SHMEMPAGES]
        rows.append(f"[{t.pid:7d}] {0:5d} {t.pid:5d} {mm.total_vm:8d} {rss:8d} "
                    f"{r[MM_ANONPAGES]:8d} {r[MM_FILEPAGES]:8d} {r[MM_SHMEMPAGES]:9d} "
                    f"{mm.pgtables_bytes:8d} {r[MM_SWAPENTS]:8d}         "
                    f"{t.oom_score_adj:5d} {t.comm}")
    bm = big.mm
    killed = (f"Out of memory: Killed process {big.pid} (bigone) "
              f"total-vm:{bm.total_vm * 4}kB, anon-rss:{bm.rss_stat[MM_ANONPAGES] * 4}kB, "
              f"file-rss:{bm.rss_stat[MM_FILEPAGES] * 4}kB, shmem-rss:0kB, UID:0 "
              f"pgtables:{bm.pgtables_bytes >> 10}kB oom_score_adj:7")
    mark = m.log.mark()
    kernel_oom(m)
    lines = m.log.since(mark).splitlines()
    assert lines[0] == ("memsim invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
                        "oom_score_adj=0")
    assert lines[1].startswith("CPU: 0 UID: 0 PID: 1 Comm: memsim ")
    i = lines.index("Mem-Info:")
    assert lines[i + 1].startswith("active_anon:")
    assert any(re.fullmatch(r"Node 0 active_anon:\d+kB inactive_anon:\d+kB .* "
                            r"all_unreclaimable\? no", ln) for ln in lines)
    zl = [ln for ln in lines if ln.startswith("Node 0 DMA32 free:")]
    assert len(zl) == 1 and " writepending:" in zl[0] and " managed:" in zl[0]
    assert any(ln.startswith("Node 0 DMA32: ") and ln.endswith("kB") for ln in lines)
    assert "lowmem_reserve[]: 0 " + "" in "\n".join(lines)
    assert any(re.fullmatch(r"\d+ total pagecache pages", ln) for ln in lines)
    assert "0 pages in swap cache" in lines
    assert "Free swap  = 0kB" in lines and "Total swap = 0kB" in lines
    present = sum(z.present_pages for z in m.zones if z.populated())
    managed = sum(z.managed_pages for z in m.zones if z.populated())
    assert f"{present} pages RAM" in lines
    assert "0 pages HighMem/MovableOnly" in lines
    assert f"{present - managed} pages reserved" in lines
    t = lines.index("Tasks state (memory values in pages):")
    assert lines[t + 1] == ("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file "
                            "rss_shmem pgtables_bytes swapents oom_score_adj name")
    assert lines[t + 2:t + 4] == rows
    assert lines[t + 4] == ("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,"
                            f"mems_allowed=0,global_oom,task_memcg=/,task=bigone,"
                            f"pid={big.pid},uid=0")
    assert lines[t + 5] == killed
    assert len(lines) == t + 6
    # oom_dump_tasks=0 drops the table
    m.sysctl_write("vm.oom_dump_tasks", 0)
    mark = m.log.mark()
    kernel_oom(m)
    assert "Tasks state" not in m.log.since(mark)


def test_show_mem_filters_zones_above_the_request() -> None:
    m = boot()
    mark = m.log.mark()
    m.debug.show_mem(None, 0)            # gfp_zone() == ZONE_DMA
    text = m.log.since(mark)
    assert "Node 0 DMA free:" in text and "DMA32" not in text


# ---- panic_on_oom and oom_kill_allocating_task --------------------------------------------------

@pytest.mark.parametrize("mode,word", [(1, "system-wide"), (2, "compulsory")])
def test_panic_on_oom(mode: int, word: str) -> None:
    m = boot(**{"vm.panic_on_oom": mode})
    p = proc_with(m, "victim", 50)
    with pytest.raises(KernelPanic):
        kernel_oom(m)
    log = m.dmesg()
    assert "invoked oom-killer" in log      # check_panic_on_oom() dumps the header first
    assert f"Kernel panic - not syncing: Out of memory: {word} panic_on_oom is enabled" in log
    assert "Killed process" not in log
    assert p.exit_state is None


def test_oom_kill_allocating_task() -> None:
    m = boot(**{"vm.oom_kill_allocating_task": 1})
    proc_with(m, "big", 300)
    small = proc_with(m, "small", 10)
    m.current_pid, m.current_comm = small.pid, small.comm
    oc = kernel_oom(m)
    assert oc.chosen is small
    log = m.dmesg()
    assert "small invoked oom-killer" in log
    assert (f"Out of memory (oom_kill_allocating_task): Killed process {small.pid} (small)"
            in log)
    # current cannot die inside the allocator: SIGKILL pending until it returns to user
    assert small.sigkill_pending and small.exit_state is None
    m.current_pid, m.current_comm = 1, "memsim"
    with pytest.raises(SignalDelivered):
        small.exit_to_user_mode()
    assert small.killed_by == signal.SIGKILL
    m.validate()


# ---- the oom_reaper ---------------------------------------------------------------------------

def test_oom_reaper_reaps_a_victim_that_does_not_exit() -> None:
    from memsim.kernel.kthread import advance_clock
    m = boot()
    p = proc_with(m, "stuck", 300)
    free0 = m.nr_free_pages()
    # the victim is current (e.g. blocked in the kernel): it cannot take the SIGKILL yet
    m.current_pid, m.current_comm = p.pid, p.comm
    kernel_oom(m)
    m.current_pid, m.current_comm = 1, "memsim"
    assert p.exit_state is None and p.oom_victim
    advance_clock(m, 1_000_000_000)
    assert "oom_reaper" not in m.dmesg()      # OOM_REAPER_DELAY is 2 s
    advance_clock(m, 1_000_000_000)
    mm = p.mm
    assert (f"oom_reaper: reaped process {p.pid} (stuck), now anon-rss:0kB, "
            f"file-rss:{mm.rss_stat[MM_FILEPAGES] * 4}kB, shmem-rss:0kB") in m.dmesg()
    assert mm.rss_stat[MM_ANONPAGES] == 0
    assert m.nr_free_pages() + m.nr_pcp_pages() > free0 + 250
    m.validate()
    # a later OOM does not wait for it (MMF_OOM_SKIP) and does not choose it again
    other = proc_with(m, "other", 20)
    assert kernel_oom(m).chosen is other
    with pytest.raises(SignalDelivered):
        p.exit_to_user_mode()
    m.validate()


def test_reaper_silent_when_the_victim_exits() -> None:
    from memsim.kernel.kthread import advance_clock
    m = boot()
    proc_with(m, "gone", 100)
    kernel_oom(m)
    advance_clock(m, 3_000_000_000)
    assert "oom_reaper" not in m.dmesg()


# ---- through the page allocator ------------------------------------------------------------------

def exhaust(m: Machine) -> list[int]:
    got = []
    while True:
        pfn = m.alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0)
        if pfn is None:
            return got
        got.append(pfn)


def test_alloc_pages_may_oom_exclusions_and_kill() -> None:
    m = boot("128M")
    p = proc_with(m, "hog", 1000)
    held = exhaust(m)
    mark = m.log.mark()
    assert m.alloc_pages(GFP_NOFS, 0) is None                   # !__GFP_FS: no kill
    assert m.alloc_pages(GFP_KERNEL, 4) is None                 # order > COSTLY
    assert m.alloc_pages(GFP_KERNEL | __GFP_RETRY_MAYFAIL, 0) is None
    assert "invoked oom-killer" not in m.log.since(mark)
    assert p.exit_state is None
    pfn = m.alloc_pages(GFP_KERNEL, 0)
    assert pfn is not None
    assert "memsim invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0" in m.dmesg()
    assert p.exit_state is not None
    for q in held + [pfn]:
        m.free_pages_pfn(q, 0)
    m.validate()


def test_end_to_end_fault_oom() -> None:
    m = boot("128M")
    bystander = proc_with(m, "bystander", 50)
    hog = m.spawn("hog")
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    size = 160 * MiB                       # more than the machine has; no swap
    a = hog.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    mark = m.log.mark()
    with pytest.raises(SignalDelivered) as e:
        hog.touch(a, size, write=True)
    assert e.value.signo == signal.SIGKILL
    log = m.log.since(mark)
    # vma_alloc_folio() adds __GFP_COMP; the names in 6.18's bit order, as the real ftrace
    # sample prints them
    assert re.search(r"^hog invoked oom-killer: gfp_mask=0x140dca\(GFP_HIGHUSER_MOVABLE"
                     r"\|__GFP_ZERO\|__GFP_COMP\), order=0, oom_score_adj=0$", log, re.M)
    assert f"CPU: 0 UID: 0 PID: {hog.pid} Comm: hog" in log
    assert re.search(rf"^Out of memory: Killed process {hog.pid} \(hog\) total-vm:\d+kB, "
                     r"anon-rss:\d+kB, file-rss:\d+kB, shmem-rss:0kB, UID:0 pgtables:\d+kB "
                     r"oom_score_adj:0$", log, re.M)
    assert "page allocation failure" not in log     # the victim got its page from reserves
    assert "Huh VM_FAULT_OOM" not in log
    assert log.count("invoked oom-killer") == 1
    assert hog.exit_state is not None and hog.killed_by == signal.SIGKILL
    assert bystander.exit_state is None
    assert m.vm_event[VmEventItem.OOM_KILL] == 1
    # the hog's memory is free again
    assert m.nr_free_pages() + m.nr_pcp_pages() >= free0 - 16
    m.validate()
    # the bystander still works
    bystander.touch(bystander.mm.vmas[0].vm_start, 4096)
    again = m.spawn("again")
    b = again.mmap(0, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    again.touch(b, 8 * MiB, write=True)
    m.validate()


def test_fault_oom_kills_another_process_and_the_fault_succeeds() -> None:
    m = boot("128M")
    big = proc_with(m, "big", 12000)               # ~47 MiB
    small = m.spawn("small")
    size = 48 * MiB
    a = small.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    small.touch(a, size, write=True)                # runs out of memory half way
    assert big.exit_state is not None
    assert small.exit_state is None
    assert small.mm.rss_stat[MM_ANONPAGES] >= size >> 12
    assert "small invoked oom-killer" in m.dmesg()
    assert f"Killed process {big.pid} (big)" in m.dmesg()
    m.validate()


@pytest.mark.kernel_report
def test_pagefault_out_of_memory_quiet_for_a_killed_task() -> None:
    m = boot()
    p = proc_with(m, "p", 1)
    p.sigkill_pending = True
    oom_kill.pagefault_out_of_memory(m, p)
    assert "Huh" not in m.dmesg()
    p.sigkill_pending = False
    oom_kill.pagefault_out_of_memory(m, p)
    assert "Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF" in m.dmesg()
