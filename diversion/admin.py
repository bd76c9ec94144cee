from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from .models import (
    AccountabilityRecord,
    Callback,
    Category,
    CategoryGroup,
    Department,
    HandoffSlip,
    Holiday,
    JointMeeting,
    Notice,
    Report,
    TimeLimitClass,
)


@admin.register(TimeLimitClass)
class TimeLimitClassAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "unit", "deadline_hours", "deadline_working_days")
    list_display_links = ("code",)
    list_editable = ("unit", "deadline_hours", "deadline_working_days")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "email", "phone", "platform", "active")
    list_filter = ("active", "platform")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(CategoryGroup)
class CategoryGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "group", "default_department", "time_limit_class", "urgency", "active")
    list_editable = ("default_department", "time_limit_class", "active")
    list_filter = ("group", "default_department", "time_limit_class", "urgency", "active")
    list_select_related = ("group", "default_department", "time_limit_class")
    search_fields = ("code", "name_zh", "name_en")
    fieldsets = (
        (None, {"fields": ("code", "name_zh", "name_en", "group", "active")}),
        (_("Routing"), {"fields": ("default_department", "time_limit_class", "urgency", "review", "keywords",
                                   "keyword_weights", "keyword_exclusions")}),
        (_("Keep with police"), {"fields": ("police_conditions", "police_keywords")}),
    )


class CallbackInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Callback
    fields = ("recorded_at", "channel", "reached", "resolved", "satisfaction", "comment", "recorded_by",
              "reopened_slip")


@admin.register(HandoffSlip)
class HandoffSlipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Slips change state only through diversion.services; the admin shows them and nothing more."""

    list_display = ("serial_display", "call", "category", "department", "status", "issued_at", "deadline",
                    "accepted_at", "completed_at", "closed_at", "reopen_count")
    list_filter = ("status", "department", "category__group", "close_reason")
    list_select_related = ("call", "category", "department")
    search_fields = ("=call__call_id", "number__exact")
    search_help_text = _("A 110 call id or a slip number (without the year).")
    date_hierarchy = "issued_at"
    inlines = [CallbackInline]

    @admin.display(description=_("serial number"), ordering="number")
    def serial_display(self, obj):
        return obj.serial


@admin.register(Callback)
class CallbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("slip", "recorded_at", "channel", "reached", "resolved", "satisfaction", "reopened_slip",
                    "recorded_by")
    list_filter = ("channel", "reached", "resolved", "satisfaction", "reopened_slip")
    list_select_related = ("slip", "recorded_by")
    search_fields = ("=slip__call__call_id",)
    date_hierarchy = "recorded_at"


# --- Supervision (issue 3) ------------------------------------------------------------------------------


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "department", "status", "automatic", "issued_at", "reply_deadline", "read_at")
    list_filter = ("kind", "status", "automatic", "department")
    list_select_related = ("department",)
    date_hierarchy = "issued_at"


@admin.register(JointMeeting)
class JointMeetingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "slip", "status", "meeting_at", "time_limit")
    list_filter = ("status",)


@admin.register(AccountabilityRecord)
class AccountabilityRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_on", "kind", "department", "person")
    list_filter = ("kind", "department")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "period_start", "period_end", "generated_at")
    list_filter = ("kind",)


# --- Routing engine (issue 7) -----------------------------------------------------------------------------
from .models import DepartmentOverride, RoutingModel  # noqa: E402


@admin.register(DepartmentOverride)
class DepartmentOverrideAdmin(admin.ModelAdmin):
    list_display = ("category", "grid", "department", "note", "updated_at")
    list_filter = ("department", "grid__level")
    list_select_related = ("category", "grid", "department")
    search_fields = ("category__code", "grid__code", "grid__name")


@admin.register(RoutingModel)
class RoutingModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Models are trained by the task or `train_routing_model`; the admin shows their figures and makes an
    older version the one used again (a rollback, audited)."""

    list_display = ("version", "kind", "created_at", "training_size", "macro_f1", "active")
    list_filter = ("kind", "active")
    exclude = ("blob",)
    actions = ["activate"]

    @admin.display(description=_("macro-F1 (cross-validated)"))
    def macro_f1(self, obj):
        value = (obj.metrics or {}).get("macro_f1")
        return "—" if value is None else f"{value:.3f}"

    def has_activate_permission(self, request):
        return request.user.has_perm("diversion.change_routingmodel")

    @admin.action(description=_("Use this model in its role (department, or keep or divert)"),
                  permissions=["activate"])
    def activate(self, request, queryset):
        from .routing.learning import routing_model_activate

        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one model to use."), messages.ERROR)
            return
        row = routing_model_activate(actor=request.user, version=queryset.get().version)
        self.message_user(request, _("Model v%(version)s (%(kind)s) is now in use.") % {
            "version": row.version, "kind": row.get_kind_display()}, messages.SUCCESS)


from .models import PoliceSignal, RoutingSettings  # noqa: E402


