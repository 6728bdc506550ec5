"""/proc/PID/{maps,smaps,smaps_rollup,statm,status,stat} formats and the conformance
runner's pure parts (RLE, windows, classification, comparison)."""

from __future__ import annotations

import re

import pytest

from conftest import shared_path
from memsim.conform import ScenarioResult, classify, clip_window, compare, errname, rle, window_base
from memsim.fs.proc import array, task_mmu
from memsim.include import mm as vmf
from memsim.include.mm_types import MM_ANONPAGES, MM_FILEPAGES, MmStruct
from memsim.machine import Machine

SAMPLE = "proc-6.18-x86_64"
HDR = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+) ?\s*(.*)$")


def _flags_of(perms: str) -> int:
    f = 0
    for ch, bit in zip(perms[:3], (vmf.VM_READ, vmf.VM_WRITE, vmf.VM_EXEC), strict=True):
        if ch != "-":
            f |= bit
    return f | (vmf.VM_MAYSHARE if perms[3] == "s" else 0)


# ---- maps -------------------------------------------------------------------------------

def test_maps_lines_of_the_sample_are_reproduced() -> None:
    lines = shared_path("data", SAMPLE, "self_maps").read_text().splitlines(keepends=True)
    assert lines
    for line in lines:
        mt = HDR.match(line.rstrip("\n"))
        assert mt, line
        start, end, perms, off, dev, ino, name = mt.groups()
        text = task_mmu.show_vma_header(int(start, 16), int(end, 16), _flags_of(perms),
                                        int(off, 16), dev, int(ino), name or None)
        assert text == line


def test_maps_padding_column_and_trailing_space() -> None:
    named = task_mmu.show_vma_header(0x55d4e0c3e000, 0x55d4e0c40000, vmf.VM_READ, 0,
                                     "08:01", 1048602, "/usr/bin/cat")
    assert named.index("/usr/bin/cat") == 73
    assert named.endswith("/usr/bin/cat\n")
    unnamed = task_mmu.show_vma_header(0x7f0000000000, 0x7f0000001000,
                                       vmf.VM_READ | vmf.VM_WRITE, 0, "00:00", 0, None)
    assert unnamed == "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
    # at least 8 hex digits
    low = task_mmu.show_vma_header(0x1000, 0x2000, 0, 0, "00:00", 0, "[heap]")
    assert low.startswith("00001000-00002000 ---p 00000000 00:00 0 ")
    assert low.index("[heap]") == 73
    # a prefix already past the column gets exactly one space
    long = task_mmu.show_vma_header(0x7f0000000000, 0x7f0000001000, vmf.VM_READ,
                                    0x1234567890abcdef, "fe:00", 12345678901234567, "x")
    assert long.endswith("12345678901234567  x\n")


def test_seq_path_escapes_newline() -> None:
    assert task_mmu.seq_path_escape("/tmp/a\nb") == "/tmp/a\\012b"


# ---- smaps ------------------------------------------------------------------------------

def _sample_blocks() -> list[list[str]]:
    text = shared_path("data", SAMPLE, "self_smaps").read_text()
    blocks: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        if HDR.match(line.rstrip("\n")) and not line.startswith(("VmFlags",)) and "-" in \
                line.split(" ", 1)[0]:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def test_smaps_field_order_matches_the_sample() -> None:
    for block in _sample_blocks():
        names = [ln.split(":", 1)[0] for ln in block[1:-1]]
        assert tuple(names) == task_mmu.SMAPS_FIELDS
        assert block[-1].startswith("VmFlags: ")


def test_smaps_value_lines_match_the_sample_layout() -> None:
    for block in _sample_blocks():
        for ln in block[1:-1]:
            name, _, rest = ln.partition(":")
            value = int(rest.split()[0])
            unit = name not in ("THPeligible", "ProtectionKey")
            assert task_mmu._smaps_line(name, value, unit) == ln


def test_vmflags_text_bit_order_and_trailing_space() -> None:
    f = vmf.VM_READ | vmf.VM_EXEC | vmf.VM_MAYREAD | vmf.VM_MAYWRITE | vmf.VM_MAYEXEC
    assert task_mmu.vm_flags_text(f) == "rd ex mr mw me "
    g = vmf.VM_READ | vmf.VM_WRITE | vmf.VM_MAYREAD | vmf.VM_MAYWRITE | vmf.VM_MAYEXEC \
        | task_mmu.VM_MAYBE_GUARD | vmf.VM_LOCKED | vmf.VM_ACCOUNT | vmf.VM_UFFD_MISSING
    assert task_mmu.vm_flags_text(g) == "rd wr mr mw me um gu lo ac "
    for block in _sample_blocks():
        words = block[-1][len("VmFlags: "):].rstrip("\n")
        assert words.endswith(" ")


