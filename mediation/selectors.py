"""Reads for mediation: the one scope for dispute files, the facts for triage, the calls that belong to a
file, and the figures."""

from datetime import timedelta

from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.models import Role
from core.phones import caller_key
from grids.models import Unit
from incidents.models import Call

from .models import DisputeFile, FileCall, FileStatus, FollowUpVisit, Mediator
from .triage import TriageFacts


def mediator_of(user) -> Mediator | None:
    """The active mediator profile of a user with the mediator role, or None."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.role != Role.MEDIATOR:
        return None
    return Mediator.objects.select_related("station").filter(user=user, active=True).first()


def files_visible_to(user) -> QuerySet[DisputeFile]:
    """The one scope for dispute files: a mediator sees their station's, a supervisor all, others none."""
    qs = DisputeFile.objects.select_related("station", "dispute_type", "grid", "mediator")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_superuser or user.role == Role.SUPERVISOR:
        return qs
    profile = mediator_of(user)
    if profile is not None:
        return qs.filter(station_id=profile.station_id)
    return qs.none()


def file_get_for_user(user, pk) -> DisputeFile:
    """404 for a file outside the user's scope, whatever id was typed."""
    return get_object_or_404(files_visible_to(user), pk=pk)


def visit_get_for_user(user, pk) -> FollowUpVisit:
    return get_object_or_404(FollowUpVisit.objects.select_related("file")
                             .filter(file__in=files_visible_to(user)), pk=pk)


def dispute_call_q(prefix: str = "") -> Q:
    """Calls classified (or, while unclassified, suggested) in a dispute sub-category group."""
    groups = settings.MEDIATION_DISPUTE_GROUPS
    return (Q(**{f"{prefix}category__group__code__in": groups})
            | Q(**{f"{prefix}category__isnull": True, f"{prefix}suggested_category__group__code__in": groups}))


def is_dispute_call(call: Call) -> bool:
    return Call.objects.filter(dispute_call_q(), pk=call.pk).exists()


def station_units(station: Unit) -> QuerySet[Unit]:
    """The station itself and the workstations and patrols bound to it."""
    return Unit.objects.filter(Q(pk=station.pk) | Q(stations=station)).distinct()


def dispute_calls_waiting(station: Unit, *, days: int = 30) -> QuerySet[Call]:
    """Recent dispute calls attended by the station's units that are in no file yet."""
    since = timezone.now() - timedelta(days=days)
    attended = Call.objects.filter(assignments__unit__in=station_units(station)).values("pk")
    return (Call.objects.filter(dispute_call_q(), pk__in=attended, received_at__gte=since)
            .exclude(pk__in=FileCall.objects.values("call_id"))
            .select_related("category", "suggested_category", "micro_grid").order_by("-received_at"))


def station_for_call(call: Call) -> Unit | None:
    """The station whose unit attended the call: the station itself, or the first station a unit is bound to."""
    assignment = call.assignments.select_related("unit").order_by("-dispatched_at").first()
    if assignment is None:
        return None
    if assignment.unit.kind == Unit.Kind.STATION:
        return assignment.unit
    return assignment.unit.stations.order_by("code").first()


def calls_matching_file(file: DisputeFile, *, since, until) -> QuerySet[Call]:
    """Calls from a party's phone, or dispute calls at the file's address, received in [since, until]."""
    keys = [caller_key(p) for p in file.parties.exclude(phone="").values_list("phone", flat=True)]
    # Matched on the keyed hash: it outlives the caller's number (core.phones.caller_key).
    match = Q(caller_key__in=keys) if keys else Q(pk__in=[])
    if file.address:
        match |= dispute_call_q() & Q(address=file.address)
    return Call.objects.filter(match, received_at__gte=since, received_at__lte=until)


def files_watching_call(call: Call) -> list[tuple[DisputeFile, str]]:
    """Files a newly received call belongs to, with the reason: a party's phone first, else a dispute call at
    the same address. A file watches while it is not closed, and for MEDIATION_LINK_DAYS after its outcome."""
    since = call.received_at - timedelta(days=settings.MEDIATION_LINK_DAYS)
    watching = (DisputeFile.objects.filter(~Q(status=FileStatus.CLOSED) | Q(closed_at__gte=since))
                .exclude(file_calls__call=call))
    by_phone = set(watching.filter(parties__phone=call.caller_phone).values_list("pk", flat=True))
    by_address = set()
    if call.address and is_dispute_call(call):
        by_address = set(watching.filter(address=call.address).values_list("pk", flat=True)) - by_phone
    files = DisputeFile.objects.in_bulk(by_phone | by_address)
    return [(files[pk], "phone" if pk in by_phone else "address") for pk in sorted(files)]


