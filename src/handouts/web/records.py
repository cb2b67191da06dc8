"""The front desk's use of the consent register: one Register per app, a pseudonymous actor per session."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import session

from handouts.web.csrf import SESSION_KEY
from handouts.web.state import state

if TYPE_CHECKING:
    from handouts.intake.screen import ScreenResult
    from handouts.mail.send import Sent
    from handouts.packet.make import Packet
    from handouts.packet.request import PacketRequest
    from handouts.register.query import Entry
    from handouts.register.record import Register

OFF = "off"  # WebState.register once handouts.yaml is found to turn the register off


def register() -> Register | None:
    """The project's register (opened once per app), or None when handouts.yaml turns it off."""
    from handouts.register.record import Register, open_register

    web = state()
    if web.register is None:
        web.register = open_register(web.project.root) or OFF
    return web.register if isinstance(web.register, Register) else None


def actor() -> str:
    """web:<id>: the browser session, as a hash of its CSRF secret (never the secret itself)."""
    secret = str(session.get(SESSION_KEY, ""))
    return "web:" + hashlib.sha256(f"handouts-actor\0{secret}".encode()).hexdigest()[:12]


def record_packet(made: Packet, request_: PacketRequest) -> None:
    from handouts.register.hooks import record_packet as record

    record(register(), made, request_, "web", actor())


def mail_recorder() -> Callable[[Sent], None] | None:
    """The mail step's hook recording the front desk's messages (None when the register is off)."""
    from handouts.register.hooks import mail_recorder as recorder

    return recorder(register(), "web", actor)


def record_return(result: ScreenResult) -> None:
    from handouts.register.hooks import record_return as record

    record(register(), result, "web", actor=actor())


def history(ref: str) -> list[Entry] | None:
    """The patient's last packets and returned forms (None when the register is off)."""
    from handouts.register.query import history as query

    reg = register()
    return None if reg is None else query(reg, ref)
