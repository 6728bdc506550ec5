"""
Exception hierarchy. Inside mm/ failures are what the kernel returns (None for NULL,
-errno); these exceptions are for users' mistakes (``MemsimError``), for kernel bugs the
model detects in strict mode (``KernelBug``), and for validators (``MMCorruptionError``).
The CLI catches ``MemsimError`` only.
"""

from __future__ import annotations


class MemsimError(Exception):
    """An error the user can fix: bad configuration, bad input file, misuse of the API."""


class ConfigError(MemsimError, ValueError):
    """A machine setting is unknown or has a bad value."""


class InputError(MemsimError, ValueError):
    """A scenario, trace or other input file is malformed."""


class KernelBug(AssertionError):  # noqa: N818 (the kernel calls it a BUG)
    """
    A kernel-level bug report (``BUG:``/``WARNING:``) raised in strict mode. The report
    text is in the machine's dmesg either way; ``report`` carries it too.
    """

    def __init__(self, report: str) -> None:
        super().__init__(report.splitlines()[0] if report else "kernel bug")
        self.report = report


class KernelPanic(KernelBug):
    """panic(): the simulated kernel cannot go on (the "Kernel panic" line is in dmesg).
    Raised in every mode; the machine must not be used afterwards."""


class MMCorruptionError(AssertionError):
    """A validator found model state that the kernel's invariants forbid."""


class FreeListError(MMCorruptionError):
    """The buddy free lists disagree with struct page state or with nr_free."""


class CounterMismatchError(MMCorruptionError):
    """A maintained counter differs from the value recomputed from state."""
