"""
The plain LRU policy of the model (``lru=plain``, mm/lru_plain.py) gives exactly
libCacheSim's LRU miss count on the same page-access trace and cache size (issue #6).

libCacheSim is a test dependency (pyproject ``test`` extras): its import failing fails this
module — nothing is skipped.
"""

from __future__ import annotations

from pathlib import Path

import libcachesim as lcs
import pytest

from memsim.config import MachineConfig
from memsim.workload.compare import lcs_lru_misses_per_request, lcs_misses
from memsim.workload.generators import generate
from memsim.workload.runner import run_trace
from memsim.workload.trace import AccessTrace, load_trace

PLAIN = MachineConfig.build({"mem": "64M", "lru": "plain"})

TRACES = [
    ("zipf", dict(kind="zipf", pages=2500, accesses=20000, alpha=0.9, write_ratio=0.5), 600),
    ("uniform", dict(kind="uniform", pages=1200, accesses=15000, write_ratio=0.3), 800),
    ("loop", dict(kind="loop", pages=1001, accesses=6000, write_ratio=1.0), 1000),
    ("loop-fits", dict(kind="loop", pages=999, accesses=6000, write_ratio=0.0), 1000),
    ("shift", dict(kind="shift", pages=3000, accesses=20000, wss=400, phases=5,
                   write_ratio=0.5), 500),
    ("seq", dict(kind="seq", pages=5000, accesses=5000, write_ratio=0.5), 100),
    ("zipf-tiny-cache", dict(kind="zipf", pages=500, accesses=8000, alpha=1.3,
                             write_ratio=0.2), 1),
]


def _gen(spec: dict[str, object], seed: int = 11) -> AccessTrace:
    kw = dict(spec)
    kind = str(kw.pop("kind"))
    return generate(kind, int(kw.pop("pages")), int(kw.pop("accesses")),  # type: ignore[call-overload]
                    seed=seed, **kw)  # type: ignore[arg-type]


def _lcs_lru(trace: AccessTrace, c: int) -> int:
    dense, _ = trace.dense()
    by_request = lcs_lru_misses_per_request(dense, c)
    by_trace, _ = lcs_misses("LRU", dense, c)
    assert by_request == by_trace
    return by_request


@pytest.mark.parametrize(("name", "spec", "c"), TRACES, ids=[t[0] for t in TRACES])
def test_plain_lru_equals_libcachesim_anon(name: str, spec: dict[str, object], c: int) -> None:
    tr = _gen(spec)
    r = run_trace(tr, PLAIN, cache_pages=c)
    assert r.plain is not None
    expected = _lcs_lru(tr, c)
    # the policy's count, the model's faults (no present PTE) and libCacheSim's agree
    assert r.plain["misses"] == r.misses == expected, name
    assert r.plain["hits"] + r.plain["misses"] == len(tr)


@pytest.mark.parametrize(("name", "spec", "c"), TRACES[:4], ids=[t[0] for t in TRACES[:4]])
def test_plain_lru_equals_libcachesim_file(name: str, spec: dict[str, object], c: int) -> None:
    tr = _gen(spec, seed=5)
    r = run_trace(tr, PLAIN, cache_pages=c, backing="file")
    expected = _lcs_lru(tr, c)
    assert r.misses == expected, name
    # every miss of a file page that was evicted before is a major fault (read from disk)
    assert r.maj_flt <= r.misses


def test_plain_lru_on_trace_files(tmp_path: Path) -> None:
    # the same libCacheSim txt file read by both sides
    tr = _gen(dict(kind="zipf", pages=3000, accesses=12000, alpha=0.7, write_ratio=0.0))
    p = tmp_path / "t.txt"
    p.write_text("".join(f"{x + 100}\n" for x in tr.pages))
    ours = load_trace(p, "lcs-txt")
    r = run_trace(ours, PLAIN, cache_pages=700)
    c = lcs.LRU(700)
    ratio, _ = c.process_trace(lcs.TraceReader(str(p), lcs.TraceType.PLAIN_TXT_TRACE))
    assert r.misses == round(ratio * len(ours))
    # an address trace (same pages, 4 KiB apart, unaligned offsets) gives the same count
    q = tmp_path / "addr.txt"
    q.write_text("".join(f"{hex((x << 12) + 123)}\n" for x in tr.pages))
    assert run_trace(load_trace(q, "addr"), PLAIN, cache_pages=700).misses == r.misses


