"""``python manage.py verify_audit``: walk the audit hash chain and report its state.

Exit status 0 and the chain head when every entry is intact; exit status 1 and the first bad entry
(its ``seq`` and what is wrong with it) on standard error when an entry was altered, removed or
reordered, or when the newest entries were cut off (see ``ecabinet.audit``).
"""

from django.core.management.base import BaseCommand, CommandError

from ecabinet.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log; name the first bad entry if there is one."

    def handle(self, *args, **options) -> None:
        problem, last_seq, head_hash = verify_chain()
        if problem is not None:
            # CommandError is written to stderr by manage.py, which then exits with ``returncode``.
            raise CommandError(f"audit chain broken at entry #{problem.seq}: {problem.reason}", returncode=1)
        self.stdout.write(f"audit chain intact: {last_seq} entries, head #{last_seq} {head_hash}")
