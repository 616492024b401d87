from django.apps import AppConfig


class EcabinetConfig(AppConfig):
    name = "ecabinet"
    verbose_name = "e-Cabinet"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the system checks
            signals,  # noqa: F401 - login and logout record and end sessions (ecabinet.devices)
        )
