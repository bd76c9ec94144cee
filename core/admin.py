from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .models import AuditLog, OutboxMessage, User, WebhookDelivery, WebhookEvent, WebhookSubscriber
from .roles import is_administrator


class ReadOnlyAdminMixin:
    """For records whose state changes only through services: the admin may look, never write.

    Without change permission Django renders every field read-only and refuses POSTs; without add and
    delete permission the buttons and the bulk delete action disappear."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role in Fenliu"), {"fields": ("role", "department", "unit")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role in Fenliu"), {"classes": ("wide",), "fields": ("role", "department", "unit")}),
    )
    list_display = ("username", "first_name", "role", "department", "unit", "is_active", "is_staff")
    list_filter = ("role", "department", "is_active", "is_staff", "is_superuser")
    list_select_related = ("department", "unit")
    search_fields = ("username", "first_name", "last_name", "email")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id", "from_state", "to_state", "call")
    list_filter = ("action", "object_type")
    list_select_related = ("actor", "call")
    search_fields = ("object_id",)
    search_help_text = _("An object id (number) or a 110 call id.")
    date_hierarchy = "at"
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # Exact matches only, so the (object_type, object_id, at) index and the call FK serve the search;
        # the admin's default icontains would scan the whole log.
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(object_id=int(term)), False
        return queryset.filter(call__call_id=term), False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox page: what waits, what failed and why. Messages change only through the two audited
    actions (core.outbox.outbox_retry / outbox_discard)."""

    change_list_template = "admin/core/outboxmessage/change_list.html"
    list_display = ("id", "kind", "status", "attempts", "error_short", "next_attempt_at", "created_at", "key")
    list_filter = ("status", "kind")
    search_fields = ("key",)
    actions = ("retry", "discard")
    show_full_result_count = False

    @admin.display(description=_("last error"))
    def error_short(self, message):
        return message.last_error[:120]

    def has_outbox_permission(self, request):
        return is_administrator(request.user)

    @admin.action(description=_("Retry the selected messages now"), permissions=["outbox"])
    def retry(self, request, queryset):
        n = outbox.outbox_retry(actor=request.user, pks=queryset.values_list("pk", flat=True))
        self._told(request, n, ngettext("%(n)d message will be delivered again.",
                                        "%(n)d messages will be delivered again.", n))

    @admin.action(description=_("Discard the selected messages"), permissions=["outbox"])
    def discard(self, request, queryset):
        n = outbox.outbox_discard(actor=request.user, pks=queryset.values_list("pk", flat=True))
        self._told(request, n, ngettext("%(n)d message discarded: it will not be delivered.",
                                        "%(n)d messages discarded: they will not be delivered.", n))

    def _told(self, request, n, text):
        # Delivered messages are left as they are, so a selection of only those changes nothing: a warning.
        self.message_user(request, text % {"n": n}, messages.SUCCESS if n else messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        figures = outbox.outbox_figures()
        oldest_at = timezone.now() - timedelta(seconds=figures["oldest_pending_seconds"])
        return super().changelist_view(request, {**(extra_context or {}), "figures": figures, "oldest_at": oldest_at})


# --- Webhooks to the 110 system (issue 40) -----------------------------------------------------------------

class WebhookSubscriberForm(forms.ModelForm):
    events = forms.MultipleChoiceField(label=_("event types"), choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscriber
        fields = ["name", "url", "secret", "events", "active"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}

    url = forms.URLField(label=_("address"), max_length=300, assume_scheme="https")


@admin.register(WebhookSubscriber)
class WebhookSubscriberAdmin(admin.ModelAdmin):
    form = WebhookSubscriberForm
    list_display = ("name", "url", "events", "active", "deliveries_link")
    list_filter = ("active",)

    @admin.display(description=_("delivery log"))
    def deliveries_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("admin:core_webhookdelivery_changelist") + f"?subscriber__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each subscriber's delivery log: what was sent, how many attempts, the last error. A dead letter is
    retried or discarded from the outbox page."""

    list_display = ("created_at", "subscriber", "event", "key", "attempts", "delivered_at", "last_error")
    list_filter = ("subscriber", "event", ("delivered_at", admin.EmptyFieldListFilter))
    list_select_related = ("subscriber",)
    search_fields = ("key",)
    date_hierarchy = "created_at"
