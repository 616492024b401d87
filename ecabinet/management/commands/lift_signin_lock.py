"""``python manage.py lift_signin_lock --by ADMIN [--username NAME] [--address IP]``: end a sign-in
lock early (``ecabinet.lockout``; docs/security.md, "Sign-in throttling and lockout").

The lock of the account NAME (and its signing-PIN lock) and/or of the address IP ends now and their
failures are forgotten. ``--by`` names the administrator or secretariat member who asks: the audit
entry (``auth.lockout_lifted``) names them, as it would in the admin.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ecabinet import services
from ecabinet.errors import DomainError


class Command(BaseCommand):
    help = "End a sign-in lock (an account's, an address's) early; audited in the name of --by."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--by", required=True, help="username of the administrator or secretariat member acting")
        parser.add_argument("--username", default="", help="the locked account")
        parser.add_argument("--address", default="", help="the locked client address")

    def handle(self, *args, by: str, username: str, address: str, **options) -> None:
        actor = get_user_model().objects.filter(username=by).first()
        if actor is None:
            raise CommandError(f"no account “{by}”")
        try:
            lifted = services.signin_lock_lift(actor=actor, username=username, address=address)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"lifted: {', '.join(lifted)}" if lifted else "nothing was locked; failures forgotten")
