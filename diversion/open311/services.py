"""Writes of the Open311 interface: a client and its key (the admin), a partner's report (POST requests)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.audit import audit_write
from core.models import Role
from incidents import services as call_services
from incidents.models import Channel

from ..models import Category, Open311Client, Open311Report


def open311_key_issue(*, actor, client: Open311Client) -> str:
    """A new key for the client, returned once; the old one stops working. A partner gets its system account
    (role: external system, no password) the first time, the account its reports are entered as."""
    with transaction.atomic():
        key = client.new_key()
        client.key_issued_at = timezone.now()
        client.save()
        _account(client)
        audit_write(actor=actor, action="open311_key_issued", obj=client,
                    data={"client": client.code, "key_begins": client.key_prefix})
    return key


def _account(client: Open311Client):
    """The partner's system account (role: external system, no password), made the first time it is needed."""
    if client.kind == Open311Client.Kind.PARTNER and client.user_id is None:
        user = get_user_model()(username=f"open311-{client.code}", role=Role.PLATFORM, first_name=client.name)
        user.set_unusable_password()
        user.save()
        Open311Client.objects.filter(pk=client.pk).update(user=user)
        client.user = user
    return client.user


def open311_client_seen(client: Open311Client) -> None:
    """Mark the client as seen (at most once a minute, so reads do not write on every request)."""
    now = timezone.now()
    (Open311Client.objects.filter(pk=client.pk)
     .exclude(last_used_at__gt=now - timezone.timedelta(minutes=1)).update(last_used_at=now))


def _full_name(first: str, last: str) -> str:
    """李 + 四 is 李四 (family name first, no space) when the name is Chinese; Ann + Lee is "Ann Lee"."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def open311_report_create(*, client: Open311Client, service: Category, data: dict) -> tuple[Open311Report, bool]:
    """A partner's report becomes a call in the dispatchers' queue, entered as the partner's account, once per
    partner's own id: the same id again returns the first report and writes nothing. `data` is validated
    (serializers.ReportSerializer)."""
    with transaction.atomic():
        # One partner's posts one after another: the same id posted twice at once makes one call.
        client = Open311Client.objects.select_for_update(of=("self",)).select_related("user").get(pk=client.pk)
        existing = (Open311Report.objects.select_related("call", "service")
                    .filter(client=client, partner_request_id=data["partner_request_id"]).first())
        if existing is not None:
            return existing, False
        now = timezone.now()
        name = _full_name(data.get("first_name", ""), data.get("last_name", ""))
        result = call_services.call_intake(actor=_account(client), data={
            "call_id": f"open311-{client.code}-{data['partner_request_id']}", "received_at": now,
            "caller_phone": data.get("phone", ""), "caller_name": name[:64], "address": data.get("address", ""),
            "lat": data.get("lat"), "lon": data.get("lon"), "content": data["description"],
            "channel": Channel.APP})
        report = Open311Report.objects.create(
            client=client, partner_request_id=data["partner_request_id"], call=result.call, service=service,
            received_at=result.call.received_at, email=data.get("email", ""), account_id=data.get("account_id", ""),
            device_id=data.get("device_id", ""), media_url=data.get("media_url", ""))
        audit_write(actor=client.user, action="open311_report", obj=report, call=result.call,
                    data={"client": client.code, "partner_request_id": report.partner_request_id,
                          "service": service.code})
    return report, True
