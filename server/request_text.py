"""Text no field can take: the NUL character and lone UTF-16 surrogates.

JSON can carry both (`\\u0000`, `\\ud800`), PostgreSQL stores neither, and Python cannot even
encode a lone surrogate; left alone, they would surface as errors deep in whichever resolver
first touched them. A request holding one is refused up front, once, for every field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from core.text import unstorable_text

# Cheap first look at the raw body: only a body with such an escape is parsed to be sure (the
# escape may be text itself, as in a description quoting `\\u0000`).
_SUSPECT = re.compile(rb"\\u0000|\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_NUL_IN_QUERY_STRING = "%00"

MESSAGE = "The request holds a NUL character or a lone UTF-16 surrogate, which no field accepts."


def holds_unstorable_text(body: bytes, query_string: str) -> bool:
    if _NUL_IN_QUERY_STRING in query_string:
        return True
    if not _SUSPECT.search(body):
        return False
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses lone surrogates outright; the standard parser takes them.
        try:
            decoded = json.loads(body)
        except ValueError:
            return False  # not JSON: the GraphQL parser answers that
    return _unstorable(decoded)


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable_text(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False
