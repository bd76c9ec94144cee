"""The keep-or-divert model (issue 30): how it may move the rules' decision, training it from confirmed
calls and from labelled files, the cross-validated evaluation of the whole decision, and its bad input.

The texts are written for these tests; the one test on real data reads ../shared/data by path."""

import csv
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from diversion import routing
from diversion.models import RoutingModel, RoutingSettings
from diversion.routing import NON_POLICE, POLICE, UNDECIDED, ModelOpinion, learning, move_decision
from diversion.routing.rules import ModelThresholds
from incidents.models import Call
from tests.diversion.test_keep_or_divert import CALLS, MESSAGES, _values
from tests.diversion.test_routing_engine import TRAINING
from tests.factories import category

pytestmark = pytest.mark.django_db

POLICE_NOTES = TRAINING["police"] + ["他把我推倒在地还踢我", "手机放桌上一转身就没了", "一伙人拿着棍子在追一个人",
                                     "老人出门到现在没回来", "对方开车撞了我就跑了", "有人在网上骗了我五千块"]
OTHER_NOTES = TRAINING["C01"] + TRAINING["C05"] + TRAINING["A03"]
# Written to look like 110 notes: no signal word, so the rules leave them undecided.
UNDECIDED_TEXT = "饭馆排风口对着我家窗户"
SIGNAL_TEXT = "有人在街上抢手机"
NOISE_TEXT = "楼下广场舞噪音扰民"  # the rules divert it (C01)


def _keep(texts_police, texts_other):
    texts = list(texts_police) + list(texts_other)
    labels = ["police"] * len(texts_police) + ["non_police"] * len(texts_other)
    return learning.fit(texts, labels, kind="keep", params={"calibration_folds": 2, "min_df": 1})


@pytest.fixture(scope="module")
def keep_model():
    return _keep(POLICE_NOTES, OTHER_NOTES)


@pytest.fixture(scope="module")
def department_model():
    texts = [t for label, texts in TRAINING.items() if label != "police" for t in texts]
    labels = [label for label, texts in TRAINING.items() if label != "police" for _t in texts]
    return learning.fit(texts, labels, kind="category", params={"calibration_folds": 2, "min_df": 1})


def _thresholds(**values):
    row = RoutingSettings.current()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()  # bumps the catalog version: the next suggestion compiles the new thresholds


# --- how the model may move the decision -------------------------------------------------------------

def test_a_model_trained_to_say_non_police_never_clears_a_police_signal(department_model):
    # Trained backwards: the crimes are "non_police", the noise and fumes "police".
    backwards = _keep(OTHER_NOTES, POLICE_NOTES)
    _thresholds(model_veto_min=0.0, model_divert_max=1.0, department_min_confidence=0.0)
    assert backwards.police_probabilities([SIGNAL_TEXT])[0] < 0.5

    suggestion = routing.suggest(SIGNAL_TEXT, model=department_model, keep_model=backwards)

    assert suggestion.decision == POLICE
    assert [r.code for r in suggestion.police_reasons] == ["robbery"]
    assert suggestion.keep.police_probability < 0.5


@pytest.mark.parametrize(("decision", "p", "department", "expected"), [
    (POLICE, 0.0, ("C05", 0.99), (POLICE, None)),  # a police decision is never touched
    (NON_POLICE, 0.6, ("C05", 0.99), (UNDECIDED, "model_veto")),
    (NON_POLICE, 0.4, ("C05", 0.99), (NON_POLICE, None)),
    (UNDECIDED, 0.8, None, (POLICE, "model_police")),
    (UNDECIDED, 0.05, ("C05", 0.9), (NON_POLICE, "model_divert")),  # both models confident
    (UNDECIDED, 0.05, ("C05", 0.7), (UNDECIDED, None)),  # the department model is not sure
    (UNDECIDED, 0.2, ("C05", 0.99), (UNDECIDED, None)),  # the keep model is not sure enough
    (UNDECIDED, 0.05, None, (UNDECIDED, None)),  # no department model
    (UNDECIDED, 0.05, ("police", 0.99), (UNDECIDED, None)),  # the department model says police
])
def test_the_decision_moves_only_within_the_thresholds(decision, p, department, expected):
    thresholds = ModelThresholds(police_min=0.7, veto_min=0.5, divert_max=0.1, department_min=0.8)
    opinion = ModelOpinion(1, "category", *department, True) if department else None

    assert move_decision(decision, p, opinion, thresholds) == expected


