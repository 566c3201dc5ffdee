from datetime import date

import pytest

from kg.dates import parse_flexible_date

XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.mark.parametrize(
    "text, datatype, earliest, latest",
    [
        ("2008-06-30", "date", date(2008, 6, 30), date(2008, 6, 30)),
        ("2010-08", "gYearMonth", date(2010, 8, 1), date(2010, 8, 31)),
        ("2024-02", "gYearMonth", date(2024, 2, 1), date(2024, 2, 29)),
        ("2023-02", "gYearMonth", date(2023, 2, 1), date(2023, 2, 28)),
        ("2003", "gYear", date(2003, 1, 1), date(2003, 12, 31)),
        ("--09-12", "gMonthDay", None, None),
    ],
)
def test_precision_and_bounds(text, datatype, earliest, latest):
    parsed = parse_flexible_date(text)
    assert parsed.datatype == XSD + datatype
    assert (parsed.earliest, parsed.latest) == (earliest, latest)


@pytest.mark.parametrize("text", ["2010-13", "2010-02-30", "20100", "Aug 2010", "--13-01", "", "2010-8"])
def test_invalid_dates_are_rejected(text):
    with pytest.raises(ValueError):
        parse_flexible_date(text)
