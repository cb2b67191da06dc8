"""Count batches of file changes below some folders (the preview reloads when the count moves)."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path


class Watcher:
    """Count batches of file changes below some folders, in a daemon thread."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        self.changes = 0
        # A new prefix per run, so pages left open reload after a restart too.
        self.run_id = secrets.token_hex(4)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="handouts-watch", daemon=True)

    @property
    def version(self) -> str:
        return f"{self.run_id}-{self.changes}"

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        from watchfiles import watch

        self._ready.set()
        if not self.folders:
            return
        for _batch in watch(
            *self.folders, stop_event=self._stop, debounce=300, step=50, raise_interrupt=False
        ):
            self.changes += 1
