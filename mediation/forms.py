from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.phones import phone_normalise
from core.times import validate_day, validate_event_time
from diversion.models import Category
from grids.models import Grid, Unit

from .models import DisputeFile, MediationSession, Mediator, Party


def dispute_types():
    return Category.objects.filter(active=True, group__code__in=settings.MEDIATION_DISPUTE_GROUPS)


class FileOpenForm(forms.Form):
    station = forms.ModelChoiceField(Unit.objects.filter(kind=Unit.Kind.STATION), label=_("police station"))
    title = forms.CharField(label=_("title"), max_length=120)
    dispute_type = forms.ModelChoiceField(Category.objects.none(), label=_("dispute type"), required=False)
    address = forms.CharField(label=_("address"), max_length=200, required=False)
    grid = forms.ModelChoiceField(Grid.objects.all(), label=_("grid"), required=False)
    amount = forms.DecimalField(label=_("amount in dispute (yuan)"), required=False, min_value=0, max_digits=12,
                                decimal_places=2)
    summary = forms.CharField(label=_("what the dispute is about"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def __init__(self, *args, fixed_station=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dispute_type"].queryset = dispute_types()
        if fixed_station is not None:
            # A mediator opens files for their own station only.
            del self.fields["station"]


class PartyForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=64, required=False)
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("role"), choices=Party.Role.choices, initial=Party.Role.APPLICANT)
    address = forms.CharField(label=_("address"), max_length=200, required=False)

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        return phone_normalise(phone) if phone else ""

    def clean(self):
        data = super().clean()
        if data.get("phone") and not data.get("name"):
            self.add_error("name", _("Give the party's name."))
        return data


PartyFormSet = forms.formset_factory(PartyForm, extra=0, min_num=1, max_num=10)


def party_formset(data=None, initial=None):
    initial = initial or []
    blank = max(3 - len(initial), 0)
    initial = initial + [{"role": Party.Role.RESPONDENT if i or initial else Party.Role.APPLICANT}
                         for i in range(blank)]
    return PartyFormSet(data, initial=initial, prefix="party")


class TriageForm(forms.Form):
    complexity = forms.ChoiceField(label=_("complexity"), choices=DisputeFile.Complexity.choices,
                                   widget=forms.RadioSelect)


class PlanForm(forms.Form):
    plan = forms.CharField(label=_("plan (一事一策)"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)


class SessionForm(forms.Form):
    held_at = forms.DateTimeField(label=_("held at"), validators=[validate_event_time],
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    place = forms.ChoiceField(label=_("place"), choices=MediationSession.Place.choices)
    place_detail = forms.CharField(label=_("where exactly"), max_length=120, required=False)
    members = forms.ModelMultipleChoiceField(Mediator.objects.none(), label=_("mediators present"), required=False,
                                             widget=forms.CheckboxSelectMultiple)
    attendees = forms.CharField(label=_("attendees"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                max_length=2000)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            max_length=8000)

    def __init__(self, *args, station=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["held_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        if station is not None:
            self.fields["members"].queryset = (Mediator.objects.filter(station=station, active=True)
                                               .select_related("user"))


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=DisputeFile.Outcome.choices)
    agreement_text = forms.CharField(label=_("terms of the agreement"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 5}), max_length=8000)
    note = forms.CharField(label=_("note on the outcome"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           max_length=2000)

    def clean(self):
        data = super().clean()
        if data.get("outcome") in (DisputeFile.Outcome.AGREED, DisputeFile.Outcome.PARTIAL) \
                and not (data.get("agreement_text") or "").strip():
            self.add_error("agreement_text", _("Write down what the parties agreed."))
        return data


class FollowUpForm(forms.Form):
    result = forms.CharField(label=_("result"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    flared_up = forms.BooleanField(label=_("dispute flared up again"), required=False)
    early = forms.BooleanField(label=_("recorded before it is due"), required=False)
    early_reason = forms.CharField(label=_("why early"), required=False, max_length=500)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("what happened"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class FiguresForm(forms.Form):
    since = forms.DateField(label=pgettext_lazy("date range", "from"), required=False, validators=[validate_day],
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("until"), required=False, validators=[validate_day],
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError(_("The start comes after the end."))
        return data
