from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.times import validate_day, validate_planned_time

from ..models import AccountabilityRecord, Department, HandoffSlip, NoticeKind, ReportKind


def _local_datetime():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _local_date():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _departments():
    return Department.objects.filter(active=True).order_by("code")


class NoticeReplyForm(forms.Form):
    reply = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)


class NoticeReviewForm(forms.Form):
    accept = forms.TypedChoiceField(label=_("Decision"), coerce=lambda v: v == "1",
                                    choices=[("1", _("Accept the reply and close")),
                                             ("0", _("Send back for a better reply"))])
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class NoticeIssueForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=NoticeKind.choices)
    department = forms.ModelChoiceField(label=_("Department"), queryset=_departments())
    slips = forms.CharField(label=_("Slip numbers"), help_text=_("Serial numbers, separated by spaces or commas."))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_slips(self):
        serials = [s for s in self.cleaned_data["slips"].replace(",", " ").replace("，", " ").split() if s]
        found = []
        for serial in serials:
            try:
                year, number = serial.split("-")
                found.append(HandoffSlip.objects.get(year=int(year), number=int(number)))
            except (ValueError, HandoffSlip.DoesNotExist):
                raise forms.ValidationError(_("No slip %(s)s.") % {"s": serial}) from None
        if not found:
            raise forms.ValidationError(_("Give at least one slip number."))
        return found


class MeetingConveneForm(forms.Form):
    title = forms.CharField(label=_("Subject"), max_length=200)
    meeting_at = forms.DateTimeField(label=_("Meeting date"),
                                     widget=_local_datetime(),
                                     validators=[validate_planned_time])
    time_limit = forms.DateTimeField(label=_("To be settled by"),
                                     widget=_local_datetime(),
                                     validators=[validate_planned_time])
    departments = forms.ModelMultipleChoiceField(label=_("Departments invited"), queryset=_departments(),
                                                 widget=forms.CheckboxSelectMultiple)


class MeetingRecordForm(forms.Form):
    decisions = forms.CharField(label=_("Decisions"), widget=forms.Textarea(attrs={"rows": 4}))


class MeetingActionForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Responsible department"), queryset=Department.objects.none())
    description = forms.CharField(label=_("Action"), widget=forms.Textarea(attrs={"rows": 2}))
    deadline = forms.DateTimeField(label=_("Deadline"), widget=_local_datetime(), validators=[validate_planned_time])

    def __init__(self, *args, meeting=None, **kwargs):
        super().__init__(*args, **kwargs)
        if meeting is not None:
            self.fields["department"].queryset = meeting.departments.order_by("code")


class ActionDoneForm(forms.Form):
    note = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}))


class AccountabilityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AccountabilityRecord.Kind.choices)
    department = forms.ModelChoiceField(label=_("Department"), queryset=_departments())
    person = forms.CharField(label=_("Person talked to"), required=False, max_length=64)
    occurred_on = forms.DateField(label=_("Date"), widget=_local_date(), validators=[validate_day])
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}))
    notices = forms.CharField(label=_("Notice numbers"), required=False,
                              help_text=_("Serial numbers of the notices behind it, e.g. DB-2025-000012."))

    def clean_notices(self):
        from ..models import Notice

        found = []
        for serial in self.cleaned_data["notices"].replace(",", " ").split():
            try:
                pk = int(serial.rsplit("-", 1)[-1])
                found.append(Notice.objects.get(pk=pk))
            except (ValueError, Notice.DoesNotExist):
                raise forms.ValidationError(_("No notice %(s)s.") % {"s": serial}) from None
        return found


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), required=False,
                               choices=[(ReportKind.WEEKLY, _("Week")), (ReportKind.MONTHLY, _("Month")),
                                        (ReportKind.QUARTERLY, _("Quarter"))])
    day = forms.DateField(label=_("Containing the day"), required=False,
                          widget=_local_date(), validators=[validate_day])


class ReportGenerateForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("periodic report", "Report"), choices=ReportKind.choices)
    day = forms.DateField(label=_("Period containing the day"), widget=_local_date(), validators=[validate_day])


class DisclosureFilterForm(forms.Form):
    """The supervisor's filter of who looked at callers' numbers and what was exported."""

    KINDS = [("", _("Reveals and exports")), ("reveal", _("Numbers shown")), ("export", _("Exports"))]

    person = forms.ModelChoiceField(label=_("Who"), required=False, queryset=None)
    since = forms.DateField(label=_("From"), required=False, widget=_local_date(), validators=[validate_day])
    until = forms.DateField(label=_("To"), required=False, widget=_local_date(), validators=[validate_day])
    kind = forms.ChoiceField(label=_("What"), required=False, choices=KINDS)

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["person"].label_from_instance = lambda user: f"{user.get_full_name() or user.username} " \
                                                                   f"({user.username})"
