"""A progress line for long replays: events done of total, rate, time left.

On a terminal it redraws one line in place; elsewhere (a log, CI) it prints a plain line at
most every few seconds, and a last one when done. It writes to stderr, so `--json` output on
stdout stays clean.
"""

import sys
import time
from typing import TextIO

WIDTH = 30


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TerminalProgress:
    def __init__(
        self, label: str, stream: TextIO | None = None, *, plain_every: float = 5.0
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.1 if self.tty else plain_every
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self.shown = 0.0
        self.finished = False

    def start(self, total: int) -> None:
        self.total, self.done, self.finished = total, 0, False
        self.started = time.monotonic()
        self._show(force=True)

    def advance(self, count: int) -> None:
        self.done += count
        if not self.finished:  # a last catch-up after the line was closed stays quiet
            self._show()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self._show(force=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def line(self) -> str:
        total = max(self.total, self.done)  # events appended meanwhile are replayed too
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        share = self.done / total if total else 1.0
        left = (total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(share * WIDTH)
        return (
            f"{self.label} [{bar:<{WIDTH}}] {self.done:,}/{total:,} events "
            f"{share:4.0%}  {rate:,.0f}/s  ETA {_duration(left)}"
        )

    def _show(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.shown < self.every:
            return
        self.shown = now
        if self.tty:
            self.stream.write(f"\r{self.line()}")
        else:
            self.stream.write(f"{self.line()}\n")
        self.stream.flush()
