"""The one clock mlplan reads for "today".

Every default date (a verdict's "as of", a decision's date, a new plan's timeboxes) comes from
``today()``. ``MLPLAN_TODAY=YYYY-MM-DD`` sets it: the test suite pins it to one date in
``tests/helpers.py``, and CI runs the fast tier again with it years ahead, so a test that
depends on the calendar fails on the day it is written rather than on some later day (the
suite once broke on 2026-12-01 when a fixture's timebox ran out: issue 14). Instants (when a
result was logged) are the wall clock's and are not affected.
"""

from __future__ import annotations

import datetime as dt
import os

from mlplan.errors import UsageError

__all__ = ["ENV", "today"]

ENV = "MLPLAN_TODAY"


def today() -> dt.date:
    """``MLPLAN_TODAY`` when set, else the calendar's date."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{ENV}={value!r} is not a date written YYYY-MM-DD; unset it") from None
