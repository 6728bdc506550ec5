"""
The kernel log (kernel/printk/): a ring of ``(ts_ns, level, text)`` records rendered the
way ``dmesg`` prints them, ``[    5.123456] text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOGLEVEL_EMERG = 0
LOGLEVEL_ALERT = 1
LOGLEVEL_CRIT = 2
LOGLEVEL_ERR = 3
LOGLEVEL_WARNING = 4
LOGLEVEL_NOTICE = 5
LOGLEVEL_INFO = 6
LOGLEVEL_DEBUG = 7

#: __LOG_BUF_LEN with CONFIG_LOG_BUF_SHIFT=18: records beyond this are dropped oldest first
LOG_BUF_RECORDS = 1 << 14


@dataclass(slots=True)
class LogRecord:
    ts_ns: int
    level: int
    text: str

    def render(self) -> str:
        sec, ns = divmod(self.ts_ns, 1_000_000_000)
        return f"[{sec:5d}.{ns // 1000:06d}] {self.text}"


@dataclass(slots=True)
class KernelLog:
    """The printk ring buffer of one machine."""

    records: list[LogRecord] = field(default_factory=list)
    dropped: int = 0

    def log(self, ts_ns: int, level: int, text: str) -> None:
        for line in text.split("\n"):
            self.records.append(LogRecord(ts_ns, level, line))
        if len(self.records) > LOG_BUF_RECORDS:
            cut = len(self.records) - LOG_BUF_RECORDS
            del self.records[:cut]
            self.dropped += cut

    def text(self, level: int = LOGLEVEL_DEBUG) -> str:
        return "".join(r.render() + "\n" for r in self.records if r.level <= level)

    def mark(self) -> int:
        """A position to read new messages from (see ``since``)."""
        return len(self.records) + self.dropped

    def since(self, mark: int) -> str:
        start = max(0, mark - self.dropped)
        return "".join(r.text + "\n" for r in self.records[start:])
