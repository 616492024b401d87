"""Django's login and logout signals, handed to ``ecabinet.devices``: a login records the browser
session (so that ending the user's access finds it), a logout forgets it and closes its sockets."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from ecabinet import devices


@receiver(user_logged_in, dispatch_uid="ecabinet.devices.login")
def _logged_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        devices.remember_session(user=user, session=session)


@receiver(user_logged_out, dispatch_uid="ecabinet.devices.logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if user is not None and session is not None:
        devices.end_session(user=user, session_key=session.session_key, sid=session.get(devices.SID_KEY))
