from django.contrib import admin

from .models import DisputeFile, FileCall, FollowUpVisit, MediationSession, Mediator, Party


class PartyInline(admin.TabularInline):
    model = Party
    extra = 0
    fields = ("name", "phone", "role", "address")


class FileCallInline(admin.TabularInline):
    model = FileCall
    extra = 0
    fields = ("call", "reason", "after_outcome", "linked_at")
    readonly_fields = ("linked_at",)
    # Autocomplete, not a select box: a select of every call would load the whole table.
    autocomplete_fields = ("call",)


class MediationSessionInline(admin.StackedInline):
    model = MediationSession
    extra = 0
    fields = (("held_at", "place", "place_detail"), "members", "attendees", "notes")
    filter_horizontal = ("members",)


class FollowUpVisitInline(admin.TabularInline):
    model = FollowUpVisit
    extra = 0
    fields = ("due_on", "days_after", "round", "done_at", "result", "flared_up", "cancelled_at")


@admin.register(Mediator)
class MediatorAdmin(admin.ModelAdmin):
    list_display = ("user", "station", "kind", "active")
    list_filter = ("station", "kind", "active")
    list_select_related = ("user", "station")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user", "station")


@admin.register(DisputeFile)
class DisputeFileAdmin(admin.ModelAdmin):
    """For correcting records. The work itself (status, outcome, follow-ups) goes through the mediation pages,
    whose services keep the transition table and the audit log."""

    list_display = ("serial", "title", "station", "dispute_type", "complexity", "status", "outcome",
                    "mediator", "opened_at")
    list_filter = ("status", "complexity", "outcome", "station", "dispute_type")
    list_select_related = ("station", "dispute_type", "mediator")
    search_fields = ("serial", "title", "parties__name", "=parties__phone")
    date_hierarchy = "opened_at"
    autocomplete_fields = ("station", "dispute_type", "grid", "mediator")
    readonly_fields = ("status", "outcome", "closed_at", "flare_count", "triaged_by", "triaged_at")
    inlines = [PartyInline, FileCallInline, MediationSessionInline, FollowUpVisitInline]
