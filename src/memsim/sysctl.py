"""
/proc/sys/vm: the live VM sysctls of a machine, with the kernel's handlers (a write to
min_free_kbytes recomputes the watermarks, a write to lowmem_reserve_ratio the
protection arrays …). Boot-time values come from config.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memsim.errors import ConfigError

if TYPE_CHECKING:
    from memsim.machine import Machine

#: default sysctl_lowmem_reserve_ratio per canonical zone type (DMA, DMA32, Normal,
#: HighMem, Movable, Device)
LOWMEM_RESERVE_RATIO_DEFAULT = (256, 256, 32, 0, 0, 0)


@dataclass(slots=True)
class VmSysctl:
    """The values behind /proc/sys/vm/*."""

    min_free_kbytes: int = 1024
    watermark_scale_factor: int = 10
    watermark_boost_factor: int = 15000
    lowmem_reserve_ratio: list[int] = field(default_factory=list)
    percpu_pagelist_high_fraction: int = 0
    extfrag_threshold: int = 500
    numa_zonelist_order: str = "Node"
    overcommit_memory: int = 0
    overcommit_ratio: int = 50
    overcommit_kbytes: int = 0
    max_map_count: int = 65530
    mmap_min_addr: int = 4096
    user_reserve_kbytes: int = 0
    admin_reserve_kbytes: int = 0
    page_cluster: int = 3
    swappiness: int = 60
    panic_on_oom: int = 0
    oom_kill_allocating_task: int = 0
    oom_dump_tasks: int = 1
    randomize_va_space: int = 2
    # mm/page-writeback.c: the dirty limits and the flusher's intervals
    dirty_background_ratio: int = 10
    dirty_background_bytes: int = 0
    dirty_ratio: int = 20
    dirty_bytes: int = 0
    dirty_writeback_centisecs: int = 500
    dirty_expire_centisecs: int = 3000


#: name -> (kind, minimum, maximum); kind is "int", "list" or "str"
SYSCTLS: dict[str, tuple[str, int, int]] = {
    "min_free_kbytes": ("int", 0, (1 << 31) - 1),
    "watermark_scale_factor": ("int", 1, 3000),
    "watermark_boost_factor": ("int", 0, (1 << 31) - 1),
    "lowmem_reserve_ratio": ("list", 0, (1 << 31) - 1),
    "percpu_pagelist_high_fraction": ("int", 0, (1 << 31) - 1),
    "extfrag_threshold": ("int", 0, 1000),
    "numa_zonelist_order": ("str", 0, 0),
    "overcommit_memory": ("int", 0, 2),
    "overcommit_ratio": ("int", 0, (1 << 31) - 1),
    "overcommit_kbytes": ("int", 0, (1 << 63) - 1),
    "max_map_count": ("int", 0, (1 << 31) - 1),
    "mmap_min_addr": ("int", 0, (1 << 63) - 1),
    "user_reserve_kbytes": ("int", 0, (1 << 63) - 1),
    "admin_reserve_kbytes": ("int", 0, (1 << 63) - 1),
    "page_cluster": ("int", 0, 31),
    "swappiness": ("int", 0, 200),
    # mm/oom_kill.c vm_oom_kill_table: panic_on_oom 0..2, the others proc_dointvec
    "panic_on_oom": ("int", 0, 2),
    "oom_kill_allocating_task": ("int", -(1 << 31), (1 << 31) - 1),
    "oom_dump_tasks": ("int", -(1 << 31), (1 << 31) - 1),
    # mm/page-writeback.c vm_page_writeback_sysctls
    "dirty_background_ratio": ("int", 0, 100),
    "dirty_background_bytes": ("int", 0, (1 << 63) - 1),
    "dirty_ratio": ("int", 0, 100),
    "dirty_bytes": ("int", 0, (1 << 63) - 1),
    "dirty_writeback_centisecs": ("int", 0, (1 << 31) - 1),
    "dirty_expire_centisecs": ("int", 0, (1 << 31) - 1),
}


def sysctl_read(m: Machine, name: str) -> str:
    """The text of /proc/sys/vm/<name>."""
    v = m.sysctl
    if name not in SYSCTLS:
        raise ConfigError(f"/proc/sys/vm/{name}: no such sysctl")
    value = getattr(v, name)
    if name == "lowmem_reserve_ratio":
        return "\t".join(str(x) for x in value) + "\n"
    return f"{value}\n"


def sysctl_write(m: Machine, name: str, text: str) -> None:
    """Write /proc/sys/vm/<name> as ``echo text > …`` would, running the kernel's handler."""
    from memsim.mm import page_alloc

    if name not in SYSCTLS:
        raise ConfigError(f"/proc/sys/vm/{name}: no such sysctl")
    kind, lo, hi = SYSCTLS[name]
    v = m.sysctl
    if kind == "str":
        if text.strip() not in ("Node", "node", "N", "n", "Default", "default", "D", "d"):
            raise ConfigError(f"vm.{name}: invalid value {text.strip()!r} (EINVAL)")
        return  # accepted and ignored: only node order exists since 5.x
    try:
        values = [int(x) for x in text.split()]
    except ValueError:
        raise ConfigError(f"vm.{name}: {text.strip()!r} is not a number (EINVAL)") from None
    if kind == "list":
        n = len(v.lowmem_reserve_ratio)
        new = list(v.lowmem_reserve_ratio)
        for i, x in enumerate(values[:n]):
            new[i] = x if x >= 1 else 0      # values < 1 mean "no protection"
        v.lowmem_reserve_ratio = new
        page_alloc.setup_per_zone_lowmem_reserve(m)
        return
    if len(values) != 1:
        raise ConfigError(f"vm.{name}: expected one number, got {text.strip()!r} (EINVAL)")
    x = values[0]
    if x < lo or x > hi:
        raise ConfigError(f"vm.{name}: {x} is out of range [{lo}, {hi}] (EINVAL)")
    if name == "percpu_pagelist_high_fraction" and 0 < x < 8:
        raise ConfigError(f"vm.{name}: must be 0 or at least 8 (EINVAL)")
    if name == "dirty_bytes" and 0 < x < 2 * 4096:
        raise ConfigError(f"vm.{name}: must be 0 or at least 8192 (dirty_bytes_min, EINVAL)")
    setattr(v, name, x)
    # the ratio and bytes forms exclude each other (dirty_*_handler in page-writeback.c)
    pair = {"dirty_ratio": "dirty_bytes", "dirty_bytes": "dirty_ratio",
            "dirty_background_ratio": "dirty_background_bytes",
            "dirty_background_bytes": "dirty_background_ratio"}.get(name)
    if pair is not None:
        setattr(v, pair, 0)
    if name == "min_free_kbytes":
        m.user_min_free_kbytes = x
        page_alloc.setup_per_zone_wmarks(m)
    elif name == "watermark_scale_factor":
        page_alloc.setup_per_zone_wmarks(m)
    elif name == "percpu_pagelist_high_fraction":
        for z in m.zones:
            page_alloc.zone_set_pageset_high_and_batch(m, z, 0)
