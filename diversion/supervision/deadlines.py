"""Slip deadlines from the time-limit class: clock hours for urgent classes, working days (weekends and the
holiday calendar skipped, weekend working days counted) for the classes configured that way."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from core.times import day_start

from ..models import Holiday, TimeLimitClass

# No Chinese public holiday run is longer than this, so a window this wide always holds enough working days.
_SLACK_DAYS = 30


def _calendar(start: date, end: date) -> tuple[set[date], set[date]]:
    rows = Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "kind")
    holidays = {d for d, kind in rows if kind == Holiday.Kind.HOLIDAY}
    workdays = {d for d, kind in rows if kind == Holiday.Kind.WORKDAY}
    return holidays, workdays


def is_working_day(day: date, holidays: set[date], workdays: set[date]) -> bool:
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(day: date, n: int) -> date:
    """The Nth working day after `day` (the day of issue itself never counts)."""
    span = n + 2 * n // 5 + _SLACK_DAYS + 7
    holidays, workdays = _calendar(day, day + timedelta(days=span))
    counted = 0
    current = day
    while counted < n:
        current += timedelta(days=1)
        if is_working_day(current, holidays, workdays):
            counted += 1
    return current


def deadline_for(issued_at: datetime, time_limit_class: TimeLimitClass) -> datetime:
    """When a slip issued at `issued_at` in this class is due. Working-day classes end at midnight closing
    the Nth working day after the day of issue (local time)."""
    if time_limit_class.counts_working_days:
        local_day = timezone.localtime(issued_at).date()
        last_day = add_working_days(local_day, time_limit_class.deadline_working_days)
        return day_start(last_day + timedelta(days=1))
    return issued_at + timedelta(hours=time_limit_class.deadline_hours)
