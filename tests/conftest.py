"""Shared test helpers, and the guard that fails a test whose machines logged a kernel
report (BUG, WARNING, Bad page, ...) it did not ask for (mark: ``kernel_report``)."""

from __future__ import annotations

import functools
import json
import re
import weakref
from collections.abc import Iterator
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


# ---- unexpected kernel reports ------------------------------------------------------------
# Every machine a test boots is watched; a report line in its dmesg fails the test unless
# the test is marked @pytest.mark.kernel_report (it provokes the report on purpose). This is
# how a model bug that the model's own debug checks catch (a page freed with PG_active, a
# free page marked uptodate, a per-CPU access from preemptible code) cannot hide in a test
# that checks something else.

_REPORT = re.compile(r"^\[[ 0-9.]+\] (BUG[: ]|kernel BUG|WARNING:|Huh |DEBUG_LOCKS_WARN_ON)",
                     re.M)
_machines: weakref.WeakSet[Machine] = weakref.WeakSet()
_machine_init = Machine.__init__


def _watched_init(self: Machine, *args: Any, **kwargs: Any) -> None:
    _machine_init(self, *args, **kwargs)
    _machines.add(self)


Machine.__init__ = _watched_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_unexpected_kernel_report(request: pytest.FixtureRequest) -> Iterator[None]:
    before = weakref.WeakSet(_machines)     # module fixtures' machines are not this test's
    yield
    if request.node.get_closest_marker("kernel_report") is not None:
        return
    for m in list(_machines):
        if m in before:
            continue
        try:
            text = m.dmesg()
        except Exception:       # a machine the test left half-built
            continue
        hit = _REPORT.search(text)
        if hit is not None:
            line = text[hit.start():text.find("\n", hit.start())]
            pytest.fail(f"unexpected kernel report in dmesg: {line}", pytrace=False)
