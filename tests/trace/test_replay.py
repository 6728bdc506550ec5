"""Replay of kmem traces (trace/replay.py, cli/replay.py): the real 6.18 capture in
shared/data/traces against an independent count of its lines, and small hand-made traces in the
tracefs, trace-cmd and perf script shapes."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import shared_path
from memsim.cli.main import main
from memsim.errors import InputError
from memsim.machine import Machine
from memsim.trace.replay import MALFORMED_KEEP, Replayer, read_trace_chunks, replay_file

CAPTURE = shared_path("data", "traces", "kmem-compileall-git-tar.txt.gz")

# --- an independent reading of the capture ------------------------------------------------------


def _reference(lines: list[str]) -> dict[str, Any]:
    """Counts taken straight from the lines with str.split, without the replay's code."""
    events: Counter[str] = Counter()
    unmatched: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    live: dict[str, tuple[str, int, int]] = {}
    pages: dict[str, int] = {}
    null_frees = 0
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        tok = line.split()
        ts = next(i for i, t in enumerate(tok) if re.fullmatch(r"\d+\.\d+:", t))
        name = tok[ts + 1].rstrip(":")
        events[name] += 1
        f = dict(t.split("=", 1) for t in tok[ts + 2:])
        if name in ("kmem_cache_alloc", "kmalloc"):
            if f["ptr"] in live:
                lost[name] += 1
            live[f["ptr"]] = (f.get("name", "kmalloc"), int(f["bytes_req"]),
                              int(f["bytes_alloc"]))
        elif name in ("kmem_cache_free", "kfree"):
            if f["ptr"] == "0" * 16:
                null_frees += 1
            elif live.pop(f["ptr"], None) is None:
                unmatched[name] += 1
        elif name == "mm_page_alloc":
            if f["pfn"] in pages:
                lost[name] += 1
            pages[f["pfn"]] = int(f["order"])
        elif name in ("mm_page_free", "mm_page_free_batched"):
            if pages.pop(f["pfn"], None) is None:
                unmatched[name] += 1
    per_cache: Counter[str] = Counter()
    for cache, _, _ in live.values():
        per_cache[cache] += 1
    return {
        "events": dict(events),
        "unmatched": dict(unmatched),
        "lost": dict(lost),
        "null_frees": null_frees,
        "live_objects": len(live),
        "live_bytes_alloc": sum(a for _, _, a in live.values()),
        "live_bytes_req": sum(r for _, r, _ in live.values()),
        "live_pages": sum(1 << o for o in pages.values()),
        "live_blocks": len(pages),
        "per_cache": per_cache,
    }


