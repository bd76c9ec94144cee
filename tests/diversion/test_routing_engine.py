import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from diversion import routing
from diversion.models import Category, DepartmentOverride, RoutingModel
from diversion.routing import learning
from diversion.routing import rules as compiled
from grids.models import Grid
from incidents import services as call_services
from incidents.models import Call
from tests.factories import GridFactory, category, department

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]

# A tiny training set written for these tests: the model learns noise, fumes, wage arrears and police.
TRAINING = {
    "C01": ["楼上每天半夜唱歌", "隔壁棋牌室半夜很吵", "楼下商铺音响声音太大", "广场上音箱声音很大吵得睡不着",
            "对面酒吧半夜唱歌", "小区里有人半夜打鼓"],
    "C05": ["楼下饭店排烟熏得家里全是味", "烤串摊子烟很大", "餐馆的烟全飘进我家", "夜宵摊油烟呛人",
            "饭馆排风口对着窗户", "小区门口烤羊肉串冒烟"],
    "A03": ["老板三个月没发工资", "包工头不给钱", "公司欠我们工钱不给", "工厂拖着工资不发",
            "干完活老板不付钱", "工地老板欠薪跑了"],
    "police": ["有人在街上抢手机", "两个人在门口打起来了", "我的钱包被人摸走了", "有人拿刀威胁我",
               "路口撞车了有人倒地", "孩子一直找不到"],
}


@pytest.fixture(scope="module")
def trained():
    texts = [t for texts in TRAINING.values() for t in texts]
    labels = [label for label, texts in TRAINING.items() for _t in texts]
    return learning.fit(texts, labels, kind="category", params={"calibration_folds": 2, "min_df": 1})


def _spans_are_true(text, suggestion):
    for candidate in suggestion.candidates:
        for m in candidate.matches:
            assert text[m.start:m.end] == m.word
    for reason in suggestion.police_reasons:
        for m in reason.matches:
            assert text[m.start:m.end] == m.word


# --- rules -------------------------------------------------------------------------------------------

def test_the_rules_are_one_automaton_over_every_catalog_word():
    rules = routing.current_rules()

    assert rules.automaton is not None
    assert {"噪音扰民", "广场舞", "菜刀", "动手", "坑人"} <= set(rules.words)
    assert len(rules.categories) == Category.objects.filter(active=True).count()


def test_a_keyword_inside_an_exclusion_phrase_does_not_count_but_elsewhere_it_does():
    b06 = category("B06")
    b06.keyword_exclusions = {"坑": ["坑人", "被坑"]}
    b06.save()
    text = "这家店坑人，门口路上还有个大坑"

    suggestion = routing.suggest(text)

    b06_matches = next(c for c in suggestion.candidates if c.code == "B06").matches
    assert [(m.word, m.start) for m in b06_matches] == [("坑", text.rindex("坑"))]
    assert routing.suggest("这家店坑人").candidates == [] or "B06" not in {
        c.code for c in routing.suggest("这家店坑人").candidates}
    _spans_are_true(text, suggestion)


def test_an_exclusion_phrase_only_excludes_its_own_categorys_keyword():
    c02 = category("C02")
    c02.keyword_exclusions = {"工地": ["工地食堂"]}
    c02.save()
    c01 = category("C01")
    c01.keywords = [*c01.keywords, "工地"]
    c01.save()

    codes = {c.code for c in routing.suggest("工地食堂半夜吵").candidates}

    assert "C02" not in codes
    assert "C01" in codes


def test_a_water_pistol_is_not_a_gun_but_a_gun_is():
    assert routing.suggest("楼下小孩拿水枪滋人，家长不管").police is False
    suggestion = routing.suggest("楼下有人拿着枪在晃")
    assert suggestion.police is True
    assert {r.code for r in suggestion.police_reasons} == {"weapon"}


