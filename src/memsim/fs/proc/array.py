"""
/proc/PID/status and /proc/PID/stat (fs/proc/array.c, task_mem() of fs/proc/task_mmu.c),
in the 6.18 layout of ../shared/data/proc-6.18-x86_64/self_status.

The memory lines come from the mm's counters; the rest of the task state the model does
not keep (credentials, signals, capabilities, scheduling) is printed with the values a
root shell's child shows. # SIM: those lines are constants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mm_types import MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, MmStruct

if TYPE_CHECKING:
    from memsim.machine import Machine

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
#: MAX_NUMNODES of the oracle's config (CONFIG_NODES_SHIFT=10): 32 words in Mems_allowed
MAX_NUMNODES = 1024
#: the task_mem() labels in order
STATUS_MEM_KEYS: tuple[str, ...] = (
    "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem",
    "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap")
PF_RANDOMIZE = 0x00400000
PF_FORKNOEXEC = 0x00000040
PF_SUPERPRIV = 0x00000100


def task_mem_values(mm: MmStruct) -> dict[str, int]:
    """task_mem(): every memory line of /proc/PID/status in kB."""
    r = mm.rss_stat
    anon, file, shmem = r[MM_ANONPAGES], r[MM_FILEPAGES], r[MM_SHMEMPAGES]
    total_rss = anon + file + shmem
    hiwater_rss = max(total_rss, mm.hiwater_rss)
    hiwater_vm = max(mm.total_vm, mm.hiwater_vm)
    text = (((mm.end_code + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
            - (mm.start_code & ~(PAGE_SIZE - 1)))
    text = min(text, mm.exec_vm << PAGE_SHIFT)
    lib = (mm.exec_vm << PAGE_SHIFT) - text
    k = PAGE_SIZE >> 10
    return {
        "VmPeak": hiwater_vm * k, "VmSize": mm.total_vm * k, "VmLck": mm.locked_vm * k,
        "VmPin": mm.pinned_vm * k, "VmHWM": hiwater_rss * k, "VmRSS": total_rss * k,
        "RssAnon": anon * k, "RssFile": file * k, "RssShmem": shmem * k,
        "VmData": mm.data_vm * k, "VmStk": mm.stack_vm * k, "VmExe": text >> 10,
        "VmLib": lib >> 10, "VmPTE": mm.pgtables_bytes >> 10,
        "VmSwap": r[MM_SWAPENTS] * k,
    }


def task_mem(mm: MmStruct) -> str:
    v = task_mem_values(mm)
    out = "".join(f"{key}:\t{v[key]:8d} kB\n" for key in STATUS_MEM_KEYS)
    return out + f"HugetlbPages:\t{0:8d} kB\n"


def get_task_state(task: Any) -> str:
    state = getattr(task, "exit_state", None)
    if state == "zombie":
        return "Z (zombie)"
    if state == "dead":
        return "X (dead)"
    return "S (sleeping)"


def _ppid(task: Any) -> int:
    parent = getattr(task, "parent", None)
    return int(parent.pid) if parent is not None else 0


def _fdsize(task: Any) -> int:
    files = getattr(task, "files", None)
    return int(getattr(files, "max_fds", 64)) if files is not None else 0


def _cpus_mask(n: int) -> str:
    return f"{(1 << n) - 1:x}"


def _mems_allowed(nr_nodes: int) -> str:
    bits = (1 << nr_nodes) - 1
    words = [(bits >> (32 * i)) & 0xFFFFFFFF for i in range(MAX_NUMNODES // 32)]
    return ",".join(f"{w:08x}" for w in reversed(words))


def proc_pid_status(m: Machine, task: Any) -> str:
    """/proc/PID/status."""
    pid = int(task.pid)
    ncpu = int(m.nr_cpus)
    nnodes = int(m.nr_nodes)
    lines = [
        f"Name:\t{task.comm}", "Umask:\t0022", f"State:\t{get_task_state(task)}",
        f"Tgid:\t{pid}", "Ngid:\t0", f"Pid:\t{pid}", f"PPid:\t{_ppid(task)}", "TracerPid:\t0",
        "Uid:\t0\t0\t0\t0", "Gid:\t0\t0\t0\t0", f"FDSize:\t{_fdsize(task)}", "Groups:\t ",
        f"NStgid:\t{pid}", f"NSpid:\t{pid}", f"NSpgid:\t{pid}", f"NSsid:\t{pid}",
        "Kthread:\t0",
    ]
    out = "\n".join(lines) + "\n"
    mm = getattr(task, "mm", None)
    if mm is not None and getattr(task, "exit_state", None) is None:
        out += task_mem(mm)
        out += "CoreDumping:\t0\n"
        thp = 0 if mm.flags & (1 << 24) else 1
        out += f"THP_enabled:\t{thp}\n"
        out += "untag_mask:\t0xffffffffffffffff\n"
    tail = [
        "Threads:\t1", "SigQ:\t0/96365", "SigPnd:\t0000000000000000",
        "ShdPnd:\t0000000000000000", "SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000",
        "SigCgt:\t0000000000000000", "CapInh:\t0000000000000000",
        "CapPrm:\t000001fffeffffff", "CapEff:\t000001fffeffffff",
        "CapBnd:\t000001fffeffffff", "CapAmb:\t0000000000000000", "NoNewPrivs:\t0",
        "Seccomp:\t0", "Seccomp_filters:\t0",
        "Speculation_Store_Bypass:\tthread vulnerable",
        "SpeculationIndirectBranch:\tconditional enabled",
        f"Cpus_allowed:\t{_cpus_mask(ncpu)}", f"Cpus_allowed_list:\t0-{ncpu - 1}"
        if ncpu > 1 else "Cpus_allowed_list:\t0",
        f"Mems_allowed:\t{_mems_allowed(nnodes)}",
        f"Mems_allowed_list:\t{'0' if nnodes == 1 else f'0-{nnodes - 1}'}",
        "voluntary_ctxt_switches:\t0", "nonvoluntary_ctxt_switches:\t0",
    ]
    return out + "\n".join(tail) + "\n"


def proc_pid_stat(m: Machine, task: Any) -> str:
    """/proc/PID/stat: the 52 fields of do_task_stat()."""
    mm = getattr(task, "mm", None)
    alive = getattr(task, "exit_state", None) is None
    state = get_task_state(task)[0]
    pid = int(task.pid)
    flags = PF_RANDOMIZE | PF_SUPERPRIV | (PF_FORKNOEXEC if getattr(task, "parent", None)
                                           is not None else 0)
    vsize = rss = 0
    startcode = endcode = startstack = 0
    start_data = end_data = start_brk = arg_start = arg_end = env_start = env_end = 0
    if mm is not None and alive:
        vsize = mm.total_vm << PAGE_SHIFT
        rss = mm.get_mm_rss()
        startcode, endcode, startstack = mm.start_code, mm.end_code, mm.start_stack
        start_data, end_data, start_brk = mm.start_data, mm.end_data, mm.start_brk
        arg_start, arg_end, env_start, env_end = mm.arg_start, mm.arg_end, mm.env_start, \
            mm.env_end
    fields: list[int | str] = [
        state, _ppid(task), pid, pid, 0, -1, flags,
        int(getattr(task, "min_flt", 0)), 0, int(getattr(task, "maj_flt", 0)), 0,
        0, 0, 0, 0, 20, 0, 1, 0, 0,
        vsize, rss, (1 << 64) - 1, startcode, endcode, startstack, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0,
        start_data, end_data, start_brk, arg_start, arg_end, env_start, env_end,
        int(getattr(task, "exit_code", 0)),
    ]
    return f"{pid} ({task.comm}) " + " ".join(str(f) for f in fields) + "\n"