def file_triage_facts(file: DisputeFile) -> TriageFacts:
    """Facts for 繁简分流: parties, repeat calls (calls on the file beyond the first), the sum of money, and
    other files with a party's phone or at the same address."""
    phones = list(file.parties.exclude(phone="").values_list("phone", flat=True))
    calls = file.file_calls.count()
    prior = DisputeFile.objects.exclude(pk=file.pk).filter(opened_at__lte=file.opened_at)
    match = Q(parties__phone__in=phones) if phones else Q(pk__in=[])
    if file.address:
        match |= Q(address=file.address)
    return TriageFacts(
        parties=file.parties.count(),
        repeat_calls=max(calls - 1, 0),
        amount=file.amount,
        prior_files=prior.filter(match).distinct().count(),
    )


def followups_due(files: QuerySet[DisputeFile], *, on=None) -> QuerySet[FollowUpVisit]:
    on = on or timezone.localdate()
    return (FollowUpVisit.objects.filter(file__in=files, due_on__lte=on, done_at__isnull=True,
                                         cancelled_at__isnull=True)
            .select_related("file").order_by("due_on", "id"))


# --- Figures ------------------------------------------------------------------------------------

def _linked_count(after: bool):
    return Coalesce(Subquery(
        FileCall.objects.filter(file=OuterRef("pk"), after_outcome=after).order_by()
        .values("file").annotate(n=Count("id")).values("n"), output_field=IntegerField()), Value(0))


FIGURE_AGGREGATES = {
    "registered": Count("id"),
    "mediated": Count("id", filter=Q(closed_at__isnull=False)),
    "closed": Count("id", filter=Q(status=FileStatus.CLOSED)),
    "agreed": Count("id", filter=Q(status=FileStatus.CLOSED, outcome=DisputeFile.Outcome.AGREED)),
    "partial": Count("id", filter=Q(status=FileStatus.CLOSED, outcome=DisputeFile.Outcome.PARTIAL)),
    "failed": Count("id", filter=Q(status=FileStatus.CLOSED, outcome=DisputeFile.Outcome.FAILED)),
    "referred": Count("id", filter=Q(status=FileStatus.CLOSED, outcome=DisputeFile.Outcome.REFERRED)),
    "flared": Count("id", filter=Q(flare_count__gt=0)),
    "repeat_before": Count("id", filter=Q(closed_at__isnull=False, calls_before__gte=2)),
    "repeat_after": Count("id", filter=Q(closed_at__isnull=False, calls_after__gte=1)),
    "duration": Avg(ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField()),
                    filter=Q(status=FileStatus.CLOSED)),
}


def _rates(row: dict) -> dict:
    def pct(n, d):
        return round(100.0 * n / d, 1) if d else None

    row["success_rate"] = pct(row["agreed"], row["closed"])
    row["repeat_before_rate"] = pct(row["repeat_before"], row["mediated"])
    row["repeat_after_rate"] = pct(row["repeat_after"], row["mediated"])
    before, after = row["repeat_before_rate"], row["repeat_after_rate"]
    row["repeat_change"] = round(100.0 * (after - before) / before, 1) if before else None
    duration = row.pop("duration")
    row["days_to_resolution"] = round(duration.total_seconds() / 86400, 1) if duration is not None else None
    return row


def mediation_figures(files: QuerySet[DisputeFile], *, since=None, until=None) -> dict:
    """Figures for the files opened in [since, until): totals, per station and per mediator.

    - success rate: files closed with an agreement ÷ files closed (any outcome);
    - repeat-call rate before: mediated files with 2+ calls before the outcome (a repeat after the first);
    - repeat-call rate after: mediated files with 1+ call after the outcome; both ÷ files mediated at least once;
    - days to resolution: mean of outcome time − opening time over closed files.
    All counted in the database."""
    qs = files.order_by()
    if since is not None:
        qs = qs.filter(opened_at__gte=since)
    if until is not None:
        qs = qs.filter(opened_at__lt=until)
    qs = qs.annotate(calls_before=_linked_count(False), calls_after=_linked_count(True))
    total = _rates(qs.aggregate(**FIGURE_AGGREGATES))
    stations = [_rates(row) for row in qs.values("station_id", "station__name")
                .annotate(**FIGURE_AGGREGATES).order_by("station__name")]
    mediators = [_rates(row) for row in qs.values("mediator_id", "mediator__username", "mediator__first_name",
                                                   "mediator__last_name", "station__name")
                 .annotate(**FIGURE_AGGREGATES).order_by("station__name", "mediator__username")]
    for row in mediators:
        full = f"{row.pop('mediator__first_name') or ''} {row.pop('mediator__last_name') or ''}".strip()
        row["mediator_name"] = full or row["mediator__username"] or ""
    return {"total": total, "stations": stations, "mediators": mediators}
