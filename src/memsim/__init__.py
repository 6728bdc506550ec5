"""
memsim: the Linux memory-management subsystem as an executable, inspectable Python model
(algorithms of Linux 6.12 LTS, /proc formats of Linux 6.18).

``from memsim import Machine, GFP_KERNEL, PROT_READ, MAP_PRIVATE``; the GFP constants of
include/gfp.py and the mmap/madvise/mremap/mlock constants and errno names of
include/mman.py are re-exported here.
"""

from memsim.errors import ConfigError, KernelBug, MemsimError, MMCorruptionError
from memsim.include.gfp import *  # noqa: F403
from memsim.include.gfp import __all__ as _gfp_all
from memsim.include.mman import *  # noqa: F403
from memsim.include.mman import __all__ as _mman_all
from memsim.machine import Machine
from memsim.mm.memory import SignalDelivered

__all__ = ["Machine", "MemsimError", "ConfigError", "KernelBug", "MMCorruptionError",
           "SignalDelivered", *_gfp_all, *_mman_all]
