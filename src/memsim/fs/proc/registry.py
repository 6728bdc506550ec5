"""
The /proc (and debugfs) namespace of a machine: path -> renderer. Renderers live next to
their data (mm/vmstat.py, fs/proc/meminfo.py, sysctl.py); this module only dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memsim.errors import MemsimError

if TYPE_CHECKING:
    from memsim.machine import Machine

Renderer = Callable[["Machine"], str]


def _files() -> dict[str, Renderer]:
    from memsim.fs.proc import meminfo
    from memsim.mm import swap_state, swapfile, vmalloc, vmstat
    return {
        "buddyinfo": vmstat.frag_show,
        "pagetypeinfo": vmstat.pagetypeinfo_show,
        "zoneinfo": vmstat.zoneinfo_show,
        "vmstat": vmstat.vmstat_show,
        "meminfo": meminfo.meminfo_proc_show,
        "swaps": swapfile.swaps_show,
        "sys/kernel/mm/swap/vma_ra_enabled": swap_state.vma_ra_enabled_show,
        "slabinfo": lambda m: m.slab.slabinfo_show(),
        "vmallocinfo": vmalloc.vmallocinfo_show,
        "sys/kernel/debug/extfrag/unusable_index": vmstat.unusable_show,
        "sys/kernel/debug/extfrag/extfrag_index": vmstat.extfrag_show,
        "sys/kernel/debug/fault_around_bytes":
            lambda m: f"{m.fault_around_pages * 4096}\n",
        # MGLRU switches and histogram (mm/lru_gen.py)
        "sys/kernel/mm/lru_gen/enabled": lambda m: _lru_gen().enabled_show(m),
        "sys/kernel/mm/lru_gen/min_ttl_ms": lambda m: _lru_gen().min_ttl_ms_show(m),
        "sys/kernel/debug/lru_gen": lambda m: _lru_gen().lru_gen_seq_show(m),
        "sys/kernel/debug/lru_gen_full": lambda m: _lru_gen().lru_gen_seq_show(m, True),
    }


def _lru_gen() -> Any:
    from memsim.mm import lru_gen
    return lru_gen


def _pid_files() -> dict[str, Callable[[Machine, Any], str]]:
    """Files of /proc/<pid>/ (fs/proc/base.c tgid_base_stuff), renderer(m, task)."""
    from memsim.fs.proc import array, task_mmu
    from memsim.mm import oom_kill
    return {
        "maps": task_mmu.show_maps,
        "smaps": task_mmu.show_smaps,
        "smaps_rollup": task_mmu.show_smaps_rollup,
        "statm": task_mmu.show_statm,
        "ksm_stat": task_mmu.show_ksm_stat,
        "status": array.proc_pid_status,
        "stat": array.proc_pid_stat,
        "oom_score": oom_kill.proc_oom_score,
        "oom_score_adj": oom_kill.oom_score_adj_read,
        "oom_adj": oom_kill.oom_adj_read,
    }


def list_files(m: Machine) -> list[str]:
    """Every path ``read`` accepts (without the /proc/ prefix)."""
    from memsim.sysctl import SYSCTLS
    pids = sorted(getattr(m, "tasks", {}))
    return sorted([*_files(), *(f"sys/vm/{n}" for n in SYSCTLS),
                   *(f"{pid}/{f}" for pid in pids for f in _pid_files())])


def pid_read(m: Machine, p: str) -> str | None:
    """/proc/<pid>/<file> of a simulated process; None if *p* is not of that form."""
    pid_s, _, name = p.partition("/")
    if not pid_s.isdigit():
        return None
    files = _pid_files()
    tasks: dict[int, Any] = getattr(m, "tasks", {})
    task = tasks.get(int(pid_s))
    if task is None:
        raise MemsimError(f"/proc/{p}: no such process {pid_s} (processes: "
                          f"{', '.join(str(t) for t in sorted(tasks)) or 'none'})")
    if name not in files:
        raise MemsimError(f"/proc/{p}: no such file in the model (known: "
                          f"{', '.join(sorted(files))})")
    mm = getattr(task, "mm", None)
    if name not in ("status", "stat", "oom_score", "oom_score_adj", "oom_adj") and (
            mm is None or task.exit_state is not None):
        return ""       # a zombie has no mm: its maps/smaps read as empty
    return files[name](m, task)


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
    text = pid_read(m, p)
    if text is not None:
        return text
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
    pid_s, _, name = p.partition("/")
    if pid_s.isdigit() and name in ("oom_score_adj", "oom_adj"):
        from memsim.mm import oom_kill
        task = getattr(m, "tasks", {}).get(int(pid_s))
        if task is None:
            raise MemsimError(f"/proc/{p}: no such process {pid_s}")
        if name == "oom_adj":
            return oom_kill.oom_adj_write(m, task, text)
        return oom_kill.oom_score_adj_write(m, task, text)
    if p == "sys/kernel/mm/swap/vma_ra_enabled":
        from memsim.mm.swap_state import vma_ra_enabled_store
        return vma_ra_enabled_store(m, text)
    if p == "slabinfo":
        writer = getattr(m.slab, "slabinfo_write", None)
        if writer is None:
            raise MemsimError("/proc/slabinfo: not writable with SLUB (EIO); the tunables "
                              "exist with slab=slab")
        rc: int = writer(text)
        if rc < 0:
            raise MemsimError(f"/proc/slabinfo: write of {text.strip()!r} failed ({rc})")
        return rc
    if p == "sys/kernel/debug/fault_around_bytes":
        from memsim.mm.memory import set_fault_around_bytes
        try:
            set_fault_around_bytes(m, int(text.strip(), 0))
        except ValueError as e:
            raise MemsimError(f"/{p}: {e}") from None
        return len(text)
    lru_gen_writers = {"sys/kernel/mm/lru_gen/enabled": "enabled_store",
                       "sys/kernel/mm/lru_gen/min_ttl_ms": "min_ttl_ms_store",
                       "sys/kernel/debug/lru_gen": "lru_gen_seq_write"}
    if p in lru_gen_writers:
        n: int = getattr(_lru_gen(), lru_gen_writers[p])(m, text)
        return n
    raise MemsimError(f"/proc/{p}: not writable in the model")
