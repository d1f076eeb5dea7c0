"""The API's JSON parser: strict JSON with one value per key and bounded nesting.

DRF's JSONParser lets the last of two equal keys win silently, and a body nested a hundred
thousand deep (well under the size limit) escapes it as a RecursionError, a 500.
"""
import codecs
import json

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

# Far more than any body of this API needs (a batch of events is two levels deep).
MAX_DEPTH = 32


class DuplicateKey(ValueError):
    """An object of the body names the same key twice."""


def _object(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def json_depth(value: object) -> int:
    """Return how deeply arrays and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in children)
    return deepest


class StrictJSONParser(JSONParser):
    """Parse a JSON body; answer 400 for invalid JSON, NaN or Infinity, a key given twice in
    one object, or nesting deeper than MAX_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        too_deep = _("JSON parse error - the body is nested deeper than %(n)d levels.") % {"n": MAX_DEPTH}
        try:
            data = json.loads(codecs.getreader(encoding)(stream).read(), object_pairs_hook=_object,
                              parse_constant=strict_constant)
        except DuplicateKey as exc:
            raise ParseError(_("JSON parse error - the key “%(key)s” appears twice in one object.")
                             % {"key": exc.args[0]}) from None
        except RecursionError:
            raise ParseError(too_deep) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        if json_depth(data) > MAX_DEPTH:
            raise ParseError(too_deep)
        return data
