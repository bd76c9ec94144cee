from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.models import AuditLog, Role
from core.roles import role_required
from core.times import day_start
from incidents.selectors import calls_visible_to

from . import selectors, services
from .forms import (
    CloseForm,
    FiguresForm,
    FileOpenForm,
    FollowUpForm,
    PartyForm,
    PlanForm,
    ReopenForm,
    SessionForm,
    TriageForm,
    dispute_types,
    party_formset,
)
from .models import FILE_ACTIVE_STATUSES, FileStatus, Mediator, Party
from .triage import RULE_LABELS, complexity_suggest

READERS = (Role.MEDIATOR, Role.SUPERVISOR)
LIST_LIMIT = 300
TABS = [
    ("active", gettext_lazy("In hand"), FILE_ACTIVE_STATUSES),
    ("closed", gettext_lazy("Closed, following up"), [FileStatus.CLOSED]),
]


@role_required(*READERS)
def file_list(request):
    files = selectors.files_visible_to(request.user)
    profile = selectors.mediator_of(request.user)
    counts = files.aggregate(**{key: Count("id", filter=Q(status__in=st)) for key, _l, st in TABS})
    tab = request.GET.get("tab", "active")
    statuses = next((st for key, _l, st in TABS if key == tab), TABS[0][2])
    rows = (files.filter(status__in=statuses)
            .annotate(n_parties=Count("parties", distinct=True),
                      n_after=Count("file_calls", filter=Q(file_calls__after_outcome=True), distinct=True))
            .order_by("-opened_at")[:LIST_LIMIT])
    context = {
        "nav": "mediation",
        "files": rows,
        "tab": tab,
        "tabs": [{"key": key, "label": label, "count": counts[key]} for key, label, _s in TABS],
        "profile": profile,
        "due": selectors.followups_due(files)[:50],
        "waiting": selectors.dispute_calls_waiting(profile.station)[:50] if profile else [],
    }
    return render(request, "mediation/file_list.html", context)


def _call_initial(call) -> tuple[dict, list[dict]]:
    types = dispute_types()
    kind = next((c for c in (call.category, call.suggested_category) if c and types.filter(pk=c.pk).exists()), None)
    title = " · ".join(filter(None, [kind.name if kind else "", call.caller_name or call.masked_phone]))
    initial = {"title": title, "address": call.address, "grid": call.micro_grid, "dispute_type": kind,
               "summary": call.content, "station": selectors.station_for_call(call)}
    parties = [{"name": call.caller_name, "phone": call.caller_phone, "role": Party.Role.APPLICANT}]
    return initial, parties


@role_required(Role.MEDIATOR, Role.DISPATCHER, Role.SUPERVISOR)
def file_open(request):
    """Open a file from a dispute call (?call=) or, for a station's mediator, for a walk-in."""
    user = request.user
    profile = selectors.mediator_of(user)
    if user.role == Role.MEDIATOR and profile is None and not user.is_superuser:
        raise PermissionDenied
    call_pk = request.POST.get("call") or request.GET.get("call")
    call = None
    if call_pk:
        scope = (selectors.dispute_calls_waiting(profile.station, days=settings.MEDIATION_LINK_DAYS) if profile
                 else calls_visible_to(user))
        call = get_object_or_404(scope, pk=call_pk if str(call_pk).isdigit() else 0)
    elif profile is None:
        raise Http404  # the command centre opens files from a call only
    fixed = profile.station if profile else None
    initial, party_initial = _call_initial(call) if call else ({}, [])
    form = FileOpenForm(request.POST or None, initial=initial, fixed_station=fixed)
    parties = party_formset(request.POST or None, initial=party_initial)
    if request.method == "POST" and form.is_valid() and parties.is_valid():
        data = form.cleaned_data
        try:
            file = services.file_open(
                actor=user, station=fixed or data["station"], title=data["title"], summary=data["summary"],
                dispute_type=data["dispute_type"], grid=data["grid"], address=data["address"],
                amount=data["amount"], call=call,
                parties=[p for p in parties.cleaned_data if p and p.get("name")])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Dispute file %(serial)s opened at %(station)s.")
                             % {"serial": file.serial, "station": file.station.name})
            if profile is not None or user.is_superuser:
                return redirect("mediation-file", pk=file.pk)
            return redirect("call-page", pk=call.pk)
    return render(request, "mediation/file_form.html", {"form": form, "parties": parties, "call": call,
                                                        "profile": profile, "nav": "mediation"})


def _can_work(user, file) -> bool:
    if user.is_superuser:
        return True
    profile = selectors.mediator_of(user)
    return profile is not None and profile.station_id == file.station_id


