"""handouts: branded, printable patient documents from YAML content and Jinja templates."""

from __future__ import annotations

__version__ = "0.1.0"
