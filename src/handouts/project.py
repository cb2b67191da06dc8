"""Where a project's parts live (no content is loaded here, so it imports in no time)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None
    if data is None:
        return {}
    return data if isinstance(data, dict) else None
