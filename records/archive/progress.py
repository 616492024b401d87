"""A small text progress bar for the archive commands (tqdm is not a dependency).

On a terminal the bar redraws one line; otherwise (a log file, a pipe) it prints a line at every
tenth of the way, so logs stay short.
"""

from __future__ import annotations

import shutil

__all__ = ["ProgressBar"]


class ProgressBar:
    """``ProgressBar(stream)(done, total, what)`` — the ``records.archive.export.Progress`` protocol."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_tenth = -1

    def __call__(self, done: int, total: int, what: str) -> None:
        total = max(total, 1)
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {done}/{total} {what}"
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + line[: columns - 1].ljust(columns - 1))
            if done >= total:
                self.stream.write("\n")
        else:
            tenth = 10 * done // total
            if tenth != self.last_tenth:
                self.last_tenth = tenth
                self.stream.write(line + "\n")
        self.stream.flush()
