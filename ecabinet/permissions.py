"""Who may see and end whose sign-ins (devices and sessions): the one place that answers it.

* Everyone sees and revokes their own devices.
* The secretariat sees and revokes the devices of the other accounts (a member's lost tablet),
  except the administrators': the secretariat runs sessions, not the IT system.
* Nobody else sees anyone's devices; a device one may not see is ``NotFound``, like one that does
  not exist. Nobody, the administrator included, ever sees a token: only its digest is stored.
"""

from __future__ import annotations

from ecabinet.errors import NotFound


def may_manage_devices_of(actor, owner) -> bool:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk == owner.pk:
        return True
    return bool(actor.is_secretariat) and not owner.is_superuser


def check_may_manage_devices_of(actor, owner) -> None:
    if not may_manage_devices_of(actor, owner):
        raise NotFound()
