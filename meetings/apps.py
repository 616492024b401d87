from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Sessions")

    def ready(self) -> None:
        from hotpath import checks as _hotpath_checks  # noqa: F401 (the room's hot path: hotpath.E001)

        from . import checks  # noqa: F401 (registers the system checks)
