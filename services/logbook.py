"""The latest lines of the server log, kept in memory for Scope's log panel (`/api/v1/logs/tail` and `current`)."""
from __future__ import annotations

import logging
import threading
from collections import deque

# Scope's log format: its log panel finds the level between ' - ' marks
LINE_FORMAT = '%(asctime)s - %(name)s - %(levelname)s - %(message)s'


class LogBook(logging.Handler):
    """A ring buffer of formatted log lines; positions count every line since start, so a reader asks for what came
    after the position it has seen."""

    def __init__(self, capacity: int = 5000, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter(LINE_FORMAT))
        self.lines: deque[str] = deque(maxlen=capacity)
        self.total = 0  # lines written since start
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.guard:
            for line in text.splitlines() or ['']:
                self.lines.append(line)
                self.total += 1

    def tail(self, count: int, since: int = 0) -> tuple[list[str], int]:
        """Up to `count` lines after position `since` (the last `count` lines for 0, or a position from before a
        restart), and the position after them."""
        with self.guard:
            lines, total = list(self.lines), self.total
        if 0 < since <= total:
            lines = lines[max(0, len(lines) - (total - since)):]
        lines = [line for line in lines if line.strip()]
        return lines[-count:], total

    def text(self) -> str:
        """Every line kept, as one text."""
        with self.guard:
            return '\n'.join(self.lines) + ('\n' if self.lines else '')

    def install(self, logger: logging.Logger | None = None) -> None:
        """Listen to `logger` (the root logger), replacing a log book installed before."""
        logger = logger or logging.getLogger()
        for handler in list(logger.handlers):
            if isinstance(handler, LogBook):
                logger.removeHandler(handler)
        logger.addHandler(self)
