"""The API's JSON renderer: DRF's, which never fails on text a client sent.

DRF writes JSON as UTF-8 without escaping, and error messages may echo the client's input (``"\\ud800"
is not a valid choice.``): an unpaired surrogate, valid as a JSON escape but not encodable as UTF-8,
turned such a 400 into a 500. Only then is the answer written with every non-ASCII character escaped,
which any JSON reader decodes to the same text.
"""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True
