"""
Overcommit accounting and small helpers (mm/util.c, mm/mmap.c init_user_reserve /
init_admin_reserve): __vm_enough_memory, vm_commit_limit, Committed_AS.

Callers: mm/mmap.py (mmap, brk, stack growth), mm/mprotect.py (making a private mapping
writable), mm/mremap.py (growth), kernel/fork.py (dup_mmap); meminfo reads
``m.vm_committed_as`` and vm_commit_limit().
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memsim.fs.proc.meminfo import total_swap_pages, vm_commit_limit
from memsim.include.mman import ENOMEM

if TYPE_CHECKING:
    from memsim.include.mm_types import MmStruct
    from memsim.machine import Machine

OVERCOMMIT_GUESS = 0
OVERCOMMIT_ALWAYS = 1
OVERCOMMIT_NEVER = 2


def init_reserves(m: Machine) -> None:
    """init_user_reserve() / init_admin_reserve(): 1/32 of free memory, capped."""
    free_kb = m.nr_free_pages() << 2
    if not m.config["sysctl.vm.user_reserve_kbytes"]:
        m.sysctl.user_reserve_kbytes = min(free_kb // 32, 1 << 17)
    else:
        m.sysctl.user_reserve_kbytes = m.config["sysctl.vm.user_reserve_kbytes"]
    if not m.config["sysctl.vm.admin_reserve_kbytes"]:
        m.sysctl.admin_reserve_kbytes = min(free_kb // 32, 1 << 13)
    else:
        m.sysctl.admin_reserve_kbytes = m.config["sysctl.vm.admin_reserve_kbytes"]


def vm_acct_memory(m: Machine, pages: int) -> None:
    m.vm_committed_as += pages


def vm_unacct_memory(m: Machine, pages: int) -> None:
    m.vm_committed_as -= pages


def __vm_enough_memory(m: Machine, mm: MmStruct | None, pages: int,
                       cap_sys_admin: bool = True) -> int:
    """
    __vm_enough_memory(): charge *pages* to Committed_AS if the overcommit policy allows;
    0 or -ENOMEM (with the kernel's log line, and the charge taken back).
    """
    s = m.sysctl
    vm_acct_memory(m, pages)
    if s.overcommit_memory == OVERCOMMIT_ALWAYS:
        return 0
    if s.overcommit_memory == OVERCOMMIT_GUESS:
        if pages <= m.totalram_pages + total_swap_pages(m):
            return 0
    else:
        allowed = vm_commit_limit(m)
        if not cap_sys_admin:
            allowed -= s.admin_reserve_kbytes >> 2
        if mm is not None:
            allowed -= min(mm.total_vm // 32, s.user_reserve_kbytes >> 2)
        if m.vm_committed_as < allowed:
            return 0
    task = mm.owner if mm is not None else None
    pid = task.pid if task is not None else m.current_pid
    comm = task.comm if task is not None else m.current_comm
    if m.ratelimit("vm_enough_memory", 5_000_000_000, 10):
        m.printk(f"__vm_enough_memory: pid: {pid}, comm: {comm}, bytes: {pages << 12} "
                 f"not enough memory for the allocation", level=6)
    vm_unacct_memory(m, pages)
    return -ENOMEM


def security_vm_enough_memory_mm(m: Machine, mm: MmStruct | None, pages: int) -> int:
    """security_vm_enough_memory_mm(): root has CAP_SYS_ADMIN (the model runs as root)."""
    # SIM: every simulated process runs as root (euid 0, as the oracle's subject did)
    return __vm_enough_memory(m, mm, pages, cap_sys_admin=True)
