"""Dates at the precision a source gives them, with the first and last day they can mean."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from kg.namespaces import XSD

_PATTERN = re.compile(r"^(?:(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?|--(?P<md>\d{2})-(?P<mdd>\d{2}))$")


@dataclass(frozen=True)
class FlexibleDate:
    """``lexical`` typed as ``datatype``; ``earliest``/``latest`` are None when the year is unknown."""

    lexical: str
    datatype: str
    earliest: date | None
    latest: date | None


def parse_flexible_date(text: str) -> FlexibleDate:
    """Parse ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``--MM-DD``; raise ValueError otherwise."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"not a date of the form YYYY, YYYY-MM, YYYY-MM-DD or --MM-DD: {text!r}")
    if match["md"]:
        month, day = int(match["md"]), int(match["mdd"])
        date(2000, month, day)  # a leap year, so --02-29 is accepted; raises on --13-40
        return FlexibleDate(text, XSD + "gMonthDay", None, None)
    year = int(match["year"])
    if match["day"]:
        exact = date(year, int(match["month"]), int(match["day"]))
        return FlexibleDate(text, XSD + "date", exact, exact)
    if match["month"]:
        month = int(match["month"])
        last = calendar.monthrange(year, month)[1]
        return FlexibleDate(text, XSD + "gYearMonth", date(year, month, 1), date(year, month, last))
    return FlexibleDate(text, XSD + "gYear", date(year, 1, 1), date(year, 12, 31))
