"""Synthetic workloads: deterministic from the seed, shapes as documented."""

from __future__ import annotations

import pytest

from memsim.errors import InputError
from memsim.workload.generators import KINDS, generate


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_from_seed(kind: str) -> None:
    a = generate(kind, 500, 5000, seed=7, write_ratio=0.3)
    b = generate(kind, 500, 5000, seed=7, write_ratio=0.3)
    assert a.pages == b.pages and a.writes == b.writes
    assert len(a) == 5000
    assert all(0 <= p < 500 for p in a.pages)
    if kind in ("uniform", "zipf", "shift"):
        assert generate(kind, 500, 5000, seed=8).pages != a.pages


def test_shapes() -> None:
    assert list(generate("loop", 3, 7).pages) == [0, 1, 2, 0, 1, 2, 0]
    z = generate("zipf", 1000, 20000, seed=1, alpha=1.2)
    counts = sorted((list(z.pages).count(p) for p in set(z.pages)), reverse=True)
    assert counts[0] > 20 * counts[len(counts) // 2]        # skewed
    s = generate("shift", 100, 1000, wss=10, phases=4, seed=3)
    assert {p // 10 for p in s.pages[:250]} == {0} and {p // 10 for p in s.pages[750:]} == {3}
    w = generate("uniform", 10, 10000, write_ratio=0.25, seed=5)
    assert 2200 < sum(w.writes) < 2800
    assert sum(generate("seq", 10, 100, write_ratio=1.0).writes) == 100


def test_bad_parameters() -> None:
    with pytest.raises(InputError):
        generate("nope", 10, 10)
    with pytest.raises(InputError):
        generate("shift", 10, 10, wss=11)
    with pytest.raises(InputError):
        generate("uniform", 10, 10, write_ratio=2)
