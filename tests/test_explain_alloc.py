"""memsim explain-alloc: the candidates run on the model, the recommendation follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memsim.cli.main import main
from memsim.explain import AllocRequest, Outcome, explain_alloc, get_order
from memsim.machine import Machine


def _by(outs: list[Outcome]) -> dict[str, Outcome]:
    return {o.api.split("(", 1)[0] + ("+kmap" if o.api.endswith("+kmap") else ""): o
            for o in outs}


@pytest.mark.kernel_report
def test_small_contiguous_atomic_recommends_kmalloc_gfp_atomic() -> None:
    m = Machine.boot()
    free0 = m.nr_free_pages() + m.nr_pcp_pages()
    e = explain_alloc(m, AllocRequest(size=100, contiguous=True, context="atomic"))
    by = _by(e.outcomes)
    assert e.recommendation[0].startswith("Use kmalloc(size, GFP_ATOMIC)")
    assert by["kmalloc"].ok and by["kmalloc"].sleep_bug is None
    assert by["kmalloc"].wasted == 128 - 100          # kmalloc-128
    assert by["alloc_pages"].pages_taken == 1 and by["alloc_pages"].wasted == 4096 - 100
    assert by["vmalloc"].sleep_bug is not None
    assert by["vmalloc"].sleep_bug.startswith(
        "BUG: sleeping function called from invalid context at ")
    assert any(p.startswith("vmalloc(100): dmesg: BUG: sleeping function called")
               for p in e.pitfalls)
    assert "GFP_ATOMIC" in by["kmalloc"].gfp
    # everything was freed and the machine is consistent, not in atomic context
    assert not m.in_atomic()
    m.validate()
    assert m.nr_free_pages() + m.nr_pcp_pages() >= free0 - 64


@pytest.mark.kernel_report
def test_large_noncontiguous_process_recommends_vmalloc() -> None:
    m = Machine.boot()
    size = 10 << 20
    e = explain_alloc(m, AllocRequest(size=size, contiguous=False))
    by = _by(e.outcomes)
    assert e.recommendation[0].startswith("Use vmalloc(size)")
    assert not by["kmalloc"].ok and by["kmalloc"].note == "returned None"
    assert any(p.startswith(f"kmalloc({size}, GFP_KERNEL): returned None") for p in e.pitfalls)
    assert not by["alloc_pages"].ok and get_order(size) == 12
    v = by["vmalloc"]
    assert v.ok and v.wasted == 0 and v.remapped
    assert v.tlb_entries == size // 4096               # one 4 KiB PTE per page
    assert v.pages_taken >= size // 4096               # plus the pages array, vm_struct
    assert by["kvmalloc"].note.startswith("fell back to vmalloc")
    m.validate()


def test_dma_request_lands_in_dma_zone() -> None:
    m = Machine.boot()
    e = explain_alloc(m, AllocRequest(size=5000, dma="dma"))
    by = _by(e.outcomes)
    p = by["alloc_pages"]
    assert p.zones == ["DMA"] and p.dma_ok and p.pages_taken == 1 << get_order(5000) == 2
    assert p.wasted == 8192 - 5000
    assert by["kmalloc"].zones == ["DMA"]
    assert by["vmalloc"].dma_ok is False
    assert any("out of reach of a DMA device" in x for x in e.pitfalls)
    rec = e.recommendation[0]
    assert rec.startswith("Use alloc_pages(GFP_KERNEL | GFP_DMA, 1) or __get_free_pages()")


def test_often_recommends_a_cache() -> None:
    m = Machine.boot()
    e = explain_alloc(m, AllocRequest(size=1000, frequency="often"))
    by = _by(e.outcomes)
    assert e.recommendation[0].startswith("Use kmem_cache_create() once")
    assert by["kmalloc"].got == 16 and by["kmalloc"].wasted == 16 * 24   # kmalloc-1024
    assert by["alloc_pages"].pages_taken == 16


def test_i386_highmem_candidate() -> None:
    m = Machine.boot(arch="i386", mem="2G")
    e = explain_alloc(m, AllocRequest(size=8192))
    hm = _by(e.outcomes)["alloc_pages+kmap"]
    assert hm.ok and hm.zones == ["HighMem"] and hm.pages_taken == 2
    assert hm.note.startswith("page_address() before kmap: None; kmap -> 0x")
    assert hm.tlb_entries == 2
    assert any("alloc_pages(__GFP_HIGHMEM) + kmap()" in r for r in e.recommendation)
    assert _by(e.outcomes)["kmalloc"].zones == ["Normal"]
    # kunmap() leaves the pkmap entry mapped but unused (count 1) until the next flush
    assert m.highmem is not None and 1 in m.highmem.pkmap_count
    m.validate()


@pytest.mark.kernel_report
def test_deterministic() -> None:
    req = AllocRequest(size=20000, contiguous=False, context="irq")
    a = explain_alloc(Machine.boot(), req).to_json()
    b = explain_alloc(Machine.boot(), req).to_json()
    assert a == b


@pytest.mark.kernel_report
def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "e.json"
    assert main(["explain-alloc", "--size", "4K", "--context", "irq", "--json",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert "Recommendation:" in text and "GFP_ATOMIC" in text
    data = json.loads(out.read_text())
    assert data["request"]["size"] == 4096 and data["candidates"][0]["pages_taken"] == 1


def test_cli_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain-alloc", "--size", "12Q"]) == 2
    assert "--size: cannot parse size '12Q'" in capsys.readouterr().err
    assert main(["explain-alloc", "--size", "0"]) == 2
    assert "at least 1 byte" in capsys.readouterr().err
