"""`{{ value|safe_href }}`: the link if `helpdesk.links.safe_url` passes it, else ''.

Templates put a stored value in an href only through this filter (or an object's checked
`href`), so a `javascript:` saved before the validator existed still renders as text."""

from __future__ import annotations

from django import template

from helpdesk.links import safe_url

register = template.Library()


@register.filter
def safe_href(value: object) -> str:
    return safe_url(value)
