"""The API's JSON parser: DRF's, with a bound on how deeply a document may nest.

``json.loads`` recurses once per level, so a body of 50,000 ``[`` raised RecursionError, which DRF does
not take for a parse error: a 500 with a traceback on every JSON endpoint, signed in or not. A
document that does parse can still be hundreds of levels deep and exhaust the stack in whatever
recurses over it next (validation, ``json.dumps`` into a JSONField, rendering an error). No request
of this API nests more than a few levels, so anything past ``MAX_JSON_DEPTH`` is refused as a 400
``parse_error``. Every view parses JSON with this class (DEFAULT_PARSER_CLASSES, and the views that
name their parsers); a test checks that none uses DRF's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - the document is nested more than {MAX_JSON_DEPTH} levels deep."


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


def nesting_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects in ``data`` nest more than ``limit`` levels (walked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
