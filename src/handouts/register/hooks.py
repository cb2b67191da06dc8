"""The register wired into the stages that record: a packet made, a message, a form back, a day's CSV.

The faces (cli/, web/) call these with the project's register (None when handouts.yaml turns
it off: then nothing is recorded). The stages themselves import no database code: the batch
and the mail step take these as hooks. Only the consent check of a day's CSV loads SQLAlchemy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from handouts.register.packets import message_sent, packet_made, patient_key
from handouts.register.record import PatientKey, Register
from handouts.register.returns import form_returned

if TYPE_CHECKING:
    from handouts.intake.screen import ScreenResult
    from handouts.mail.send import Sent
    from handouts.packet.batch import BatchOptions
    from handouts.packet.make import Packet
    from handouts.packet.request import PacketRequest


def record_packet(
    register: Register | None, packet: Packet, request: PacketRequest, source: str, actor: str | None = None
) -> None:
    """Record a packet made (call it before the file is written or handed out)."""
    if register is not None:
        register.record(packet_made(packet, request, source), patient_key(request.patient), actor)


def record_return(
    register: Register | None,
    result: ScreenResult,
    source: str,
    ref: str | None = None,
    archive: bytes | None = None,
    actor: str | None = None,
) -> None:
    """Record a form read back (an unreadable one is not: there is nothing to say whose it is).

    ref: the chart number, for a form that came in no packet; archive: the archive's bytes.
    """
    event = form_returned(result, source, archive) if register is not None else None
    if register is not None and event is not None:
        register.record(event, PatientKey(ref) if ref else None, actor)


def mail_recorder(
    register: Register | None, source: str, actor: Callable[[], str] | None = None
) -> Callable[[Sent], None] | None:
    """The mail step's on_sent hook that records each message (None when the register is off)."""
    if register is None:
        return None

    def record(sent: Sent) -> None:
        event, patient = message_sent(sent, source)
        register.record(event, patient, actor() if actor is not None else None)

    return record


def consent_warnings(register: Register, current: dict[str, str], refs: list[str]) -> dict[str, str]:
    """Per chart number, why that patient must sign the consent form again (none: not listed)."""
    from handouts.register.query import reconsent

    warnings: dict[str, list[str]] = {}
    for r in reconsent(register, current, refs):
        last = f"last signed v{r.latest_version}" if r.latest_version else "none signed yet"
        warnings.setdefault(r.patient_ref, []).append(f"{r.document} ({last}, current v{r.current_version})")
    return {ref: "must sign the consent form again: " + "; ".join(w) for ref, w in warnings.items()}


def batch_hooks(register: Register | None, options: BatchOptions) -> BatchOptions:
    """A day's options with the register's hooks: each packet, each message, the consent check."""
    if register is None:
        return options

    def made(packet: Packet, request: PacketRequest) -> None:
        record_packet(register, packet, request, "batch")

    def check(current: dict[str, str], refs: list[str]) -> dict[str, str]:
        return consent_warnings(register, current, refs)

    return dataclasses.replace(
        options, on_made=made, on_mailed=mail_recorder(register, "batch"), consent_check=check
    )
