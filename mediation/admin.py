from django.contrib import admin

from .models import DisputeFile, FollowUpVisit, MediationSession, Party


class PartyInline(admin.TabularInline):
    model = Party
    extra = 0
    fields = ("name", "phone", "role")


class MediationSessionInline(admin.StackedInline):
    model = MediationSession
    extra = 0
    fields = (("held_at", "place"), "attendees", "notes")


class FollowUpVisitInline(admin.TabularInline):
    model = FollowUpVisit
    extra = 0
    fields = ("due_on", "done_at", "result", "flared_up")


@admin.register(DisputeFile)
class DisputeFileAdmin(admin.ModelAdmin):
    list_display = ("serial", "title", "station", "dispute_type", "complexity", "status", "outcome",
                    "mediator", "opened_at")
    list_filter = ("status", "complexity", "outcome", "station", "dispute_type")
    list_select_related = ("station", "dispute_type", "mediator")
    search_fields = ("serial", "title", "parties__name", "=parties__phone")
    date_hierarchy = "opened_at"
    # Autocomplete, not select boxes: a select of every call or grid would load the whole table.
    autocomplete_fields = ("station", "dispute_type", "grid", "mediator", "calls")
    inlines = [PartyInline, MediationSessionInline, FollowUpVisitInline]
