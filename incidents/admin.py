from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from core.phones import caller_key, phone_normalise
from diversion.models import HandoffSlip

from .models import Call, PoliceAssignment


class PoliceAssignmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PoliceAssignment
    fields = ("unit", "dispatched_at", "arrived_at", "finished_at", "result", "result_note", "assigned_by")


class HandoffSlipInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = HandoffSlip
    fields = ("category", "department", "status", "issued_at", "deadline", "accepted_at", "completed_at",
              "closed_at")


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Calls change only through incidents.services. The caller's full number is left out: revealing
    it is audited (incidents.services.call_reveal_phone), the admin shows the masked form."""

    list_display = ("call_id", "received_at", "masked_phone_display", "short_content", "micro_grid", "status",
                    "is_police", "category")
    list_filter = ("status", "is_police", "channel", "category__group", "category",
                   ("received_at", admin.DateFieldListFilter))
    list_select_related = ("micro_grid", "category")
    search_fields = ("=call_id", "address")
    search_help_text = _("A 110 call id, a caller's full phone number, or part of an address.")
    date_hierarchy = "received_at"
    exclude = ("caller_phone",)
    readonly_fields = ("masked_phone_display",)
    inlines = [PoliceAssignmentInline, HandoffSlipInline]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """A full number is searched on its keyed hash (the index repeat checks use): it finds the caller's
        calls for as long as the hash is kept, including those whose number was anonymised."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            key = caller_key(phone_normalise(search_term))
        except ValidationError:
            return found, may_have_duplicates
        return found | queryset.filter(caller_key=key), may_have_duplicates

    @admin.display(description=_("caller phone"))
    def masked_phone_display(self, obj):
        return obj.masked_phone

    @admin.display(description=_("content"))
    def short_content(self, obj):
        return obj.content if len(obj.content) <= 40 else obj.content[:40] + "…"


@admin.register(PoliceAssignment)
class PoliceAssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("call", "unit", "dispatched_at", "arrived_at", "finished_at", "result", "assigned_by")
    list_filter = ("unit", "result")
    list_select_related = ("call", "unit", "assigned_by")
    search_fields = ("=call__call_id",)
    date_hierarchy = "dispatched_at"