@pytest.fixture(scope="module")
def mproc() -> tuple[Machine, object]:
    m = Machine.boot(arch="x86_64", mem="1G", cpus=2)
    p = m.spawn("cat")
    a = p.mmap(0, 8 << 12, 3, 0x22)
    p.touch(a, 4 << 12, write=True, val=0x61)
    p.touch(a + (4 << 12), 2 << 12)
    return m, p


def test_smap_counts_and_text_of_a_process(mproc: tuple[Machine, object]) -> None:
    m, p = mproc
    mm = p.mm  # type: ignore[attr-defined]
    vma = next(v for v in mm.vmas if v.vm_end - v.vm_start == 8 << 12)
    c = task_mmu.smap_counts(m, vma)
    assert c["Size"] == 32 and c["Rss"] == 16 and c["Pss"] == 16
    assert c["Private_Dirty"] == 16 and c["Anonymous"] == 16 and c["Pss_Dirty"] == 16
    assert c["THPeligible"] == 0
    text = m.proc(f"{p.pid}/smaps")  # type: ignore[attr-defined]
    assert text.count("VmFlags: ") == len(mm.vmas)
    assert text.count("\nTHPeligible:    ") == len(mm.vmas)
    roll = m.proc(f"{p.pid}/smaps_rollup")  # type: ignore[attr-defined]
    assert roll.splitlines()[0].endswith(" [rollup]")
    assert [ln.split(":")[0] for ln in roll.splitlines()[1:7]] == [
        "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem"]
    codes = "".join(task_mmu.page_code(m, mm, vma.vm_start + (i << 12))[0] for i in range(8))
    assert rle(codes) == "A4z2.2"


def test_maps_statm_of_a_process(mproc: tuple[Machine, object]) -> None:
    m, p = mproc
    maps = m.proc(f"/proc/{p.pid}/maps")  # type: ignore[attr-defined]
    lines = maps.splitlines()
    assert len(lines) == len(p.mm.vmas)  # type: ignore[attr-defined]
    assert any(ln.endswith("[stack]") for ln in lines)
    assert any(ln.endswith("[vdso]") for ln in lines)
    statm = m.proc(f"{p.pid}/statm").split()  # type: ignore[attr-defined]
    assert len(statm) == 7 and statm[4] == "0" and statm[6] == "0"
    assert int(statm[0]) == p.mm.total_vm  # type: ignore[attr-defined]


# ---- status / stat ----------------------------------------------------------------------------

def test_status_memory_lines_match_the_sample() -> None:
    sample = shared_path("data", SAMPLE, "self_status").read_text()
    want = [ln for ln in sample.splitlines(keepends=True)
            if ln.split(":")[0] in (*array.STATUS_MEM_KEYS, "HugetlbPages")]
    kb = {ln.split(":")[0]: int(ln.split()[1]) for ln in want}
    mm = MmStruct()
    mm.total_vm = kb["VmSize"] // 4
    mm.hiwater_vm = kb["VmPeak"] // 4
    mm.rss_stat[MM_ANONPAGES] = kb["RssAnon"] // 4
    mm.rss_stat[MM_FILEPAGES] = kb["RssFile"] // 4
    mm.hiwater_rss = kb["VmHWM"] // 4
    mm.data_vm = kb["VmData"] // 4
    mm.stack_vm = kb["VmStk"] // 4
    mm.start_code = 0x55d1e20e0000
    mm.end_code = mm.start_code + kb["VmExe"] * 1024
    mm.exec_vm = (kb["VmExe"] + kb["VmLib"]) // 4
    mm.pgtables_bytes = kb["VmPTE"] * 1024
    assert array.task_mem(mm) == "".join(want)


