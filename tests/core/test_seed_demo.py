"""seed_demo fills the embedded demo through the real services, and running it again changes nothing."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.test import RequestFactory
from django.test.utils import override_settings
from rest_framework.authtoken.models import Token

from core.demo import DEMO_PASSWORD
from core.models import AuditLog, Role, User
from diversion.models import Callback, Department, HandoffSlip
from grids.models import Grid, Unit
from incidents.models import Call, PoliceAssignment

# The real hasher costs about a second per login; the demo's logins are what is tested, not its work factor.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module, inside a transaction rolled back at the end, so other tests start clean."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)
    with django_db_blocker.unblock():
        # Opened here, outside any test: closed here too, or it is still open when the session drops the test
        # database ("is being accessed by other users").
        connection.close()


def _counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (User, Token, Department, Grid, Unit, Call, PoliceAssignment, HandoffSlip, Callback,
                          AuditLog)}


def test_it_creates_a_user_for_every_role_and_every_department(seeded, db):
    for role in Role.values:
        assert User.objects.filter(role=role, is_active=True).exists(), role
    for department in Department.objects.all():
        assert User.objects.filter(username=f"dept_{department.code.lower()}", role=Role.DEPARTMENT,
                                   department=department).exists()
    assert User.objects.get(username="admin").is_superuser
    assert not Department.objects.filter(email="").exists()


def test_every_past_day_of_the_demo_has_its_daily_review(seeded, db):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.models import DailyReview
    from incidents.review.services import backfill_state

    yesterday = timezone.localdate() - timedelta(days=1)
    review = DailyReview.objects.get(date=yesterday, scope="city")
    assert review.built_by is None and review.data["totals"]["calls"] > 0
    state = backfill_state()
    assert state.due == [] and state.with_calls >= 30


def test_demo_users_log_in_with_the_demo_password(seeded, db, client):
    request = RequestFactory().post("/accounts/login/")  # django-axes wants the request
    # The system accounts (the 110 system, the 12345 platform, Open311 partners) have no password: they act by
    # token, signature or api_key.
    users = User.objects.exclude(username__in=["system110", "platform12345"]).exclude(
        username__startswith="open311-")
    assert not any(u.has_usable_password() for u in User.objects.filter(username__startswith="open311-"))
    assert users.count() >= 5 + Department.objects.count()
    for user in users:
        assert client.login(request=request, username=user.username, password=DEMO_PASSWORD), user.username
        client.logout()


def test_the_platform_account_has_no_password_and_its_platform_is_switched_off(seeded, db):
    from diversion.models import Platform

    account = User.objects.get(username="platform12345")
    assert account.role == Role.PLATFORM and not account.has_usable_password()
    assert Platform.objects.get(user=account).active is False


def test_the_110_system_user_has_a_token_and_no_password(seeded, db):
    system = User.objects.get(username="system110")
    assert Token.objects.filter(user=system).exists()
    assert not system.has_usable_password()
    assert Token.objects.get(user=system).key in seeded


def test_it_creates_the_weeks_calls_in_every_group(seeded, db):
    calls = Call.objects.filter(call_id__startswith="DEMO-")
    assert calls.count() >= 190
    groups = set(calls.filter(category__isnull=False).values_list("category__group__code", flat=True))
    assert groups >= {"A", "B", "C", "D", "E", "F"}
    assert calls.filter(is_police=True).count() >= 15
    assert 20 <= calls.filter(status="new").count() <= 30
    assert not calls.exclude(created_by__username="system110").exists()


def test_it_includes_repeat_callers_and_a_hotspot(seeded, db):
    calls = Call.objects.filter(call_id__startswith="DEMO-")
    assert calls.values("caller_phone").annotate(n=Count("id")).filter(n__gte=3).exists()
    non_police = calls.filter(Q(is_police=False) | Q(is_police__isnull=True))
    assert non_police.values("micro_grid").annotate(n=Count("id")).filter(n__gte=5).exists()


def test_it_walks_slips_through_the_services(seeded, db):
    statuses = set(HandoffSlip.objects.values_list("status", flat=True))
    assert statuses >= {"issued", "accepted", "completed", "closed"}
    assert Callback.objects.filter(reached=True, satisfaction__gte=4).exists()
    # Every slip was issued by the service, which audits it.
    issued = AuditLog.objects.filter(object_type="handoffslip", to_state="issued")
    assert issued.count() == HandoffSlip.objects.count()


def test_running_it_twice_changes_nothing(seeded, db):
    before = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == before


def test_the_routing_quality_page_has_a_story(seeded, db):
    """Issue 35: misses that matter (some judged by the models trained mid-week), sub-category overrides and
    active models, so the quality page tells a true story on the first visit."""
    from diversion.models import RoutingModel
    from diversion.routing import quality

    calls = Call.objects.filter(call_id__startswith="DEMO-")
    misses = calls.filter(quality.MISS)
    assert misses.count() >= 2
    assert any(call.suggestions.get("keep") for call in misses)  # after the training: the model's word
    assert calls.filter(is_police=False).exclude(category=F("suggested_category")).count() >= 3
    assert set(RoutingModel.objects.filter(active=True).values_list("kind", flat=True)) == {"category", "keep"}
    assert RoutingModel.objects.filter(trained_by__username="supervisor").count() == 2


def test_the_weeks_before_tell_a_true_story(seeded, db):
    """Issue 38: five weeks of work, so every first page has something true to show."""
    from datetime import timedelta

    from django.utils import timezone

    from diversion.models import AccountabilityRecord, JointMeeting, Notice, Report
    from grids.models import HotspotCase
    from mediation.models import DisputeFile, FollowUpVisit

    now = timezone.now()
    calls = Call.objects.filter(call_id__startswith="DEMO-")
    assert calls.filter(received_at__lt=now - timedelta(days=28)).exists()
    # The hotspot that cooled: closed by the nightly review after its quiet days, with fewer calls after.
    cooled = HotspotCase.objects.get(status="closed")
    assert cooled.after_count < cooled.before_count / 2 and cooled.actions.count() >= 3
    assert HotspotCase.objects.filter(status="open").exists()
    # Notices at every level of the ladder, most answered; meetings in both states; accountability.
    assert set(Notice.objects.values_list("kind", flat=True)) == {"warning", "supervision", "rectification"}
    assert set(Notice.objects.values_list("status", flat=True)) >= {"issued", "replied", "closed"}
    assert set(JointMeeting.objects.values_list("status", flat=True)) == {"held", "closed"}
    assert set(AccountabilityRecord.objects.values_list("kind", flat=True)) == {"reminder_talk", "held_to_account"}
    # Reports the beat would have generated: weekly for past weeks, the last month, yesterday's callbacks.
    kinds = list(Report.objects.values_list("kind", flat=True))
    assert kinds.count("weekly") >= 4 and "monthly" in kinds and "daily" in kinds
    # Callbacks: satisfaction in the high 90s, a few unsatisfied that reopened their slip; a few overdue.
    reached = Callback.objects.filter(reached=True)
    assert reached.filter(satisfaction__gte=3).count() / reached.count() >= 0.95
    assert Callback.objects.filter(reopened_slip=True).exists()
    open_slips = HandoffSlip.objects.filter(status__in=["issued", "accepted", "reopened"])
    assert 1 <= open_slips.filter(deadline__lt=now).count() <= 10
    # Dispute files at every stage, with follow-up visits done and due.
    assert set(DisputeFile.objects.values_list("status", flat=True)) == {"open", "mediating", "closed", "reopened"}
    assert DisputeFile.objects.filter(mediator__isnull=True).exists()  # opened by the centre, not yet taken
    assert FollowUpVisit.objects.filter(done_at__isnull=False).exists()
    assert FollowUpVisit.objects.filter(done_at__isnull=True, due_on__lte=timezone.localdate()).exists()


# Internal keys of stored figures that must never reach a reader (core.labels maps them to words).
RAW_KEYS = {"issued", "completed", "overdue_open", "returned", "reopened", "warning", "supervision",
            "rectification", "reminder_talk", "held_to_account", "phone", "sms", "visit", "yes", "no", "partly",
            "True", "False", "None", "non_police", "previous_day", "last_week", "last_year", "up", "down", "flat",
            "day", "week", "month", "on_time_accept", "notices_total"}


def _raw_in(text: str, chinese: bool) -> list[str]:
    """Raw keys in a piece of output. Any snake_case word or dotted key is raw in either language; in the
    Chinese output every Latin word that is a key is raw too (in English, "7 days" or "Yes" are words)."""
    found = re.findall(r"\b[a-z]+(?:_[a-z]+)+\b|\bnotices\.\w+|\b(?:True|False)\b", text)
    if chinese:
        found += [w for w in re.findall(r"[A-Za-z_]+", text) if w in RAW_KEYS]
    return found


def _xlsx_cells(data: bytes):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            yield from row


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_demos_exports_show_no_raw_key(seeded, db, language):
    """Every stored report and the latest city review, exported to Excel (and the review to PDF), read back:
    labels, not keys; rates formatted as percentages; booleans as words."""
    from django.utils import translation
    from pypdf import PdfReader

    from core.labels import XLSX_PERCENT
    from diversion.models import Report
    from diversion.supervision.reports import report_xlsx
    from incidents.models import DailyReview
    from incidents.review.exports import review_pdf, review_xlsx

    chinese = language == "zh-hans"
    reports = {r.kind: r for r in Report.objects.order_by("generated_at")}
    assert {"weekly", "monthly", "daily"} <= set(reports)
    review = DailyReview.objects.filter(grid__isnull=True).latest("date")
    with translation.override(language):
        files = {f"report-{kind}": report_xlsx(r) for kind, r in reports.items()}
        files["review"] = review_xlsx(review)
        pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(review_pdf(review))).pages)
    raw = []
    for name, data in files.items():
        for cell in _xlsx_cells(data):
            assert not isinstance(cell.value, bool), (name, cell.coordinate)
            if isinstance(cell.value, str) and (cell.value in RAW_KEYS or _raw_in(cell.value, chinese)):
                raw.append((name, cell.coordinate, cell.value))
    raw += [("review.pdf", word) for word in _raw_in(pdf_text, chinese)]
    assert raw == []

    # The league table's rates are numbers shown as percentages (a dash where there is nothing to measure).
    from openpyxl import load_workbook

    league = load_workbook(io.BytesIO(files["report-weekly"])).worksheets[1]
    ranked = [row for row in league.iter_rows(min_row=2) if row[0].value != "—"]  # "—": no slips, not ranked
    rates = [c for row in ranked for c in row[4:9]]
    assert rates and all(c.value == "—" or (isinstance(c.value, float | int) and c.number_format == XLSX_PERCENT)
                         for c in rates)
    unranked = [row for row in league.iter_rows(min_row=2) if row[0].value == "—"]
    assert all(row[3].value == 0 and row[13].value is None for row in unranked)
    # The review's rates too; and its names are in the reader's language.
    review_wb = load_workbook(io.BytesIO(files["review"]))
    departments = review_wb.worksheets[-1]
    rates = [c for row in departments.iter_rows(min_row=2, min_col=4, max_col=5) for c in row
             if isinstance(c.value, float | int)]
    assert rates and all(c.number_format == XLSX_PERCENT for c in rates)
    names = [row[1] for row in departments.iter_rows(min_row=2, values_only=True)]
    cjk = [bool(re.search(r"[\u4e00-\u9fff]", n)) for n in names]
    assert names and (all(cjk) if chinese else not any(cjk)), names
    # The callbacks sheet says 是/否 (Yes/No) and the channel's name.
    values = {c.value for c in _xlsx_cells(files["report-daily"])}
    assert {"是", "否"} & values if chinese else {"Yes", "No"} & values
    assert ("电话" if chinese else "Phone") in values
    # The PDF's title once.
    title = "警情日研判" if chinese else "Daily incident review"
    assert pdf_text.count(title) == 1
