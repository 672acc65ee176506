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
import re

from mlplan.errors import UsageError

__all__ = ["ENV", "iso_date", "today"]

ENV = "MLPLAN_TODAY"


def today() -> dt.date:
    """``MLPLAN_TODAY`` when set, else the calendar's date."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return dt.date.today()
    try:
        return iso_date(value)
    except ValueError:
        raise UsageError(f"{ENV}={value!r} is not a date written YYYY-MM-DD; unset it") from None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD, and only so: Python also reads 20261207 and 2026-W49-1,
    which no one means on a command line (ValueError otherwise)."""
    if not _ISO_DATE.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    return dt.date.fromisoformat(text.strip())