def test_undecided_becomes_non_police_only_with_both_models_confident(keep_model, department_model):
    assert routing.suggest(UNDECIDED_TEXT, use_model=False).decision == UNDECIDED
    p = keep_model.police_probabilities([UNDECIDED_TEXT])[0]
    confidence = max(department_model.predict_proba_dicts([UNDECIDED_TEXT])[0].values())

    def decided():
        return routing.suggest(UNDECIDED_TEXT, model=department_model, keep_model=keep_model)

    _thresholds(model_divert_max=p + 0.01, department_min_confidence=confidence - 0.01, model_police_min=1.0)
    both = decided()
    assert both.decision == NON_POLICE
    assert "model_divert" in {f.code for f in both.flags}

    _thresholds(department_min_confidence=confidence + 0.01)  # the department model not confident enough
    assert decided().decision == UNDECIDED
    _thresholds(department_min_confidence=0.0, model_divert_max=p - 0.01)  # the keep model not sure enough
    assert decided().decision == UNDECIDED
    assert routing.suggest(UNDECIDED_TEXT, keep_model=keep_model).decision == UNDECIDED  # no department model


def test_a_veto_holds_back_a_diversion_and_says_why(client, dispatcher, make_call, keep_model, monkeypatch):
    p = keep_model.police_probabilities([NOISE_TEXT])[0]
    _thresholds(model_veto_min=p - 0.01)
    monkeypatch.setattr(learning, "active_keep_model", lambda: keep_model)

    call = make_call(content=NOISE_TEXT)

    assert call.suggested_decision == UNDECIDED and call.suggested_police is None
    assert [f["code"] for f in call.suggestions["flags"]] == ["model_veto"]
    assert call.suggestions["keep"]["police_probability"] == round(p, 3)
    client.force_login(dispatcher)
    html = client.get(f"/dispatch/calls/{call.pk}/panel/").content.decode()
    assert 'data-veto="1"' in html
    assert "模型认为这可能是警务事项" in html


# --- training: confirmed calls, files, versions ------------------------------------------------------

def _confirmed(make_call, dispatcher, police, other):
    for text in police + other:
        call = make_call(content=text)
        Call.objects.filter(pk=call.pk).update(
            is_police=text in police, category=None if text in police else category("C01"),
            classified_by=dispatcher, classified_at=call.received_at)


def test_a_retrain_from_confirmed_calls_changes_the_active_version_and_keeps_the_old_one(make_call, dispatcher,
                                                                                          settings):
    settings.ROUTING_MODEL_MIN_CALLS = 10
    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    _confirmed(make_call, dispatcher, POLICE_NOTES, OTHER_NOTES)
    params = {"calibration_folds": 2, "min_df": 1}

    first = learning.keep_model_train(params=params, folds=3)
    assert routing.suggest(UNDECIDED_TEXT).keep.version == first.version
    second = learning.keep_model_train(params=params, folds=3)

    assert second.version == first.version + 1
    assert list(RoutingModel.objects.filter(kind="keep", active=True).values_list("version", flat=True)) == [
        second.version]
    assert second.training_size == len(POLICE_NOTES) + len(OTHER_NOTES)
    assert 0 <= second.metrics["macro_f1"] <= 1
    assert routing.suggest(UNDECIDED_TEXT).keep.version == second.version
    # The old one stays, and a rollback makes it the one used again.
    learning.routing_model_activate(version=first.version)
    assert routing.suggest(UNDECIDED_TEXT).keep.version == first.version


def test_too_few_confirmed_calls_says_how_many_and_keeps_the_active_model(make_call, dispatcher, keep_model, settings):
    settings.ROUTING_MODEL_MIN_CALLS = 50
    active = learning.store_model(keep_model)
    _confirmed(make_call, dispatcher, POLICE_NOTES[:3], OTHER_NOTES[:4])

    with pytest.raises(CommandError) as raised:
        call_command("train_routing_model", "--only", "keep", stdout=StringIO())

    assert "已判定警情7起，其中留警3起、分流4起" in str(raised.value)
    assert "50" in str(raised.value)
    assert list(RoutingModel.objects.filter(active=True).values_list("version", flat=True)) == [active.version]


