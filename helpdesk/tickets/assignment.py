"""Automatic assignment: a new ticket of a queue that assigns goes to an available agent.

Who can take it: active staff whose profile says available, of the queue's team when it has one
(managers and admins too when they are available). Agents who speak the ticket's language come
first; only when none of them is available does anyone else get it. Among those:
  least_loaded  the fewest open tickets assigned now (ties: the lowest id), so over a surge the
                load stays within one ticket of even;
  round_robin   the next by id after the one the queue gave its last ticket to.
The queue's row is locked while choosing, so two tickets arriving at once do not both pick the
same "least loaded" agent from one stale count.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count

from helpdesk.tickets.models import OPEN_STATUSES, Queue, Ticket


def candidates(queue: Queue, language: str) -> list[int]:
    """The ids of the available agents who may take the queue's tickets: those who speak
    `language` when any of them is available, else all of them. (A handful of rows: the
    languages are compared here, which works on SQLite too.)"""
    users = get_user_model().objects.filter(is_active=True, is_staff=True, profile__available=True)
    if queue.team_id:
        users = users.filter(profile__team_id=queue.team_id)
    people = list(users.values_list("id", "profile__languages"))
    speakers = [pk for pk, languages in people if language and language in (languages or [])]
    return sorted(speakers or [pk for pk, _languages in people])


def choose(ticket: Ticket):
    """The agent the ticket's queue gives it to, or None (manual queue, nobody available)."""
    if ticket.queue.assignment == "manual":
        return None  # the usual queue: no lock, no query
    queue = Queue.objects.select_for_update().get(pk=ticket.queue_id)
    people = candidates(queue, ticket.language)
    if not people:
        return None
    if queue.assignment == "round_robin":
        later = [pk for pk in people if queue.last_assigned_id is not None and pk > queue.last_assigned_id]
        chosen_id = (later or people)[0]
    else:
        open_counts = dict(
            Ticket.objects.filter(assignee_id__in=people, status__in=OPEN_STATUSES)
            .values_list("assignee_id")
            .annotate(n=Count("id"))
            .values_list("assignee_id", "n")
        )
        chosen_id = min(people, key=lambda pk: (open_counts.get(pk, 0), pk))
    Queue.objects.filter(pk=queue.pk).update(last_assigned_id=chosen_id)
    return get_user_model().objects.get(pk=chosen_id)
