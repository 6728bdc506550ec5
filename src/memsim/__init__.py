"""memsim: the Linux memory-management subsystem as an executable Python model."""