def _write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _files(tmp_path):
    calls, messages = tmp_path / "calls.csv", tmp_path / "messages.csv"
    _write(calls, ["text", "expected"], [(t, "police") for t in POLICE_NOTES]
           + [(t, "divert") for t in TRAINING["C01"]] + [(t, "either") for t in TRAINING["A03"]])
    _write(messages, ["label", "text"], [("环境保护", t) for t in TRAINING["C05"]]
           + [("劳动和社会保障", t) for t in ["单位不给交社保", "公司拖欠三个月工资", "辞职后押金不退",
                                               "加班没有加班费", "合同到期不续签也不补偿", "工伤认定一直拖着"]])
    return calls, messages


def test_train_routing_model_bootstraps_both_models_from_labelled_files(tmp_path, settings):
    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    calls, messages = _files(tmp_path)
    out = StringIO()

    call_command("train_routing_model", "--calls", str(calls), "--messages", str(messages), "--folds", "2",
                 stdout=out)

    rows = {row.kind: row for row in RoutingModel.objects.filter(active=True)}
    assert set(rows) == {"keep", "family"}
    assert rows["keep"].training_size == len(POLICE_NOTES) + 12 + 12
    assert set(rows["family"].labels) == {"环境保护", "劳动和社会保障"}
    assert "kind=keep" in out.getvalue() and "kind=family" in out.getvalue()
    suggestion = routing.suggest(UNDECIDED_TEXT)
    assert suggestion.keep.version == rows["keep"].version
    assert suggestion.model.version == rows["family"].version


@pytest.mark.parametrize(("row", "message"), [
    (("", "police"), "第 2 行：文本为空"),
    (("有人打架", "maybe"), "第 2 行：expected 只能是 police、divert 或 either"),
])
def test_a_bad_calls_file_names_the_line_and_writes_no_model(tmp_path, row, message):
    calls, messages = _files(tmp_path)
    lines = calls.read_text(encoding="utf-8").splitlines()
    _write(calls, ["text", "expected"], [row] + [tuple(line.rsplit(",", 1)) for line in lines[1:]])

    with pytest.raises(CommandError, match=message):
        call_command("train_routing_model", "--calls", str(calls), "--messages", str(messages), stdout=StringIO())

    assert not RoutingModel.objects.exists()


def test_a_bad_messages_file_names_the_line_or_the_column_and_writes_no_model(tmp_path):
    calls, messages = _files(tmp_path)
    _write(messages, ["label", "text"], [("环境保护", "工厂排放废气"), ("城管", "路灯坏了")])
    with pytest.raises(CommandError, match="第 3 行：“城管”不是部门大类"):
        call_command("train_routing_model", "--calls", str(calls), "--messages", str(messages), stdout=StringIO())

    _write(calls, ["text", "label"], [("有人打架", "police")])
    with pytest.raises(CommandError, match="缺少这些列：expected"):
        call_command("train_routing_model", "--calls", str(calls), stdout=StringIO())
    assert not RoutingModel.objects.exists()


# --- the evaluation of the whole decision ------------------------------------------------------------

def test_evaluate_routing_cross_validates_the_decision_and_saves_both_models(tmp_path):
    calls, messages = _files(tmp_path)
    saved = tmp_path / "models.joblib"
    out = StringIO()

    call_command("evaluate_routing", "--calls", str(calls), "--messages", str(messages), "--quick",
                 "--save-model", str(saved), stdout=out)

    values = _values(out.getvalue())
    assert values["folds"] == "3"
    assert values["notes"] == str(len(POLICE_NOTES) + 12) and values["messages"] == "12"
    for name in ("wrong_divert_rate", "linkage_recall", "undecided_rate", "citizen_non_police_rate"):
        assert 0 <= float(values[name]) <= 1
    assert any(key.startswith("sweep[") for key in values)
    assert int(values["family_model_bytes"]) > 0 and int(values["keep_model_bytes"]) > 0

    department, keep = learning.load_models(saved)
    assert (department.kind, keep.kind) == ("family", "keep")
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, ["text"], [(SIGNAL_TEXT,), (UNDECIDED_TEXT,)])
    call_command("classify_texts", str(source), str(target), "--model", str(saved), stdout=StringIO())
    with open(target, encoding="utf-8") as fh:
        robbery, fumes = list(csv.DictReader(fh))
    assert robbery["police_or_non_police"] == "police"
    assert fumes["department_family"] in {"环境保护", "劳动和社会保障"}


