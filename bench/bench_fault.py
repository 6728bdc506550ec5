"""
First-touch write faults of a 1 GiB private anonymous mapping, simulated against real:

* ``sim_s``: a process on a booted 4 GiB x86_64 machine (2 CPUs) maps 1 GiB
  ``PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS`` and writes every page once
  (``p.touch(addr, 1 GiB, write=True)``): 262144 do_anonymous_page faults, each with its
  zeroed page, PTE, rmap and counters;
* ``real_s``: the host kernel doing the same in the same run — a small C program compiled
  on the fly (MADV_NOHUGEPAGE so that THP does not change the fault count), or, without a
  compiler, Python's mmap module storing one byte per page;
* ``ratio`` = sim_s / real_s (target: <= 1.0).

Each time is the median of five runs (three with ``--quick``); ``quick`` also uses
256 MiB instead of 1 GiB for both sides.
"""

from __future__ import annotations

import mmap
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from typing import Any

from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.machine import Machine

_C_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
int main(int argc, char **argv) {
    size_t n = strtoull(argv[1], 0, 10);
    struct timespec a, b;
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, n, MADV_NOHUGEPAGE);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.9f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
"""


def _real_c(size: int, reps: int) -> tuple[list[float], str] | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "fault.c")
        exe = os.path.join(d, "fault")
        with open(src, "w") as f:
            f.write(_C_SOURCE)
        if subprocess.run([cc, "-O2", "-o", exe, src], capture_output=True).returncode:
            return None
        out = [float(subprocess.run([exe, str(size)], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(reps)]
    return out, "C program (gcc -O2)"


def _real_python(size: int, reps: int) -> tuple[list[float], str]:
    out = []
    for _ in range(reps):
        mm = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        if hasattr(mm, "madvise") and hasattr(mmap, "MADV_NOHUGEPAGE"):
            mm.madvise(mmap.MADV_NOHUGEPAGE)
        t = time.perf_counter()
        for i in range(0, size, 4096):
            mm[i] = 1
        out.append(time.perf_counter() - t)
        mm.close()
    return out, "Python mmap module"


def _sim(size: int) -> float:
    m = Machine.boot(mem="4G", cpus=2)
    p = m.spawn("fault")
    a = p.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    t = time.perf_counter()
    p.touch(a, size, write=True)
    dt = time.perf_counter() - t
    assert p.min_flt >= size >> 12
    p.exit()
    return dt


def run(quick: bool = False) -> dict[str, Any]:
    reps = 3 if quick else 5
    size = (256 if quick else 1024) << 20
    sims = [_sim(size) for _ in range(reps)]
    real = _real_c(size, reps) or _real_python(size, reps)
    sim_s = statistics.median(sims)
    real_s = statistics.median(real[0])
    return {"size_bytes": size, "pages": size >> 12, "sim_s": round(sim_s, 4),
            "real_s": round(real_s, 4), "ratio": round(sim_s / real_s, 3),
            "real_method": real[1]}


def report(r: dict[str, Any]) -> str:
    return "\n".join([
        f"fault (first-touch writes of {r['size_bytes'] >> 20} MiB private anon; medians)",
        f"  simulated: {r['sim_s']:.3f} s ({r['pages'] / r['sim_s']:,.0f} faults/s)",
        f"  real ({r['real_method']}): {r['real_s']:.3f} s",
        f"  ratio sim/real: {r['ratio']:.2f} (target <= 1.0)",
    ])
