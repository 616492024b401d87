"""``python manage.py task_reminders``: one round of the tasks' scheduler.

Run it every hour (docs/followup.md has a systemd timer and a cron line). It sends the reminders
before a task's deadline and the overdue notices, and tells the secretariat which tasks became
overdue — each once per task and deadline, however often it runs (``followup.schedule``).
"""

from django.core.management.base import BaseCommand

from followup.notices import date_text
from followup.schedule import tasks_run_schedule


class Command(BaseCommand):
    help = ("Send the reminders before decision follow-up tasks' deadlines and the overdue notices to the lead "
            "ministries, and the secretariat's digest of newly overdue tasks; idempotent, run it from a scheduler "
            "every hour.")

    def handle(self, *args, **options):
        report = tasks_run_schedule()
        if report.nothing_done:
            if options["verbosity"] >= 2:
                self.stdout.write(f"task_reminders ({date_text(report.today)}): nothing to do.")
            return
        for task_id, (days, count) in report.reminded.items():
            self.stdout.write(f"task #{task_id}: reminder ({days} day(s) before the deadline) to {count} person(s)")
        for task_id, count in report.overdue.items():
            self.stdout.write(f"task #{task_id}: overdue notice to {count} person(s)")
        if report.overdue:
            self.stdout.write(f"secretariat: digest of {len(report.overdue)} newly overdue task(s) "
                              f"to {report.digest} person(s)")
