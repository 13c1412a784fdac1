"""A JSON parser that refuses what the API cannot store before any view sees it.

Bodies over ``settings.DATA_UPLOAD_MAX_MEMORY_SIZE`` are refused before they are read
whole; JSON nested deeper than :data:`MAX_JSON_DEPTH` levels (which would exhaust the
recursion of every JSON encoder downstream) and strings holding lone UTF-16 surrogates
(valid JSON escapes that no database can store as UTF-8) are refused with the place
where they were found.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from ..serialization import MAX_DEPTH, is_utf8
from .errors import PayloadTooLarge

#: Deepest nesting of arrays and objects a body may have: what a value may have, and the body's own level.
MAX_JSON_DEPTH = MAX_DEPTH + 2


class LimitedJSONParser(JSONParser):
    """``JSONParser`` with a size limit (DRF reads the raw stream, bypassing Django's check) and the checks above."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
            stream = io.BytesIO(body)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        problem = find_unstorable(data)
        if problem is not None:
            raise ParseError(f"JSON parse error - {problem}.")
        return data


def find_unstorable(data: Any) -> str | None:
    """What in ``data`` cannot be stored, and where (``args[0].name``), or None; iterative, so depth is no risk."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not is_utf8(value):
                return f"a string at {path or 'the top'} holds a lone UTF-16 surrogate, which cannot be stored"
            continue
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels at {path or 'the top'}"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and not is_utf8(key):
                    return f"a key at {path or 'the top'} holds a lone UTF-16 surrogate, which cannot be stored"
                child = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
                stack.append((item, child.lstrip("."), depth + 1))
    return None
