"""``python manage.py export_archive MEETING_ID --output PATH [--zip]``: a closed session as a BagIt
package (issue 5, item 7; layout in docs/archive.md).

``PATH`` must not exist: it becomes the bag directory, or with ``--zip`` the zip file. A progress bar
goes to standard error. On any failure nothing is left at ``PATH`` and the exit status is 1 with the
reason and its machine code. The export is recorded in the audit log (``archive.exported``, no actor:
whoever runs manage.py has the server's rights anyway).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecabinet.errors import DomainError
from meetings.models import Meeting
from records.archive.export import export_archive
from records.archive.progress import ProgressBar


class Command(BaseCommand):
    help = "Export a closed session as a BagIt archive package (a directory, or a zip with --zip)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("meeting_id", type=int, help="the session's id")
        parser.add_argument("--output", required=True, type=Path, help="where to write the bag (must not exist)")
        parser.add_argument("--zip", action="store_true", dest="as_zip", help="write a zip file instead of a directory")

    def handle(self, *args, meeting_id: int, output: Path, as_zip: bool, **options) -> None:
        meeting = Meeting.objects.filter(pk=meeting_id).first()
        if meeting is None:
            raise CommandError(f"There is no session #{meeting_id}. [not_found]", returncode=1)
        if output.exists():
            raise CommandError(f"{output} already exists; choose a new path. [archive_output_exists]", returncode=1)
        bar = ProgressBar(getattr(self.stderr, "_out", self.stderr)) if options["verbosity"] > 0 else None
        try:
            summary = export_archive(actor=None, meeting=meeting, output=output, as_zip=as_zip, progress=bar)
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]", returncode=1) from exc
        except OSError as exc:
            raise CommandError(f"The package could not be written: {exc} [archive_write_failed]",
                               returncode=1) from exc
        minutes = "sealed minutes" if summary.minutes_sealed else "NO SEALED MINUTES (record generated at export)"
        self.stdout.write(f"session #{meeting.pk} exported to {summary.path}: {summary.files} files, "
                          f"{summary.bytes} bytes, {minutes}")
