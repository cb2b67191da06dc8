"""Where a project's parts live (no content is loaded here, so it imports in no time)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handouts.confine import MAX_YAML_BYTES, read_file
from handouts.errors import ProjectError

CONFIG_FILE = "handouts.yaml"


@dataclass(frozen=True)
class Project:
    """Where a project's parts live."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def brands_dir(self) -> Path:
        return self.content / "brands"

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def fence(self) -> tuple[Path, ...]:
        """Where the project's own files must stay (confine.py): its templates/ and content/.

        From the resolved project folder, not from those folders resolved: a templates/ that
        is itself a link out of the project is refused like any file that is.
        """
        root = self.root.resolve()
        return (root / "templates", root / "content")

    @property
    def settings_fence(self) -> tuple[Path, ...]:
        """handouts.yaml's fence: the file itself, or a link into templates/ or content/."""
        return (self.root.resolve() / CONFIG_FILE, *self.fence)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def is_project(folder: Path) -> bool:
    """Whether folder looks like a handouts project (handouts.yaml or content/)."""
    return (folder / CONFIG_FILE).is_file() or (folder / "content").is_dir()


def find_project(start: Path) -> Project:
    """Return the project rooted at start (it must have handouts.yaml or content/)."""
    root = start.resolve()
    if not root.is_dir():
        raise ProjectError(
            "{root}: no such folder; run inside a project or pass {field} DIR", field="project", root=root
        )
    if not is_project(root):
        raise ProjectError(
            "{root}: not a handouts project (no handouts.yaml or content/); "
            "make one with `handouts init DIR`, or pass {field} DIR",
            field="project",
            root=root,
        )
    return Project(root)


def peek_settings(project: Project) -> dict[str, Any] | None:
    """handouts.yaml as plain data, without the settings model ({} when absent; None: unreadable).

    For the quick paths only (the snapshot); the full path validates the file with its model.
    """
    path = project.config_file
    if not os.path.lexists(path):
        return {}
    import yaml

    try:
        raw = read_file(path, project.settings_fence, CONFIG_FILE, MAX_YAML_BYTES)
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (ProjectError, yaml.YAMLError):
        return None  # the full path says what is wrong
    if data is None:
        return {}
    return data if isinstance(data, dict) else None
