"""Send packet emails over SMTP, at most once each: a sent log remembers what went out.

The log (sent-log.json in the packets folder) holds one sha256 of recipient + packet sha256
per message sent, and the time: nothing a reader could turn back into a patient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from handouts.errors import ProjectError, UsageError

if TYPE_CHECKING:
    import smtplib

    from handouts.content import Catalogue
    from handouts.mail import Letter
    from handouts.models import SmtpSettings

log = logging.getLogger(__name__)

SENT_LOG = "sent-log.json"


class SendFailed(Exception):
    """One message was not sent; reason is one line without the recipient's address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Mailer:
    """One SMTP connection, opened on first use; a failed connection fails every later send fast."""

    settings: SmtpSettings
    password: str | None = None
    _smtp: smtplib.SMTP | None = field(default=None, repr=False)
    _broken: str | None = None

    @classmethod
    def from_config(cls, cat: Catalogue) -> Mailer:
        """A mailer for the project's smtp settings; raise ProjectError when they cannot work."""
        settings = cat.config.smtp
        if settings is None:
            raise ProjectError(
                "handouts.yaml: no 'smtp:' settings to send with; add host and from "
                "(see README), or write .eml files with --eml DIR"
            )
        password = None
        if settings.password_env:
            password = os.environ.get(settings.password_env)
            if not password:
                raise ProjectError(
                    f"smtp.password_env: the environment variable {settings.password_env} is not set; "
                    "set it to the SMTP password before sending"
                )
        return cls(settings, password)

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        import smtplib

        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, msg: EmailMessage, recipient: str) -> None:
        """Send msg to recipient alone; raise SendFailed with a reason to show."""
        import smtplib

        for attempt in (1, 2):
            smtp = self._connection()
            try:
                smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[recipient])
                return
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()), (0, b""))[0]
                raise SendFailed(f"recipient refused ({code})") from None
            except smtplib.SMTPSenderRefused as exc:
                raise SendFailed(
                    f"sender {self.settings.sender} refused ({exc.smtp_code}); check smtp.from"
                ) from None
            except smtplib.SMTPDataError as exc:
                raise SendFailed(f"message refused ({exc.smtp_code})") from None
            except TimeoutError:
                self._smtp = None
                raise SendFailed(f"the server did not answer within {self.settings.timeout:g} s") from None
            except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                # A server may drop an idle connection between messages: reconnect once.
                self._smtp = None
                if _timed_out(exc):
                    wait = self.settings.timeout
                    raise SendFailed(f"the server did not answer within {wait:g} s") from None
                if attempt == 2:
                    raise SendFailed(f"the server closed the connection ({_reason(exc)})") from None
            except (smtplib.SMTPException, OSError) as exc:
                self._smtp = None
                raise SendFailed(_reason(exc)) from None
        raise AssertionError("unreachable")

    def _connection(self) -> smtplib.SMTP:
        if self._broken:
            raise SendFailed(self._broken)
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except SendFailed as exc:
                self._broken = exc.reason
                raise
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        import smtplib
        import socket
        import ssl

        s = self.settings
        where = f"{s.host}:{s.effective_port}"
        context = ssl.create_default_context()
        log.info("connecting to %s (%s)", where, s.security)
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
            if s.security == "starttls":
                smtp.starttls(context=context)
            if s.username and self.password is not None:
                smtp.login(s.username, self.password)
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise SendFailed(
                f"login to {where} refused ({exc.smtp_code}); check smtp.username and ${s.password_env}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(smtp)
            what = "STARTTLS" if s.security == "starttls" else "login"
            raise SendFailed(f"{where} does not offer {what}; check smtp.security") from None
        except socket.gaierror:
            raise SendFailed(f"cannot find the mail server {s.host}; check smtp.host") from None
        except ConnectionRefusedError:
            raise SendFailed(f"cannot connect to {where} (connection refused)") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            _close(smtp)
            if _timed_out(exc):
                raise SendFailed(f"{where} did not answer within {s.timeout:g} s") from None
            raise SendFailed(f"{where} closed the connection; check smtp.port and smtp.security") from None
        except ssl.SSLError as exc:
            _close(smtp)
            raise SendFailed(f"secure connection to {where} failed ({exc.reason or exc})") from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(smtp)
            raise SendFailed(f"{where}: {_reason(exc)}") from None


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _timed_out(exc: BaseException) -> bool:
    # smtplib turns a read time-out into SMTPServerDisconnected("... timed out").
    return isinstance(exc, TimeoutError) or str(exc).endswith("timed out")


def _reason(exc: BaseException) -> str:
    """A short reason; never the server's text, which may repeat the recipient's address."""
    code = getattr(exc, "smtp_code", None)
    if code:
        return f"{type(exc).__name__} ({code})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


class SentLog:
    """What went out from one folder, as sha256(recipient + packet sha256) -> time sent."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SENT_LOG
        self.sent: dict[str, str] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text("utf-8"))
                sent = data["sent"]
                assert isinstance(sent, dict)
                self.sent = {str(k): str(v) for k, v in sent.items()}
            except (OSError, ValueError, KeyError, TypeError, AssertionError):
                raise UsageError(
                    f"{self.path}: not a sent log handouts can read; without it, packets in this "
                    "folder could be sent twice: restore it, or move it away to send everything again"
                ) from None

    @staticmethod
    def key(recipient: str, pdf: bytes) -> str:
        packet = hashlib.sha256(pdf).hexdigest()
        return hashlib.sha256(f"{recipient.strip().lower()}\0{packet}".encode()).hexdigest()

    def __contains__(self, key: str) -> bool:
        return key in self.sent

    def add(self, key: str) -> None:
        from handouts.fsutil import atomic_write

        self.sent[key] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data = {"format": 1, "sent": self.sent}
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), 0o600)


Status = Literal["sent", "already sent", "written", "not sent"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""  # the reason when not sent, the .eml path when written
    fixable: bool = False  # not sent because of the input or settings, not the server

    @property
    def ok(self) -> bool:
        return self.status != "not sent"

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


def deliver(
    cat: Catalogue,
    letter: Letter,
    recipient: str,
    *,
    mailer: Mailer | None = None,
    sent_log: SentLog | None = None,
    eml_dir: Path | None = None,
) -> Outcome:
    """Write letter as .eml (eml_dir), or send it unless the sent log says it went out already."""
    from handouts.mail import compose, sender_for, write_eml

    key = SentLog.key(recipient, letter.pdf)
    if eml_dir is None and sent_log is not None and key in sent_log:
        return Outcome("already sent")
    msg = compose(cat, letter, recipient, sender_for(cat, letter.brand))
    if eml_dir is not None:
        return Outcome("written", str(write_eml(eml_dir, msg, letter.file_name)))
    assert mailer is not None
    try:
        mailer.send(msg, recipient)
    except SendFailed as exc:
        return Outcome("not sent", exc.reason)
    if sent_log is not None:
        sent_log.add(key)
    return Outcome("sent")
