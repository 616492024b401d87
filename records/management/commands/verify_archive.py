"""``python manage.py verify_archive PATH [--trust-root PEM ...]``: check an archive package (a bag
directory or its zip) offline — the bag, the signatures, the records, the documents, the votes and
the audit chain (``records.archive.verify``).

Prints every check with OK or FAIL and, under a failed one, one line per problem naming the file
(``data/documents/1-3/v2-ab12….pdf: changed (sha256 mismatch)``). Exit status 0 only when every check
passes, 1 otherwise. ``--trust-root`` (repeatable) replaces the configured SIGNING_TRUST_ROOTS.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecabinet import pki
from records.archive.verify import verify_bag


class Command(BaseCommand):
    help = "Verify an archive package (bag directory or zip): bag, signatures, records and audit chain."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="a bag directory or a .zip")
        parser.add_argument("--trust-root", action="append", type=Path, default=[], dest="trust_roots",
                            metavar="PEM", help="a PEM file of trusted root certificates (repeatable)")

    def handle(self, *args, path: Path, trust_roots: list[Path], **options) -> None:
        roots = None
        if trust_roots:
            try:
                roots = pki.load_pem_certs(trust_roots)
            except (OSError, ValueError) as exc:
                raise CommandError(f"The trust roots cannot be read: {exc}", returncode=1) from exc
        report = verify_bag(path, trust_roots=roots)
        for check in report.checks:
            status = self.style.SUCCESS("OK  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{status} {check.name}: {check.title}")
            for problem in check.problems:
                self.stdout.write(f"       {problem}")
            for note in check.notes:
                self.stdout.write(f"       · {note}")
        if not report.ok:
            raise CommandError(f"{path}: {len(report.problems)} problem(s); the package does not verify.",
                               returncode=1)
        self.stdout.write(self.style.SUCCESS(f"{path}: every check passed."))
