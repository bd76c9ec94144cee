from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.keyset import bounded_count, count_label, keyset_page
from core.models import Role
from core.replica import replica_view
from core.roles import is_administrator, role_required

from . import services
from .forms import (
    AcceptForm,
    CallbackForm,
    CompleteForm,
    PoliceWordForm,
    QualityWeekForm,
    ReturnForm,
    ReviewDecisionForm,
)
from .models import INBOX_COMPLETED, INBOX_IN_PROGRESS, INBOX_TO_ACCEPT, SlipStatus
from .selectors import (
    callbacks_due,
    review_get,
    review_layers_of,
    reviews_pending,
    reviews_waiting_for,
    slip_caller_hidden,
    slip_get_for_user,
    slips_visible_to,
)
from .supervision.scores import own_figures

SLIP_PARTS = ["stub", "department", "receipt"]
# Each tab: its statuses and its order, read from an index in that order (HandoffSlip.Meta): the open ones
# most urgent first, the done ones newest completion first, the returned newest first.
INBOX_TABS = [
    ("todo", gettext_lazy("To accept"), INBOX_TO_ACCEPT, ("deadline", "id")),
    ("doing", gettext_lazy("In progress"), INBOX_IN_PROGRESS, ("deadline", "id")),
    ("done", gettext_lazy("Completed"), INBOX_COMPLETED, ("-completed_at", "-id")),
    ("returned", gettext_lazy("Returned"), [SlipStatus.RETURNED], ("-issued_at", "-id")),
]
INBOX_PAGE = 50


@role_required(Role.DEPARTMENT, Role.DISPATCHER, Role.SUPERVISOR)
def department_inbox(request):
    slips = slips_visible_to(request.user)
    # Counts that stop at 999+: a tab of history costs no more than one of today's work.
    counts = {key: bounded_count(slips.filter(status__in=statuses)) for key, _l, statuses, _o in INBOX_TABS}
    # Without a tab: the first that has slips (nothing to accept: those in progress), so the page opens on work.
    tab = request.GET.get("tab")
    if tab not in counts:
        tab = next((key for key, _l, _s, _o in INBOX_TABS if counts[key]), "todo")
    statuses, order = next((s, o) for key, _l, s, o in INBOX_TABS if key == tab)
    # Joined: only what the rows show, so the query plans fast (issue 42).
    rows = slips.filter(status__in=statuses).select_related(None).select_related("call", "category", "department")
    page = keyset_page(rows, order, request.GET.get("after"), INBOX_PAGE)
    tabs = [{"key": key, "label": label, "count": count_label(counts[key])} for key, label, _s, _o in INBOX_TABS]
    return render(request, "department/inbox.html", {"slips": page.rows, "page": page, "tabs": tabs, "tab": tab,
                                                      "nav": "inbox", "now": timezone.now(),
                                                      "figures": own_figures(request.user)})


def _slip_context(request, slip, **forms):
    user = request.user
    own = user.is_superuser or (user.role == Role.DEPARTMENT and user.department_id == slip.department_id)
    from incidents.services import can_reveal_phone

    context = {
        "slip": slip,
        "call": slip.call,
        "callbacks": slip.callbacks.select_related("recorded_by"),
        "own": own,
        "can_callback": user.has_role(Role.DISPATCHER, Role.SUPERVISOR),
        "can_reveal": can_reveal_phone(user, slip.call),
        "caller_hidden": slip_caller_hidden(user, slip),
        "accept_form": forms.get("accept_form") or AcceptForm(),
        "return_form": forms.get("return_form") or ReturnForm(),
        "complete_form": forms.get("complete_form") or CompleteForm(initial={"handler_name": slip.handler_name}),
        "callback_form": forms.get("callback_form") or CallbackForm(),
        "now": timezone.now(),
        "parts": SLIP_PARTS,
        "nav": "inbox" if user.role == Role.DEPARTMENT else "callbacks",
    }
    return context


@role_required(Role.DEPARTMENT, Role.DISPATCHER, Role.SUPERVISOR)
def slip_detail(request, pk):
    slip = slip_get_for_user(request.user, pk)
    return render(request, "department/slip.html", _slip_context(request, slip))


