"""The system check of the hot path: every private attribute it relies on is still there
(``hotpath.privates``). Tagged ``security`` too, so that ``ecabinet.asgi`` refuses to serve without
the body cap or the slow-reader guard."""

from __future__ import annotations

from django.core import checks

from . import privates


@checks.register(checks.Tags.security, "hotpath")
def private_attributes(app_configs=None, **kwargs) -> list[checks.Error]:
    return [checks.Error(f"The hot path relies on {private}, which the installed version no longer has.",
                         hint="Read the new code and adapt the module that uses it (hotpath/README.md); pin the "
                              "previous version meanwhile.",
                         id="hotpath.E001")
            for private in privates.missing()]
