from django.apps import AppConfig


class EcabinetConfig(AppConfig):
    name = "ecabinet"
    verbose_name = "e-Cabinet"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import checks, idle  # noqa: F401 - checks registers the system checks

        user_logged_in.connect(idle.signed_in, dispatch_uid="ecabinet.idle.signed_in")
