"""``python manage.py seed_demo``: the demo Government (DESIGN.md §5.1), idempotent."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.cast import DEMO_PASSWORD
from demo.seed import seed


class Command(BaseCommand):
    help = (
        "Load the demo Government: ministries, accounts (pm, member01…member26, secretary, archivist, guest, "
        f"outsider, admin; password {DEMO_PASSWORD}), three sessions with generated Vietnamese drafts, two "
        "written ballots, the closed session's minutes and resolution signed with the development PKI, and the "
        "follow-up tasks that session assigned. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing if any account exists (used by make run).")

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and get_user_model().objects.exists():
            self.stdout.write("seed_demo: accounts exist already; nothing to do (--if-empty).")
            return
        started = time.monotonic()
        report = seed()
        elapsed = time.monotonic() - started
        if not (report.ministries_created or report.accounts_created or report.sessions_created
                or report.ballots_created or report.tasks_created):
            self.stdout.write("seed_demo: the demo is already loaded; nothing changed.")
            return
        self.stdout.write(f"seed_demo: {report.ministries_created} ministries, "
                          f"{len(report.accounts_created)} accounts, {len(report.sessions_created)} sessions, "
                          f"{len(report.ballots_created)} written ballots, "
                          f"{len(report.tasks_created)} follow-up tasks "
                          f"({report.pdfs_rendered} PDFs rendered, {report.sealed_documents} signed and sealed)"
                          f" in {elapsed:.1f} s.")
        for meeting in report.sessions_created:
            self.stdout.write(f"  #{meeting.pk} [{meeting.status}] {meeting.title}")
        for ballot in report.ballots_created:
            self.stdout.write(f"  ballot #{ballot.pk} [{ballot.status}] {ballot.title}")
        if report.tasks_created:
            states = sorted({task.state for task in report.tasks_created})
            self.stdout.write(f"  {len(report.tasks_created)} tasks of the closed session: {', '.join(states)}")
        if report.accounts_created:
            self.stdout.write(f"  password of every demo account: {DEMO_PASSWORD}")
