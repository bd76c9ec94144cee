import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.phones import phone_normalise
from core.times import validate_event_time
from diversion.models import Category, Department
from grids.models import Grid, Unit

from .models import CONTENT_MAX_CHARS, Call, Channel, PoliceAssignment


def new_manual_call_id() -> str:
    return f"M{timezone.localtime():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6].upper()}"


class CallForm(forms.ModelForm):
    """A call typed by a dispatcher. The hidden call id is made when the form is shown, so a double
    submit or a retry after a network error registers the call once."""

    class Meta:
        model = Call
        fields = ["call_id", "received_at", "caller_phone", "caller_name", "address", "lat", "lon",
                  "content", "channel", "micro_grid"]
        widgets = {
            "call_id": forms.HiddenInput,
            "received_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "content": forms.Textarea(attrs={"rows": 4, "maxlength": CONTENT_MAX_CHARS}),
            "caller_phone": forms.TextInput(attrs={"autofocus": True, "inputmode": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["micro_grid"].queryset = Grid.objects.filter(level=Grid.Level.MICRO)
        self.fields["channel"].initial = Channel.PHONE
        self.fields["received_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["call_id"].initial = new_manual_call_id()

    def validate_unique(self):
        # The call id is the idempotency key: a repeat is handled by the intake service, not refused here.
        pass

    def clean_caller_phone(self):
        return phone_normalise(self.cleaned_data["caller_phone"])

    def clean_content(self):
        content = self.cleaned_data["content"].strip()
        if not content:
            raise ValidationError(_("Write what the caller said."))
        if len(content) > CONTENT_MAX_CHARS:
            raise ValidationError(_("Keep what the caller said to %(max)d characters (this has %(n)d): the essentials "
                                    "of the call, not a transcript.") % {"max": CONTENT_MAX_CHARS, "n": len(content)})
        return content

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        validate_event_time(value)
        return value

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."))
        return data

    def intake_data(self) -> dict:
        data = {f: self.cleaned_data.get(f) for f in self.Meta.fields}
        for f in ("caller_name", "address"):
            data[f] = data[f] or ""
        return data


class VersionField(forms.IntegerField):
    """The call's version the page showed (services.call_classify compares and sets on it)."""

    widget = forms.HiddenInput
    default_error_messages = {"required": _("This page is out of date: reload it and decide again."),
                              "invalid": _("This page is out of date: reload it and decide again.")}

    def __init__(self, **kwargs):
        super().__init__(min_value=0, **kwargs)
        self.error_messages["min_value"] = self.error_messages["invalid"]


class ClassifyForm(forms.Form):
    """The dispatcher's decision on one call: a non-police sub-category, or a police unit."""

    DECISIONS = [("category", _("Divert to a department")), ("police", _("Police matter"))]
    decision = forms.ChoiceField(choices=DECISIONS)
    category = forms.ModelChoiceField(Category.objects.filter(active=True), to_field_name="code", required=False)
    department = forms.ModelChoiceField(Department.objects.filter(active=True), to_field_name="code",
                                        required=False)
    instructions = forms.CharField(required=False, max_length=500)
    override_reason = forms.CharField(required=False, max_length=300)
    unit = forms.ModelChoiceField(Unit.objects.filter(available=True), required=False)
    note = forms.CharField(required=False, max_length=500)
    version = VersionField()

    def clean(self):
        data = super().clean()
        if data.get("decision") == "category" and not data.get("category"):
            raise ValidationError(_("Choose a sub-category."))
        if data.get("decision") == "police" and not data.get("unit"):
            raise ValidationError(_("Choose a police unit."))
        return data


class GridForm(forms.Form):
    micro_grid = forms.ModelChoiceField(Grid.objects.filter(level=Grid.Level.MICRO), required=False,
                                        label=_("micro grid"))


class PoliceFinishForm(forms.Form):
    result = forms.ChoiceField(choices=PoliceAssignment.Result.choices[:2], label=_("result"))
    note = forms.CharField(required=False, max_length=500, label=_("note"))
