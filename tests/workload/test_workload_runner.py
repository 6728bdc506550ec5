"""The workload runner and ``memsim workload``: time series, JSON, the access batch API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memsim.cli.main import main
from memsim.config import MachineConfig
from memsim.errors import ConfigError
from memsim.include.mman import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE
from memsim.machine import Machine
from memsim.workload.generators import generate
from memsim.workload.runner import MEMINFO_FIELDS, VMSTAT_FIELDS, run_trace

CFG = MachineConfig.build({"mem": "64M"})


def test_time_series() -> None:
    tr = generate("zipf", 800, 5000, seed=2, write_ratio=0.5)
    r = run_trace(tr, CFG, interval=1000)
    assert r.accesses == 5000 and r.pages == len(set(tr.pages))
    assert [s["accesses"] for s in r.series] == [0, 1000, 2000, 3000, 4000, 5000]
    last = r.series[-1]
    for k in VMSTAT_FIELDS + MEMINFO_FIELDS:
        assert k in last
    # everything fits: each page misses once (first touch), the faults are pgfault
    assert r.misses == r.pages
    assert last["pgfault"] == r.min_flt + r.maj_flt
    assert r.series[0]["MemFree"] > last["MemFree"]
    doc = r.to_json()
    assert json.loads(json.dumps(doc))["misses"] == r.misses


def test_access_many_equals_per_access_calls() -> None:
    tr = generate("uniform", 300, 3000, seed=4, write_ratio=0.4)
    states = []
    for batch in (True, False):
        m = Machine.boot(CFG)
        p = m.spawn("w")
        a = p.mmap(0, 300 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        addrs = [a + (x << 12) for x in tr.pages]
        if batch:
            missing = p.access_many(addrs, tr.writes)
        else:
            missing = 0
            for ad, w in zip(addrs, tr.writes, strict=True):
                missing += not p.mm.pgd.pte_get(ad) & 1
                p._access(ad, bool(w))
        ptes = [p.mm.pgd.pte_get(ad) & 0xfff for ad in range(a, a + (300 << 12), 4096)]
        states.append((missing, p.min_flt, p.maj_flt, ptes, m.proc("vmstat")))
    assert states[0] == states[1]


def test_file_backing_classic() -> None:
    tr = generate("loop", 200, 1000, write_ratio=0.5)
    r = run_trace(tr, CFG, backing="file")
    assert r.misses <= 200 and r.accesses == 1000


def test_cache_pages_only_for_plain() -> None:
    from memsim.errors import InputError
    with pytest.raises(InputError, match="lru=plain"):
        run_trace(generate("loop", 10, 10), CFG, cache_pages=5)


def test_lru_setting() -> None:
    assert MachineConfig.build({"lru": "plain"})["lru"] == "plain"
    assert MachineConfig.build({})["lru"] == "classic"
    with pytest.raises(ConfigError, match="lru"):
        MachineConfig.build({"lru": "fifo"})
    from memsim.config import _mglru_available
    if not _mglru_available():
        with pytest.raises(ConfigError, match="mglru"):
            MachineConfig.build({"lru": "mglru"})


def test_cli_gen_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["workload", "gen", "zipf", "--pages", "500", "-n", "3000", "--lru", "plain",
                 "--cache-pages", "100", "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert doc["lru"] == "plain" and doc["cache_pages"] == 100
    assert doc["misses"] == doc["plain"]["misses"]
    assert "misses:" in capsys.readouterr().out


def test_cli_trace_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = tmp_path / "faults.trace"
    t.write_text("".join(
        f"  a-1 [000] d.... 1.{k:06d}: page_fault_user: address={hex(0x7f0000000000 + (x << 12))}"
        f" ip=0x401000 error_code=0x6\n"
        for k, x in enumerate(generate("zipf", 400, 2000, seed=1).pages)))
    assert main(["workload", "trace", str(t), "--quiet"]) == 0
    assert "2,000" in capsys.readouterr().out
    assert main(["workload", "trace", str(t), "--compare", "--cache-pages", "50"]) == 0
    table = capsys.readouterr().out
    lines = {ln.split("|")[1].strip(): ln.split("|")[2].strip() for ln in table.splitlines()
             if ln.startswith("| ") and "policy" not in ln}
    assert lines["memsim lru=plain"] == lines["libCacheSim LRU"]
    assert "libCacheSim S3FIFO" in lines and "libCacheSim ARC" in lines
    bad = tmp_path / "bad"
    bad.write_text("0x1000\nnope\n")
    assert main(["workload", "trace", str(bad), "--format", "addr"]) == 2
    assert ":2: bad address" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from memsim.workload.runner import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    s = Tty()
    bar = Progress(100, True, s)
    bar.update(50, force=True)
    bar.close()
    assert "50.0%" in s.getvalue() and "50/100" in s.getvalue()
    quiet = Tty()
    Progress(100, False, quiet).update(50, force=True)
    pipe = io.StringIO()
    Progress(100, True, pipe).update(50, force=True)
    assert quiet.getvalue() == pipe.getvalue() == ""
