"""Supervision screens. Each view parses, authorises, calls one service, renders or redirects. Notices,
meetings and actions are fetched through the scoped selectors, which 404 outside the user's department."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.models import Role
from core.replica import replica_view
from core.roles import role_required
from core.times import day_start
from incidents.retention import disclosures, export_audit

from ..models import MeetingStatus, NoticeStatus, Report, ReportKind
from ..selectors import review_steps_overdue, slip_get_for_user
from . import services
from .forms import (
    AccountabilityForm,
    ActionDoneForm,
    DisclosureFilterForm,
    MeetingActionForm,
    MeetingConveneForm,
    MeetingRecordForm,
    NoticeIssueForm,
    NoticeReplyForm,
    NoticeReviewForm,
    PeriodForm,
    ReportGenerateForm,
)
from .reports import period_of, report_generate, report_xlsx
from .scores import department_scores
from .selectors import (
    accountability_records,
    action_get_for_user,
    actions_visible_to,
    meeting_get_for_user,
    meetings_visible_to,
    notice_get_for_user,
    notices_visible_to,
    open_slips_by_deadline,
)

SUPERVISOR = (Role.SUPERVISOR,)
NOTICE_READERS = (Role.SUPERVISOR, Role.DEPARTMENT, Role.DISPATCHER)
NOTICE_TABS = [
    ("open", gettext_lazy("Awaiting reply"), [NoticeStatus.ISSUED]),
    ("replied", gettext_lazy("Replied"), [NoticeStatus.REPLIED]),
    ("closed", gettext_lazy("Closed"), [NoticeStatus.CLOSED]),
]


def _done(request, message, to, *args):
    messages.success(request, message)
    return redirect(to, *args)


def _refused(request, exc: DomainError):
    messages.error(request, exc.message)


# --- The supervisor's desk -------------------------------------------------------------------------------

@role_required(*SUPERVISOR)
def supervision_home(request):
    """Open slips by deadline, with countdowns and how many notices each has had; above them, the calls a
    review layer keeps past its time limit."""
    slips = open_slips_by_deadline()
    now = timezone.now()
    counts = slips.aggregate(total=Count("id"), overdue=Count("id", filter=Q(deadline__lte=now)))
    return render(request, "supervision/open_slips.html", {
        "slips": slips[:300], "counts": counts, "now": now, "nav": "supervision", "tab": "slips",
        # Issue 40: calls kept past a review layer's time limit, before their slip could leave.
        "late_reviews": list(review_steps_overdue(now)[:50])})


# --- Notices ---------------------------------------------------------------------------------------------

@role_required(*NOTICE_READERS)
def notice_list(request):
    notices = notices_visible_to(request.user)
    counts = notices.aggregate(unread=Count("id", filter=Q(read_at__isnull=True)),
                               **{k: Count("id", filter=Q(status__in=s)) for k, _l, s in NOTICE_TABS})
    tab = request.GET.get("tab", "open")
    statuses = next((s for k, _l, s in NOTICE_TABS if k == tab), NOTICE_TABS[0][2])
    is_department = request.user.role == Role.DEPARTMENT
    context = {
        "notices": notices.filter(status__in=statuses)[:300],
        "tabs": [{"key": k, "label": label, "count": counts[k]} for k, label, _s in NOTICE_TABS],
        "tab": tab, "unread": counts["unread"], "now": timezone.now(),
        "nav": "notices" if is_department else "supervision", "subtab": "notices",
    }
    if is_department:
        context["actions"] = actions_visible_to(request.user).filter(done_at__isnull=True).order_by("deadline")
        context["done_form"] = ActionDoneForm()
    return render(request, "supervision/notices.html", context)


def _notice_context(request, notice, **forms):
    user = request.user
    own = user.role == Role.DEPARTMENT and user.department_id == notice.department_id
    return {
        "notice": notice, "items": notice.items.all(), "own": own, "now": timezone.now(),
        "is_supervisor": user.has_role(Role.SUPERVISOR),
        "reply_form": forms.get("reply_form") or NoticeReplyForm(),
        "review_form": forms.get("review_form") or NoticeReviewForm(),
        "nav": "notices" if user.role == Role.DEPARTMENT else "supervision", "subtab": "notices",
    }


@role_required(*NOTICE_READERS)
def notice_detail(request, pk):
    notice = notice_get_for_user(request.user, pk)
    services.notice_mark_read(actor=request.user, notice=notice)
    return render(request, "supervision/notice.html", _notice_context(request, notice))


@role_required(*NOTICE_READERS)
def notice_print(request, pk):
    notice = notice_get_for_user(request.user, pk)
    return render(request, "supervision/notice_print.html", {"notice": notice, "items": notice.items.all()})


def _notice_act(request, pk, form_class, form_key, action, success):
    notice = notice_get_for_user(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(notice, form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            return _done(request, success, "notice-detail", notice.pk)
    response = render(request, "supervision/notice.html", _notice_context(request, notice, **{form_key: form}))
    response.status_code = 400
    return response


@require_POST
@role_required(Role.DEPARTMENT)
def notice_reply(request, pk):
    return _notice_act(request, pk, NoticeReplyForm, "reply_form",
                       lambda n, d: services.notice_reply(actor=request.user, notice_pk=n.pk, reply=d["reply"]),
                       _("Reply sent to the command centre."))


@require_POST
@role_required(*SUPERVISOR)
def notice_review(request, pk):
    return _notice_act(request, pk, NoticeReviewForm, "review_form",
                       lambda n, d: services.notice_review(actor=request.user, notice_pk=n.pk, **d),
                       _("Notice updated."))


@role_required(*SUPERVISOR)
def notice_new(request):
    form = NoticeIssueForm(request.POST or None, initial={"slips": request.GET.get("slip", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            notice = services.notice_issue(actor=request.user, kind=d["kind"], department=d["department"],
                                           slips=d["slips"], reason=d["reason"])
        except DomainError as exc:
            _refused(request, exc)
        else:
            return _done(request, _("Notice %(s)s issued.") % {"s": notice.serial}, "notice-detail", notice.pk)
    return render(request, "supervision/notice_form.html", {"form": form, "nav": "supervision",
                                                           "subtab": "notices"})


# --- Joint meetings --------------------------------------------------------------------------------------

@role_required(*NOTICE_READERS)
def meeting_list(request):
    meetings = meetings_visible_to(request.user)
    nav = "notices" if request.user.role == Role.DEPARTMENT else "supervision"
    return render(request, "supervision/meetings.html", {"meetings": meetings[:200], "nav": nav,
                                                        "subtab": "meetings"})


@role_required(*SUPERVISOR)
def meeting_new(request, slip_pk):
    slip = slip_get_for_user(request.user, slip_pk)
    initial = {"title": slip.call.content[:60], "departments": [slip.department_id],
               "meeting_at": timezone.localtime() + timedelta(days=1),
               "time_limit": timezone.localtime() + timedelta(days=7)}
    form = MeetingConveneForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_convene(actor=request.user, slip_pk=slip.pk, **form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            return _done(request, _("Joint meeting convened."), "meeting-detail", meeting.pk)
    return render(request, "supervision/meeting_form.html", {"form": form, "slip": slip, "nav": "supervision",
                                                            "subtab": "meetings"})


def _meeting_context(request, meeting, **forms):
    user = request.user
    return {
        "meeting": meeting, "now": timezone.now(), "is_supervisor": user.has_role(Role.SUPERVISOR),
        "record_form": forms.get("record_form") or MeetingRecordForm(),
        "action_form": forms.get("action_form") or MeetingActionForm(meeting=meeting),
        "done_form": ActionDoneForm(), "held": meeting.status == MeetingStatus.HELD,
        "nav": "notices" if user.role == Role.DEPARTMENT else "supervision", "subtab": "meetings",
    }


@role_required(*NOTICE_READERS)
def meeting_detail(request, pk):
    meeting = meeting_get_for_user(request.user, pk)
    return render(request, "supervision/meeting.html", _meeting_context(request, meeting))


def _meeting_act(request, pk, form_class, form_key, action, success):
    meeting = meeting_get_for_user(request.user, pk)
    form = form_class(request.POST, **({"meeting": meeting} if form_class is MeetingActionForm else {}))
    if form.is_valid():
        try:
            action(meeting, form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            return _done(request, success, "meeting-detail", meeting.pk)
    response = render(request, "supervision/meeting.html", _meeting_context(request, meeting, **{form_key: form}))
    response.status_code = 400
    return response


@require_POST
@role_required(*SUPERVISOR)
def meeting_record(request, pk):
    return _meeting_act(request, pk, MeetingRecordForm, "record_form",
                        lambda m, d: services.meeting_record(actor=request.user, meeting_pk=m.pk, **d),
                        _("Decisions recorded."))


@require_POST
@role_required(*SUPERVISOR)
def meeting_action_add(request, pk):
    return _meeting_act(request, pk, MeetingActionForm, "action_form",
                        lambda m, d: services.meeting_action_add(actor=request.user, meeting_pk=m.pk, **d),
                        _("Action added."))


@require_POST
@role_required(*SUPERVISOR)
def meeting_close(request, pk):
    meeting = meeting_get_for_user(request.user, pk)
    try:
        services.meeting_close(actor=request.user, meeting_pk=meeting.pk)
    except DomainError as exc:
        _refused(request, exc)
        return redirect("meeting-detail", meeting.pk)
    return _done(request, _("Joint meeting closed."), "meeting-detail", meeting.pk)


@require_POST
@role_required(Role.DEPARTMENT)
def action_done(request, pk):
    action = action_get_for_user(request.user, pk)
    form = ActionDoneForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_action_done(actor=request.user, action_pk=action.pk, note=form.cleaned_data["note"])
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("Action reported done."))
    else:
        messages.error(request, _("Say what was done."))
    return redirect(request.POST.get("next") or "notice-list") if _safe_next(request) else redirect("notice-list")


def _safe_next(request) -> bool:
    nxt = request.POST.get("next", "")
    return nxt.startswith("/") and not nxt.startswith("//")


# --- Accountability --------------------------------------------------------------------------------------

@role_required(*SUPERVISOR)
def accountability_list(request):
    form = AccountabilityForm(request.POST or None, initial={"occurred_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.accountability_record(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _refused(request, exc)
        else:
            return _done(request, _("Record saved."), "accountability-list")
    records = accountability_records()
    totals = records.aggregate(talks=Count("id", filter=Q(kind="reminder_talk")),
                               departments=Count("department", filter=Q(kind="held_to_account"), distinct=True))
    return render(request, "supervision/accountability.html", {"form": form, "records": records[:300],
                                                              "totals": totals, "nav": "supervision",
                                                              "subtab": "accountability"})


# --- Who looked at callers' numbers --------------------------------------------------------------------

@role_required(*SUPERVISOR)
def disclosure_list(request):
    """Every reveal of a caller's full number (who, when, which call, why) and every export, newest first,
    filterable by person, dates and kind (incidents.retention)."""
    form = DisclosureFilterForm(request.GET or None)
    rows = disclosures()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        rows = disclosures(actor_id=data["person"].pk if data["person"] else None, since=data["since"],
                           until=data["until"], kind=data["kind"])
    elif form.is_bound:
        rows = rows.none()
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "supervision/disclosures.html", {
        "form": form, "page": page, "query": query.urlencode(), "nav": "supervision", "subtab": "disclosures",
        "retention_days": settings.CALLER_RETENTION_DAYS})


# --- League table and reports ----------------------------------------------------------------------------

@role_required(*SUPERVISOR)
@replica_view
def league_table(request):
    kind, day = ReportKind.MONTHLY, timezone.localdate()
    # The selector shows the period the table is for, bound or not.
    form = PeriodForm(request.GET or None, initial={"period": kind, "day": day})
    if form.is_valid():
        kind = form.cleaned_data["period"] or kind
        day = form.cleaned_data["day"] or day
    start, end = period_of(kind, day)
    rows = department_scores(day_start(start), day_start(end))
    from django.conf import settings

    return render(request, "supervision/league.html", {
        "form": form, "rows": rows, "start": start, "end": end - timedelta(days=1), "kind": kind,
        "weights": settings.SUPERVISION_SCORE_WEIGHTS, "nav": "supervision", "subtab": "league"})


@role_required(*SUPERVISOR)
@replica_view
def report_list(request):
    form = ReportGenerateForm(request.POST or None, initial={"kind": ReportKind.WEEKLY,
                                                             "day": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        report = report_generate(actor=request.user, kind=form.cleaned_data["kind"], day=form.cleaned_data["day"])
        return _done(request, _("Report generated."), "report-detail", report.pk)
    reports = Report.objects.select_related("generated_by").defer("data")[:200]
    return render(request, "supervision/reports.html", {"form": form, "reports": reports, "nav": "supervision",
                                                       "subtab": "reports"})


@role_required(*SUPERVISOR)
@replica_view
def report_detail(request, pk):
    report = get_object_or_404(Report, pk=pk)
    return render(request, "supervision/report.html", {"report": report, "data": report.data,
                                                      "last_day": report.period_end - timedelta(days=1),
                                                      "nav": "supervision", "subtab": "reports"})


@role_required(*SUPERVISOR)
@replica_view
def report_export(request, pk):
    report = get_object_or_404(Report, pk=pk)
    response = HttpResponse(report_xlsx(report),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="fenliu-{report.kind}-{report.period_start}.xlsx"'
    export_audit(actor=request.user, obj=report, what=f"report_{report.kind}", format="xlsx",
                 period_start=report.period_start.isoformat())
    return response
