"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

_SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """Path of a file under the project's shared/ directory (beside the repository)."""
    return _SHARED.joinpath(*parts)
