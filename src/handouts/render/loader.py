"""The Jinja loader of every template: each name is looked up through the project's layers.

Every load (a document's template, and each include, import and extends) goes through
`Layers.find` and `layers.read`: a name that the project serves with a link out of its
folders, or with a device or pipe, raises confine.RefusedFile naming the file, never its bytes.

`templates/base.html.j2` in the project replaces the theme's `base.html.j2` and nothing else;
a template the project does not have comes from its theme, then from the built-in theme. Jinja
records the file that served each template, so errors name the project's file and line when
the project's file is the one that broke.
"""

from __future__ import annotations

from collections.abc import Callable

import jinja2

from handouts.errors import HandoutsError
from handouts.layers import Layers, read


class LayeredLoader(jinja2.BaseLoader):
    """Load `folder/NAME` through the layers (folder: "templates", or "templates/email")."""

    def __init__(self, layers: Layers, folder: str = "templates") -> None:
        self.layers = layers
        self.folder = folder

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        rel = f"{self.folder}/{template}"
        try:
            source = self.layers.find(rel)
        except ValueError:  # '..' or an absolute name: not a project path
            raise jinja2.TemplateNotFound(template) from None
        if source is None:
            raise jinja2.TemplateNotFound(template)
        # A refused file (confine.RefusedFile) is not "not found": it propagates, naming the file.
        data = read(source)
        try:
            mtime = source.path.stat().st_mtime_ns
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise jinja2.TemplateNotFound(template, f"{source.path}: cannot read: {exc}") from None

        def uptodate() -> bool:
            # Stale when edited, and when another layer's file now serves the name (a new override);
            # a file refused now is stale too, so the next load says why.
            try:
                now = self.layers.find(rel)
                return now is not None and now.path == source.path and source.path.stat().st_mtime_ns == mtime
            except (OSError, HandoutsError):
                return False

        return text, str(source.path), uptodate

    def list_templates(self) -> list[str]:
        prefix = self.folder + "/"
        return [s.rel.removeprefix(prefix) for s in self.layers.listing(self.folder, "**/*.j2")]
