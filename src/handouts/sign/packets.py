"""The last step of a fillable packet in a project that signs: its certification.

Called by every face that makes packets (the `packet` and `packets` commands, the front
desk) after encrypting, so that nothing rewrites the packet once it is certified. pyHanko
is imported only here, and only when the project signs and the packet is fillable.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from handouts.errors import ProjectError

if TYPE_CHECKING:
    from handouts.packet.make import Packet


def finish(
    root: Path,
    packet: Packet,
    data: bytes,
    fillable: bool,
    password: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> bytes:
    """data (the packet's bytes, maybe encrypted) certified if the project signs fillable packets."""
    if not fillable or not packet.signing:
        return data
    from handouts.sign.certify import certify
    from handouts.sign.identity import SnapshotSigning, load_identity

    try:
        settings = SnapshotSigning.from_json(packet.signing)
    except (KeyError, TypeError) as exc:  # the snapshot held settings validate had accepted
        raise ProjectError("handouts.yaml: signing: run `handouts validate`, then build again") from exc
    return certify(data, load_identity(root, settings, environ), password)
