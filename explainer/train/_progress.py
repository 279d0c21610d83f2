"""A one-line text progress bar for the training commands (no dependency, redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``[#########...........]  45%  step 90/200  loss 0.512  12 s`` on ``stream``, updated per step.

    On a terminal the line is redrawn in place at most every 0.2 s; elsewhere (a log file, CI) a line
    is written at every tenth of the way, so logs stay short. :meth:`close` writes the final line.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = Progress(4, "demo", stream=out, width=8)
        >>> for _ in range(4):
        ...     bar.step(loss=0.5)
        >>> bar.close()
        >>> out.getvalue().splitlines()[-1].split("]")[0]
        'demo [########'
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.label, self.width = max(int(total), 1), label, width
        self.stream = stream if stream is not None else sys.stderr
        self.done, self.start, self._shown, self._tenth = 0, time.perf_counter(), 0.0, -1
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.loss: float | None = None

    def step(self, n: int = 1, loss: float | None = None) -> None:
        """Count ``n`` steps done; ``loss`` (the last batch's) is shown beside the bar."""
        self.done = min(self.done + n, self.total)
        if loss is not None:
            self.loss = loss
        now = time.perf_counter()
        tenth = 10 * self.done // self.total
        if self._live and now - self._shown >= 0.2:
            self._shown = now
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif not self._live and tenth != self._tenth:
            self._tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        """The bar as text."""
        filled = self.width * self.done // self.total
        loss = f"  loss {self.loss:.3f}" if self.loss is not None else ""
        return (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {100 * self.done // self.total:3d}%  "
                f"step {self.done}/{self.total}{loss}  {time.perf_counter() - self.start:.0f} s")

    def close(self) -> None:
        """Write the final line (and end the in-place line on a terminal)."""
        self.stream.write(("\r" if self._live else "") + self.line() + "\n")
        self.stream.flush()
