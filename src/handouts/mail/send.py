"""The one mail step of packets: settings checked before anything is made, each packet sent once.

`handouts packet --email`, every row of `handouts packets --email` and the front desk's Email
button all go through MailStep: the templates are compiled and the SMTP settings checked when
it is made, one connection serves a whole run, and the sent log (when given) keeps a re-run
from mailing anything twice. With eml_dir it writes .eml files instead (a dry run). on_sent
hears of every outcome (the consent register records them through it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from handouts.errors import HandoutsError
from handouts.mail.compose import Letter, check_templates, compose, sender_for, write_eml
from handouts.mail.sentlog import SentLog
from handouts.mail.smtp import Mailer, SendFailed

if TYPE_CHECKING:
    from handouts.content.catalogue import Catalogue

# "no email": the row has no address (a paper-only patient): nothing to send, nothing wrong.
Status = Literal["sent", "already sent", "written", "not sent", "no email"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""  # the reason when not sent, the .eml path when written
    fixable: bool = False  # not sent because of the input or settings, not the server

    @property
    def ok(self) -> bool:
        return self.status != "not sent"

    def __str__(self) -> str:
        if self.status == "no email":
            return "not sent: no email"
        return f"{self.status}: {self.detail}" if self.detail else self.status


@dataclass(frozen=True)
class Sent:
    """What the mail step did with one letter (the address is held in memory only)."""

    letter: Letter
    recipient: str
    outcome: Outcome
    channel: Literal["smtp", "eml"]


class MailStep:
    """Send packets over SMTP (or write them as .eml files into eml_dir), each at most once."""

    def __init__(
        self, cat: Catalogue, eml_dir: Path | None = None, on_sent: Callable[[Sent], None] | None = None
    ) -> None:
        """Check the templates and the settings now: raise before any packet is made.

        on_sent: called with every outcome, sent or not; what it raises reaches the caller
        of send (the letter's outcome stands: see Sent).
        """
        check_templates(cat)
        self.cat = cat
        self.eml_dir = eml_dir
        self.on_sent = on_sent
        self.mailer = None if eml_dir is not None else Mailer.from_config(cat)

    def __enter__(self) -> MailStep:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.mailer is not None:
            self.mailer.close()

    def send(self, letter: Letter, recipient: str, sent_log: SentLog | None = None) -> Outcome:
        """Write the letter as .eml, or send it unless the sent log says it went out already."""
        try:
            outcome = self._deliver(letter, recipient, sent_log)
        except HandoutsError:
            self._heard(letter, recipient, Outcome("not sent", fixable=True))  # the letter itself failed
            raise
        self._heard(letter, recipient, outcome)
        return outcome

    def _heard(self, letter: Letter, recipient: str, outcome: Outcome) -> None:
        if self.on_sent is not None:
            self.on_sent(Sent(letter, recipient, outcome, "eml" if self.eml_dir is not None else "smtp"))

    def _deliver(self, letter: Letter, recipient: str, sent_log: SentLog | None) -> Outcome:
        key = SentLog.key(recipient, letter.pdf)
        if self.eml_dir is None and sent_log is not None and key in sent_log:
            return Outcome("already sent")
        msg = compose(self.cat, letter, recipient, sender_for(self.cat, letter.brand))
        if self.eml_dir is not None:
            return Outcome("written", str(write_eml(self.eml_dir, msg, letter.file_name)))
        assert self.mailer is not None
        try:
            self.mailer.send(msg, recipient)
        except SendFailed as exc:
            return Outcome("not sent", exc.reason)
        if sent_log is not None:
            sent_log.add(key)
        return Outcome("sent")
