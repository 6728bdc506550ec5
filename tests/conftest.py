"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

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
