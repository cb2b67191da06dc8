"""Where a project's parts live (no content is loaded here, so it imports in no time)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def find_project(start: Path) -> Project:
    """Return the project rooted at start (it must have content/ and templates/)."""
    root = start.resolve()
    missing = [name for name in ("content", "templates") if not (root / name).is_dir()]
    if missing:
        raise ProjectError(
            "{root}: not a handouts project (no {missing}/ folder); run inside one or pass {field} DIR",
            field="project",
            root=root,
            missing=" or ".join(missing),
        )
    return Project(root)
