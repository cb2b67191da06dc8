"""The JSON record of what out/ holds: one entry per output, no timestamps."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from handouts.atomic import atomic_write
from handouts.confine import MAX_FILE_BYTES, hash_file, read_file
from handouts.errors import ProjectError
from handouts.render.formmap import map_path

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
    # A consent form's recorded geometry, out/formmaps/<id>.json (see render/formmap.py); "" for others.
    form_map: str = ""


def read_manifest(out_dir: Path) -> dict[str, Entry]:
    """Return the entries of out_dir's manifest by path; empty when absent or unreadable."""
    return read_record(out_dir)[0]


def read_record(out_dir: Path) -> tuple[dict[str, Entry], Any]:
    """The manifest's entries by path and its snapshot (see snapshot.py), if any."""
    path = out_dir / MANIFEST
    try:  # a regular file of bounded size (a manifest linked to /dev/zero is just unreadable)
        data = json.loads(read_file(path, None, str(path), MAX_FILE_BYTES).decode("utf-8"))
        if data.get("format") != FORMAT:
            return {}, None
        return {e["path"]: Entry(**e) for e in data["outputs"]}, data.get("snapshot")
    except (ProjectError, ValueError, TypeError, KeyError, AttributeError):
        return {}, None


def write_manifest(
    out_dir: Path, entries: dict[str, Entry], generator: str, snapshot: dict[str, Any] | None = None
) -> None:
    """Write the manifest atomically, sorted, so equal builds give equal bytes."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "generator": generator,
        "outputs": [asdict(entries[key]) for key in sorted(entries)],
    }
    if snapshot is not None:
        data["snapshot"] = snapshot
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    atomic_write(out_dir / MANIFEST, text.encode("utf-8"))


def file_matches(out: Path, entry: Entry | None) -> bool:
    """Whether the file an entry describes exists with the bytes it was written with (and its form map)."""
    if entry is None or not map_kept(out, entry):
        return False
    path = out / entry.path
    digest = hashlib.sha256()
    try:  # in chunks, a regular file only, never past the size the manifest says
        hash_file(digest, path, None, str(path), max(entry.bytes, 1))
    except ProjectError:
        return False
    return digest.hexdigest() == entry.sha256


def map_kept(out: Path, entry: Entry) -> bool:
    """Whether an entry's recorded form map, if it has one, is still in out/formmaps/."""
    return not entry.form_map or map_path(out, entry.form_map).is_file()


def is_current(out: Path, entry: Entry | None, wanted: str) -> bool:
    """Whether the file an entry describes exists unchanged and was built from `wanted`."""
    return entry is not None and entry.build_fingerprint == wanted and file_matches(out, entry)


def extra_files(out: Path, wanted: set[str]) -> list[str]:
    """PDFs at output depth (brand/lang/file.pdf) that are not among the wanted outputs."""
    if not out.is_dir():
        return []
    found = (p.relative_to(out).as_posix() for p in out.rglob("*.pdf") if p.is_file())
    # Packets and other files written below out/ by other commands are not catalogue outputs.
    return sorted(p for p in found if p not in wanted and p.count("/") == 2)
