"""One SMTP connection for a run of messages, with failures as one-line reasons (no addresses)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING

from handouts.errors import ProjectError

if TYPE_CHECKING:
    import smtplib

    from handouts.content.catalogue import Catalogue
    from handouts.content.models import SmtpSettings

log = logging.getLogger(__name__)


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
                "(see README), or write .eml files with {field} DIR",
                field="eml",
                code="no-settings",
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
