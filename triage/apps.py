from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    label = "triage"
    verbose_name = "Triage flows"

    def ready(self) -> None:
        from helpdesk.customers.services import contact_point_opted_out

        contact_point_opted_out.connect(_end_runs_on_opt_out, dispatch_uid="triage_end_runs_on_opt_out")


def _end_runs_on_opt_out(sender, contact_point, **kwargs) -> None:
    # STOP always wins: the consent handler consumes the message, this ends the conversation.
    from triage.services import end_runs_for_opt_out

    end_runs_for_opt_out(contact_point=contact_point)
