"""
The conformance runner (memsim conform). The full run over all 50 scenarios of
../shared/oracle/golden-6.18.json is `make conform`, part of `make test`; these tests check
that the runner finds differences and reports them as specified.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

from conftest import shared_path
from memsim.conform import run_golden

GOLDEN = shared_path("oracle", "golden-6.18.json")
DOC = json.loads(GOLDEN.read_text())


def test_some_scenarios_match() -> None:
    names = ["fork_cow_child_writes", "private_file_read_then_write", "guard_regions"]
    results = run_golden(DOC, only=names)
    assert [r.name for r in results] == names
    assert all(r.ok for r in results), [r.line() for r in results]
    assert results[0].line() == "PASS fork_cow_child_writes"


def test_a_changed_expectation_is_the_first_difference() -> None:
    doc = copy.deepcopy(DOC)
    sc = next(s for s in doc["scenarios"] if s["name"] == "zero_page_read_then_write")
    step = sc["steps"][1]
    step["faults"]["P"]["min"] += 1
    results = run_golden(doc, only=["zero_page_read_then_write"])
    line = results[0].line()
    assert not results[0].ok
    assert line.startswith("FAIL zero_page_read_then_write: step 1 (touch): faults.P.min: "
                           "expected ")


def test_cli_exit_status(tmp_path: object) -> None:
    ok = subprocess.run([sys.executable, "-m", "memsim", "conform", str(GOLDEN), "--only",
                         "merge_adjacent_anon"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1] == "1/1 scenarios match"
    doc = copy.deepcopy(DOC)
    sc = next(s for s in doc["scenarios"] if s["name"] == "merge_adjacent_anon")
    sc["steps"][0]["ret"] = "W+1"
    bad = shared_golden = f"{tmp_path}/g.json"
    with open(bad, "w") as f:
        json.dump(doc, f)
    r = subprocess.run([sys.executable, "-m", "memsim", "conform", shared_golden, "--only",
                        "merge_adjacent_anon"], capture_output=True, text=True)
    assert r.returncode == 1
    assert "FAIL merge_adjacent_anon: step 0 (mmap): ret: expected \"W+1\"" in r.stdout
    assert r.stdout.splitlines()[-1] == "0/1 scenarios match"
