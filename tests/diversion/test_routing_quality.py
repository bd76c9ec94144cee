"""Routing quality (issue 35): the week's figures, the misses that matter (suggested diverting, kept with
the police), the weekly digest to supervisors, a word added from a miss, and a retraining asked for."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog, OutboxMessage, Role
from core.outbox import relay_run
from diversion import routing
from diversion.models import PoliceSignal
from diversion.routing import NON_POLICE, POLICE, quality
from incidents import services as call_services
from tests.factories import UserFactory, category

pytestmark = pytest.mark.django_db

# Kept with the police by the dispatcher (illegal racing, a traffic police matter); the rules read noise.
MISS_TEXT = "报警人称有几辆摩托车在丽君路飙车炸街，声音很大，半夜吵得睡不着"
NOISE_TEXT = "楼上邻居装修噪音扰民，晚上十一点还在砸墙"
VAGUE_TEXT = "报警人称有事情要反映，具体说不清楚"


@pytest.fixture
def admin(db):
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def monday():
    """The Monday of the week before last: a week wholly in the past."""
    return quality.week_of(timezone.localdate() - timedelta(days=14))


def at(monday, days, hour=10):
    return timezone.make_aware(datetime.combine(monday + timedelta(days=days), time(hour)))


@pytest.fixture
def decide(make_call, dispatcher, unit):
    """A call received at `when` with `text`, then decided: kept with the police, or diverted to `code`."""

    def make(text, when, *, police, code=None):
        call = make_call(content=text, received_at=when)
        call_services.call_classify(actor=dispatcher, call_pk=call.pk, version=None, police=police, unit=unit,
                                    category=category(code) if code else None,
                                    override_reason="核实后分流" if not police else "")
        call.refresh_from_db()
        return call

    return make


def test_the_texts_are_what_the_tests_say():
    assert routing.suggest(MISS_TEXT).decision == NON_POLICE
    assert routing.suggest(NOISE_TEXT).decision == NON_POLICE
    assert routing.suggest(VAGUE_TEXT).decision == routing.UNDECIDED


def test_a_week_counts_kept_overridden_undecided_and_misses(decide, monday):
    noise = routing.suggest(NOISE_TEXT).top.code
    other = "C01" if noise != "C01" else "C02"
    decide(MISS_TEXT, at(monday, 0), police=True)
    decide(MISS_TEXT, at(monday, 2), police=True)
    decide(NOISE_TEXT, at(monday, 3), police=False, code=noise)  # kept as suggested
    decide(NOISE_TEXT, at(monday, 4), police=False, code=other)  # another sub-category
    decide(VAGUE_TEXT, at(monday, 5), police=False, code="E05")  # the suggestion left it to the dispatcher
    decide(NOISE_TEXT, at(monday, 7), police=False, code=noise)  # the week after: not counted

    this, before = quality.week_figures(last=monday + timedelta(days=6), weeks=2)
    assert (this.monday, before.monday) == (monday, monday - timedelta(days=7))
    assert (this.decided, this.suggested, this.decision_kept, this.undecided) == (5, 4, 2, 1)
    assert (this.misses, this.kept_against) == (2, 0)
    assert (this.diverted_suggested, this.category_kept) == (2, 1)
    assert this.decision_rate == 0.5 and this.override_rate == 0.5
    assert this.category_rate == 0.5 and this.undecided_share == 0.2
    assert before.decided == 0 and before.decision_rate is None

    start, end = quality.week_bounds(monday)
    overrides = {o["code"]: o for o in quality.overrides_by_category(start=start, end=end)}
    miss_code = routing.suggest(MISS_TEXT).top.code
    if miss_code == noise:
        assert overrides[noise]["kept_police"] == 2 and overrides[noise]["other_category"] == 1
    else:
        assert overrides[miss_code]["kept_police"] == 2 and overrides[miss_code]["suggested"] == 2
        assert overrides[noise] == {**overrides[noise], "suggested": 2, "kept_police": 0, "other_category": 1}


def test_a_miss_shows_its_words_and_newest_first(decide, monday):
    first = decide(MISS_TEXT, at(monday, 0), police=True)
    second = decide(MISS_TEXT, at(monday, 1), police=True)
    start, end = quality.week_bounds(monday)
    assert list(quality.misses(start=start, end=end)) == [second, first]
    facts = quality.miss_facts(first)
    assert set(facts.words) >= {"声音很大"} and facts.police_probability is None


def test_the_weekly_digest_lists_exactly_the_weeks_misses(decide, monday, supervisor, admin,
                                                           django_capture_on_commit_callbacks):
    supervisor.email = "zhou@example.gov.cn"
    supervisor.save()
    UserFactory(username="supervisor2", role=Role.SUPERVISOR, email="", is_active=True)  # no address: no mail
    admin.email = "admin@example.gov.cn"  # not a supervisor: not on the digest
    admin.save()
    inside = [decide(MISS_TEXT + f"（第{n}次）", at(monday, n * 2, hour=9 + n), police=True) for n in range(3)]
    before = decide(MISS_TEXT + "（上周）", at(monday, -1), police=True)
    after = decide(MISS_TEXT + "（下周）", at(monday, 7, hour=0), police=True)
    kept = decide(NOISE_TEXT, at(monday, 1), police=False, code=routing.suggest(NOISE_TEXT).top.code)
    relay_run()  # the slips' own notices
    mail.outbox.clear()

    data = quality.digest(monday)
    assert [row["pk"] for row in data["misses"]] == [c.pk for c in reversed(inside)]
    # The figures group by local week as the list does: Sunday's miss is the week before's, Monday 00:00 the next.
    assert (data["week"]["misses"], data["previous"]["misses"]) == (3, 1)
    assert quality.week_figures(last=monday + timedelta(days=7), weeks=1)[0].misses == 1

    with django_capture_on_commit_callbacks(execute=True):
        quality.digest_queue(monday)
        quality.digest_queue(monday)  # the beat running twice: one digest
    relay_run()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zhou@example.gov.cn"]
    assert "3" in message.subject and monday.isoformat() in message.subject
    for call in inside:
        assert call.call_id in message.body
        assert reverse("call-page", args=[call.pk]) in message.body
        assert call.content not in message.body  # the text stays in Fenliu; the e-mail links to it
    assert "声音很大" in message.body  # the words that matched
    for call in (before, after, kept):
        assert call.call_id not in message.body
    assert f"?week={monday.isoformat()}" in message.body
    assert OutboxMessage.objects.filter(kind="routing.weekly_digest").count() == 1


def test_the_beat_queues_last_weeks_digest(supervisor):
    from diversion.tasks import routing_digest_queue_due

    monday = routing_digest_queue_due()
    assert monday == quality.week_of(timezone.localdate() - timedelta(days=7)).isoformat()
    assert OutboxMessage.objects.get(kind="routing.weekly_digest").payload == {"monday": monday}


def test_a_word_added_from_a_miss_turns_the_same_text_into_police(decide, monday, admin, dispatcher, make_call):
    miss = decide(MISS_TEXT, at(monday, 0), police=True)
    assert miss.suggested_police is False

    added = quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code="traffic", word="炸街")
    assert (added.word, added.containing) == ("炸街", 0)

    suggestion = routing.suggest(MISS_TEXT)
    assert suggestion.decision == POLICE
    assert [r.code for r in suggestion.police_reasons] == ["traffic"]
    assert "炸街" in PoliceSignal.objects.get(code="traffic").words
    assert make_call(content=MISS_TEXT).suggested_police is True  # a new call, at once
    row = AuditLog.objects.get(action="police_word_added")
    assert (row.actor, row.call_id, row.data["word"], row.data["signal"]) == (admin, miss.pk, "炸街", "traffic")


@pytest.mark.parametrize(("word", "signal", "code"), [
    ("", "traffic", "word_required"),
    ("火箭", "traffic", "word_not_in_text"),
    ("炸街", "nonesuch", "signal_not_found"),
    ("飙" * 21, "traffic", "word_too_long"),
    ("，", "traffic", "word_no_letter"),
    (" 34 ", "traffic", "word_no_letter"),
])
def test_a_bad_word_is_refused_and_changes_nothing(decide, monday, admin, word, signal, code):
    from core.errors import DomainError

    miss = decide(MISS_TEXT, at(monday, 0), police=True)
    words = PoliceSignal.objects.get(code="traffic").words
    with pytest.raises(DomainError) as refused:
        quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code=signal, word=word)
    assert refused.value.code == code
    assert PoliceSignal.objects.get(code="traffic").words == words
    assert not AuditLog.objects.filter(action="police_word_added").exists()


def test_words_come_from_misses_only(decide, monday, admin):
    from core.errors import DomainError

    kept = decide(NOISE_TEXT, at(monday, 0), police=False, code=routing.suggest(NOISE_TEXT).top.code)
    with pytest.raises(DomainError) as refused:
        quality.police_word_add(actor=admin, call_pk=kept.pk, signal_code="traffic", word="砸墙")
    assert refused.value.code == "not_a_miss"


def test_a_word_that_would_stop_most_diversions_is_refused(decide, monday, admin, monkeypatch):
    """“声音很大” stands in most noise complaints: as a police word it would keep them all with the police."""
    from core.errors import DomainError

    monkeypatch.setattr(quality, "WORD_REACH_MIN", 5)
    miss = decide(MISS_TEXT, timezone.now() - timedelta(hours=2), police=True)
    code = routing.suggest("报警人称楼下KTV声音很大").top.code
    for n in range(5):
        decide(f"报警人称楼下KTV声音很大（{n}）", timezone.now() - timedelta(days=n), police=False, code=code)
    decide("报警人称楼上邻居装修噪音扰民", timezone.now() - timedelta(days=30), police=False, code="B02")  # older
    with pytest.raises(DomainError) as refused:
        quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code="disorder", word="声音很大")
    assert refused.value.code == "word_too_broad"
    assert "5" in refused.value.message
    assert "声音很大" not in PoliceSignal.objects.get(code="disorder").words
    added = quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code="traffic", word="炸街")
    assert (added.diverted, added.containing) == (5, 0)


def test_a_word_already_there_is_refused(decide, monday, admin):
    from core.errors import DomainError

    miss = decide(MISS_TEXT, at(monday, 0), police=True)
    quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code="traffic", word="飙车")
    with pytest.raises(DomainError) as refused:
        quality.police_word_add(actor=admin, call_pk=miss.pk, signal_code="traffic", word="飙车")
    assert refused.value.code == "word_present"


def test_the_page_shows_the_misses_and_only_administrators_add_words(client, decide, monday, supervisor, admin):
    miss = decide(MISS_TEXT, at(monday, 0), police=True)
    client.force_login(supervisor)
    page = client.get(reverse("routing-quality"), {"week": monday.isoformat()})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="miss-{miss.pk}"' in html and miss.call_id in html
    assert "<mark>声音很大</mark>" in html
    assert 'class="filters word-form' not in html  # supervisors read; they do not edit the catalog
    assert reverse("call-page", args=[miss.pk]) in html
    assert client.post(reverse("police-word-add", args=[miss.pk]),
                       {"word": "炸街", "signal": "traffic"}).status_code == 403
    assert "炸街" not in PoliceSignal.objects.get(code="traffic").words

    client.force_login(admin)
    html = client.get(reverse("routing-quality")).content.decode()
    assert 'class="filters word-form' in html
    assert reverse("call-page", args=[miss.pk]) not in html  # an administrator does not open calls
    back = f"{reverse('routing-quality')}?week={monday.isoformat()}"
    response = client.post(reverse("police-word-add", args=[miss.pk]),
                           {"word": "炸街", "signal": "traffic", "next": back}, follow=True)
    assert response.redirect_chain[-1][0] == back
    assert "炸街" in PoliceSignal.objects.get(code="traffic").words
    assert "已将“炸街”加入“交通事故”。同样的内容现在的推荐：留公安处置。" in response.content.decode()
    assert "近 28 天分流的 0 起警情中有 0 起含该词" in response.content.decode()

    response = client.post(reverse("police-word-add", args=[miss.pk]),
                           {"word": "火箭", "signal": "traffic", "next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("routing-quality")
    assert "火箭" not in PoliceSignal.objects.get(code="traffic").words


def test_a_week_out_of_range_is_a_clear_message(client, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("routing-quality"), {"week": "1900-01-01"})
    assert page.status_code == 200
    assert 'class="errorlist"' in page.content.decode()


def test_retraining_is_audited_and_runs_the_task(client, supervisor, django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("routing-retrain"))
    assert response.status_code == 302
    row = AuditLog.objects.get(action="routing_retrain_requested")
    assert row.actor == supervisor
    message = OutboxMessage.objects.get(kind="routing.retrain")
    assert message.payload == {"actor": supervisor.pk, "audit": row.pk}
    relay_run()  # the task runs (eagerly here): too few decided calls, so no model, and nothing fails
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_second_click_while_a_training_is_on_its_way_queues_nothing(client, supervisor, admin):
    from diversion.models import RoutingModel

    first, queued = quality.retrain_request(actor=supervisor)
    assert queued
    again, queued = quality.retrain_request(actor=admin)  # another person, before any model was stored
    assert (again, queued) == (first, False)
    assert OutboxMessage.objects.filter(kind="routing.retrain").count() == 1
    client.force_login(supervisor)
    page = client.post(reverse("routing-retrain"), follow=True).content.decode()
    assert "仍在进行" in page
    assert 'id="retrain-pending"' in page and 'type="submit" disabled' in page
    RoutingModel.objects.create(version=1, kind="keep", training_size=1, blob=b"", sha256="")  # it finished
    _row, queued = quality.retrain_request(actor=supervisor)
    assert queued and AuditLog.objects.filter(action="routing_retrain_requested").count() == 2


def test_past_weeks_are_cached_and_this_week_is_live(decide, monday):
    from django.core.cache import cache

    # A moment of this week (just after midnight on a Monday, the week's first second).
    now = max(timezone.now() - timedelta(minutes=1), quality.week_bounds(quality.week_of(timezone.localdate()))[0])
    decide(MISS_TEXT, at(monday, 1), police=True)
    decide(MISS_TEXT, now, police=True)
    this, _w1, past = quality.week_figures(last=timezone.localdate(), weeks=3)
    assert (this.misses, past.misses) == (1, 1)

    decide(MISS_TEXT, at(monday, 2), police=True)  # a late decision on a past week ...
    decide(MISS_TEXT, now, police=True)
    this, _w1, past = quality.week_figures(last=timezone.localdate(), weeks=3)
    assert (this.misses, past.misses) == (2, 1)  # ... shows once the cached figures expire
    cache.clear()
    assert quality.week_figures(last=timezone.localdate(), weeks=3)[2].misses == 2