@role_required(Role.DEPARTMENT, Role.DISPATCHER, Role.SUPERVISOR)
def slip_print(request, pk):
    """The three parts to print. The department's part carries the caller's full number (the department
    must call them); showing it is a reveal, audited like one, for anyone allowed to see the number."""
    slip = slip_get_for_user(request.user, pk)
    hidden = slip_caller_hidden(request.user, slip)
    return render(request, "department/slip_print.html", {
        "slip": slip, "call": slip.call, "parts": SLIP_PARTS, "caller_hidden": hidden,
        "full_phone": "" if hidden else services.slip_print_phone(actor=request.user, slip=slip)})


def _act(request, pk, form_class, form_key, action, success):
    """Fetch the slip in the user's scope (404 otherwise), validate, call one service."""
    slip = slip_get_for_user(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(slip, form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, success)
            return redirect("slip-detail", pk=slip.pk)
    response = render(request, "department/slip.html", _slip_context(request, slip, **{form_key: form}))
    response.status_code = 400
    return response


@require_POST
@role_required(Role.DEPARTMENT)
def slip_accept(request, pk):
    return _act(request, pk, AcceptForm, "accept_form",
                lambda slip, d: services.slip_accept(actor=request.user, slip_pk=slip.pk, **d), _("Slip accepted."))


@require_POST
@role_required(Role.DEPARTMENT)
def slip_return(request, pk):
    return _act(request, pk, ReturnForm, "return_form",
                lambda slip, d: services.slip_return(actor=request.user, slip_pk=slip.pk, **d),
                _("Slip returned to the command centre."))


@require_POST
@role_required(Role.DEPARTMENT)
def slip_complete(request, pk):
    return _act(request, pk, CompleteForm, "complete_form",
                lambda slip, d: services.slip_complete(actor=request.user, slip_pk=slip.pk, **d),
                _("Result recorded. The command centre will call the caller back."))


@require_POST
@role_required(Role.DISPATCHER, Role.SUPERVISOR)
def callback_record(request, pk):
    return _act(request, pk, CallbackForm, "callback_form",
                lambda slip, d: services.callback_record(actor=request.user, slip_pk=slip.pk, **d),
                _("Callback recorded."))


@role_required(Role.DISPATCHER, Role.SUPERVISOR)
def callback_list(request):
    return render(request, "supervisor/callbacks.html", {"slips": callbacks_due(request.user)[:300],
                                                         "nav": "callbacks"})


# --- Review layers before a slip leaves (issue 40) --------------------------------------------------------

@role_required(Role.DISPATCHER, Role.SUPERVISOR)
def review_queue(request):
    """The calls waiting for the user's review layers, the one due first on top; below, every call in review
    and where it waits."""
    return render(request, "dispatcher/reviews.html", {
        "waiting": reviews_waiting_for(request.user)[:300], "pending": reviews_pending()[:300],
        "layers": review_layers_of(request.user), "now": timezone.now(), "nav": "reviews"})


@role_required(Role.DISPATCHER, Role.SUPERVISOR)
def review_detail(request, pk, form=None):
    review = review_get(pk)
    mine = set(review_layers_of(request.user, include_inactive=True).values_list("pk", flat=True))
    steps = list(review.steps.all())
    step = next((s for s in steps if s.is_open and s.layer_id in mine), None)
    if review.requested_by_id == request.user.pk or any(s.decided_by_id == request.user.pk for s in steps):
        step = None  # four eyes: nothing for this user to decide here (the service refuses it too)
    response = render(request, "dispatcher/review.html", {
        "review": review, "call": review.call, "steps": steps, "step": step, "now": timezone.now(),
        "form": form or ReviewDecisionForm(), "nav": "reviews"})
    if form is not None:
        response.status_code = 400
    return response


@require_POST
@role_required(Role.DISPATCHER, Role.SUPERVISOR)
def review_decide(request, pk):
    review = review_get(pk)
    form = ReviewDecisionForm(request.POST)
    if not form.is_valid():
        return review_detail(request, pk, form=form)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        review = services.review_decide(actor=request.user, review_pk=review.pk, approve=approve,
                                        reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("review-detail", pk=review.pk)
    call_id = review.call.call_id
    if not approve:
        messages.success(request, _("Call %(id)s sent back to the dispatchers.") % {"id": call_id})
    elif review.slip_id:
        messages.success(request, _("Approved: slip %(serial)s issued to %(dept)s.") % {
            "serial": review.slip.serial, "dept": review.slip.department.name})
    else:
        messages.success(request, _("Approved: call %(id)s goes on to the next review layer.") % {"id": call_id})
    return redirect("review-queue")


# --- Routing quality (issue 35): the suggestion against the dispatchers' decisions ----------------------

QUALITY_READERS = (Role.SUPERVISOR, Role.ADMIN)


@role_required(*QUALITY_READERS)
@replica_view
def routing_quality(request):
    """Per week how often the suggestion was kept, the overrides by sub-category and every miss that matters
    (suggested diverting, kept with the police), newest first; the active models and a retrain button.
    Without a week: the WEEKS_SHOWN weeks up to this one; with one: that week's overrides and misses."""
    from .routing import quality, suggest_many

    form = QualityWeekForm(request.GET or None)
    today = timezone.localdate()
    week = None
    if form.is_bound and form.is_valid() and form.cleaned_data["week"]:
        week = quality.week_of(form.cleaned_data["week"])
    weeks = quality.week_figures(last=week or today)
    if week:
        start, end = quality.week_bounds(week)
    else:
        start, end = quality.week_bounds(weeks[-1].monday)[0], quality.week_bounds(weeks[0].monday)[1]
    page = Paginator(quality.misses(start=start, end=end), 50).get_page(request.GET.get("page"))
    names = quality.category_names()
    calls = list(page)
    # What the same text is suggested now, with today's catalog and models: a miss already mended shows it.
    now = suggest_many([call.content for call in calls])
    rows = [{"call": call, "facts": quality.miss_facts(call, names), "pieces": _highlight(call), "now": suggestion}
            for call, suggestion in zip(calls, now, strict=True)]
    query = request.GET.copy()
    query.pop("page", None)
    can_edit = is_administrator(request.user)
    return render(request, "routing/quality.html", {
        "form": form, "weeks": weeks, "week": week, "start": timezone.localdate(start),
        "end": timezone.localdate(end) - timedelta(days=1), "page": page, "rows": rows,
        "overrides": quality.overrides_by_category(start=start, end=end), "models": quality.active_models(),
        "query": query.urlencode(), "can_edit": can_edit, "word_form": PoliceWordForm() if can_edit else None,
        "pending": quality.retrain_pending(), "can_open_calls": request.user.has_role(Role.DISPATCHER, Role.SUPERVISOR),
        "nav": "supervision" if request.user.has_role(Role.SUPERVISOR) else "quality", "subtab": "quality"})


def _highlight(call):
    from .routing import highlight_spans

    matches = [m for c in (call.suggestions or {}).get("candidates", []) for m in c.get("matches", [])]
    return highlight_spans(call.content, matches)


@require_POST
@role_required(*QUALITY_READERS)
def routing_retrain(request):
    from .routing import quality

    row, queued = quality.retrain_request(actor=request.user)
    if queued:
        messages.success(request, _("Training queued. The new models appear here when it has finished; the "
                                    "active ones stay until then."))
    else:
        who = row.actor.get_full_name() or row.actor.username if row.actor else _("the system")
        messages.info(request, _("A training asked for by %(who)s at %(at)s is still on its way; nothing more "
                                 "was queued.") % {"who": who, "at": timezone.localtime(row.at).strftime("%H:%M")})
    return redirect("routing-quality")


@require_POST
@role_required(*QUALITY_READERS)
def police_word_add(request, pk):
    """From a miss: add the word that should have kept the call with the police to a police signal.
    Administrators only: a supervisor reads the page but does not edit the catalog (403)."""
    from .routing import quality, suggest

    if not is_administrator(request.user):
        raise PermissionDenied
    form = PoliceWordForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for field in form.errors.values() for e in field)
        messages.error(request, errors)
        return redirect(_back(request))
    try:
        added = quality.police_word_add(actor=request.user, call_pk=pk, signal_code=form.cleaned_data["signal"],
                                        word=form.cleaned_data["word"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request))
    from incidents.models import Call

    content = Call.objects.values_list("content", flat=True).get(pk=pk)
    messages.success(request, _("“%(word)s” added to %(signal)s. The same text is now suggested: %(decision)s. It "
                                "stands in %(n)s of the %(total)s calls diverted in the last %(days)s days.") % {
        "word": added.word, "signal": added.signal.name, "decision": suggest(content).decision_label,
        "n": added.containing, "total": added.diverted, "days": quality.WORD_REACH_DAYS})
    return redirect(_back(request))


def _back(request) -> str:
    """The quality page the form was posted from (its query kept), never another site."""
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) \
            and target.startswith(reverse("routing-quality")):
        return target
    return reverse("routing-quality")