def test_matches_are_built_when_asked_for_with_true_spans_in_text_order():
    # Two categories, nested keywords, a police word: every path of the scan.
    text = "工地半夜施工噪音扰民，有人拿刀"
    first, second = routing.suggest(text, use_model=False), routing.suggest(text, use_model=False)

    assert first == second  # compared field by field, matches included, before any were built
    assert len(first.candidates) > 1 and first.police_reasons
    _spans_are_true(text, first)
    for item in [*first.candidates, *first.police_reasons]:
        assert item.matches == sorted(item.matches, key=lambda m: (m.start, m.end, m.word))
    top = first.top
    assert top == routing.Candidate(top.code, top.name, top.department, top.score, list(top.matches))
    assert "matches=[Match(word=" in repr(top)


def test_a_word_listed_twice_is_matched_once_per_occurrence():
    b02 = category("B02")
    word = b02.keywords[0]
    b02.keywords = [*b02.keywords, word]
    b02.police_keywords = ["骂人", "骂人"]
    b02.save()
    text = f"楼上{word}，工人还骂人"

    suggestion = routing.suggest(text, use_model=False)

    b02_matches = next(c for c in suggestion.candidates if c.code == "B02").matches
    assert [(m.word, m.start) for m in b02_matches].count((word, 2)) == 1
    reason = next(r for r in suggestion.police_reasons if r.code == "category:B02")
    assert [(m.word, m.start) for m in reason.matches] == [("骂人", text.index("骂人"))]


def test_keyword_weights_change_the_ranking():
    text = "工地旁边的广场舞"
    assert routing.suggest(text).top.code == "C01"  # 广场舞 (3) beats 工地 (2)

    c02 = category("C02")
    c02.keyword_weights = {"工地": 10}
    c02.save()

    assert routing.suggest(text).top.code == "C02"


def test_a_save_bumps_the_catalog_version_that_the_compiled_rules_carry():
    before = routing.current_rules().version

    category("C01").save()

    after = routing.current_rules()
    assert after.version == before + 1
    assert compiled.db_versions()["catalog"] == after.version


def test_a_department_change_rebuilds_the_rules_with_its_code():
    dept = department("STJ")
    dept.save()  # no visible change, but a new version
    v = routing.current_rules().version
    Category.objects.get(code="C01").save()
    assert routing.current_rules().version == v + 1


# --- another process changes the catalog ----------------------------------------------------------------

def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _in_another_process(code: str) -> None:
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("FENLIU_VAR_DIR", None)
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_catalog_change_made_in_another_process_is_picked_up_here(settings):
    settings.ROUTING_VERSION_CHECK_SECONDS = 30
    text = "隔壁烧蜂窝煤呛得人睡不着"
    first = routing.current_rules()
    assert "C05" not in {c.code for c in routing.suggest(text).candidates}
    assert connection.settings_dict["NAME"] in _database_url()

    _in_another_process(
        "from diversion.models import Category; c = Category.objects.get(code='C05'); "
        "c.keywords = [*c.keywords, '蜂窝煤']; c.save()"
    )

    # Inside the check interval this process still uses what it compiled: no query per call ...
    assert routing.current_rules() is first
    assert "C05" not in {c.code for c in routing.suggest(text).candidates}
    # ... and at the next check it sees the new version and rebuilds.
    compiled._checked_at = time.monotonic() - 31
    rebuilt = routing.current_rules()
    assert rebuilt.version > first.version
    suggestion = routing.suggest(text)
    assert suggestion.top.code == "C05"
    assert [(m.word, m.start) for m in suggestion.top.matches] == [("蜂窝煤", 3)]


# --- keep-with-police precedence ----------------------------------------------------------------------

