"""
Synthetic page-access workloads, deterministic from a seed (numpy's PCG64 generator):

* ``seq``: a streaming scan — pages 0, 1, 2, … wrapping at *pages*;
* ``loop``: the same cyclic scan (kept as its own name: the classic LRU-killer when the
  loop is one page larger than memory);
* ``uniform``: every access picks one of *pages* pages uniformly;
* ``zipf``: page ranks drawn with probability ∝ 1/rank^alpha (any alpha >= 0; bounded at
  *pages*), ranks scattered over the pages by a seeded permutation;
* ``shift``: working-set shifts — *phases* phases, each accessing a working set of *wss*
  pages uniformly; the working set moves to the next *wss* pages (wrapping) each phase.

*write_ratio* of the accesses (chosen by the same generator) are stores. The workload
runner (runner.py) replays the result like a trace.
"""

from __future__ import annotations

from array import array

import numpy as np

from memsim.errors import InputError
from memsim.workload.trace import AccessTrace

KINDS = ("seq", "loop", "uniform", "zipf", "shift")


def generate(kind: str, pages: int, accesses: int, *, seed: int = 0, alpha: float = 1.0,
             wss: int | None = None, phases: int = 4, write_ratio: float = 0.0) -> AccessTrace:
    """A synthetic :class:`AccessTrace` of *accesses* accesses over *pages* pages."""
    if kind not in KINDS:
        raise InputError(f"unknown generator {kind!r} (known: {', '.join(KINDS)})")
    if pages < 1 or accesses < 1:
        raise InputError(f"gen {kind}: pages and accesses must be >= 1")
    if not 0.0 <= write_ratio <= 1.0:
        raise InputError(f"gen {kind}: write ratio must be within 0..1, got {write_ratio}")
    rng = np.random.default_rng(seed)
    if kind in ("seq", "loop"):
        seq = np.arange(accesses, dtype=np.int64) % pages
    elif kind == "uniform":
        seq = rng.integers(0, pages, size=accesses, dtype=np.int64)
    elif kind == "zipf":
        if alpha < 0:
            raise InputError(f"gen zipf: alpha must be >= 0, got {alpha}")
        w = 1.0 / np.power(np.arange(1, pages + 1, dtype=np.float64), alpha)
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        ranks = np.searchsorted(cdf, rng.random(accesses), side="right")
        ranks = np.minimum(ranks, pages - 1)
        perm = rng.permutation(pages)
        seq = perm[ranks].astype(np.int64)
    else:
        w_s = wss if wss is not None else max(1, pages // 4)
        if not 1 <= w_s <= pages:
            raise InputError(f"gen shift: wss must be within 1..{pages}, got {w_s}")
        if phases < 1:
            raise InputError(f"gen shift: phases must be >= 1, got {phases}")
        phase = (np.arange(accesses, dtype=np.int64) * phases) // accesses
        seq = (phase * w_s + rng.integers(0, w_s, size=accesses, dtype=np.int64)) % pages
    if write_ratio >= 1.0:
        writes = bytearray(b"\x01") * accesses
    elif write_ratio <= 0.0:
        writes = bytearray(accesses)
    else:
        writes = bytearray((rng.random(accesses) < write_ratio).astype(np.uint8).tobytes())
    tr = AccessTrace(pages=array("q", seq.astype(np.int64).tobytes()), writes=writes,
                     name=f"{kind}(pages={pages}, n={accesses}, seed={seed}"
                          + (f", alpha={alpha}" if kind == "zipf" else "")
                          + (f", wss={wss or max(1, pages // 4)}, phases={phases}"
                             if kind == "shift" else "") + ")")
    return tr


__all__ = ["KINDS", "generate"]
