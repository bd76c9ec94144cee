"""The import's pages: upload, map the columns with a preview of the first rows, progress, the report."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from core.models import Role
from core.roles import role_required

from ..models import CallImport
from .columns import FIELDS
from .readers import FileError
from .services import import_preview, import_progress, import_queue, import_set_mapping, import_upload

ENCODINGS = [("", gettext_lazy("Detect (UTF-8, else GB18030)")), ("utf-8-sig", "UTF-8"), ("gb18030", "GB18030")]


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Export file (CSV or XLSX)"))
    encoding = forms.ChoiceField(label=gettext_lazy("Encoding of a CSV"), choices=ENCODINGS, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError(_("Choose a .csv or .xlsx file."), code="file_type")
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB; split it.")
                                        % {"mb": settings.IMPORT_MAX_BYTES // 2**20}, code="too_large")
        return upload


class MappingForm(forms.Form):
    """One choice per field among the file's columns."""

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((h, h) for h in headers if h)]
        for name, spec in FIELDS.items():
            self.fields[name] = forms.ChoiceField(label=spec.label, choices=choices, required=spec.required)


@role_required(Role.SUPERVISOR)
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = import_upload(actor=request.user, upload=upload, filename=upload.name,
                                   encoding=form.cleaned_data["encoding"])
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("call-import", record.pk)
    imports = CallImport.objects.select_related("created_by")[:50]
    return render(request, "imports/list.html", {"form": form, "imports": imports, "nav": "imports"},
                  status=400 if form.errors else 200)


@role_required(Role.SUPERVISOR)
def import_detail(request, pk):
    record = get_object_or_404(CallImport, pk=pk)
    uploaded = record.status == CallImport.Status.UPLOADED
    form = MappingForm(request.POST if request.method == "POST" and uploaded else None, headers=record.headers,
                       initial=record.mapping)
    status = 200
    if request.method == "POST":
        if not uploaded:
            messages.error(request, _("This import was already started."))
            return redirect("call-import", record.pk)
        if form.is_valid():
            try:
                record = import_set_mapping(actor=request.user, record=record, mapping=form.cleaned_data)
                if request.POST.get("action") == "start":
                    import_queue(actor=request.user, record=record)
                    return redirect("call-import", record.pk)
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = 400
        else:
            status = 400
    preview = None
    if uploaded and not form.errors:
        try:
            preview = import_preview(record)
        except (FileError, OSError):
            form.add_error(None, _("The uploaded file can no longer be read; upload it again."))
            status = 400
    return render(request, "imports/detail.html", {
        "record": record, "form": form, "preview": preview, "nav": "imports",
        "progress": import_progress(record)}, status=status)


@role_required(Role.SUPERVISOR)
def import_progress_partial(request, pk):
    record = get_object_or_404(CallImport, pk=pk)
    return render(request, "imports/_progress.html", {"record": record, "progress": import_progress(record)})
