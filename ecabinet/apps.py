from django.apps import AppConfig


class EcabinetConfig(AppConfig):
    name = "ecabinet"
    verbose_name = "e-Cabinet"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import (
            checks,  # noqa: F401 - registers the system checks
            idle,
            signals,  # noqa: F401 - login and logout record and end sessions (ecabinet.devices)
        )

        user_logged_in.connect(idle.signed_in, dispatch_uid="ecabinet.idle.signed_in")
