from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "helpdesk.feedback"
    label = "feedback"
    verbose_name = "Surveys, recovery and reviews"

    def ready(self) -> None:
        from helpdesk.tickets.services import ticket_solved

        ticket_solved.connect(_survey_solved_ticket, dispatch_uid="feedback_survey_solved_ticket")
        from triage.services import run_completed

        run_completed.connect(_survey_after_triage, dispatch_uid="feedback_survey_after_triage")
        from helpdesk.crisis.closing import crisis_closed

        crisis_closed.connect(_survey_after_crisis, dispatch_uid="feedback_survey_after_crisis")


def _survey_solved_ticket(sender, ticket, **kwargs) -> None:
    from helpdesk.feedback.surveys import after_ticket_solved

    after_ticket_solved(ticket=ticket)


def _survey_after_triage(sender, run, **kwargs) -> None:
    from helpdesk.feedback.surveys import after_triage

    if run.customer is not None:
        after_triage(ticket=run.ticket, customer=run.customer, channel=run.channel)


def _survey_after_crisis(sender, crisis, **kwargs) -> None:
    from helpdesk.feedback import tasks

    tasks.survey_crisis.delay(crisis.pk)
