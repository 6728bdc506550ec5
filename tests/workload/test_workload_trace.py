"""Trace readers of memsim.workload.trace: ftrace page_fault_user, addresses, libCacheSim."""

from __future__ import annotations

import gzip
from pathlib import Path

import libcachesim as lcs
import pytest

from memsim.workload.trace import (
    TraceError,
    load_trace,
    parse_addresses,
    parse_ftrace,
    parse_lcs_csv,
)

FTRACE = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 4/4   #P:2
#
#                                _-----=> irqs-off/BH-disabled
           a.out-4163    [001] d....   242.405640: page_fault_user: address=0x7f3a5c2e1000 ip=0x55d1c0a4b1a9 error_code=0x6
           a.out-4163    [001] d....   242.405650: page_fault_user: address=0x7f3a5c2e2008 ip=0x55d1c0a4b1b0 error_code=0x4
            bash-4100    [000] d....   242.405700: page_fault_user: address=0x55d1c0a4c000 ip=0x55d1c0a4b1b0 error_code=0x14
           a.out-4163    [001] .....   242.405800: kmem_cache_free: call_site=x ptr=0x0 name=filp
"""


def test_ftrace_page_fault_user() -> None:
    tr = parse_ftrace(FTRACE.splitlines())
    assert list(tr.pages) == [0x7f3a5c2e1, 0x7f3a5c2e2, 0x55d1c0a4c]
    assert list(tr.writes) == [1, 0, 0]          # X86_PF_WRITE = 0x2
    only = parse_ftrace(FTRACE.splitlines(), pid=4163)
    assert list(only.pages) == [0x7f3a5c2e1, 0x7f3a5c2e2]
    assert list(parse_ftrace(FTRACE.splitlines(), comm="bash").pages) == [0x55d1c0a4c]


def test_addresses_hex_decimal_comments_rw() -> None:
    text = ["# a comment", "", "0x1000", "8192 w", "0x3fff r  # tail", "12288,W"]
    tr = parse_addresses(text)
    assert list(tr.pages) == [1, 2, 3, 3]
    assert list(tr.writes) == [0, 1, 0, 1]
    assert list(parse_addresses(["1000", "2000"], hex_default=True).pages) == [1, 2]


def test_addresses_bad_line_names_the_line() -> None:
    with pytest.raises(TraceError, match=r"x.txt:3: bad address 'zz'"):
        parse_addresses(["0x1000", "# ok", "zz"], name="x.txt")
    with pytest.raises(TraceError, match=r":2: expected an address"):
        parse_addresses(["1", "1 2 3"])


def test_gzip_and_auto_detect(tmp_path: Path) -> None:
    p = tmp_path / "faults.txt.gz"
    with gzip.open(p, "wt") as f:
        f.write(FTRACE)
    tr = load_trace(p)
    assert len(tr) == 3
    q = tmp_path / "addrs"
    q.write_text("0x1000\n0x2000\n0x1000\n")
    assert list(load_trace(q).pages) == [1, 2, 1]
    with pytest.raises(TraceError, match="no accesses"):
        (tmp_path / "empty").write_text("# nothing\n")
        load_trace(tmp_path / "empty")


def test_lcs_txt_reads_like_libcachesim(tmp_path: Path) -> None:
    p = tmp_path / "t.txt"
    p.write_text("1\n2\n3\n1\n0x10\n4\n")
    ours = list(load_trace(p, "lcs-txt").pages)
    theirs = [r.obj_id for r in lcs.TraceReader(str(p), lcs.TraceType.PLAIN_TXT_TRACE)]
    assert ours == theirs == [1, 2, 3, 1, 16, 4]


def test_lcs_csv_reads_like_libcachesim(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("time,id,size,op\n1,5,4096,read\n2,6,4096,write\n3,5,4096,read\n4,7,1,set\n")
    tr = load_trace(p, "lcs-csv", obj_id_field=2, op_field=4)
    params = lcs.ReaderInitParam(has_header=True, delimiter=",")
    params.time_field = 1
    params.obj_id_field = 2
    params.obj_size_field = 3
    params.op_field = 4
    theirs = list(lcs.TraceReader(str(p), lcs.TraceType.CSV_TRACE, params))
    assert list(tr.pages) == [r.obj_id for r in theirs] == [5, 6, 5, 7]
    assert list(tr.writes) == [0, 1, 0, 1]
    with pytest.raises(TraceError, match=":2: expected at least 4 fields"):
        parse_lcs_csv(["a,b,c,d", "1,2"], op_field=4)


def test_dense_renumbering() -> None:
    tr = parse_addresses(["0x5000", "0x1000", "0x5000", "0x9000"])
    dense, n = tr.dense()
    assert list(dense) == [0, 1, 0, 2] and n == 3
