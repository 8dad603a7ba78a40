"""Template filters of the portal: an action's texts in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()


def _lang() -> str:
    return (get_language() or "en")[:2]


@register.filter
def action_title(action) -> str:
    return action.text("title", _lang())


@register.filter
def action_description(action) -> str:
    texts = action.description or {}
    return str(texts.get(_lang()) or texts.get("en") or "")


@register.filter
def field_label(field: dict) -> str:
    label = field.get("label") or {}
    if isinstance(label, str):
        return label
    return str(label.get(_lang()) or label.get("en") or field.get("name", ""))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
