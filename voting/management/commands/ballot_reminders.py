"""``python manage.py ballot_reminders``: one round of the written ballots' scheduler.

Run it every few minutes (docs/ballots.md has a systemd timer and a cron line). It closes the
ballots whose deadline has passed, sends the overdue notices and the 24-hour reminders — each once,
however often it runs (``voting.services.ballot_closing``).
"""

from django.core.management.base import BaseCommand

from voting.services.ballot_closing import ballots_run_schedule


class Command(BaseCommand):
    help = ("Close written ballots whose deadline has passed and send the reminders (24 hours before the "
            "deadline) and overdue notices to members who have not answered; idempotent, run it from a "
            "scheduler every few minutes.")

    def handle(self, *args, **options):
        report = ballots_run_schedule()
        if report.nothing_done:
            if options["verbosity"] >= 2:
                self.stdout.write("ballot_reminders: nothing to do.")
            return
        for ballot_id in report.closed:
            self.stdout.write(f"ballot #{ballot_id}: closed at its deadline")
        for ballot_id, count in report.overdue.items():
            self.stdout.write(f"ballot #{ballot_id}: overdue notice to {count} member(s)")
        for ballot_id, count in report.reminded.items():
            self.stdout.write(f"ballot #{ballot_id}: reminder to {count} member(s)")