@pytest.mark.skipif(not CALLS.exists() or not MESSAGES.exists(), reason="../shared/data is not beside the repo")
def test_cross_validated_on_the_real_notes_and_messages_the_decision_is_safe():
    """Real data we did not write: 411 110 call notes and 2,199 citizen messages, 3 folds (--quick)."""
    out = StringIO()
    call_command("evaluate_routing", "--calls", str(CALLS), "--messages", str(MESSAGES), "--quick", stdout=out)
    values = _values(out.getvalue())

    assert int(values["must_keep"]) == 231
    assert float(values["wrong_divert_rate"]) <= 0.01
    assert float(values["linkage_recall"]) >= 0.85
    assert float(values["undecided_rate"]) <= 0.35
    assert float(values["citizen_non_police_rate"]) >= 0.84  # 0.850 when written; the target is 0.85


# --- the signals' words in another sense (migration 0009) ---------------------------------------------

@pytest.mark.parametrize(("text", "decision"), [  # UNDECIDED here: not police (it may be diverted)
    ("废气对居民的身体健康造成严重伤害", UNDECIDED),
    ("老工伤人员的待遇问题一直没有解决", UNDECIDED),
    ("学校应该培养孩子的动手能力", UNDECIDED),
    ("办理退休异动手续时被打回三次", UNDECIDED),
    ("在职工代表大会上当选为主任", UNDECIDED),
    ("小区属于居民聚集区，不宜建变电站", UNDECIDED),
    # The same words where they mean what the signal means.
    ("对方先动手打人，我被打伤了", POLICE),
    ("他被人打成重伤，正在医院", POLICE),
    ("网上买东西上当了，被骗五千元", POLICE),
    ("孩子早上离家到现在没回来", POLICE),
])
def test_a_signal_word_in_another_sense_is_no_police_signal(text, decision):
    police = routing.suggest(text, use_model=False).decision == POLICE
    assert police == (decision == POLICE)


def test_the_family_evaluation_names_a_bad_line_too(tmp_path):
    messages = tmp_path / "messages.csv"
    _write(messages, ["label", "text"], [("环境保护", "工厂排放废气"), ("交通运输", "  ")])
    with pytest.raises(CommandError, match="第 3 行：文本为空"):
        call_command("evaluate_routing", str(messages), stdout=StringIO())


def test_an_administrator_rolls_back_to_an_older_model_in_the_admin(client, keep_model, department_model, settings):
    from django.urls import reverse

    from core.models import AuditLog
    from tests.factories import UserFactory

    settings.ROUTING_VERSION_CHECK_SECONDS = 0
    old = learning.store_model(keep_model)
    department = learning.store_model(department_model)
    new = learning.store_model(_keep(POLICE_NOTES[:6], OTHER_NOTES[:6]))
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:diversion_routingmodel_changelist")
    assert "宏平均 F1" in client.get(url).content.decode()

    response = client.post(url, {"action": "activate", "_selected_action": [old.pk]}, follow=True)

    assert response.status_code == 200
    assert set(RoutingModel.objects.filter(active=True).values_list("version", flat=True)) == {
        old.version, department.version}
    assert routing.suggest(UNDECIDED_TEXT).keep.version == old.version
    assert AuditLog.objects.filter(action="routing_model_activated", object_id=str(old.pk)).exists()
    assert RoutingModel.objects.filter(pk=new.pk).exists()  # the newer one stays too

    client.post(url, {"action": "activate", "_selected_action": [old.pk, new.pk]})
    assert routing.suggest(UNDECIDED_TEXT).keep.version == old.version  # two at once: refused
