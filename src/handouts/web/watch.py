"""Count batches of file changes below some folders (the preview reloads when the count moves)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from handouts.errors import HandoutsError
from handouts.layers import peeked
from handouts.project import CONFIG_FILE, Project

# Below a project's root only these count: out/ and other files do not reload the preview.
PROJECT_PARTS = ("content", "templates", CONFIG_FILE)


def watched_folders(project: Project) -> list[Path]:
    """The project's root (so a new templates/ is seen) and its packaged layers' folders."""
    try:
        roots = peeked(project).roots()
    except HandoutsError:  # a theme that is not installed: the pages say so
        roots = []
    top = project.root.resolve()
    return [project.root, *(root for root in roots if not root.resolve().is_relative_to(top))]


def _filter(project_root: Path | None) -> Callable[[object, str], bool]:
    top = project_root.resolve() if project_root is not None else None

    def accept(change: object, path: str) -> bool:
        resolved = Path(path).resolve()
        if "__pycache__" in resolved.parts:
            return False
        if top is None or not resolved.is_relative_to(top):
            return True
        parts = resolved.relative_to(top).parts
        return bool(parts) and parts[0] in PROJECT_PARTS

    return accept


class Watcher:
    """Count batches of file changes below some folders, in a daemon thread.

    project_root: a watched folder below which only content/, templates/ and handouts.yaml count.
    """

    def __init__(self, folders: list[Path], project_root: Path | None = None) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        self.project_root = project_root
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
            *self.folders,
            watch_filter=_filter(self.project_root),
            stop_event=self._stop,
            debounce=300,
            step=50,
            raise_interrupt=False,
        ):
            self.changes += 1