KEEP_WITH_POLICE = [
    # crimes
    ("商场里有个小偷偷了我的钱包，广场舞的音响也被偷走了", "theft"),
    ("有人在饭店门口抢劫，还把油烟机砸了", "robbery"),
    ("网上买东西退款被骗了五千，商家不退", "fraud"),
    # violence
    ("楼上装修噪音，我上去说了两句他就动手打人", "fighting"),
    ("烧烤摊老板拿着菜刀追着客人砍", "weapon"),
    ("讨薪的时候包工头叫人把我打伤了", "injury"),
    # traffic
    ("出租车拒载后开车撞人跑了", "traffic"),
    ("小区门口两车追尾，司机吵起来了", "traffic"),
    # missing persons
    ("我家孩子放学后走丢了，学校说早就放学了", "missing"),
    ("老人早上出门买菜失踪了", "missing"),
    # suicide
    ("老板拖欠工资，工人站在楼顶说要跳楼", "suicide"),
    ("邻居吵架后女的说不想活了要割腕", "suicide"),
    # gatherings
    ("几十人聚集在售楼处讨说法", "gathering"),
    ("上百人围堵工地大门讨薪", "gathering"),
]


@pytest.mark.parametrize(("text", "reason"), KEEP_WITH_POLICE)
def test_crimes_violence_accidents_missing_suicide_and_gatherings_stay_with_the_police(text, reason, trained):
    for suggestion in (routing.suggest(text), routing.suggest(text, model=trained)):
        assert suggestion.police is True
        assert reason in {r.code for r in suggestion.police_reasons}
        _spans_are_true(text, suggestion)


def test_a_confident_model_that_says_otherwise_is_flagged_but_does_not_free_a_police_call(trained, settings):
    settings.ROUTING_MODEL_THRESHOLD = 0.0
    suggestion = routing.suggest("老板三个月没发工资，我们几十人聚集在厂门口", model=trained)

    assert suggestion.police is True
    assert suggestion.model is not None
    if suggestion.model.label != "police":
        assert "disagree" in {f.code for f in suggestion.flags}
    data = suggestion.as_dict()
    assert data["police"] is True and data["model"]["label"] == suggestion.model.label


def test_a_model_that_says_police_flags_the_call_without_forcing_it(trained, settings):
    settings.ROUTING_MODEL_THRESHOLD = 0.0
    # The model learnt this text as police; no police signal matches it.
    suggestion = routing.suggest("孩子一直找不到", model=trained)
    assert suggestion.model.label == "police"
    assert suggestion.police_reasons == []
    assert suggestion.police is False
    assert suggestion.decision == routing.UNDECIDED
    assert [f.code for f in suggestion.flags] == ["model_police"]


def test_a_model_below_the_threshold_is_not_used_and_the_call_is_flagged(trained, settings):
    settings.ROUTING_MODEL_THRESHOLD = 1.01
    rules_only = routing.suggest("楼下广场舞噪音扰民", use_model=False)
    suggestion = routing.suggest("楼下广场舞噪音扰民", model=trained)

    assert [f.code for f in suggestion.flags] == ["low_confidence"]
    assert suggestion.model.used is False
    assert [(c.code, c.score) for c in suggestion.candidates] == [(c.code, c.score) for c in rules_only.candidates]
    assert suggestion.as_dict()["review"] is True


def test_a_confident_model_adds_its_category_when_no_keyword_matched(trained, settings):
    settings.ROUTING_MODEL_THRESHOLD = 0.0
    text = "饭馆排风口对着我家窗户"
    assert routing.suggest(text, use_model=False).candidates == []

    suggestion = routing.suggest(text, model=trained)

    assert suggestion.top is not None
    assert suggestion.top.matches == []
    assert "model_only" in {f.code for f in suggestion.flags}


# --- training from confirmed calls -------------------------------------------------------------------

def _confirmed_calls(make_call, dispatcher):
    for label, texts in TRAINING.items():
        for text in texts:
            call = make_call(content=text)
            Call.objects.filter(pk=call.pk).update(
                is_police=label == "police", category=None if label == "police" else category(label),
                classified_by=dispatcher, classified_at=call.received_at)


