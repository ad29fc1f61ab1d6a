"""One redaction rule for every message, log line, metadata value and chained exception.

No password, key or token leaves a process in text we make: URL user-info (`//user:pw@` and
`//token@`), secret-looking query parameters (`?token=`, `X-Amz-Signature=`), secret headers
(`X-Riot-Token:`, `Authorization:`), libpq `password=` options, Riot keys (`RGAPI-...`), and the
value of every environment variable whose name says it holds a secret (`*_PASSWORD`, `*_TOKEN`,
`*_KEY`, `*_SECRET`) or whose URL carries a password (`*_URL`, `*_URI`), wherever the value
turns up. `redacted_cause(exc)` is what to chain instead of a third-party exception whose
message may repeat a URI with its password (`raise Ours(...) from redacted_cause(exc)`).
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

MASK = "***"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|_KEY$|^KEY$|API_KEY|CREDENTIAL)", re.I)
URL_NAME = re.compile(r"(_URL|_URI|_DSN)$", re.I)
SECRET_PARAM = (
    r"(?:password|passwd|pwd|pass|token|access_token|api_key|apikey|key|secret|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|sig|auth)"
)
PATTERNS = [
    # scheme://user:password@host and scheme://token@host
    (
        re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]*(?=@)", re.I),
        r"\g<pre>" + MASK,
    ),
    (re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://)[^/\s:@'\"]+(?=@)", re.I), r"\g<pre>" + MASK),
    # ?token=... &password=...
    (re.compile(rf"(?P<pre>[?&;]{SECRET_PARAM}=)[^&\s'\"#]*", re.I), r"\g<pre>" + MASK),
    # libpq key=value strings: password=... / password='...'
    (re.compile(r"(?P<pre>\bpassword\s*=\s*)('[^']*'|\S+)", re.I), r"\g<pre>" + MASK),
    # headers as printed in logs or reprs
    (
        re.compile(
            r"(?P<pre>\b(?:x-riot-token|x-auth-token|authorization|x-api-key|cookie)['\"]?\s*[:=]\s*"
            r"['\"]?(?:bearer\s+|basic\s+|token\s+)?)[^\s'\",}]+",
            re.I,
        ),
        r"\g<pre>" + MASK,
    ),
    (re.compile(r"RGAPI-[0-9A-Za-z-]{6,}"), "RGAPI-" + MASK),
]


def _env_secrets() -> list[str]:
    """Secret values this process was configured with, longest first (never shorter than 4)."""
    found: set[str] = set()
    for name, value in os.environ.items():
        if not value:
            continue
        if SECRET_NAME.search(name) and not URL_NAME.search(name):
            found.add(value)
        elif URL_NAME.search(name) or "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.update({password, unquote(password)})
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def redact(text: object) -> str:
    """`text` as a string with every secret replaced by ***."""
    out = str(text)
    for pattern, replacement in PATTERNS:
        out = pattern.sub(replacement, out)
    for secret in _env_secrets():
        out = out.replace(secret, MASK)
    return out


def first_line(exc: BaseException) -> str:
    """An exception's first line of message, redacted (its type name when it has no message): what
    a one-line error says about its cause."""
    text = str(exc).strip()
    return redact(text.splitlines()[0]) if text else type(exc).__name__


class RedactedError(Exception):
    """Stands in for a library's exception in a chain: its type name and redacted message."""


def redacted_cause(exc: BaseException) -> RedactedError:
    cause = RedactedError(f"{type(exc).__name__}: {redact(exc)}")
    cause.__suppress_context__ = True
    return cause
