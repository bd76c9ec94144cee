import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError

from .models import (
    Grid,
    GridImport,
    GridStaff,
    HotspotAction,
    HotspotCase,
    PatrolArea,
    PatrolCheckIn,
    PatrolLine,
    PatrolPoint,
    Place,
    Team,
    Unit,
)
from .selectors import grids_geojson
from .services import GridImportError, geometry_problem, grids_import_geojson, places_import


def _geometry_form(model, field, kinds):
    class GeometryForm(forms.ModelForm):
        def clean(self):
            data = super().clean()
            geometry = data.get(field)
            if geometry and (problem := geometry_problem(geometry, kinds=kinds)):
                raise ValidationError({field: problem})
            return data

    return forms.modelform_factory(model, form=GeometryForm, fields="__all__")


class GridImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("GeoJSON file"))


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ("name", "officer", "auxiliary", "grid_workers")


class StaffInline(admin.TabularInline):
    model = GridStaff
    extra = 0


class PlaceInline(admin.TabularInline):
    model = Place
    extra = 0
    fields = ("name", "lat", "lon")


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    form = _geometry_form(Grid, "boundary", ("Polygon", "MultiPolygon"))
    list_display = ("code", "name", "level", "parent", "households", "community_officer")
    list_filter = ("level", ("parent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("parent", "community_officer")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent", "community_officer")
    inlines = [StaffInline, TeamInline, PlaceInline]
    change_list_template = "grids/admin_grid_changelist.html"
    actions = ["export_geojson"]

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="grids_grid_import"),
                *super().get_urls()]

    def import_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = GridImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = grids_import_geojson(actor=request.user, data=upload.read(), filename=upload.name)
            except GridImportError as exc:
                for error in exc.errors[:50]:
                    form.add_error("file", error)
            else:
                self.message_user(request, _("Imported %(file)s: %(c)d grids created, %(u)d updated.")
                                  % {"file": upload.name, "c": record.created, "u": record.updated}, messages.SUCCESS)
                return redirect(reverse("admin:grids_grid_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Import grids from GeoJSON")}
        return render(request, "grids/admin_grid_import.html", context)

    @admin.action(description=gettext_lazy("Export selected grids as GeoJSON"))
    def export_geojson(self, request, queryset):
        response = HttpResponse(json.dumps(grids_geojson(queryset), ensure_ascii=False),
                                content_type="application/geo+json")
        response["Content-Disposition"] = 'attachment; filename="grids.geojson"'
        return response


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "grid", "officer", "auxiliary")
    list_filter = (("grid", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("grid",)
    search_fields = ("name", "officer", "grid__code", "grid__name")
    autocomplete_fields = ("grid",)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area", "available", "base_lat", "base_lon", "last_seen_at")
    list_editable = ("available",)
    list_filter = ("kind", "area", "available")
    search_fields = ("code", "name")
    filter_horizontal = ("stations",)


class PlaceImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file (address, lat, lon)"))


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ("name", "micro_grid", "lat", "lon")
    list_select_related = ("micro_grid",)
    search_fields = ("name", "micro_grid__code")
    autocomplete_fields = ("micro_grid",)
    change_list_template = "grids/admin_place_changelist.html"

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="grids_place_import"),
                *super().get_urls()]

    def import_view(self, request):
        """A city's address list (issue 37): good rows imported, bad rows listed with line and reason."""
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = PlaceImportForm(request.POST or None, request.FILES or None)
        skipped = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = places_import(actor=request.user, data=upload.read(), filename=upload.name)
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(request, _("Imported %(file)s: %(c)d addresses created, %(u)d updated, %(s)d rows "
                                             "skipped. Calls waiting to be placed are tried again against the new "
                                             "list.") % {"file": upload.name, "c": result.created,
                                                         "u": result.updated, "s": len(result.skipped)},
                                  messages.WARNING if result.skipped else messages.SUCCESS)
                if not result.skipped:
                    return redirect(reverse("admin:grids_place_changelist"))
                skipped = result.skipped
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "skipped": skipped, "title": _("Import addresses from CSV")}
        return render(request, "grids/admin_place_import.html", context)


@admin.register(GridImport)
class GridImportAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "filename", "actor", "created", "updated", "skipped")
    list_filter = ("kind",)
    readonly_fields = ("at", "kind", "filename", "actor", "created", "updated", "skipped")

    def has_add_permission(self, request):
        return False


class HotspotActionInline(admin.TabularInline):
    model = HotspotAction
    extra = 0
    readonly_fields = ("at", "actor")


@admin.register(HotspotCase)
class HotspotCaseAdmin(admin.ModelAdmin):
    list_display = ("grid", "period_label", "team", "status", "opened_at", "closed_at", "before_count",
                    "after_count")
    list_filter = ("status", "source")
    list_select_related = ("grid", "team")
    readonly_fields = ("status", "opened_at", "opened_by", "closed_at", "before_count", "after_count",
                       "quiet_streak")
    inlines = [HotspotActionInline]


@admin.register(PatrolArea)
class PatrolAreaAdmin(admin.ModelAdmin):
    form = _geometry_form(PatrolArea, "boundary", ("Polygon", "MultiPolygon"))
    list_display = ("name", "kind", "unit")
    list_filter = ("kind",)


@admin.register(PatrolPoint)
class PatrolPointAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "lat", "lon")


@admin.register(PatrolLine)
class PatrolLineAdmin(admin.ModelAdmin):
    form = _geometry_form(PatrolLine, "path", ("LineString",))
    list_display = ("name", "unit")


@admin.register(PatrolCheckIn)
class PatrolCheckInAdmin(admin.ModelAdmin):
    list_display = ("point", "unit", "at", "actor")
    list_select_related = ("point", "unit", "actor")