def _detail_context(request, file, **forms):
    can_work = _can_work(request.user, file)
    facts = selectors.file_triage_facts(file)
    suggested, fired = complexity_suggest(facts)
    return {
        "file": file,
        "nav": "mediation",
        "can_work": can_work,
        "active": file.is_active,
        "parties": file.parties.all(),
        "links": file.file_calls.select_related("call", "call__category", "call__suggested_category"),
        "n_after": file.file_calls.filter(after_outcome=True).count(),
        "sessions": file.sessions.select_related("recorded_by").prefetch_related(
            Prefetch("members", Mediator.objects.select_related("user"))),
        "visits": file.follow_ups.select_related("done_by"),
        "today": timezone.localdate(),
        "facts": facts,
        "suggested": suggested,
        "fired": [RULE_LABELS[r] for r in fired],
        "timeline": AuditLog.objects.filter(object_type="disputefile", object_id=file.pk).select_related("actor"),
        "triage_form": forms.get("triage_form") or TriageForm(initial={"complexity": file.complexity or suggested}),
        "plan_form": forms.get("plan_form") or PlanForm(initial={"plan": file.plan}),
        "party_form": forms.get("party_form") or PartyForm(initial={"role": Party.Role.RESPONDENT}),
        "session_form": forms.get("session_form") or SessionForm(station=file.station),
        "close_form": forms.get("close_form") or CloseForm(),
        "followup_form": forms.get("followup_form") or FollowUpForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
    }


@role_required(*READERS)
def file_detail(request, pk):
    file = selectors.file_get_for_user(request.user, pk)
    return render(request, "mediation/file_detail.html", _detail_context(request, file))


def _act(request, pk, form_class, form_key, action, success, **form_kwargs):
    """Fetch the file in the user's scope (404 otherwise), validate, call one service."""
    file = selectors.file_get_for_user(request.user, pk)
    form = form_class(request.POST, **form_kwargs)
    if form.is_valid():
        try:
            action(file, form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, success)
            return redirect("mediation-file", pk=file.pk)
    file.refresh_from_db()
    response = render(request, "mediation/file_detail.html", _detail_context(request, file, **{form_key: form}))
    response.status_code = 400
    return response


@require_POST
@role_required(Role.MEDIATOR)
def file_take(request, pk):
    file = selectors.file_get_for_user(request.user, pk)
    try:
        services.file_take(actor=request.user, file_pk=file.pk)
        messages.success(request, _("You are now this file's mediator."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("mediation-file", pk=file.pk)


@require_POST
@role_required(Role.MEDIATOR)
def file_triage(request, pk):
    return _act(request, pk, TriageForm, "triage_form",
                lambda f, d: services.file_triage(actor=request.user, file_pk=f.pk, **d), _("Complexity decided."))


@require_POST
@role_required(Role.MEDIATOR)
def file_plan(request, pk):
    return _act(request, pk, PlanForm, "plan_form",
                lambda f, d: services.file_set_plan(actor=request.user, file_pk=f.pk, **d), _("Plan saved."))


@require_POST
@role_required(Role.MEDIATOR)
def party_add(request, pk):
    return _act(request, pk, PartyForm, "party_form",
                lambda f, d: services.party_add(actor=request.user, file_pk=f.pk, **d), _("Party added."))


@require_POST
@role_required(Role.MEDIATOR)
def session_add(request, pk):
    file = selectors.file_get_for_user(request.user, pk)
    return _act(request, pk, SessionForm, "session_form",
                lambda f, d: services.session_record(actor=request.user, file_pk=f.pk, **d),
                _("Session recorded."), station=file.station)


@require_POST
@role_required(Role.MEDIATOR)
def file_close(request, pk):
    return _act(request, pk, CloseForm, "close_form",
                lambda f, d: services.file_close(actor=request.user, file_pk=f.pk, **d),
                _("Outcome recorded. Follow-up visits are scheduled."))


@require_POST
@role_required(Role.MEDIATOR)
def file_reopen(request, pk):
    return _act(request, pk, ReopenForm, "reopen_form",
                lambda f, d: services.file_reopen(actor=request.user, file_pk=f.pk, **d),
                _("Marked as flared up; the file is reopened."))


@require_POST
@role_required(Role.MEDIATOR)
def followup_record(request, pk):
    visit = selectors.visit_get_for_user(request.user, pk)
    return _act(request, visit.file_id, FollowUpForm, "followup_form",
                lambda f, d: services.followup_record(actor=request.user, visit_pk=visit.pk, **d),
                _("Follow-up visit recorded."))


@role_required(*READERS)
def agreement_print(request, pk):
    file = selectors.file_get_for_user(request.user, pk)
    if not file.has_agreement:
        raise Http404
    sessions = file.sessions.prefetch_related(Prefetch("members", Mediator.objects.select_related("user")))
    members = {m.pk: m for s in sessions for m in s.members.all()}
    return render(request, "mediation/agreement_print.html", {
        "file": file, "parties": file.parties.all(), "members": list(members.values()),
        "last_session": sessions.last(), "nav": "mediation"})


@role_required(*READERS)
def figures(request):
    form = FiguresForm(request.GET or None)
    today = timezone.localdate()
    since, until = today.replace(month=1, day=1), today
    if form.is_bound and form.is_valid():
        since = form.cleaned_data["since"] or since
        until = form.cleaned_data["until"] or until
    data = selectors.mediation_figures(selectors.files_visible_to(request.user), since=day_start(since),
                                       until=day_start(until + timedelta(days=1)))
    return render(request, "mediation/figures.html", {"form": form, "since": since, "until": until,
                                                      "nav": "mediation-figures", **data})