@admin.register(PoliceSignal)
class PoliceSignalAdmin(admin.ModelAdmin):
    """The keep-with-police vocabulary: a change reaches every process's automaton (catalog version)."""

    list_display = ("code", "name_zh", "name_en", "order", "active", "updated_at")
    list_editable = ("order", "active")
    search_fields = ("code", "name_zh", "name_en")
    fields = ("code", "name_zh", "name_en", "order", "active", "words", "patterns", "exclusions")


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    """The one row of routing settings: edited, never added twice or deleted."""

    list_display = ("__str__", "divert_min_evidence", "model_police_min", "model_veto_min", "model_divert_max",
                    "department_min_confidence", "updated_at")
    fields = ("divert_min_evidence", "model_police_min", "model_veto_min", "model_divert_max",
              "department_min_confidence")

    def has_add_permission(self, request):
        return not RoutingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


# --- Review layers before a slip leaves (issue 40) --------------------------------------------------------
from .models import ReviewLayer, ReviewStep, SlipReview  # noqa: E402


@admin.register(ReviewLayer)
class ReviewLayerAdmin(admin.ModelAdmin):
    """The centre's review layers: 0 to 4 active, in position order. With none active a diverted call's slip
    is issued at once."""

    list_display = ("position", "name_zh", "name_en", "role", "group", "time_limit_minutes", "active")
    list_display_links = ("position", "name_zh")
    list_editable = ("time_limit_minutes", "active")
    list_select_related = ("group",)


class ReviewStepInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ReviewStep
    fields = ("position", "layer", "opened_at", "due_at", "outcome", "decided_by", "decided_at", "reason",
              "warned_at")
    show_change_link = False


@admin.register(SlipReview)
class SlipReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reviews move only through diversion.services (the review pages); the admin shows them."""

    list_display = ("call", "category", "department", "mode", "status", "requested_by", "requested_at",
                    "decided_at", "slip")
    list_filter = ("status", "mode", "department")
    list_select_related = ("call", "category", "department", "requested_by", "slip")
    search_fields = ("=call__call_id",)
    date_hierarchy = "requested_at"
    inlines = [ReviewStepInline]


# --- Docking with the 12345 platform (issue 40) ------------------------------------------------------------
from .models import Platform, PlatformEvent, SlipDocking  # noqa: E402


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    """A 12345 platform: where slips go and the secret both sides sign with. A department is reached through
    it when set on the department, or every department when “every department through it” is ticked."""

    list_display = ("code", "name", "url", "all_departments", "active")
    list_filter = ("active", "all_departments")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_form(self, request, obj=None, **kwargs):
        from django import forms

        form = super().get_form(request, obj, **kwargs)
        form.base_fields["secret"].widget = forms.PasswordInput(render_value=True)
        form.base_fields["secret"].min_length = 16
        return form


@admin.register(SlipDocking)
class SlipDockingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("slip", "platform", "queued_at", "sent_at", "acknowledged_at", "attempts", "last_error")
    list_filter = ("platform",)
    list_select_related = ("slip", "platform")
    search_fields = ("key",)


@admin.register(PlatformEvent)
class PlatformEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "platform", "type", "received_at", "slip", "call")
    list_filter = ("platform", "type")
    list_select_related = ("platform", "slip", "call")
    search_fields = ("event_id",)


# --- Open311 GeoReport v2 (issue 41) -------------------------------------------------------------------------
from .models import Open311Client, Open311Report  # noqa: E402


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    """Who uses /open311/v2/: a department's case system (reads its slips) or a partner (posts reports). The key
    is shown once, when the client is added or given a new key; only its hash is kept."""

    list_display = ("code", "name", "kind", "department", "key_prefix", "key_issued_at", "last_used_at", "active")
    list_filter = ("kind", "active")
    readonly_fields = ("key_prefix", "key_issued_at", "last_used_at", "user")
    actions = ["issue_key"]

    def save_model(self, request, obj, form, change):
        from .open311.services import open311_key_issue

        if change:
            super().save_model(request, obj, form, change)
            return
        key = open311_key_issue(actor=request.user, client=obj)
        self._show_key(request, obj, key)

    def _show_key(self, request, client, key):
        self.message_user(request, _("The api_key of %(client)s is %(key)s. Copy it now: it is not shown again.")
                          % {"client": client.code, "key": key}, messages.WARNING)

    def has_issue_key_permission(self, request):
        return request.user.has_perm("diversion.change_open311client")

    @admin.action(description=_("Issue a new api_key (the old one stops working)"), permissions=["issue_key"])
    def issue_key(self, request, queryset):
        from .open311.services import open311_key_issue

        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one client."), messages.ERROR)
            return
        client = queryset.get()
        self._show_key(request, client, open311_key_issue(actor=request.user, client=client))


@admin.register(Open311Report)
class Open311ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("partner_request_id", "client", "service", "call", "received_at")
    list_filter = ("client",)
    list_select_related = ("client", "service", "call")
    search_fields = ("partner_request_id", "call__call_id")
