"""The OpenAPI schema class: drf-spectacular's, telling what our string fields really take.

Its own module: helpdesk.api is imported while DRF's generics load (the pagination setting), and
drf-spectacular's AutoSchema imports those generics.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

# What a string field takes, as a pattern the schema can carry (DRF refuses NUL characters, and
# trims before checking "not blank"; without these, a schema-valid "\u0000" or "  " got a 400).
# Whitespace spelt out as str.strip() knows it: `\s` means less in JSON Schema's (ECMA) regexes.
_SPACE = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_SPACE}][^\\u0000]*$"


class AutoSchema(SpectacularAutoSchema):
    """A CharField's schema gains NO_NUL, or NOT_BLANK where blank is refused after trimming;
    a nested list serializer its length limits."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_string = result.get("type") == "string" and not {"pattern", "enum", "format"} & set(result)
        # drf-spectacular adds a RegexValidator's own pattern later (RegexField, SlugField).
        plain_string = plain_string and not any(isinstance(v, RegexValidator) for v in field.validators)
        if direction == "request" and isinstance(field, serializers.CharField) and plain_string:
            result["pattern"] = NO_NUL if field.allow_blank or not field.trim_whitespace else NOT_BLANK
        # A nested `many=True` serializer's limits (drf-spectacular states a ListField's only).
        if isinstance(field, serializers.ListSerializer) and result.get("type") == "array":
            if field.max_length is not None:
                result["maxItems"] = field.max_length
            if field.min_length is not None:
                result["minItems"] = field.min_length
        return result


def lib_doc_excludes() -> list[type]:
    """Classes whose docstrings never describe an operation or component (SPECTACULAR_SETTINGS):
    drf-spectacular's list, and our serializer mixin (else every undocumented serializer would
    be described as "Serializer mixin: …")."""
    from drf_spectacular.plumbing import get_lib_doc_excludes

    from helpdesk.api import StrictJson

    return [*get_lib_doc_excludes(), StrictJson]
