from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.models import Role
from core.roles import role_required

from . import services
from .forms import AcceptForm, CallbackForm, CompleteForm, ReturnForm
from .models import SlipStatus
from .selectors import callbacks_due, slip_caller_hidden, slip_get_for_user, slips_visible_to

SLIP_PARTS = ["stub", "department", "receipt"]
INBOX_TABS = [
    ("todo", gettext_lazy("To accept"), [SlipStatus.ISSUED, SlipStatus.REOPENED]),
    ("doing", gettext_lazy("In progress"), [SlipStatus.ACCEPTED]),
    ("done", gettext_lazy("Completed"), [SlipStatus.COMPLETED, SlipStatus.CLOSED]),
    ("returned", gettext_lazy("Returned"), [SlipStatus.RETURNED]),
]


@role_required(Role.DEPARTMENT, Role.DISPATCHER, Role.SUPERVISOR)
def department_inbox(request):
    slips = slips_visible_to(request.user)
    counts = slips.aggregate(**{key: Count("id", filter=Q(status__in=statuses)) for key, _l, statuses in INBOX_TABS})
    tab = request.GET.get("tab", "todo")
    statuses = next((s for key, _l, s in INBOX_TABS if key == tab), INBOX_TABS[0][2])
    rows = slips.filter(status__in=statuses).order_by("deadline")[:300]
    tabs = [{"key": key, "label": label, "count": counts[key]} for key, label, _s in INBOX_TABS]
    return render(request, "department/inbox.html", {"slips": rows, "tabs": tabs, "tab": tab, "nav": "inbox",
                                                      "now": timezone.now()})


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
    slip = slip_get_for_user(request.user, pk)
    return render(request, "department/slip_print.html", {"slip": slip, "call": slip.call, "parts": SLIP_PARTS,
                                                          "caller_hidden": slip_caller_hidden(request.user, slip)})


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
