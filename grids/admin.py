from django.contrib import admin

from .models import Grid, Team, Unit


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ("name", "officer", "auxiliary", "grid_workers")


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "households", "community_officer")
    list_filter = ("level", ("parent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("parent", "community_officer")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent", "community_officer")
    inlines = [TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "grid", "officer", "auxiliary")
    list_filter = (("grid", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("grid",)
    search_fields = ("name", "officer", "grid__code", "grid__name")
    autocomplete_fields = ("grid",)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "available", "base_lat", "base_lon")
    list_editable = ("available",)
    list_filter = ("kind", "available")
    search_fields = ("code", "name")
    filter_horizontal = ("stations",)
