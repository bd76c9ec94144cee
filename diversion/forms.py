from django import forms
from django.utils.translation import gettext_lazy as _

from core.times import validate_day

from .models import Callback, Department
from .routing.quality import MAX_WORD


class AcceptForm(forms.Form):
    handler_name = forms.CharField(label=_("handled by (name)"), required=False, max_length=64)


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("reason for return"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=1000)
    suggested_department = forms.ModelChoiceField(Department.objects.filter(active=True),
                                                  label=_("suggested department"), required=False)


class ReviewDecisionForm(forms.Form):
    """One review layer's decision (issue 40): approve, or send back with a reason."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("send_back", _("Send back"))],
                                 widget=forms.HiddenInput)
    reason = forms.CharField(label=_("reason (required to send back)"), required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "send_back" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give a reason for sending the call back."))
        return data


class CompleteForm(forms.Form):
    result = forms.CharField(label=_("what was done"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    handler_name = forms.CharField(label=_("handled by (name)"), required=False, max_length=64)


class CallbackForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=Callback.Channel.choices)
    reached = forms.TypedChoiceField(label=_("caller reached"), choices=[("1", _("Reached")), ("0", _("Not reached"))],
                                     coerce=lambda v: v == "1", widget=forms.RadioSelect, initial="1")
    resolved = forms.ChoiceField(label=_("resolved"), choices=[("", "—"), *Callback.Resolved.choices],
                                 required=False)
    satisfaction = forms.TypedChoiceField(
        label=_("satisfaction"), required=False, coerce=int, empty_value=None,
        choices=[("", "—"), ("5", _("5 very satisfied")), ("4", "4"), ("3", "3"), ("2", "2"),
                 ("1", _("1 very unsatisfied"))],
    )
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=1000)

    def clean(self):
        data = super().clean()
        if data.get("reached"):
            if not data.get("resolved"):
                self.add_error("resolved", _("Say whether the matter was resolved."))
            if data.get("satisfaction") is None:
                self.add_error("satisfaction", _("Give the caller's satisfaction."))
        return data


# --- Routing quality (issue 35) -------------------------------------------------------------------------

class QualityWeekForm(forms.Form):
    """The quality page's one filter: a week, given by any day in it; empty for the weeks shown."""

    week = forms.DateField(label=_("Week of"), required=False, validators=[validate_day],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class PoliceWordForm(forms.Form):
    """From a miss: the word that should have kept the call with the police, and the signal it belongs to."""

    word = forms.CharField(label=_("Missing word"), max_length=MAX_WORD,
                           widget=forms.TextInput(attrs={"size": 8, "autocomplete": "off"}))
    signal = forms.ChoiceField(label=_("Police signal"), choices=())

    def __init__(self, *args, **kwargs):
        from .models import PoliceSignal

        super().__init__(*args, **kwargs)
        self.fields["signal"].choices = [(s.code, s.name) for s in PoliceSignal.objects.filter(active=True)]
