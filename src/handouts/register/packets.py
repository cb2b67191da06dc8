"""What the register records of a packet and of its message, from the stages' own objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handouts.register.record import Issued, MessageSent, PacketMade, PatientKey

if TYPE_CHECKING:
    from handouts.mail.send import Sent
    from handouts.packet.make import Packet
    from handouts.packet.request import PacketRequest, Patient


def variant(request: PacketRequest) -> str:
    """print | fillable | large-print | fillable-large-print."""
    if request.fillable:
        return "fillable-large-print" if request.large_print else "fillable"
    return "large-print" if request.large_print else "print"


def packet_made(packet: Packet, request: PacketRequest, source: str) -> PacketMade:
    """The register's record of a packet made for request (no patient data in it)."""
    return PacketMade(
        packet_id=packet.packet_id,
        brand=packet.brand,
        lang=packet.lang,
        variant=variant(request),
        documents=tuple(Issued(*doc) for doc in packet.issued),
        appointment=request.patient.date,
        therapist=request.patient.therapist,
        source=source,
    )


def patient_key(patient: Patient) -> PatientKey:
    """The chart number, and name + date of birth for the keyed hash (never stored)."""
    return PatientKey(ref=patient.ref, name=patient.name, dob=patient.dob)


def message_sent(sent: Sent, source: str) -> tuple[MessageSent, PatientKey | None]:
    """The register's record of what the mail step did (the address only as a keyed hash)."""
    event = MessageSent(sent.letter.packet_id, sent.recipient, sent.outcome.status, sent.channel, source)
    ref = sent.letter.patient_ref
    return event, PatientKey(ref) if ref else None
