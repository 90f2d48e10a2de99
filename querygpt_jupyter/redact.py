"""Secrets out of every message: the one scrubbing function, applied where errors are made
(`QueryGPTError`), where turns are recorded (history) and on the "querygpt" logger.

A model server may echo the rejected API key in a 401 body; a driver may quote the connection URL
with its password. Both reach error messages, `--json`, the notebook and the history unless
scrubbed. What counts as a secret: every API key or password in the environment (the variable
named by `Ask.key_env` and those LiteLLM's providers read — any name ending in _KEY, _TOKEN,
_SECRET or PASSWORD), every password of a connection opened in this process, and the password
part of anything URL-like.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import urllib.parse
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4   # shorter values would mask ordinary words and digits

# Environment variables whose values are secrets. Covers OPENAI_API_KEY, ANTHROPIC_API_KEY,
# AZURE_API_KEY, GEMINI_API_KEY, HF_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, PGPASSWORD,
# DATABRICKS_TOKEN, WATSONX_APIKEY, … and whatever `Ask.key_env` names (see `remember_env`).
_SECRET_NAME = re.compile(r"(API_?KEY|_KEY|TOKEN|SECRET|SECRET_ACCESS_KEY|PASSWORD|PASSWD|_PWD|APIKEY)$", re.I)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@", re.I)
# The shapes of keys that must never be shown even when no variable holds them (a key typed into
# a URL or a header): OpenAI/Anthropic-style sk-…, "Bearer …", "api_key=…".
_KEY_SHAPES = re.compile(
    r"(\bsk-[A-Za-z0-9_\-]{8,})|((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]{8,}|"
    r"((?:api[_-]?key|password|passwd|pwd|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]{4,}",
    re.I,
)

_lock = threading.Lock()
_remembered: set[str] = set()     # passwords of connections opened in this process
_key_envs: set[str] = set()       # variable names configured as Ask.key_env


def remember(secret: str | None) -> None:
    """Scrub `secret` (a connection password) from every later message of this process."""
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        with _lock:
            _remembered.add(secret)


def remember_url(url: Any) -> None:
    """Remember the passwords of a connection URL (string or SQLAlchemy URL): the user-info part
    and query parameters such as ?password=… that some drivers take."""
    if isinstance(url, str):
        try:
            parts = urllib.parse.urlsplit(url)
            password, query = parts.password, urllib.parse.parse_qsl(parts.query)
        except ValueError:
            return
        remember(urllib.parse.unquote(password) if password else None)
    else:
        password = getattr(url, "password", None)
        remember(str(password) if password is not None else None)
        query = list((getattr(url, "query", None) or {}).items())
    for name, value in query:
        if _SECRET_NAME.search(name.upper()) or name.lower() in ("password", "passwd", "pwd", "token", "secret"):
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                remember(str(item))


def remember_env(name: str | None) -> None:
    """`Ask.key_env`: that variable's value is a secret whatever its name."""
    if name:
        with _lock:
            _key_envs.add(name)


def secrets() -> list[str]:
    """Every known secret value, longest first (so a key that contains another is masked whole)."""
    found = {value for name, value in os.environ.items()
             if value and len(value) >= MIN_SECRET_LENGTH and (_SECRET_NAME.search(name) or name in _key_envs)}
    with _lock:
        found |= _remembered
    variants = set()
    for value in found:
        variants.add(value)
        variants.add(urllib.parse.quote(value, safe=""))
        variants.add(urllib.parse.quote_plus(value))
    return sorted((v for v in variants if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def scrub(text: Any, shapes: bool = True) -> Any:
    """`text` with every secret masked; non-strings are returned as they are. `shapes=False`
    masks only known secret values and URL passwords, not things shaped like keys (for SQL,
    where `password = 'abcd'` may be a legitimate filter)."""
    if not isinstance(text, str) or not text:
        return text
    for secret in secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    return _KEY_SHAPES.sub(_mask_shape, text) if shapes else text


def _mask_shape(match: re.Match) -> str:
    if match.group(1):
        return "sk-" + MASK
    prefix = match.group(2) or match.group(3) or ""
    return prefix + MASK


def scrub_data(value: Any) -> Any:
    """`scrub` applied to every string inside dicts and lists (records, JSON payloads)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_data(v) for v in value)
    return value


class ScrubFilter(logging.Filter):
    """Masks secrets in the message and the traceback of every record of the "querygpt" logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw text
            message = str(record.msg)
        record.msg, record.args = scrub(message), ()
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_filter() -> None:
    logger = logging.getLogger("querygpt")
    if not any(isinstance(f, ScrubFilter) for f in logger.filters):
        logger.addFilter(ScrubFilter())


install_log_filter()
