"""The one rule for text any field may hold."""

from __future__ import annotations


def unstorable_text(value: str) -> str | None:
    """Why PostgreSQL could not store `value` as text (None if it can): it holds no NUL
    character, and JSON's escapes can smuggle in lone UTF-16 surrogates, which are not text.

    >>> unstorable_text("ok"), unstorable_text("a\\x00b")
    (None, 'cannot contain the NUL character')
    """
    if "\x00" in value:
        return "cannot contain the NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None
