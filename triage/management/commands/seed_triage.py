from django.core.management.base import BaseCommand

from triage.services import seed_stop_the_bleeding


class Command(BaseCommand):
    help = 'Install the "Stop the bleeding" flow, its playbooks and resource links (safe to run again).'

    def handle(self, *args, **options):
        flow = seed_stop_the_bleeding()
        self.stdout.write(self.style.SUCCESS(f"Seeded flow {flow.slug} (v{flow.versions.count()})"))