def test_a_model_is_trained_from_confirmed_calls_stored_with_its_figures_and_used(make_call, dispatcher, settings):
    settings.ROUTING_MODEL_MIN_CALLS = 10
    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    _confirmed_calls(make_call, dispatcher)

    row = learning.routing_model_train(actor=dispatcher, params={"calibration_folds": 2, "min_df": 1}, folds=3)

    assert row.version == 1 and row.active
    assert row.training_size == 24
    assert set(row.labels) == {"C01", "C05", "A03", "police"}
    assert 0 <= row.metrics["macro_f1"] <= 1 and "rules_accuracy" in row.metrics
    assert RoutingModel.objects.get(active=True) == row
    data = routing.suggest("楼下饭店排烟熏人").as_dict()
    assert data["model"]["version"] == 1


def test_the_celery_task_trains_a_second_version_and_activates_it(make_call, dispatcher, settings):
    from diversion.tasks import routing_model_train

    settings.ROUTING_MODEL_MIN_CALLS = 10
    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    assert routing_model_train.delay().get() == {"department": None, "keep": None}  # no confirmed calls yet
    _confirmed_calls(make_call, dispatcher)

    assert routing_model_train.delay().get() == {"department": 1, "keep": 2}
    assert routing_model_train.delay().get() == {"department": 3, "keep": 4}
    assert list(RoutingModel.objects.filter(active=True).values_list("version", flat=True)) == [4, 3]
    suggestion = routing.suggest("老板欠薪")
    assert suggestion.model.version == 3 and suggestion.keep.version == 4
    # The older versions stay, for a rollback.
    assert list(RoutingModel.objects.values_list("version", flat=True)) == [4, 3, 2, 1]


def test_the_workbench_panel_shows_the_review_flag(client, dispatcher, make_call, trained, settings, monkeypatch):
    settings.ROUTING_MODEL_THRESHOLD = 1.01
    monkeypatch.setattr(learning, "active_model", lambda: trained)
    call = make_call(content="楼下广场舞噪音扰民")
    assert call.suggestions["review"] is True

    client.force_login(dispatcher)
    html = client.get(f"/dispatch/calls/{call.pk}/panel/").content.decode()

    assert 'id="review-flags"' in html


def test_a_call_without_flags_shows_no_review_box(client, dispatcher, make_call):
    call = make_call(content="楼下广场舞噪音扰民")
    client.force_login(dispatcher)
    assert 'id="review-flags"' not in client.get(f"/dispatch/calls/{call.pk}/panel/").content.decode()


# --- department routing by grid ----------------------------------------------------------------------

@pytest.fixture
def grids(db):
    large = GridFactory(code="L1", level=Grid.Level.LARGE)
    small = GridFactory(code="S1", level=Grid.Level.SMALL, parent=large)
    micro = GridFactory(code="M1", level=Grid.Level.MICRO, parent=small)
    return large, small, micro


def test_without_an_override_the_default_department_is_used(grids):
    assert routing.department_for(category=category("C05"), grid=grids[2]).code == "CGJ"
    assert routing.department_for(category=category("C05"), grid=None).code == "CGJ"


def test_the_override_of_the_nearest_ancestor_grid_wins(grids):
    large, small, micro = grids
    c05 = category("C05")
    DepartmentOverride.objects.create(category=c05, grid=large, department=department("STJ"))
    assert routing.department_for(category=c05, grid=micro).code == "STJ"

    DepartmentOverride.objects.create(category=c05, grid=small, department=department("JDB"))
    assert routing.department_for(category=c05, grid=micro).code == "JDB"
    assert routing.department_for(category=category("C01"), grid=micro).code == "STJ"  # other category


def test_call_divert_routes_by_grid_when_the_dispatcher_does_not_pick(grids, make_call, dispatcher):
    large, small, micro = grids
    c05 = category("C05")
    DepartmentOverride.objects.create(category=c05, grid=small, department=department("JDB"))
    call = make_call(content="楼下烧烤油烟熏人", micro_grid=micro)

    slip = call_services.call_divert(actor=dispatcher, call_pk=call.pk, category=c05)
    assert slip.department.code == "JDB"

    other = make_call(content="楼下烧烤油烟熏人", micro_grid=micro)
    picked = call_services.call_divert(actor=dispatcher, call_pk=other.pk, category=c05,
                                       department=department("STJ"))
    assert picked.department.code == "STJ"
