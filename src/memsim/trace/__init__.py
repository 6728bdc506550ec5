"""Tracepoints and ftrace text I/O (the kernel's include/trace/ and kernel/trace/)."""
