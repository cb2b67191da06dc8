"""The JSON record of what out/ holds: one entry per output, no timestamps."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from handouts.fsutil import atomic_write

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """One output as built: where it is, what it is, and what it was built from."""

    path: str
    document: str
    brand: str
    lang: str
    variant: str
    version: str
    effective: str
    pages: int
    bytes: int
    sha256: str
    # Hash of the wording (document, list, messages, templates): printed in the footer.
    content_fingerprint: str
    # Hash of every input of the bytes: decides whether the output is stale.
    build_fingerprint: str


def read_manifest(out_dir: Path) -> dict[str, Entry]:
    """Return the entries of out_dir's manifest by path; empty when absent or unreadable."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text("utf-8"))
        if data.get("format") != FORMAT:
            return {}
        return {e["path"]: Entry(**e) for e in data["outputs"]}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write_manifest(out_dir: Path, entries: dict[str, Entry], generator: str) -> None:
    """Write the manifest atomically, sorted, so equal builds give equal bytes."""
    data = {
        "format": FORMAT,
        "generator": generator,
        "outputs": [asdict(entries[key]) for key in sorted(entries)],
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    atomic_write(out_dir / MANIFEST, text.encode("utf-8"))
