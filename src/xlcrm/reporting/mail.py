"""The report as an e-mail: a mail-safe HTML body with its charts inline, the workbook attached.

``build_message`` makes a standard MIME message: ``multipart/mixed`` holding
``multipart/alternative`` (a plain-text part for mail readers that show no HTML, then
``multipart/related`` with the HTML part and the PNG charts it names by ``cid:``) and the
workbook; ``send`` hands it to an SMTP server. The password is read
from an environment variable at the moment of sending, never from the workbook or a file.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from ..errors import ReportError

__all__ = ["PASSWORD_VARIABLE", "SmtpSettings", "build_message", "send"]

#: the environment variable the SMTP password is read from
PASSWORD_VARIABLE = "XLCRM_SMTP_PASSWORD"
_XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send the report.

    Attributes:
        host: the SMTP server.
        port: its port (587 for STARTTLS, 25 for plain relays).
        starttls: upgrade the connection with STARTTLS before logging in.
        user: the login; the password comes from :data:`PASSWORD_VARIABLE`.
        timeout: seconds to wait for the server.
        context: the TLS context (default: the system's trusted certificates).
    """

    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    timeout: float = 30.0
    context: ssl.SSLContext | None = None


def build_message(*, subject: str, html: str, text: str, attachment: Path | None,
                  sender: str, to: Sequence[str],
                  images: Mapping[str, bytes] | None = None) -> EmailMessage:
    """A MIME message with a text part, the HTML part and the report workbook attached.

    Without recipients the message is marked unsent (``X-Unsent: 1``), so a mail program opens
    it as a draft to address and send.

    Args:
        subject, sender, to: the message's headers.
        html: the HTML part.
        text: the plain-text part.
        attachment: the file attached (the report workbook).
        images: content id -> PNG bytes, each placed beside the HTML part as an inline image
            that the HTML shows with ``<img src="cid:...">``.
    """
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    else:
        msg["X-Unsent"] = "1"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if images:
        html_part = msg.get_body(preferencelist=("html",))
        assert html_part is not None  # added just above
        for cid, data in images.items():
            html_part.add_related(data, maintype="image", subtype="png", cid=f"<{cid}>",
                                  disposition="inline", filename=f"{cid.split('@')[0]}.png")
    if attachment is not None:
        msg.add_attachment(attachment.read_bytes(), maintype=_XLSX[0], subtype=_XLSX[1],
                           filename=attachment.name)
    return msg


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send ``message`` through the SMTP server ``settings`` names.

    Raises:
        ReportError: the server can't be reached, refuses the login or the message, or a
            login is asked for without a password in :data:`PASSWORD_VARIABLE`.
    """
    if not message.get("To"):
        raise ReportError("the report e-mail has no recipient; give one with --mail-to")
    password = os.environ.get(PASSWORD_VARIABLE) if settings.user else None
    if settings.user and not password:
        raise ReportError(f"SMTP user {settings.user} needs a password: set the environment "
                          f"variable {PASSWORD_VARIABLE} (it is never stored in the workbook)")
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as server:
            server.ehlo()
            if settings.starttls:
                server.starttls(context=settings.context or ssl.create_default_context())
                server.ehlo()
            if settings.user and password:
                server.login(settings.user, password)
            server.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise ReportError(f"{where} refused the login of {settings.user}; check the user and "
                          f"{PASSWORD_VARIABLE}") from None
    except smtplib.SMTPNotSupportedError:
        raise ReportError(f"{where} does not offer STARTTLS; use --no-starttls only on a "
                          "server you trust on your own network") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ReportError(f"could not send the report through {where}: {exc}") from None
