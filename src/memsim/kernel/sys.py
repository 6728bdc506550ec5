"""
prctl(2) (kernel/sys.c): only the memory-related option the oracle exercises.

PR_SET_VMA / PR_SET_VMA_ANON_NAME would name anonymous VMAs ([anon:NAME], splitting and
merging them by name), but the oracle's 6.18 kernel is built without CONFIG_ANON_VMA_NAME,
so prctl_set_vma() is the stub that returns -EINVAL and no VMA changes (scenario
anon_vma_name_split_merge).

# SIM: every other prctl option is unmodelled and answers -EINVAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memsim.include.mman import EINVAL, PR_SET_VMA
from memsim.kernel.task import register_syscall

if TYPE_CHECKING:
    from memsim.machine import Machine


def prctl_set_vma(m: Machine, task: Any, opt: int, addr: int, size: int, arg: int) -> int:
    """prctl_set_vma() with CONFIG_ANON_VMA_NAME=n: always -EINVAL."""
    return -EINVAL


@register_syscall("prctl")
def sys_prctl(m: Machine, task: Any, option: int, arg2: int = 0, arg3: int = 0,
              arg4: int = 0, arg5: int = 0) -> int:
    if option == PR_SET_VMA:
        return prctl_set_vma(m, task, arg2, arg3, arg4, arg5)
    return -EINVAL


__all__ = ["sys_prctl", "prctl_set_vma"]
