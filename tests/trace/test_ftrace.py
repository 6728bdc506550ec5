"""ftrace text: the trace file header, line prefix, writer and parser (§13.8), checked against the
real 6.18 capture in shared/data/traces."""

from __future__ import annotations

import gzip
import io
import itertools
import re

import pytest

from conftest import shared_path
from memsim.include.gfp import parse_gfp
from memsim.trace.ftrace import (
    FtraceWriter,
    ParsedLine,
    format_flags,
    format_line,
    format_timestamp,
    header,
    parse_flags,
    parse_header_counts,
    parse_line,
    read_trace,
)
from memsim.trace.tracepoints import PointerHasher, TraceContext, TraceEvent, TracepointSet

CAPTURE = shared_path("data", "traces", "kmem-compileall-git-tar.txt.gz")


@pytest.fixture(scope="module")
def capture_lines() -> list[str]:
    with gzip.open(CAPTURE, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.fixture(scope="module")
def capture_data(capture_lines: list[str]) -> list[str]:
    return [line for line in capture_lines if not line.startswith("#")]


def ctx(**kw: object) -> TraceContext:
    base: dict[str, object] = {"comm": "bash", "pid": 4163, "cpu": 1, "ts_ns": 242_405_640_000}
    base.update(kw)
    return TraceContext(**base)  # type: ignore[arg-type]


# --- header --------------------------------------------------------------------------------------


def test_header_is_byte_equal_to_the_capture(capture_lines: list[str]) -> None:
    """header() reproduces the first twelve lines of a real 6.18 trace file exactly."""
    counts = parse_header_counts(capture_lines[2])
    assert counts == (129912, 129912, 2)
    expected = "".join(line + "\n" for line in capture_lines[:12])
    assert header(*counts) == expected


def test_header_counts_match_the_capture_body(capture_lines: list[str]) -> None:
    """The capture's entries count equals its number of event lines (nothing was overwritten)."""
    n = sum(1 for line in capture_lines if not line.startswith("#"))
    assert n == 129912


def test_header_text() -> None:
    """The counts line: entries/written, three spaces, #P:<cpus>."""
    assert header(5, 9, 4).splitlines()[:4] == [
        "# tracer: nop",
        "#",
        "# entries-in-buffer/entries-written: 5/9   #P:4",
        "#",
    ]
    assert parse_header_counts("# tracer: nop") is None


# --- the real capture ----------------------------------------------------------------------------


def test_every_capture_line_round_trips(capture_data: list[str]) -> None:
    """format_line(parse_line(x).to_event(), None) == x for every event line of the capture."""
    bad = []
    for line in capture_data:
        p = parse_line(line)
        assert p is not None, line
        if format_line(p.to_event(), None) != line:
            bad.append(line)
    assert bad == []


def test_capture_prefixes_re_render_byte_for_byte(capture_data: list[str]) -> None:
    """The prefix of sampled capture lines, rebuilt from a TraceContext, is byte-identical."""
    sample = capture_data[:: len(capture_data) // 40][:40]
    sample += [line for line in capture_data if line.lstrip().startswith(("memfd", "<idle>"))][:5]
    for line in sample:
        p = parse_line(line)
        assert p is not None
        c = p.context()
        rebuilt = format_line(TraceEvent(c, p.name, p.to_event().fields), None)
        assert rebuilt == line


def test_capture_pointer_shape(capture_data: list[str]) -> None:
    """Every %p in the capture is 16 digits: NULL all zeros, otherwise 00000000 + 32 bits."""
    shapes = set()
    for line in capture_data[:20000]:
        for value in re.findall(r"\b(?:ptr|page)=(\S+)", line):
            assert len(value) == 16
            shapes.add("null" if value == "0" * 16 else value[:8])
    assert shapes == {"null", "00000000"}


def test_capture_event_mix(capture_data: list[str]) -> None:
    """All capture lines parse, into the kmem events the capture contains."""
    names: dict[str, int] = {}
    for p in read_trace(capture_data):
        names[p.name] = names.get(p.name, 0) + 1
    assert names == {
        "kfree": 12201,
        "kmalloc": 3822,
        "kmem_cache_alloc": 38069,
        "kmem_cache_free": 29528,
        "mm_page_alloc": 17699,
        "mm_page_alloc_extfrag": 1,
        "mm_page_free": 15932,
        "mm_page_free_batched": 12660,
    }


# --- line prefix ---------------------------------------------------------------------------------


def test_format_line_matches_a_capture_line() -> None:
    """A hand-built event renders exactly like the capture's first line."""
    ev = TraceEvent(
        ctx(need_resched=True),
        "kmem_cache_free",
        {"call_site": "do_sys_openat2+0xa2/0xe0", "ptr": 0xC59FA0C0, "name": "names_cache"},
    )
    assert format_line(ev, None) == (
        "            bash-4163    [001] .N...   242.405640: kmem_cache_free: "
        "call_site=do_sys_openat2+0xa2/0xe0 ptr=00000000c59fa0c0 name=names_cache"
    )


def test_format_line_hashes_pointers_with_the_given_hasher() -> None:
    """format_line hashes %p with the hasher it is given."""
    h = PointerHasher(11)
    ev = TraceEvent(
        ctx(comm="<idle>", pid=0, cpu=0, softirq=True, preempt_depth=1),
        "kfree",
        {"call_site": "rcu_do_batch+0x1c4/0x5b0", "ptr": 0xFFFF888104A3C000},
    )
    assert format_line(ev, h) == (
        "          <idle>-0       [000] ..s1.   242.405640: kfree: "
        f"call_site=rcu_do_batch+0x1c4/0x5b0 ptr=00000000{h.hash(0xFFFF888104A3C000):08x}"
    )


def test_long_comm_pid_and_timestamp_overflow_their_columns() -> None:
    """Fields wider than their printf width push the rest of the line right, as in C."""
    ev = TraceEvent(
        ctx(comm="a-very-long-comm", pid=12345678, cpu=1234, ts_ns=123_456_789_000_000),
        "kfree",
        {"call_site": "f+0x0/0x1", "ptr": 0},
    )
    line = format_line(ev, None)
    assert line == (
        "a-very-long-comm-12345678 [1234] ..... 123456.789000: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000"
    )
    p = parse_line(line)
    assert p is not None
    assert (p.comm, p.pid, p.cpu, p.ts_ns) == ("a-very-long-comm", 12345678, 1234, 123456789000000)


def test_timestamp_rounds_to_the_nearest_microsecond() -> None:
    """The ns timestamp is rounded (ns2usecs adds 500) before splitting into sec.usec."""
    assert format_timestamp(242_405_640_499) == "  242.405640"
    assert format_timestamp(242_405_640_500) == "  242.405641"
    assert format_timestamp(999_999_500) == "    1.000000"
    assert format_timestamp(0) == "    0.000000"


@pytest.mark.parametrize(
    ("kw", "flags"),
    [
        ({}, "....."),
        ({"irqs_off": True}, "d...."),
        ({"bh_off": True}, "b...."),
        ({"irqs_off": True, "bh_off": True}, "D...."),
        ({"need_resched": True}, ".N..."),
        ({"need_resched": True, "preempt_resched": False}, ".n..."),
        ({"preempt_resched": True}, ".p..."),
        ({"need_resched_lazy": True}, ".l..."),
        ({"need_resched_lazy": True, "preempt_resched": True}, ".L..."),
        ({"need_resched": True, "need_resched_lazy": True, "preempt_resched": False}, ".b..."),
        ({"need_resched": True, "need_resched_lazy": True}, ".B..."),
        ({"softirq": True}, "..s.."),
        ({"hardirq": True}, "..h.."),
        ({"hardirq": True, "softirq": True}, "..H.."),
        ({"nmi": True}, "..z.."),
        ({"nmi": True, "hardirq": True}, "..Z.."),
        ({"preempt_depth": 2}, "...2."),
        ({"preempt_depth": 11}, "...b."),
        ({"preempt_depth": 40}, "...f."),
        ({"migrate_disable": 1}, "....1"),
        ({"migrate_disable": 16}, "....f"),
        ({"irqs_off": True, "need_resched": True, "preempt_depth": 2}, "dN.2."),
        ({"need_resched": True, "softirq": True, "preempt_depth": 1}, ".Ns1."),
    ],
)
def test_context_flag_characters(kw: dict[str, object], flags: str) -> None:
    """Each context state maps to its five characters (6.18 spelling)."""
    assert format_flags(ctx(**kw)) == flags


def test_parse_flags_inverts_format_flags() -> None:
    """Decoding the five characters gives back the context they were printed from."""
    bools = (False, True)
    for irq, bh, nr, lazy, pr, hard, soft, nmi in itertools.product(bools, repeat=8):
        for pd, md in ((0, 0), (3, 1), (15, 15)):
            c = ctx(
                irqs_off=irq,
                bh_off=bh,
                need_resched=nr,
                need_resched_lazy=lazy,
                preempt_resched=None if pr == nr else pr,
                hardirq=hard,
                softirq=soft,
                nmi=nmi,
                preempt_depth=pd,
                migrate_disable=md,
            )
            flags = format_flags(c)
            back = ctx(**parse_flags(flags)._asdict())
            # NMI implies nothing about softirq in the printed form: normalise like the kernel.
            if nmi:
                c = c._replace(softirq=False)
            assert back == c, flags


def test_parse_flags_rejects_garbage() -> None:
    """Anything that is not five valid flag characters is a ValueError."""
    for bad in ("....", "......", "q....", "..x..", "...g."):
        with pytest.raises(ValueError):
            parse_flags(bad)


# --- parsing -------------------------------------------------------------------------------------


def test_parse_line_fields() -> None:
    """A capture line parses into its prefix parts, raw text and key=value fields."""
    line = (
        "            bash-4163    [001] .....   242.405670: kmalloc: "
        "call_site=lsm_blob_alloc+0x3b/0x60 ptr=00000000983978ac bytes_req=11 bytes_alloc=16 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO node=-1 accounted=true"
    )
    p = parse_line(line + "\n")
    assert p is not None
    assert (p.comm, p.pid, p.cpu, p.flags, p.ts_ns, p.name, p.tgid) == (
        "bash",
        4163,
        1,
        ".....",
        242_405_670_000,
        "kmalloc",
        None,
    )
    assert p.ts == pytest.approx(242.405670)
    assert p.text.startswith("call_site=lsm_blob_alloc")
    assert p.fields == {
        "call_site": "lsm_blob_alloc+0x3b/0x60",
        "ptr": "00000000983978ac",
        "bytes_req": "11",
        "bytes_alloc": "16",
        "gfp_flags": "GFP_KERNEL_ACCOUNT|__GFP_ZERO",
        "node": "-1",
        "accounted": "true",
    }


def test_to_event_types_the_fields() -> None:
    """to_event() turns numbers and pointers into ints and accounted into a bool."""
    p = parse_line(
        "              rm-4274    [000] d..3.   242.882840: mm_page_alloc_extfrag: "
        "page=00000000aab625fd pfn=0x12a400 alloc_order=0 fallback_order=10 pageblock_order=9 "
        "alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1"
    )
    assert p is not None
    ev = p.to_event()
    assert ev.ctx == ctx(
        comm="rm", pid=4274, cpu=0, ts_ns=242_882_840_000, irqs_off=True, preempt_depth=3
    )
    assert ev.fields == {
        "page": 0xAAB625FD,
        "pfn": 0x12A400,
        "alloc_order": 0,
        "fallback_order": 10,
        "pageblock_order": 9,
        "alloc_migratetype": 0,
        "fallback_migratetype": 1,
        "fragmenting": 0,
        "change_ownership": 1,
    }
    q = parse_line(
        "            bash-4163    [001] .....   242.405670: kmem_cache_alloc: "
        "call_site=prepare_creds+0x1c/0x2e0 ptr=00000000cc8b3c9f name=pid bytes_req=184 "
        "bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=false"
    )
    assert q is not None
    assert q.to_event().fields == {
        "call_site": "prepare_creds+0x1c/0x2e0",
        "ptr": 0xCC8B3C9F,
        "name": "pid",
        "bytes_req": 184,
        "bytes_alloc": 192,
        "gfp_flags": "GFP_KERNEL",
        "node": -1,
        "accounted": False,
    }


def test_comms_with_dashes_spaces_and_placeholders() -> None:
    """The comm is everything before the -PID that precedes [CPU]: dashes and spaces survive."""
    cases = {
        " memfd:sealed-91-1482    [000] ...1.   242.540507: mm_page_free: "
        "page=0000000026f1604c pfn=0x12a27c order=0": ("memfd:sealed-91", 1482),
        "          <idle>-0       [001] ..s1.   242.415014: kfree: "
        "call_site=unwind_task_free+0x15/0x30 ptr=0000000000000000": ("<idle>", 0),
        "kworker/u8:1-events_unbound-77      [001] .....   242.000001: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000": ("kworker/u8:1-events_unbound", 77),
        "     Web Content-2210    [000] .....   242.000001: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000": ("Web Content", 2210),
        "           <...>-3301    [001] .....   242.000001: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000": ("<...>", 3301),
    }
    for line, (comm, pid) in cases.items():
        p = parse_line(line)
        assert p is not None, line
        assert (p.comm, p.pid) == (comm, pid)
        assert format_line(p.to_event(), None) == line


def test_non_event_lines_parse_to_none() -> None:
    """Header comments, blank lines and unrelated text are not events."""
    for line in (
        "# tracer: nop",
        "#",
        "",
        "\n",
        "   ",
        "CPU 1 is empty",
        "cpus=2",
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
    ):
        assert parse_line(line) is None


def test_call_site_with_module_suffix_keeps_its_space() -> None:
    """A %pS call site in a module ('sym+0x1/0x2 [mod]') keeps the suffix in its value."""
    p = parse_line(
        "     kworker/0:1-52      [000] .....    10.000000: kmalloc: "
        "call_site=xfs_buf_alloc+0x50/0x100 [xfs] ptr=0000000012345678 bytes_req=8 "
        "bytes_alloc=8 gfp_flags=GFP_NOFS node=-1 accounted=false"
    )
    assert p is not None
    assert p.fields["call_site"] == "xfs_buf_alloc+0x50/0x100 [xfs]"
    assert p.fields["ptr"] == "0000000012345678"
    assert len(p.fields) == 7


def test_parse_trace_cmd_report_lines() -> None:
    """trace-cmd report lines parse: "comm-pid [cpu] ts: event: fields", flags optional.

    The example lines are hand-made after the layout of `trace-cmd report` (libtraceevent's
    default event print: comm right-aligned in 16, "-%-5d" pid, "[%03d]" CPU, the 5-character
    latency column only with `report -l`, the event name padded after its colon, and
    nanosecond timestamps with `--ts-ns`).
    """
    plain = parse_line(
        "            bash-4163  [001]   242.405670: kmalloc:              "
        "call_site=lsm_blob_alloc+0x3b/0x60 ptr=0xffff8881045c2a10 bytes_req=11 bytes_alloc=16 "
        "gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO node=-1 accounted=true"
    )
    assert plain is not None
    assert (plain.comm, plain.pid, plain.cpu, plain.flags, plain.ts_ns, plain.name) == (
        "bash",
        4163,
        1,
        None,
        242_405_670_000,
        "kmalloc",
    )
    assert plain.fields["call_site"] == "lsm_blob_alloc+0x3b/0x60"
    assert plain.to_event().fields["ptr"] == 0xFFFF8881045C2A10
    assert plain.context() == ctx(ts_ns=242_405_670_000)

    latency = parse_line(
        "             tar-4209  [000] d..1.   242.406037: mm_page_free_batched: "
        "page=0xffffea00042d6840 pfn=0x10b5a1 order=0"
    )
    assert latency is not None
    assert (latency.comm, latency.pid, latency.flags, latency.name) == (
        "tar",
        4209,
        "d..1.",
        "mm_page_free_batched",
    )
    assert latency.context().irqs_off and latency.context().preempt_depth == 1

    ns = parse_line(
        "          <idle>-0     [001]   242.415014123: kfree:                "
        "call_site=unwind_task_free+0x15/0x30 ptr=(nil)"
    )
    assert ns is not None
    assert (ns.comm, ns.pid, ns.ts_ns, ns.name) == ("<idle>", 0, 242_415_014_123, "kfree")
    assert ns.fields == {"call_site": "unwind_task_free+0x15/0x30", "ptr": "(nil)"}

    tgid = parse_line(
        "            bash-4163  (   4100) [001] .....   242.405670: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000"
    )
    assert tgid is not None
    assert (tgid.pid, tgid.tgid, tgid.cpu) == (4163, 4100, 1)


def test_parse_perf_script_lines() -> None:
    """perf script lines parse: "comm tid [cpu] ts: kmem:event: fields".

    The example lines are hand-made after the layout of `perf script` for tracepoint events
    (default fields comm, tid, cpu, time, event, trace; the event is "system:name"; with
    `-F +pid` the id column is "pid/tid").
    """
    p = parse_line(
        "            perf  2519 [001]  1367.466398: kmem:kmalloc: "
        "call_site=kmalloc_trace+0x1d/0x30 ptr=0xffff888104a3c000 bytes_req=256 bytes_alloc=256 "
        "gfp_flags=GFP_KERNEL node=-1 accounted=false"
    )
    assert p is not None
    assert (p.comm, p.pid, p.cpu, p.flags, p.ts_ns, p.name, p.tgid) == (
        "perf",
        2519,
        1,
        None,
        1_367_466_398_000,
        "kmalloc",
        None,
    )
    assert p.to_event().fields["ptr"] == 0xFFFF888104A3C000
    assert p.fields["gfp_flags"] == "GFP_KERNEL"

    spaced = parse_line(
        "     Web Content  3001/3017  [000]    12.000100:   kmem:mm_page_free: "
        "page=0xffffea0004a89f00 pfn=0x12a27c order=0"
    )
    assert spaced is not None
    assert (spaced.comm, spaced.pid, spaced.tgid, spaced.cpu, spaced.name) == (
        "Web Content",
        3017,
        3001,
        0,
        "mm_page_free",
    )
    assert spaced.to_event().fields == {"page": 0xFFFFEA0004A89F00, "pfn": 0x12A27C, "order": 0}


def test_parsed_line_equality_and_repr() -> None:
    """ParsedLines compare by value and show their parts."""
    a = parse_line("  cat-1 [000] ..... 1.000000: kfree: call_site=f+0x0/0x1 ptr=0000000000000000")
    b = ParsedLine(
        "cat", 1, 0, ".....", 1_000_000_000, "kfree", "call_site=f+0x0/0x1 ptr=0000000000000000"
    )
    assert a == b
    assert hash(a) == hash(b)
    assert repr(b).startswith("ParsedLine(comm='cat', pid=1, cpu=0, flags='.....'")


# --- the writer ----------------------------------------------------------------------------------


def test_ftrace_writer_writes_a_trace_file_merged_by_timestamp() -> None:
    """Events recorded on several CPUs come out in timestamp order, lower CPU first on ties."""
    tps = TracepointSet(hash_ptr=False)
    writer = FtraceWriter(tps.hasher, nr_cpus=2)
    tps.attach_all(writer)
    tps.mm_page_alloc.emit(
        ctx(cpu=1, ts_ns=3_000),
        pfn=0x100,
        order=0,
        migratetype=1,
        gfp_flags=parse_gfp("GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"),
    )
    tps.kfree.emit(ctx(comm="cat", pid=77, cpu=0, ts_ns=1_000), call_site="f+0x0/0x1", ptr=0)
    tps.mm_page_free.emit(ctx(comm="cat", pid=77, cpu=0, ts_ns=3_000), pfn=0x100, order=0)
    out = io.StringIO()
    writer.write(out)
    assert out.getvalue() == header(3, 3, 2) + (
        "             cat-77      [000] .....     0.000001: kfree: "
        "call_site=f+0x0/0x1 ptr=0000000000000000\n"
        "             cat-77      [000] .....     0.000003: mm_page_free: "
        "page=ffffea0000004000 pfn=0x100 order=0\n"
        "            bash-4163    [001] .....     0.000003: mm_page_alloc: "
        "page=ffffea0000004000 pfn=0x100 order=0 migratetype=1 "
        "gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP\n"
    )
    # What the writer wrote parses back to the same events.
    back = [p.to_event() for p in read_trace(out.getvalue().splitlines())]
    assert [format_line(ev, None) for ev in back] == list(writer.lines())


def test_ftrace_writer_overwrites_oldest_events_when_full() -> None:
    """With a per-CPU limit the oldest events are dropped and the header shows entries < written."""
    writer = FtraceWriter(None, nr_cpus=1, per_cpu_limit=2)
    for i in range(5):
        writer(TraceEvent(ctx(cpu=0, ts_ns=i * 1000), "kfree", {"call_site": "f", "ptr": i}))
    assert (writer.entries, writer.written) == (2, 5)
    out = io.StringIO()
    writer.write(out)
    lines = out.getvalue().splitlines()
    assert lines[2] == "# entries-in-buffer/entries-written: 2/5   #P:1"
    assert [parse_line(x).fields["ptr"] for x in lines[12:]] == [  # type: ignore[union-attr]
        "0000000000000003",
        "0000000000000004",
    ]
    writer.clear()
    assert (writer.entries, writer.written) == (0, 0)


def test_ftrace_writer_uses_the_machine_hasher() -> None:
    """Written pointers are hashed with the hasher the writer was given."""
    tps = TracepointSet(key=0xABC)
    writer = FtraceWriter(tps.hasher)
    tps.kfree.attach(writer)
    tps.kfree.emit(ctx(cpu=0), call_site="f+0x0/0x1", ptr=0xFFFF888100000000)
    (line,) = writer.lines()
    h = PointerHasher(0xABC).hash(0xFFFF888100000000)
    assert line.endswith(f"ptr=00000000{h:08x}")
