from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Sessions")

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the system checks)
