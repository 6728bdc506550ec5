"""
memsim: the Linux memory-management subsystem as an executable, inspectable Python model
(algorithms of Linux 6.12 LTS, /proc formats of Linux 6.18).

``from memsim import Machine, GFP_KERNEL``; the GFP constants of include/gfp.py are
re-exported here.
"""

from memsim.errors import ConfigError, KernelBug, MemsimError, MMCorruptionError
from memsim.include.gfp import *  # noqa: F403
from memsim.include.gfp import __all__ as _gfp_all
from memsim.machine import Machine

__all__ = ["Machine", "MemsimError", "ConfigError", "KernelBug", "MMCorruptionError",
           *_gfp_all]
