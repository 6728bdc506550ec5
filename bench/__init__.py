"""memsim benchmarks (run with ``memsim bench``); results and commands in BENCHMARKS.md."""
