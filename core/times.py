"""The one plausible-range rule for times users and other systems give us (settings.EVENT_TIME_EARLIEST,
EVENT_TIME_MAX_AHEAD_MINUTES, DATE_PARAM_MAX_AHEAD_DAYS), used by forms, the API and the services, and the
one parser of date parameters in page URLs. A call "received" in year 18 or next week is a typing or clock
error: it would drop out of the queue order and the repeat checks, and year 1 overflows date arithmetic."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import BadRequest, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _


def day_start(day: date) -> datetime:
    """Local midnight opening `day`, aware: where a day's, week's or period's range of stored times begins."""
    return timezone.make_aware(datetime.combine(day, time.min))


def earliest_day() -> date:
    return settings.EVENT_TIME_EARLIEST


def validate_event_time(value: datetime) -> None:
    """A Django validator: an event time (a call received, a callback made) from EVENT_TIME_EARLIEST to
    EVENT_TIME_MAX_AHEAD_MINUTES from now (clocks of other systems run a little ahead)."""
    earliest = timezone.make_aware(datetime.combine(earliest_day(), time.min))
    if value < earliest:
        raise ValidationError(_("The time is before %(day)s; check the year.") % {
            "day": date_format(earliest_day(), "Y-m-d")}, code="too_early")
    if value > timezone.now() + timedelta(minutes=settings.EVENT_TIME_MAX_AHEAD_MINUTES):
        raise ValidationError(_("This time is in the future."), code="future")


def validate_day(value: date) -> None:
    """A Django validator for a day asked about (a report's period, a figure's range): from
    EVENT_TIME_EARLIEST to DATE_PARAM_MAX_AHEAD_DAYS after today."""
    latest = timezone.localdate() + timedelta(days=settings.DATE_PARAM_MAX_AHEAD_DAYS)
    if not earliest_day() <= value <= latest:
        raise ValidationError(_("Choose a day from %(first)s to %(last)s.") % {
            "first": date_format(earliest_day(), "Y-m-d"), "last": date_format(latest, "Y-m-d")}, code="day_range")


def day_param(request, name: str, default: date | None = None) -> date | None:
    """A date parameter of a page (GET, else POST) as YYYY-MM-DD within the plausible range; anything else is
    a 400 with the reason (core.views.bad_request shows it)."""
    raw = (request.GET.get(name) or request.POST.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": raw[:40]}) from None
    try:
        validate_day(value)
    except ValidationError as exc:
        raise BadRequest(exc.messages[0]) from None
    return value


def validate_planned_time(value: datetime) -> None:
    """A Django validator for a time typed into a plan (a meeting, a deadline, a session): its day within
    the range of validate_day."""
    validate_day(value.date())
