"""Progress of a long command: done/total, rate and time left.

On a terminal a live bar (tqdm); elsewhere (CI, logs, a pipe) one plain line at most every few
seconds and one at the end, so that logs stay readable.
"""

import time

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 5.0


class Progress:
    """Track one step of a command and show how far it is."""

    def __init__(self, *, label: str, total: int, stream, unit: str = "rows"):
        """Show progress on ``stream``; None shows nothing (a command run with --verbosity 0)."""
        self.label, self.total, self.unit, self.stream = label, total, unit, stream
        self.done, self.started, self.shown = 0, time.monotonic(), 0.0
        self.bar = tqdm(total=total, desc=label, unit=unit, file=stream, dynamic_ncols=True,
                        leave=True) if _is_terminal(stream) else None

    def advance_to(self, done: int) -> None:
        """Record that ``done`` units are finished so far."""
        done = min(done, self.total)
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done
        due = time.monotonic() - self.shown >= PLAIN_EVERY_SECONDS
        if self.bar is None and self.stream is not None and due:
            self._line()

    def close(self) -> None:
        """Show the last state and release the terminal line."""
        if self.bar is not None:
            self.bar.close()
        elif self.stream is not None:
            self._line()

    def _line(self) -> None:
        self.shown = time.monotonic()
        self.stream.write(plain_line(label=self.label, done=self.done, total=self.total, unit=self.unit,
                                     seconds=self.shown - self.started) + "\n")
        self.stream.flush()


def plain_line(*, label: str, done: int, total: int, unit: str, seconds: float) -> str:
    """Return "label: 1,200/5,000 rows (600/s, about 6 s left)"."""
    rate = done / seconds if seconds > 0 else 0.0
    left = f", about {(total - done) / rate:.0f} s left" if rate and done < total else ""
    return f"{label}: {done:,}/{total:,} {unit} ({rate:,.0f}/s{left})"


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
