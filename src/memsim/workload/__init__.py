"""
Page-access workloads (issue #6): trace readers (trace.py), synthetic generators
(generators.py), the runner that replays them into a process of a booted machine and records
the vmstat/meminfo time series (runner.py), and the libCacheSim comparison (compare.py).
The CLI is cli/workload.py (``memsim workload``); the plain LRU policy is mm/lru_plain.py.
"""

from memsim.workload.generators import KINDS, generate
from memsim.workload.runner import WorkloadResult, run_trace
from memsim.workload.trace import FORMATS, AccessTrace, TraceError, load_trace

__all__ = ["AccessTrace", "TraceError", "FORMATS", "KINDS", "generate", "load_trace",
           "run_trace", "WorkloadResult"]
