"""
Boot time and host memory per simulated GiB for x86_64 machines of 1, 16, 64 and 256 GiB.
Each size boots in a fresh interpreter so its peak RSS is its own; RSS includes the
interpreter and numpy (measured separately as ``baseline``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

SIZES_GIB = (1, 16, 64, 256)
TARGET = {"boot_256g_s": 5.0, "rss_256g_mib": 1024}

_CHILD = """
import json, resource, sys, time
from memsim.machine import Machine
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
size = sys.argv[1]
best = None
if size != "0":
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        m = Machine.boot(mem=size, cpus=2)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
        del m
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"boot_s": best, "rss_kib": rss, "baseline_kib": base}))
"""


def _child(size: str, repeat: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, size, str(repeat)], check=True,
                         capture_output=True, text=True).stdout
    res: dict[str, Any] = json.loads(out)
    return res


def run(quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": []}
    base = _child("0", 0)["baseline_kib"]
    results["baseline_rss_mib"] = round(base / 1024, 1)
    for gib in SIZES_GIB:
        r = _child(f"{gib}G", 1 if gib >= 64 or quick else 3)
        rss_mib = r["rss_kib"] / 1024
        results["sizes"].append({
            "mem_gib": gib,
            "boot_s": round(r["boot_s"], 3),
            "rss_mib": round(rss_mib, 1),
            "rss_mib_per_gib_over_baseline": round((rss_mib - base / 1024) / gib, 2),
        })
    big = results["sizes"][-1]
    results["targets"] = {
        "boot_256g_s": {"value": big["boot_s"], "target": f"< {TARGET['boot_256g_s']}",
                        "met": big["boot_s"] < TARGET["boot_256g_s"]},
        "rss_256g_mib": {"value": big["rss_mib"], "target": f"< {TARGET['rss_256g_mib']}",
                         "met": big["rss_mib"] < TARGET["rss_256g_mib"]},
    }
    return results


def report(r: dict[str, Any]) -> str:
    lines = [f"boot (x86_64, 2 CPUs; interpreter+numpy baseline {r['baseline_rss_mib']} MiB)",
             "  mem    boot_s   peak RSS MiB   MiB per GiB over baseline"]
    for s in r["sizes"]:
        lines.append(f"  {s['mem_gib']:4d}G  {s['boot_s']:7.3f}   {s['rss_mib']:10.1f}   "
                     f"{s['rss_mib_per_gib_over_baseline']:8.2f}")
    for k, t in r["targets"].items():
        lines.append(f"  target {k}: {t['value']} ({t['target']}) "
                     f"{'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)
