import json
import sys

from django.core.management.base import BaseCommand, CommandError

from helpdesk.errors import ApplicationError
from triage.models import Flow
from triage.services import export_flow, import_flow


class Command(BaseCommand):
    help = "Export a triage flow to JSON, or import one (a changed definition becomes a new version)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export")
        export.add_argument("slug")
        export.add_argument("--output", "-o", default="-")
        load = sub.add_parser("import")
        load.add_argument("path")
        load.add_argument("--draft", action="store_true", help="Keep the imported version as a draft.")

    def handle(self, *args, **options):
        if options["action"] == "export":
            flow = Flow.objects.filter(slug=options["slug"]).first()
            if flow is None:
                raise CommandError(f"No flow with slug {options['slug']!r}.")
            text = json.dumps(export_flow(flow=flow), ensure_ascii=False, indent=1)
            if options["output"] == "-":
                sys.stdout.write(text + "\n")
            else:
                with open(options["output"], "w", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            return
        try:
            with open(options["path"], encoding="utf-8") as fh:
                data = json.load(fh)
            version = import_flow(data=data, publish=not options["draft"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Imported {version.flow.slug} v{version.number}"))
