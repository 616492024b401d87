"""The server's clocks, in one place; tests freeze or move them here (``monkeypatch.setattr(clock,
"now", …)``), and every module that reads the time sees the same moment.

* ``now()``: wall-clock seconds since the epoch — the windows of ``ecabinet.limits``, idle and aged
  sessions (``ecabinet.idle``) and re-authentication (``ecabinet.reauth``, through ``idle``).
* ``moment()``: the same instant as an aware ``datetime`` — the devices' expiry (``ecabinet.devices``),
  the services' time stamps and state checks (``meetings.services.guards.current_time``,
  ``voting.services.ballots.current_time``), the audit chain (``ecabinet.audit``) and, as seconds,
  the sign-in locks (``ecabinet.lockout``), the room's event log and presence (``meetings.events``,
  ``meetings.snapshot``), idempotency records, passkeys, pending second-factor logins, notices read,
  device tokens on the socket and the archive's bagging date. Those modules keep a one-line hook of
  their own that tests may replace for that module alone. The one exception is
  ``hotpath.bulk_auth``, which must find sessions exactly as Django's session store does (it reads
  ``django.utils.timezone.now``).
* ``monotonic()``: seconds for durations within a process, never set back — the room socket's
  timers (``meetings.consumers``: the sequencer's deadlines), the intake's gathering
  (``hotpath.intake``) and the benchmarks' tablets (``bench.tablet``, one clock for every process
  of the machine).
"""

from __future__ import annotations

import datetime as dt
import time

__all__ = ["moment", "monotonic", "now"]


def now() -> float:
    return time.time()


def moment() -> dt.datetime:
    return dt.datetime.fromtimestamp(now(), tz=dt.UTC)


def monotonic() -> float:
    return time.monotonic()
