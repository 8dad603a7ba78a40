"""Celery entry points for surveys and reviews."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def send_survey(survey_id: int) -> bool:
    """Send one due survey (claimed: a second run sends nothing)."""
    from helpdesk.feedback import surveys

    return surveys.send_survey(survey_id)


@shared_task
def send_due_surveys() -> int:
    """Beat, every minute: surveys whose delay has passed; expire the unanswered."""
    from helpdesk.feedback import surveys

    return surveys.send_due_surveys()


@shared_task
def poll_review_feeds() -> int:
    """Beat: poll every active review feed; each review is stored once."""
    from helpdesk.feedback import reviews

    return reviews.poll_all()


@shared_task(acks_late=True)
def survey_crisis(crisis_id: int) -> int:
    """After a crisis closed: its customers' surveys, due after the closing message had time to arrive."""
    from helpdesk.feedback import surveys

    return surveys.after_crisis_closed(crisis_id=crisis_id)