def test_status_key_order_matches_the_sample(mproc: tuple[Machine, object]) -> None:
    m, p = mproc
    sample = shared_path("data", SAMPLE, "self_status").read_text()
    text = m.proc(f"{p.pid}/status")  # type: ignore[attr-defined]
    assert [ln.split(":")[0] for ln in text.splitlines()] == \
        [ln.split(":")[0] for ln in sample.splitlines()]
    assert f"\nPid:\t{p.pid}\n" in text  # type: ignore[attr-defined]
    assert "\nVmRSS:\t      24 kB\n" in text or "\nVmRSS:\t" in text


def test_stat_has_52_fields_and_faults_in_place(mproc: tuple[Machine, object]) -> None:
    m, p = mproc
    text = m.proc(f"{p.pid}/stat")  # type: ignore[attr-defined]
    rest = text[text.rfind(")") + 2:].split()
    assert 2 + len(rest) == 52
    assert int(rest[7]) == p.min_flt  # type: ignore[attr-defined]
    assert int(rest[9]) == p.maj_flt  # type: ignore[attr-defined]
    assert text.startswith(f"{p.pid} (cat) ")  # type: ignore[attr-defined]


def test_unknown_pid_and_file_are_reported(mproc: tuple[Machine, object]) -> None:
    from memsim.errors import MemsimError
    m, _ = mproc
    with pytest.raises(MemsimError, match="no such process"):
        m.proc("9999/maps")
    with pytest.raises(MemsimError, match="no such file"):
        m.proc(f"{next(iter(m.tasks))}/nonsense")


# ---- conformance runner parts ---------------------------------------------------------------

def test_rle() -> None:
    assert rle("") == ""
    assert rle("." * 64) == ".64"
    assert rle("AAAAzz..") == "A4z2.2"
    assert rle("A1") == "A111"


def test_window_arithmetic() -> None:
    two = 2 << 20
    for r in (0x7f0000000000, 0x7f0000001000, 0x7f00001ff000, 0x7f0000200000):
        b = window_base(r)
        assert b % two == 0 and r + two <= b < r + 2 * two
    assert clip_window(0, 100, 10, 50) == (10, 50, "LR")
    assert clip_window(10, 20, 10, 50) == (10, 20, "")
    assert clip_window(5, 20, 10, 50) == (10, 20, "L")
    assert clip_window(40, 60, 10, 50) == (40, 50, "R")


def test_classify_kinds() -> None:
    files = {"f1": "/tmp/oracle/x/f1"}
    assert classify("", files) == "anon"
    assert classify("[heap]", files) == "heap"
    assert classify("/dev/zero (deleted)", files) == "shmem_anon"
    assert classify("/memfd:m1 (deleted)", files) == "memfd:m1"
    assert classify("/tmp/oracle/x/f1", files) == "file:f1"
    assert classify("/usr/lib/libc.so.6", files) == "other:libc.so.6"
    assert classify("[anon:foo]", files) == "anon:foo"
    assert errname(95) == "EOPNOTSUPP" and errname(22) == "EINVAL"


def test_compare_skips_dropped_and_missing_leaves() -> None:
    exp = {"a": 1, "b": {"c": "<nondeterministic>", "d": [1, 2]}, "e": "x"}
    assert compare(exp, {"a": 1, "b": {"c": 5, "d": [1, 2]}, "e": "x", "extra": 9}) == []
    d = compare(exp, {"a": 2, "b": {"d": [1, 3]}, "e": "x"})
    assert d == [("a", 1, 2), ("b.d[1]", 2, 3)]
    assert compare({"v": [1, 2]}, {"v": [1]}) == [("v", [1, 2], [1])]
    assert compare({"k": None}, {}) == [("k", None, "<missing>")]
    assert compare({"k": True}, {"k": 1}) == [("k", True, 1)]


def test_result_lines() -> None:
    ok = ScenarioResult("s", True)
    assert ok.line() == "PASS s"
    bad = ScenarioResult("s", False, step="3", op="mmap",
                         diffs=[("views.P.vmas[0].start", 1, 0), ("ret", "W+0", -1)])
    assert bad.line() == "FAIL s: step 3 (mmap): views.P.vmas[0].start: expected 1, got 0"
    assert bad.verbose_lines() == ["    views.P.vmas[0].start: expected 1, got 0",
                                   '    ret: expected "W+0", got -1']
    init = ScenarioResult("s", False, step="initial", diffs=[("views.P", {}, None)])
    assert init.line() == "FAIL s: initial: views.P: expected {}, got null"
    assert ScenarioResult("s", False, error="boom").line() == "FAIL s: boom"
