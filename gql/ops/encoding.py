"""JSON out, total: every answer, WebSocket message and log record encodes, whatever a client sent.

orjson (fast, used everywhere) refuses an int outside 64 bits and a string holding a lone
surrogate, and a nesting deeper than 254. A client can put such values within reach of an
answer: a figure computed from its arguments grows past 64 bits (the cost of nested
`first: 2147483647` connections, which a refusal names), the WebSocket's JSON reader (the
stdlib's, until it became orjson) took NaN and big ints, an exception message quotes what it
refused. A refusal whose own
encoding fails became uvicorn's plain-text 500. So `dumps` tries orjson, and only when it
refuses encodes a copy that every JSON reader takes: an int past 64 bits as its decimal string
(exact, where a reader of 64-bit numbers would fail or round it), non-finite floats as null (as
orjson does), lone surrogates as the text `\\udXXX`, keys and unknown objects as their `str()`,
anything nested past `MAX_DEPTH` as null.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

# Deeper than anything we answer (the query depth limit is 12); orjson itself stops at 254.
MAX_DEPTH = 200
# What orjson writes as a number: a signed 64-bit int, or an unsigned one.
_INT_RANGE = range(-2**63, 2**64)


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None, option: int | None = None) -> bytes:
    """`orjson.dumps(value)`, or, when orjson refuses it, the same JSON made encodable (above)."""
    try:
        return orjson.dumps(value, default=default, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(encodable(value), option=option)


def encodable(value: Any, depth: int = 0) -> Any:
    """A copy of `value` made of JSON types that encode in UTF-8 (see the module's docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value in _INT_RANGE else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _valid_text(value)
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {_valid_text(str(key)): encodable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(item, depth + 1) for item in value]
    try:
        # What orjson writes natively (datetimes, enums, dataclasses), as it writes it.
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return _valid_text(str(value))


def _valid_text(text: str) -> str:
    # A lone surrogate cannot be written in UTF-8: write it as the escape a reader would recognise.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
