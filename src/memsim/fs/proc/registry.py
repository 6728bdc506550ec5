"""
The /proc (and debugfs) namespace of a machine: path -> renderer. Renderers live next to
their data (mm/vmstat.py, fs/proc/meminfo.py, sysctl.py); this module only dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from memsim.errors import MemsimError

if TYPE_CHECKING:
    from memsim.machine import Machine

Renderer = Callable[["Machine"], str]


def _files() -> dict[str, Renderer]:
    from memsim.fs.proc import meminfo
    from memsim.mm import vmalloc, vmstat
    return {
        "buddyinfo": vmstat.frag_show,
        "pagetypeinfo": vmstat.pagetypeinfo_show,
        "zoneinfo": vmstat.zoneinfo_show,
        "vmstat": vmstat.vmstat_show,
        "meminfo": meminfo.meminfo_proc_show,
        "slabinfo": lambda m: m.slab.slabinfo_show(),
        "vmallocinfo": vmalloc.vmallocinfo_show,
        "sys/kernel/debug/extfrag/unusable_index": vmstat.unusable_show,
        "sys/kernel/debug/extfrag/extfrag_index": vmstat.extfrag_show,
    }


def list_files(m: Machine) -> list[str]:
    """Every path ``read`` accepts (without the /proc/ prefix)."""
    from memsim.sysctl import SYSCTLS
    return sorted([*_files(), *(f"sys/vm/{n}" for n in SYSCTLS)])


def normalize(path: str) -> str:
    p = path.strip()
    for prefix in ("/proc/", "proc/"):
        if p.startswith(prefix):
            p = p[len(prefix):]
    if p.startswith("/sys/kernel/debug/"):
        p = p[1:]
    if p.startswith("extfrag/"):
        p = "sys/kernel/debug/" + p
    return p.strip("/")


def read(m: Machine, path: str) -> str:
    """The text of /proc/<path>; MemsimError naming the path if the model has no such file."""
    from memsim.sysctl import SYSCTLS, sysctl_read
    p = normalize(path)
    files = _files()
    if p in files:
        return files[p](m)
    if p.startswith("sys/vm/") and p[len("sys/vm/"):] in SYSCTLS:
        return sysctl_read(m, p[len("sys/vm/"):])
    if p.startswith(("sys/kernel/slab/", "/sys/kernel/slab/")):
        return slab_sysfs_read(m, p.lstrip("/")[len("sys/kernel/slab/"):])
    raise MemsimError(f"/proc/{p}: no such file in the model (known: "
                      f"{', '.join(list_files(m))})")


def slab_sysfs_read(m: Machine, rest: str) -> str:
    """/sys/kernel/slab/<cache>[/<attr>]: one attribute, or all as "attr: value" lines."""
    from memsim.mm.slub import Slub
    name, _, attr = rest.partition("/")
    if not isinstance(m.slab, Slub):
        raise MemsimError("/sys/kernel/slab exists with SLUB only (this machine runs "
                          f"{m.slab.kind})")
    s = m.slab.kmem_cache_lookup(name)
    if s is None:
        raise MemsimError(f"/sys/kernel/slab/{name}: no such cache")
    attrs = m.slab.sysfs_attrs(s)
    if not attr:
        return "".join(f"{k}: {v}\n" for k, v in attrs.items())
    if attr not in attrs:
        raise MemsimError(f"/sys/kernel/slab/{name}/{attr}: no such attribute (known: "
                          f"{', '.join(attrs)})")
    return attrs[attr] + "\n"


def write(m: Machine, path: str, text: str) -> int:
    """Write *text* to a writable /proc file (sys/vm/* sysctls, slabinfo with SLAB's
    tunables); returns the byte count, or raises MemsimError naming the path."""
    from memsim.sysctl import SYSCTLS, sysctl_write
    p = normalize(path)
    if p.startswith("sys/vm/") and p[len("sys/vm/"):] in SYSCTLS:
        sysctl_write(m, p[len("sys/vm/"):], text)
        return len(text)
    if p == "slabinfo":
        writer = getattr(m.slab, "slabinfo_write", None)
        if writer is None:
            raise MemsimError("/proc/slabinfo: not writable with SLUB (EIO); the tunables "
                              "exist with slab=slab")
        rc: int = writer(text)
        if rc < 0:
            raise MemsimError(f"/proc/slabinfo: write of {text.strip()!r} failed ({rc})")
        return rc
    raise MemsimError(f"/proc/{p}: not writable in the model")
