"""
The model's reclaim policies next to libCacheSim's caches on the same page-access trace.

libCacheSim (PyPI ``libcachesim``, a test dependency: ``pip install -e '.[test]'``) runs
its LRU, CLOCK, ARC and S3-FIFO over the trace's pages as objects of size 1 in a cache of
C objects; the model replays the trace through a process (workload/runner.py) with
``lru=plain`` (cache of exactly C pages: must equal libCacheSim's LRU), ``lru=classic`` and
``lru=mglru`` (when built), each given the memory the machine has.
"""

from __future__ import annotations

import os
import tempfile
import time
from array import array
from typing import Any

from memsim.config import MachineConfig
from memsim.errors import MemsimError
from memsim.workload.trace import AccessTrace

#: libCacheSim policies compared (class names of the libcachesim package)
LCS_POLICIES = ("LRU", "Clock", "ARC", "S3FIFO")


def _lcs() -> Any:
    try:
        import libcachesim
    except ImportError as e:
        raise MemsimError("libCacheSim is not installed (pip install libcachesim==0.3.5, "
                          "or pip install -e '.[test]')") from e
    return libcachesim


def write_lcs_txt(dense: array[int], path: str) -> None:
    """The trace as libCacheSim's txt format (object id = dense page number + 1)."""
    with open(path, "w") as f:
        f.write("\n".join(str(d + 1) for d in dense))
        f.write("\n")


def lcs_misses(policy: str, dense: array[int], cache_pages: int,
               txt_path: str | None = None) -> tuple[int, float]:
    """
    Misses of libCacheSim's *policy* with a cache of *cache_pages* pages on *dense*, and
    the seconds it took (libCacheSim's C trace loop over a txt trace file).
    """
    lcs = _lcs()
    cls = getattr(lcs, policy)
    own = txt_path is None
    if txt_path is None:
        fd, txt_path = tempfile.mkstemp(suffix=".txt", prefix="memsim-lcs-")
        os.close(fd)
        write_lcs_txt(dense, txt_path)
    try:
        reader = lcs.TraceReader(txt_path, lcs.TraceType.PLAIN_TXT_TRACE)
        cache = cls(cache_pages)
        t = time.perf_counter()
        ratio, _ = cache.process_trace(reader)
        dt = time.perf_counter() - t
    finally:
        if own:
            os.unlink(txt_path)
    return round(ratio * len(dense)), dt


def lcs_lru_misses_per_request(dense: array[int], cache_pages: int) -> int:
    """libCacheSim's LRU driven request by request (``cache.get``): its miss count."""
    lcs = _lcs()
    cache = lcs.LRU(cache_pages)
    req = lcs.Request()
    req.obj_size = 1
    misses = 0
    get = cache.get
    for d in dense:
        req.obj_id = d + 1
        if not get(req):
            misses += 1
    return misses


def _with(config: MachineConfig, **settings: object) -> MachineConfig:
    """*config* with *settings* changed (None values are the computed defaults: dropped)."""
    merged: dict[str, object] = {k: v for k, v in config.values.items() if v is not None}
    merged.update(settings)
    return MachineConfig.build(merged)


def mglru_available() -> bool:
    from memsim.config import _mglru_available
    return _mglru_available()


def compare(trace: AccessTrace, config: MachineConfig, *, swap: int = 0,
            backing: str = "anon", cache_pages: int | None = None) -> dict[str, Any]:
    """
    Run the trace through the model (plain, classic, mglru when available) and libCacheSim
    (LRU, CLOCK, ARC, S3-FIFO). C = *cache_pages* or the plain runner's default for the
    machine. Returns {"trace", "accesses", "pages", "cache_pages", "rows": [...]} where a row
    is {"policy", "misses", "miss_ratio", "note"}.
    """
    from memsim.workload.runner import run_trace
    dense, npages = trace.dense()
    n = len(dense)
    rows: list[dict[str, Any]] = []
    plain = run_trace(trace, _with(config, lru="plain"), swap=swap,
                      backing=backing, cache_pages=cache_pages)
    c = plain.cache_pages
    assert c is not None
    rows.append({"policy": "memsim lru=plain", "misses": plain.misses,
                 "miss_ratio": plain.miss_ratio, "note": f"cache of exactly {c} pages"})
    modes = ["classic"] + (["mglru"] if mglru_available() else [])
    for mode in modes:
        try:
            r = run_trace(trace, _with(config, lru=mode), swap=swap,
                          backing=backing)
            note = f"mem={config.mem_bytes >> 20}M" + (f" swap={swap >> 20}M" if swap else "")
            if r.killed:
                note += f"; killed after {r.accesses} accesses"
            rows.append({"policy": f"memsim lru={mode}", "misses": r.misses,
                         "miss_ratio": r.misses / n, "note": note})
        except Exception as e:  # noqa: BLE001 - report the failure in the table
            rows.append({"policy": f"memsim lru={mode}", "misses": None, "miss_ratio": None,
                         "note": f"failed: {type(e).__name__}: {e}"})
    if "mglru" not in modes:
        rows.append({"policy": "memsim lru=mglru", "misses": None, "miss_ratio": None,
                     "note": "not available in this build"})
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="memsim-lcs-")
    os.close(fd)
    try:
        write_lcs_txt(dense, path)
        for pol in LCS_POLICIES:
            misses, _ = lcs_misses(pol, dense, c, path)
            rows.append({"policy": f"libCacheSim {pol}", "misses": misses,
                         "miss_ratio": misses / n, "note": f"cache of {c} objects"})
    finally:
        os.unlink(path)
    return {"trace": trace.name, "accesses": n, "pages": npages, "cache_pages": c,
            "rows": rows}


def format_markdown(results: list[dict[str, Any]]) -> str:
    """A markdown table: one column per trace, one row per policy (miss ratios)."""
    if not results:
        return ""
    policies: list[str] = []
    for r in results:
        for row in r["rows"]:
            if row["policy"] not in policies:
                policies.append(row["policy"])
    head = "| policy | " + " | ".join(
        f"{r['trace']}<br>{r['accesses']:,} acc, {r['pages']:,} pages, C={r['cache_pages']}"
        for r in results) + " |"
    sep = "|---|" + "---|" * len(results)
    lines = [head, sep]
    for pol in policies:
        cells = []
        for r in results:
            row = next((x for x in r["rows"] if x["policy"] == pol), None)
            if row is None or row["miss_ratio"] is None:
                cells.append("n/a")
            else:
                cells.append(f"{row['miss_ratio']:.4f} ({row['misses']:,})")
        lines.append(f"| {pol} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["LCS_POLICIES", "compare", "format_markdown", "lcs_misses",
           "lcs_lru_misses_per_request", "write_lcs_txt"]
