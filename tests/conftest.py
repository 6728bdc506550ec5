"""Shared test helpers."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from memsim.machine import Machine

_SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """Path of a file under the project's shared/ directory (beside the repository)."""
    return _SHARED.joinpath(*parts)


@pytest.fixture(scope="module")
def m24() -> Machine:
    """The sample machine: x86-64, 24 GiB, 2 CPUs (read-only use: shared per module)."""
    return Machine.boot(arch="x86_64", mem="24G", cpus=2)


@pytest.fixture(scope="module")
def m386() -> Machine:
    """An i386 machine with highmem: 2 GiB, 2 CPUs (read-only use: shared per module)."""
    return Machine.boot(arch="i386", mem="2G", cpus=2)


@functools.lru_cache(maxsize=1)
def golden_doc() -> dict[str, Any]:
    """The real kernel's recorded scenarios (../shared/oracle/golden-6.18.json), parsed once."""
    doc: dict[str, Any] = json.loads(shared_path("oracle", "golden-6.18.json").read_text())
    return doc


def assert_conforms(name: str) -> None:
    """Replay one oracle scenario with `memsim conform`'s runner: every step must match."""
    from memsim.conform import run_golden
    [result] = run_golden(golden_doc(), only=[name])
    assert result.ok, result.line()