def test_resident_set_never_exceeds_cache() -> None:
    from memsim.include.mm_types import MM_ANONPAGES
    from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
    from memsim.machine import Machine
    from memsim.mm.lru_plain import plain_lru_register
    m = Machine.boot(PLAIN)
    p = m.spawn("w")
    a = p.mmap(0, 100 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    pl = plain_lru_register(m, p, a, a + (100 << 12), 10)
    rss0 = p.mm.rss_stat[MM_ANONPAGES]             # the stack's argument page
    tr = generate("uniform", 100, 2000, seed=3, write_ratio=1.0)
    for k, page in enumerate(tr.pages):
        p.access_many([a + (page << 12)], [1])
        assert p.mm.rss_stat[MM_ANONPAGES] - rss0 <= 10
        assert len(pl.lru) == min(10, len(set(tr.pages[:k + 1])))
    # p.touch goes through the same hook
    p.touch(a, 100 << 12, write=True)
    assert p.mm.rss_stat[MM_ANONPAGES] - rss0 == 10


def test_plain_needs_the_setting() -> None:
    from memsim.errors import ConfigError
    with pytest.raises(ConfigError, match="lru=plain"):
        _register_classic()


def _register_classic() -> None:
    from memsim.machine import Machine
    from memsim.mm.lru_plain import plain_lru_register
    m = Machine.boot(MachineConfig.build({"mem": "64M"}))
    plain_lru_register(m, m.spawn("x"), 0, 4096, 1)


@pytest.mark.parametrize(("name", "spec", "c"), [TRACES[0], TRACES[1], TRACES[4]],
                         ids=["zipf", "uniform", "shift"])
def test_plain_lru_equals_libcachesim_swap(name: str, spec: dict[str, object], c: int) -> None:
    # evicted anonymous pages go to swap and come back through do_swap_page
    tr = _gen(spec, seed=9)
    r = run_trace(tr, PLAIN, cache_pages=c, swap=32 << 20)
    assert r.plain is not None
    assert r.plain["misses"] == r.misses == _lcs_lru(tr, c), name
    assert r.plain["evicted_by"]["swap"] > 0 and r.plain["evicted_by"]["discard"] == 0
    assert r.series[-1]["pswpout"] > 0
    if name != "shift":                    # shift's old working sets never come back
        assert r.maj_flt > 0 and r.series[-1]["pswpin"] > 0


def test_plain_swap_eviction_leaks_nothing() -> None:
    # Evicted pages that had been activated (e.g. by a workingset refault) must leave
    # through reclaim_pages(), which clears PG_active: freeing an active page is a bad
    # page (PAGE_FLAGS_CHECK_AT_FREE) that the kernel leaks. A leak would fill memory
    # until the kernel's own reclaim ran and took pages from behind the policy's back.
    from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
    from memsim.machine import Machine
    from memsim.mm.lru_plain import plain_lru_register
    from memsim.workload.runner import STAMP, read_vmstat
    m = Machine.boot(PLAIN)
    m.swapon(32 << 20)
    p = m.spawn("w")
    a = p.mmap(0, 3072 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    pl = plain_lru_register(m, p, a, a + (3072 << 12), 2048)
    tr = generate("uniform", 3072, 30000, seed=2, write_ratio=0.25)
    free = []
    for k in range(0, len(tr), 5000):
        p.access_many([a + (x << 12) for x in tr.pages[k:k + 5000]], tr.writes[k:k + 5000],
                      STAMP)
        mi = {ln.split(":")[0]: int(ln.split()[1]) for ln in m.proc("meminfo").splitlines()}
        # every page is free, on a pcp list or on the anon LRU (plus a few page tables)
        free.append(m.nr_free_pages() + m.nr_pcp_pages() +
                    (mi["Active(anon)"] + mi["Inactive(anon)"] + mi["PageTables"]) // 4)
    vm = read_vmstat(m)
    assert "BUG" not in m.dmesg()
    assert vm["pgsteal_kswapd"] == vm["pgsteal_direct"] == 0
    assert pl.evicted_by["swap"] + pl.evicted_by["zero"] == pl.evictions  # never discarded
    assert pl.misses == _lcs_lru(tr, 2048)
    assert max(free) - min(free) < 32, free
    m.validate()