@pytest.fixture(scope="module")
def capture_lines() -> list[str]:
    with gzip.open(CAPTURE, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def replayed() -> tuple[Machine, Replayer]:
    m = Machine.boot(mem="4G", cpus=2)
    return m, replay_file(m, str(CAPTURE))


def _validate_pages(m: Machine) -> None:
    m.validate()


def _nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


def test_replay_capture_counts_equal_the_lines(replayed: tuple[Machine, Replayer],
                                               capture_lines: list[str]) -> None:
    """The real capture replays to the end; every count equals the lines' own count."""
    _, r = replayed
    ref = _reference(capture_lines)
    s = r.summary(top=-1)
    assert s["events"] == ref["events"]
    assert s["events_total"] == sum(ref["events"].values()) == 129912
    assert s["lines"] == len(capture_lines)
    assert s["comment_lines"] == 12
    assert s["malformed"] == {"count": 0, "first_lines": []}
    assert s["unknown_events"] == {"mm_page_alloc_extfrag": 1}
    assert _nonzero(s["unmatched_frees"]) == ref["unmatched"]
    assert _nonzero(s["lost_frees"]) == ref["lost"]
    assert s["null_frees"] == ref["null_frees"]
    assert s["live"] == {
        "objects": ref["live_objects"],
        "bytes_alloc": ref["live_bytes_alloc"],
        "bytes_req": ref["live_bytes_req"],
        "page_blocks": ref["live_blocks"],
        "pages": ref["live_pages"],
    }
    assert s["internal_fragmentation"]["bytes"] == \
        ref["live_bytes_alloc"] - ref["live_bytes_req"]
    named = {row["cache"]: row["objects"] for row in s["live_by_cache"]
             if not row["cache"].startswith(("kmalloc", "dma-kmalloc"))}
    assert named == {k: v for k, v in ref["per_cache"].items() if k != "kmalloc"}
    # nothing the model could not do
    assert not any(s["allocation_failures"].values())
    assert s["frees_of_failed_allocations"] == 0


def test_replay_capture_caches(replayed: tuple[Machine, Replayer]) -> None:
    """Every named cache of the capture gets the trace's stride in the model."""
    m, r = replayed
    s = r.summary()
    created = {c["name"]: c for c in s["caches_created"]}
    assert len(created) == 42
    assert s["stride_mismatches"] == []
    for c in created.values():
        cache = m.kmem_cache_lookup(c["name"])
        assert cache is not None and cache.name == c["name"]
        assert (cache.object_size, cache.size) == (c["bytes_req"], c["bytes_alloc"])
    # anon_vma (96 -> 104) needs its free pointer outside the object: a constructor
    assert created["anon_vma"]["ctor"] and created["anon_vma"]["bytes_alloc"] == 104
    # filp (184 -> 192): cache-line alignment; task_struct 4248 -> 4288 likewise
    assert "SLAB_HWCACHE_ALIGN" in created["filp"]["flags"]
    assert "SLAB_HWCACHE_ALIGN" in created["task_struct"]["flags"]
    # accounted=true with plain GFP_KERNEL: the cache itself is SLAB_ACCOUNT
    assert "SLAB_ACCOUNT" in created["vm_area_struct"]["flags"]
    assert "SLAB_ACCOUNT" not in created["maple_node"]["flags"]


def test_replay_capture_leaves_the_page_allocator_consistent(
        replayed: tuple[Machine, Replayer]) -> None:
    """After the capture, the buddy lists and counters pass their validators, and the
    external fragmentation figures are the debugfs ones."""
    from memsim.mm.vmstat import unusable_show

    m, r = replayed
    _validate_pages(m)
    zones = r.summary()["external_fragmentation"]
    assert [z["zone"] for z in zones] == ["DMA", "DMA32", "Normal"]
    debugfs = unusable_show(m).splitlines()
    for z, line in zip(zones, debugfs, strict=True):
        values = line.split()[4:]
        for order, index in z["unusable_index"].items():
            assert f"{index:.3f}" == values[int(order)]


# --- hand-made traces in three shapes -----------------------------------------------------------

# (cpu, event, fields) in the 6.18 TP_printk order; pointers as the tracefs file hashes them.
_A, _B, _C, _D, _E, _F = ("00000000%08x" % (0x1000 * i + 0xABC) for i in range(1, 7))
_X, _Y = "00000000deadbeef", "00000000feedface"
_SCENARIO: list[tuple[int, str, str]] = [
    (0, "kmem_cache_alloc", f"call_site=anon_vma_fork+0x6d/0x180 ptr={_A} name=anon_vma "
        "bytes_req=96 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 accounted=true"),
    (0, "kmem_cache_alloc", f"call_site=anon_vma_fork+0x6d/0x180 ptr={_B} name=anon_vma "
        "bytes_req=96 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 accounted=true"),
    (1, "kmalloc", f"call_site=lsm_blob_alloc+0x3b/0x60 ptr={_C} bytes_req=11 bytes_alloc=16 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO node=-1 accounted=true"),
    (1, "kmalloc", f"call_site=f+0x1/0x2 ptr={_D} bytes_req=5000 bytes_alloc=8192 "
        "gfp_flags=GFP_KERNEL node=-1 accounted=false"),
    (1, "kmalloc", f"call_site=f+0x1/0x2 ptr={_E} bytes_req=20000 bytes_alloc=20480 "
        "gfp_flags=GFP_KERNEL node=-1 accounted=false"),
    (0, "kfree", f"call_site=g+0x1/0x2 ptr={_C}"),
    (0, "kfree", "call_site=ida_alloc_range+0x39b/0x400 ptr=0000000000000000"),
    (1, "kmem_cache_free", f"call_site=unlink_anon_vmas+0x81/0x1e0 ptr={_A} name=anon_vma"),
    (1, "kmem_cache_free", f"call_site=__fput+0x141/0x2a0 ptr={_X} name=filp"),
    (0, "kfree", f"call_site=g+0x1/0x2 ptr={_Y}"),
    (0, "mm_page_alloc", "page=0000000011111111 pfn=0x10618c order=0 migratetype=0 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP"),
    (0, "mm_page_alloc", "page=0000000022222222 pfn=0x12a400 order=2 migratetype=1 "
        "gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
    (1, "mm_page_free", "page=0000000022222222 pfn=0x12a400 order=2"),
    (1, "mm_page_free_batched", "page=0000000011111111 pfn=0x10618c order=0"),
    (1, "mm_page_free", "page=0000000033333333 pfn=0x10b5a1 order=0"),
    (0, "mm_page_free_batched", "page=0000000044444444 pfn=0x10b5a2 order=0"),
    (0, "mm_page_alloc_extfrag", "page=00000000aab625fd pfn=0x12a400 alloc_order=0 "
        "fallback_order=10 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 "
        "fragmenting=0 change_ownership=1"),
    (0, "kmem_cache_alloc", f"call_site=anon_vma_fork+0x6d/0x180 ptr={_B} name=anon_vma "
        "bytes_req=96 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 accounted=true"),
    (1, "kmem_cache_alloc", f"call_site=h+0x1/0x2 ptr={_F} name=kmalloc-64 bytes_req=64 "
        "bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false"),
    (1, "kmalloc", "call_site=f+0x1/0x2 ptr=0000000000000000 bytes_req=64 bytes_alloc=64 "
        "gfp_flags=GFP_NOWAIT node=-1 accounted=false"),
    (1, "mm_page_alloc", "page=0000000000000000 pfn=0x0 order=3 migratetype=0 "
        "gfp_flags=GFP_ATOMIC"),
]


def _tracefs(cpu: int, name: str, text: str, n: int) -> str:
    return f"{'bash':>16}-{4163:<7} [{cpu:03d}] .....   242.{405640 + n:06d}: {name}: {text}"


def _ptr_0x(text: str, null: str) -> str:
    # trace-cmd and perf print raw kernel pointers as 0x…, and NULL as *null*
    text = re.sub(r"\b(ptr|page)=0{16}\b", rf"\1={null}", text)
    return re.sub(r"\b(ptr|page)=00000000([0-9a-f]{8})\b", r"\1=0xffff8881\2", text)


def _trace_cmd(cpu: int, name: str, text: str, n: int) -> str:
    # libtraceevent's layout: comm %16s, "-%-5d" pid, [%03d] cpu, no latency column, the
    # event name padded after its colon, nanosecond timestamps (--ts-ns)
    return (f"{'bash':>16}-{4163:<5} [{cpu:03d}]   242.{405640 + n:06d}123: "
            f"{name + ':':<21} {_ptr_0x(text, '(nil)')}")


def _perf(cpu: int, name: str, text: str, n: int) -> str:
    return f"{'Web Content':>16} {3001}/{3017} [{cpu:03d}] 242.{405640 + n:06d}: kmem:{name}: " \
        f"{_ptr_0x(text, '0x0')}"


def _write(tmp_path: Path, lines: list[str], name: str, compress: bool = False) -> str:
    data = ("\n".join(lines) + "\n").encode()
    p = tmp_path / name
    p.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return str(p)


def _replay_lines(tmp_path: Path, lines: list[str], cpus: int = 2) -> tuple[Machine, Replayer]:
    m = Machine.boot(mem="1G", cpus=cpus)
    return m, replay_file(m, _write(tmp_path, lines, "t.txt"))


_EXPECTED_EVENTS = {"kfree": 3, "kmalloc": 4, "kmem_cache_alloc": 4, "kmem_cache_free": 2,
                    "mm_page_alloc": 3, "mm_page_alloc_extfrag": 1, "mm_page_free": 2,
                    "mm_page_free_batched": 2}


def _check_scenario(m: Machine, r: Replayer) -> dict[str, Any]:
    s = r.summary(top=-1)
    assert s["events"] == _EXPECTED_EVENTS
    assert s["malformed"]["count"] == 0
    assert s["unknown_events"] == {"mm_page_alloc_extfrag": 1}
    assert _nonzero(s["unmatched_frees"]) == {"kmem_cache_free": 1, "kfree": 1,
                                              "mm_page_free": 1, "mm_page_free_batched": 1}
    assert s["null_frees"] == 1
    assert _nonzero(s["lost_frees"]) == {"kmem_cache_alloc": 1}
    assert _nonzero(s["failed_in_trace"]) == {"kmalloc": 1, "mm_page_alloc": 1}
    assert _nonzero(s["allocation_failures"]) == {}
    # live: B (anon_vma), D (kmalloc-8k), E (a large kmalloc), F (kmalloc-64)
    assert {r["cache"]: r["objects"] for r in s["live_by_cache"]} == {
        "kmalloc_large (pages)": 1, "kmalloc-8k": 1, "anon_vma": 1, "kmalloc-64": 1}
    assert s["live"] == {"objects": 4, "bytes_alloc": 104 + 8192 + 20480 + 64,
                         "bytes_req": 96 + 5000 + 20000 + 64, "page_blocks": 0, "pages": 0}
    assert s["internal_fragmentation"]["bytes"] == 8 + 3192 + 480
    assert [c["name"] for c in s["caches_created"]] == ["anon_vma"]
    assert [c["name"] for c in s["caches_existing"]] == ["kmalloc-64"]
    # the model holds exactly the live objects: one anon_vma, one kmalloc-64 from the trace
    assert m.kmem_cache_lookup("anon_vma").live == set(
        rec[0] for rec in r.live.values() if rec[2] is r.cache_infos["anon_vma", 96, 104])
    assert m.current_cpu == 1   # the last event ran on CPU 1
    _validate_pages(m)
    return s


@pytest.mark.parametrize("shape", [_tracefs, _trace_cmd, _perf],
                         ids=["tracefs", "trace-cmd", "perf-script"])
def test_replay_shapes(tmp_path: Path, shape: Any) -> None:
    """The same events as a tracefs file, trace-cmd report and perf script replay alike."""
    lines = [shape(cpu, name, text, n) for n, (cpu, name, text) in enumerate(_SCENARIO)]
    _check_scenario(*_replay_lines(tmp_path, lines))


def test_replay_cross_cpu_frees_pass_every_validator(tmp_path: Path) -> None:
    """Objects allocated on one CPU and freed on another (as the capture does all the time)
    leave the slab lists consistent."""
    lines = [_tracefs(cpu, name, text, n) for n, (cpu, name, text) in enumerate(_SCENARIO)]
    m, _ = _replay_lines(tmp_path, lines)
    m.validate()


def test_replay_slow_path_shapes(tmp_path: Path) -> None:
    """Lines the fast path does not read (a call_site with a [module] suffix, a pre-6.0
    kmem_cache_alloc without name=, fields in another order) replay through the parser."""
    lines = [_tracefs(cpu, name, text, n) for n, (cpu, name, text) in enumerate(_SCENARIO)]
    lines[3] = lines[3].replace("call_site=f+0x1/0x2", "call_site=ext4_fill_super+0x1/0x2 [ext4]")
    lines[8] = lines[8].replace("ptr=00000000deadbeef name=filp", "name=filp ptr=00000000deadbeef")
    s = _check_scenario(*_replay_lines(tmp_path, lines))
    assert s["comment_lines"] == 0
    old = _tracefs(0, "kmem_cache_alloc", "call_site=x+0x1/0x2 ptr=0000000012345678 "
                   "bytes_req=184 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1", 0)
    m, r = _replay_lines(tmp_path, [old])
    assert r.summary()["events"] == {"kmem_cache_alloc": 1}
    assert [c["name"] for c in r.summary()["caches_created"]] == ["trace-184-192"]


def test_replay_malformed_lines(tmp_path: Path) -> None:
    """Malformed lines are counted with their line numbers and never stop the replay."""
    good = _SCENARIO[2]
    lines = [
        "# tracer: nop",                                                       # 1
        _tracefs(*good, 0),                                                    # 2
        "",                                                                    # 3
        "hello world",                                                         # 4
        _tracefs(*_SCENARIO[0], 1)[:-80],                                      # 5 truncated
        _tracefs(*good, 2).replace("GFP_KERNEL_ACCOUNT|", "GFP_BOGUS|"),       # 6 bad flag
        _tracefs(*good, 3).replace("bytes_req=11", "bytes_req=abc"),           # 7 bad number
        _tracefs(0, "mm_page_alloc", "page=0000000011111111 pfn=0x1 order=x "
                 "migratetype=0 gfp_flags=GFP_KERNEL", 4),                     # 8 bad order
        _tracefs(0, "sched_switch", "prev_comm=bash prev_pid=4163 prev_prio=120 "
                 "prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120", 5),  # 9
        _tracefs(0, "kfree", f"call_site=g+0x1/0x2 ptr={_C}", 6),              # 10
        _tracefs(0, "kfree", "call_site=g+0x1/0x2", 7),                        # 11 no ptr
    ]
    m, r = _replay_lines(tmp_path, lines)
    s = r.summary()
    assert s["malformed"] == {"count": 6, "first_lines": [4, 5, 6, 7, 8, 11]}
    assert s["comment_lines"] == 2
    assert s["events"] == {"kfree": 1, "kmalloc": 1, "sched_switch": 1}
    assert s["unknown_events"] == {"sched_switch": 1}
    assert s["live"]["objects"] == 0
    assert r.lines == len(lines)


def test_replay_malformed_keeps_the_first_line_numbers(tmp_path: Path) -> None:
    """Beyond MALFORMED_KEEP, malformed lines are only counted."""
    lines = [_tracefs(*_SCENARIO[2], 0)] + ["garbage"] * (MALFORMED_KEEP + 5)
    _, r = _replay_lines(tmp_path, lines)
    assert r.malformed == MALFORMED_KEEP + 5
    assert r.malformed_lines == list(range(2, MALFORMED_KEEP + 2))


def test_replay_gzip_and_plain(tmp_path: Path, capture_lines: list[str]) -> None:
    """gzip is recognised by its magic bytes (whatever the name), and replays like plain text;
    a truncated gzip stream replays up to the break and says so."""
    head = capture_lines[:4000]
    paths = [_write(tmp_path, head, "plain.txt"),
             _write(tmp_path, head, "packed.gz", compress=True),
             _write(tmp_path, head, "packed.txt", compress=True)]
    summaries = []
    for p in paths:
        m = Machine.boot(mem="1G", cpus=2)
        summaries.append(replay_file(m, p).summary())
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["events_total"] == 4000 - 12
    assert summaries[0]["truncated"] is None
    whole = Path(paths[1]).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[:len(whole) // 2])
    m = Machine.boot(mem="1G", cpus=2)
    r = replay_file(m, str(cut))
    assert r.truncated is not None and str(cut) in r.truncated
    assert 0 < r.events_total < 4000 - 12
    assert r.malformed <= 1    # at most the line the stream broke in


def test_replay_chunks_and_line_endings(tmp_path: Path, capture_lines: list[str]) -> None:
    """Chunk boundaries do not change anything, line numbers count across chunks, and CRLF
    line endings replay like LF."""
    head = list(capture_lines[:3000])
    head[2500] = "garbage"
    path = _write(tmp_path, head, "t.txt")
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(("\r\n".join(head) + "\r\n").encode())
    summaries = []
    for p, chunk in ((path, 1 << 22), (path, 4096), (str(crlf), 1 << 22)):
        r = Replayer(Machine.boot(mem="1G", cpus=2))
        for text, _, _ in read_trace_chunks(p, chunk_bytes=chunk):
            r.feed_text(text)
        assert r.malformed_lines == [2501]
        summaries.append(r.summary())
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["events_total"] == 3000 - 12 - 1


@pytest.mark.kernel_report
def test_replay_model_failures_are_counted(tmp_path: Path) -> None:
    """An allocation the model cannot satisfy is counted; its free is matched, not an error."""
    lines = [
        _tracefs(0, "kmalloc", "call_site=f+0x1/0x2 ptr=0000000012345678 bytes_req=8388608 "
                 "bytes_alloc=8388608 gfp_flags=GFP_KERNEL node=-1 accounted=false", 0),
        _tracefs(0, "kfree", "call_site=f+0x1/0x2 ptr=0000000012345678", 1),
    ]
    _, r = _replay_lines(tmp_path, lines)
    s = r.summary()
    assert _nonzero(s["allocation_failures"]) == {"kmalloc": 1}
    assert s["frees_of_failed_allocations"] == 1
    assert _nonzero(s["unmatched_frees"]) == {}


def test_replay_cpu_beyond_the_machine(tmp_path: Path) -> None:
    """A trace from a bigger machine runs its CPUs modulo the model's CPU count."""
    lines = [_tracefs(cpu, *_SCENARIO[2][1:], n) for n, cpu in enumerate((0, 3, 5))]
    m, r = _replay_lines(tmp_path, lines, cpus=2)
    assert m.current_cpu == 1
    assert r.events == [0, 0, 3, 0, 0, 0, 0]


def test_replay_progress_and_errors(tmp_path: Path) -> None:
    """The progress callback runs per chunk; a missing file or one without trace lines is an
    InputError naming it."""
    calls: list[tuple[int, int, int]] = []
    m = Machine.boot(mem="4G", cpus=2)
    r = replay_file(m, str(CAPTURE), lambda *a: calls.append(a))
    assert len(calls) >= 2
    assert calls[-1] == (CAPTURE.stat().st_size, CAPTURE.stat().st_size, r.events_total)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)
    with pytest.raises(InputError, match="nosuch.txt: No such file"):
        replay_file(m, str(tmp_path / "nosuch.txt"))
    junk = _write(tmp_path, ["# only a comment", "not a trace line"], "junk.txt")
    with pytest.raises(InputError, match="junk.txt: not an ftrace text trace"):
        replay_file(m, junk)


# --- the command line ---------------------------------------------------------------------------


def test_cli_replay_json_and_proc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """memsim replay prints the summary and /proc files; --json has the counts under events."""
    lines = [_tracefs(cpu, name, text, n) for n, (cpu, name, text) in enumerate(_SCENARIO)]
    trace = _write(tmp_path, lines, "t.txt")
    out_json = tmp_path / "s.json"
    assert main(["replay", trace, "--mem", "1G", "--json", str(out_json),
                 "--proc", "slabinfo", "--proc", "buddyinfo"]) == 0
    out, err = capsys.readouterr()
    assert "replay [" not in err           # no progress bar when stderr is not a terminal
    assert "replayed 21 events" in err
    assert "\n  kmem_cache_alloc                  4\n" in out
    assert "mm_page_alloc_extfrag             1  (not replayed)" in out
    assert "==> /proc/slabinfo <==\nslabinfo - version: 2.1\n" in out
    assert re.search(r"\nanon_vma +39 +39 +104 +39 +1 ", out)
    assert "==> /proc/buddyinfo <==\nNode 0, zone" in out
    data = json.loads(out_json.read_text())
    assert data["events"] == _EXPECTED_EVENTS
    assert data["trace"] == trace
    assert set(data["proc"]) == {"slabinfo", "buddyinfo"}


def test_cli_replay_output_is_deterministic(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs print byte-identical reports (timing goes to stderr)."""
    lines = [_tracefs(cpu, name, text, n) for n, (cpu, name, text) in enumerate(_SCENARIO)]
    trace = _write(tmp_path, lines, "t.txt")
    outs = []
    for _ in range(2):
        assert main(["replay", trace, "--mem", "1G", "--progress"]) == 0
        out, err = capsys.readouterr()
        assert "replay [" in err and "100%" in err
        outs.append(out)
    assert outs[0] == outs[1]


def test_cli_replay_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file exits 2 with one line naming it; so does an unknown --proc file."""
    missing = str(tmp_path / "missing.txt.gz")
    assert main(["replay", missing, "--mem", "1G"]) == 2
    err = capsys.readouterr().err
    assert err == f"memsim: error: {missing}: No such file or directory\n"
    assert main(["replay", str(CAPTURE), "--mem", "1G", "--proc", "nosuch"]) == 2
    assert "/proc/nosuch: no such file in the model" in capsys.readouterr().err
