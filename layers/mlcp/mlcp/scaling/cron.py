"""A small matcher for AWS 6-field cron expressions (EventBridge / Scheduler): ``minutes hours day-of-month month
day-of-week year``.

Supported: ``*``, ``?``, values, ranges ``a-b``, lists ``a,b``, increments ``a/n`` and ``*/n``, month names
(JAN-DEC) and day names (SUN-SAT; AWS numbers them 1-7 from Sunday). As AWS requires, exactly one of
day-of-month and day-of-week is ``?``. ``L``, ``W`` and ``#`` are rejected with a clear message (not supported
here). Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT"))}
_MONTHS |= {"NOV": 11, "DEC": 12}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# Each field: its name, lowest and highest value, and the names it accepts.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)
_LOOKBACK_DAYS = 400


class CronError(ValueError):
    """The expression is not a valid (supported) AWS cron expression; the message says which field."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: "?" (any)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # AWS numbering, 1 = Sunday; None: "?"
    years: frozenset[int]

    def matches_day(self, day: dt.date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        return self.weekdays is None or (day.isoweekday() % 7) + 1 in self.weekdays

    def matches(self, at: dt.datetime) -> bool:
        return self.matches_day(at.date()) and at.hour in self.hours and at.minute in self.minutes

    def previous(self, at: dt.datetime) -> dt.datetime | None:
        """The latest fire time at or before ``at`` (minute precision), within about a year; None if none."""
        at = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
        for back in range(_LOOKBACK_DAYS):
            day = at.date() - dt.timedelta(days=back)
            if not self.matches_day(day):
                continue
            for hour in sorted(self.hours, reverse=True):
                if back == 0 and hour > at.hour:
                    continue
                for minute in sorted(self.minutes, reverse=True):
                    if back == 0 and hour == at.hour and minute > at.minute:
                        continue
                    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
        return None


def _value(token: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if upper in ("L", "LW") or upper.endswith(("L", "W")) or "#" in upper:
        raise CronError(f"{field}: {token!r}: L, W and # are not supported")
    if not token.isdigit():
        raise CronError(f"{field}: {token!r} is not a number{' or a name' if names else ''}")
    value = int(token)
    if not low <= value <= high:
        raise CronError(f"{field}: {value} is outside {low}-{high}")
    return value


def _field(text: str, index: int) -> frozenset[int] | None:
    field, low, high, names = _FIELDS[index]
    if text == "?":
        if field not in ("day-of-month", "day-of-week"):
            raise CronError(f"{field}: '?' is only allowed in day-of-month or day-of-week")
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"{field}: increment {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field, low, high, names), _value(last, field, low, high, names)
            if start > end:
                raise CronError(f"{field}: range {base} runs backwards")
        else:
            start = _value(base, field, low, high, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """Parse ``cron(...)`` or the bare six fields."""
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        text = text[5:-1]
    parts = text.split()
    if len(parts) != 6:
        raise CronError(f"needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}")
    fields = [_field(part, i) for i, part in enumerate(parts)]
    if (fields[2] is None) == (fields[4] is None):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    minutes, hours, days, months, weekdays, years = fields
    assert minutes is not None
    assert hours is not None
    assert months is not None
    assert years is not None
    return Cron(expression, minutes, hours, days, months, weekdays, years)
