"""Keep or divert: three outcomes, police signals written the way 110 notes are, linkage calls still
diverted, and the evaluation on real call notes.

The cases below are written for these tests. SAME_SHAPE has one case for each real 110 note (expected
police) that the rules before three outcomes suggested diverting: the same shape (a crime told in 110
phrasing beside a word of a non-police sub-category), never the same text."""

import csv
import os
import re
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from diversion import routing
from diversion.models import PoliceSignal, RoutingSettings
from diversion.routing import NON_POLICE, POLICE, UNDECIDED
from diversion.routing import rules as compiled
from tests.diversion.test_routing_engine import REPO, _in_another_process

pytestmark = pytest.mark.django_db

DATA = REPO.parent / "shared" / "data"
CALLS = DATA / "calls" / "police_110_dev.csv"
MESSAGES = DATA / "messages" / "citizen_messages_dev.csv"

# (text, the non-police keyword beside the crime, the police signal expected)
SAME_SHAPE = [
    ("在人民路口，李先生驾驶一辆白色轿车与一辆公交车发生碰撞，无人员受伤，双方协商不了。", "公交", "traffic"),
    ("报警人称读书时被学校的老师强奸，现在不敢告诉家里人。", "学校", "sexual"),
    ("昨晚在宾馆，老婆被一名陌生男子强奸。", "老婆", "sexual"),
    ("人民医院挂号大厅，一男子冒充医院护士，趁其不备把其包里的现金抢走后跑了。", "医院", "robbery"),
    ("找中介办理房屋过户，对方索要三万元好处费，不给就不办。", "中介", "extortion"),
    ("在医院住院期间网上找人贷款，对方让其先交保证金和手续费，转账五千元后被拉黑。", "医院", "fraud"),
    ("在KTV包间消费后钱不够，被老板和几个人关起来不让走，还被打了几下。", "KTV", "detention"),
    ("家里装修，装修师傅发微信威胁其，说不结账就找人收拾其。", "装修", "extortion"),
    ("美容店退学费的事谈不拢，老板打电话扬言不给退就砸店。", "不给退", "extortion"),
    ("学校宿舍里，被三名同学殴打，对方已经跑了。", "学校", "fighting"),
    ("有人把油漆泼在其家门上，怀疑是对门邻居干的。", "邻居", "damage"),
    ("人民医院住院部，收到别人合成的不雅照片，对方勒索五千元。", "医院", "extortion"),
    ("工地仓库的门被撬开，价值两千元的切割机被盗走。", "工地", "theft"),
    ("小区物业门口，一名男子把快递柜里价值五百元的包裹偷走了。", "物业", "theft"),
    ("小区楼下棋牌室有人赌博，声音很大扰民。", "扰民", "gambling"),
    ("弟弟和女朋友吵架后发消息说想死，现在电话打不通，找不到人。", "吵架", "missing"),
    ("幸福小区业主30多人到街道办反映停水问题。", "停水", "gathering"),
    ("五名工人因为工资问题在公司门口堵门。", "工资", "gathering"),
    ("二十多名农民工在项目部讨要工资，工地老板不露面。", "工资", "gathering"),
    ("王某反映拖欠工程款问题，情绪激动，劝离难度较大。", "工程款", "gathering"),
]


@pytest.mark.parametrize(("text", "keyword", "signal"), SAME_SHAPE)
def test_a_crime_beside_a_department_word_is_never_suggested_for_diverting(text, keyword, signal):
    suggestion = routing.suggest(text, use_model=False)

    assert keyword in {m.word for c in suggestion.candidates for m in c.matches}  # the shape: a department word
    assert suggestion.decision == POLICE
    assert signal in {r.code for r in suggestion.police_reasons}
    for reason in suggestion.police_reasons:
        for match in reason.matches:
            assert text[match.start:match.end] == match.word


@pytest.mark.parametrize("text", [
    "被两个骑电瓶车的人抢走了手机，往北跑了",
    "家门被撬了，抽屉里的金项链没了",
    "被同事用剪刀从后面捅伤了胳膊",
    "骑电动车和一辆货车相撞，人倒在地上",
    "停在楼下的车被人划了好几道",
    "网上刷单，转账八千后对方不见了",
    "前男友一直发消息恐吓我",
    "在公交车上被一名男子摸屁股",
    "老人早上出门到现在没回家",
    "有人站在天台边上留了遗书",
    "有人在出租屋里吸毒",
    "一男子闯进我家不肯走",
    "市场里有人用假币买东西",
    "有人不配合执法，在现场辱骂民警",
    "停在路边的车被一辆白色面包车撞了以后对方开走了",
    "一男子在水果店没付钱就把两箱水果拿走了",
    "一名女子把我的包“抢”走了",
    "车门被人划损了一大片",
    "在商场看到一个小女孩找不到家长，一直在哭",
    "饭店里有人喝多了耍酒疯，摔酒瓶",
])
def test_police_signals_read_110_phrasing(text):
    assert routing.suggest(text, use_model=False).decision == POLICE


@pytest.mark.parametrize("text", [
    "邻居吵架，没有动手，也没人受伤，就是太吵",
    "楼下烧烤店噪音扰民，没有人打架",
    "楼上漏水到我家，现场无人员受伤",
    "楼下KTV噪音扰民，未发生冲突，未受伤",
    "想在小区装监控防止被盗，物业不同意",  # prevention speaks of what did not happen
    "社区宣传谨防诈骗，想问社保怎么办理",
])
def test_a_negated_signal_leaves_the_call_to_its_department(text):
    suggestion = routing.suggest(text, use_model=False)

    assert suggestion.police_reasons == []
    assert suggestion.decision == NON_POLICE


def test_a_negation_does_not_hide_the_accident_itself():
    suggestion = routing.suggest("两辆车追尾，无人受伤", use_model=False)
    assert suggestion.decision == POLICE
    assert {r.code for r in suggestion.police_reasons} == {"traffic"}


@pytest.mark.parametrize("text", [
    "十几名工人在公司门口讨要工资",
    "四五十个村民到镇政府上访",
    "村民30多人到乡政府反映征地补偿问题",
    "有40多人聚集在售楼部门口讨说法",
    "门口聚集了二十多名业主",
    "3、40名“外卖骑手群体”在站点门口",
    "售楼部门口有20多名业主在现场，要求退房",
    "十几名职工要见厂长，不肯离开",
])
def test_a_count_of_people_with_a_group_verb_is_a_group_incident(text):
    suggestion = routing.suggest(text, use_model=False)

    assert suggestion.decision == POLICE
    reason = next(r for r in suggestion.police_reasons if r.code == "gathering")
    assert all(text[m.start:m.end] == m.word for m in reason.matches)


@pytest.mark.parametrize("text", [
    "小区300多户居民停水三天了",
    "家里办酒席，十几个人吃完拉肚子",
    "我们3个人去饭店吃饭，饭菜变质",
    "没有10余名工人来讨要工资，只是一个人来问",
    "我们小区近300名业主联名反映基站辐射问题",  # a letter signed by many, not a crowd at a door
    "学校一个班坐了六七十个学生，教室太挤",
])
def test_a_count_without_a_group_is_not_a_group_incident(text):
    assert "gathering" not in {r.code for r in routing.suggest(text, use_model=False).police_reasons}


@pytest.mark.parametrize(("text", "code"), [
    ("钥匙锁在屋里了，进不了门，请帮忙开锁", "E02"),
    ("孩子把门反锁了，门锁打不开", "E02"),
    ("卫生间水管漏水，楼下都渗水了", "E01"),
    ("暖气管跑水，满地都是水", "F01"),
    ("楼道里闻到很浓的燃气味", "F01"),
    ("小区里有人燃放烟花爆竹", "F04"),
    ("有人从楼上飞线充电，很危险", "F04"),
    ("工厂偷排污水，河水都变黑了", "C04"),
    ("楼下商铺高音喇叭一直放，噪音扰民", "C01"),
    ("楼上漏水，打他电话也不接", "E01"),
    ("自来水管道抢修，停水一天了", "E01"),
    ("家里阳台爬进来一条蛇", "E03"),
])
def test_linkage_calls_in_110_phrasing_are_still_diverted(text, code):
    suggestion = routing.suggest(text, use_model=False)

    assert suggestion.police_reasons == []
    assert suggestion.decision == NON_POLICE
    assert code in [c.code for c in suggestion.candidates[:2]]


def test_no_evidence_either_way_is_undecided_and_never_a_department():
    for text in ("喂喂，听得到吗", "有个事情想问一下", ""):
        suggestion = routing.suggest(text, use_model=False)
        assert suggestion.decision == UNDECIDED
        assert suggestion.police is False
        assert suggestion.suggested_police is None
        assert suggestion.as_dict()["decision"] == "undecided"


def test_weak_evidence_is_undecided_until_the_catalog_setting_allows_it():
    text = "这个事情怎么办"  # 怎么办 weighs 1 in the default catalog (a bare question)
    assert routing.suggest(text, use_model=False).decision == UNDECIDED

    settings_row = RoutingSettings.current()
    settings_row.divert_min_evidence = 1
    settings_row.save()

    suggestion = routing.suggest(text, use_model=False)
    assert suggestion.decision == NON_POLICE
    assert suggestion.top.code == "E05"


def test_a_signal_added_in_the_admin_table_is_used_by_the_next_suggestion():
    text = "有人在河边电鱼"
    assert routing.suggest(text, use_model=False).decision != POLICE

    PoliceSignal.objects.create(code="poaching", name_zh="非法捕捞", name_en="Illegal fishing", words=["电鱼"],
                                patterns=[r"炸鱼|毒鱼"], order=500)

    suggestion = routing.suggest(text, use_model=False)
    assert suggestion.decision == POLICE
    assert [(r.code, str(r.label), [m.word for m in r.matches]) for r in suggestion.police_reasons] == [
        ("poaching", "非法捕捞", ["电鱼"])]
    assert routing.suggest("有人在水库毒鱼", use_model=False).decision == POLICE


def test_a_signal_that_is_switched_off_no_longer_counts():
    PoliceSignal.objects.filter(code="gambling").update(active=False)
    routing.catalog_bump()
    assert "gambling" not in {r.code for r in routing.suggest("有人赌博", use_model=False).police_reasons}


def test_the_admin_refuses_a_pattern_that_is_not_a_regular_expression():
    signal = PoliceSignal(code="bad", name_zh="坏", name_en="Bad", words=["x"], patterns=["(未闭合"])
    with pytest.raises(ValidationError) as exc:
        signal.full_clean()
    assert "patterns" in exc.value.message_dict


def test_a_pattern_is_searched_only_where_its_anchor_occurs():
    rules = routing.current_rules()
    gathering = [p for ridx, p in rules.patterns if rules.reason_codes[ridx] == "gathering"]
    assert gathering and all(compiled._anchors(p) for p in gathering)
    # The most telling words a match must hold: a literal run times a small class beats a lone character.
    assert compiled._anchors(re.compile(r"被.{0,3}撞[了后]")) == {"撞了", "撞后"}
    assert compiled._anchors(re.compile(r"\d+人(?:讨薪|堵门)")) == {"讨薪", "堵门"}
    # A pattern with nothing literal to anchor on is searched in every text.
    assert compiled._anchors(re.compile(r"\d+")) == frozenset()


@pytest.mark.django_db(transaction=True)
def test_a_signal_added_in_another_process_is_picked_up_here(settings):
    settings.ROUTING_VERSION_CHECK_SECONDS = 30
    text = "有人在小区里放高利贷"
    first = routing.current_rules()
    assert routing.suggest(text, use_model=False).decision != POLICE

    _in_another_process(
        "from diversion.models import PoliceSignal; PoliceSignal.objects.create(code='usury', name_zh='高利贷', "
        "name_en='Usury', words=['高利贷'], patterns=[r'利息[^。]{0,6}?翻倍'])"
    )

    assert routing.current_rules() is first  # inside the check interval: what this process compiled
    assert routing.suggest(text, use_model=False).decision != POLICE
    compiled._checked_at = time.monotonic() - 31
    assert routing.current_rules().version > first.version
    suggestion = routing.suggest(text, use_model=False)
    assert suggestion.decision == POLICE
    assert {r.code for r in suggestion.police_reasons} == {"usury"}
    assert routing.suggest("借了五千，利息一个月就翻倍", use_model=False).decision == POLICE


# --- where the decision shows ----------------------------------------------------------------------------

def test_the_call_stores_and_the_api_shows_the_decision(make_call):
    police = make_call(call_id="K-1", content="被人抢走了手机")
    divert = make_call(call_id="K-2", content="楼下KTV噪音扰民")
    unsure = make_call(call_id="K-3", content="喂喂，听得到吗")

    assert [c.suggested_police for c in (police, divert, unsure)] == [True, False, None]
    assert [c.suggested_decision for c in (police, divert, unsure)] == ["police", "non_police", "undecided"]
    from incidents.serializers import CallSerializer

    data = CallSerializer(unsure).data
    assert data["suggested_decision"] == "undecided"
    assert data["suggestions"]["decision"] == "undecided"


def test_the_workbench_preselects_nothing_for_an_undecided_call(client, dispatcher, make_call):
    unsure = make_call(call_id="K-4", content="有个事情想问一下")
    divert = make_call(call_id="K-5", content="楼下KTV噪音扰民")
    client.force_login(dispatcher)

    page = client.get(reverse("dispatch-panel", args=[unsure.pk])).content.decode()
    assert 'data-default=""' in page
    assert 'data-decision="undecided"' in page

    page = client.get(reverse("dispatch-panel", args=[divert.pk])).content.decode()
    assert 'data-default="C01"' in page
    assert 'data-decision="non_police"' in page


def test_a_suggestion_stored_before_three_outcomes_reads_as_it_was_shown():
    from incidents.presenters import stored_decision

    assert stored_decision({"police": True}) == POLICE
    assert stored_decision({"police": False, "candidates": [{"code": "C01"}]}) == NON_POLICE
    assert stored_decision({"police": False, "candidates": []}) == UNDECIDED


# --- the evaluation command --------------------------------------------------------------------------------

def _write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _values(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_evaluate_routing_scores_keep_or_divert_and_lists_each_wrongly_diverted_note(tmp_path):
    calls, messages = tmp_path / "calls.csv", tmp_path / "messages.csv"
    _write(calls, ["text", "major", "minor", "expected"], [
        ("被人抢走了手机", "刑事案件", "抢劫", "police"),
        ("楼下KTV噪音扰民", "社会联动", "环保执法", "divert"),
        ("钥匙锁在屋里了", "群众求助", "开锁求助", "divert"),
        ("喂喂，听得到吗", "其他", "其他", "either"),
        # A crime told with nothing the signals know (a written case): it is diverted and listed.
        ("物业的人把我的电动车推走卖了", "刑事案件", "盗窃", "police"),
    ])
    _write(messages, ["label", "text"], [("环境保护", "工厂排放废气刺鼻"), ("交通运输", "这个事情")])
    out = StringIO()

    call_command("evaluate_routing", calls=str(calls), messages=str(messages), rules_only=True, stdout=out)

    values = _values(out.getvalue())
    assert {k: values[k] for k in ("must_keep", "wrongly_diverted", "wrong_divert_rate", "linkage",
                                    "linkage_diverted", "linkage_recall", "undecided_rate",
                                    "citizen_non_police_rate")} == {
        "must_keep": "2", "wrongly_diverted": "1", "wrong_divert_rate": "0.5000", "linkage": "2",
        "linkage_diverted": "2", "linkage_recall": "1.0000", "undecided_rate": "0.2000",
        "citizen_non_police_rate": "0.5000"}
    assert values["wrongly_diverted[1]"] == "物业的人把我的电动车推走卖了 matched=物业"


def test_evaluate_routing_refuses_a_calls_file_without_its_columns(tmp_path):
    calls = tmp_path / "calls.csv"
    _write(calls, ["text", "label"], [("x", "y")])
    with pytest.raises(Exception, match="expected"):
        call_command("evaluate_routing", calls=str(calls), stdout=StringIO())


@pytest.mark.skipif(not CALLS.exists() or not MESSAGES.exists(), reason="../shared/data is not beside the repo")
def test_the_targets_hold_on_the_real_110_notes_and_citizen_messages():
    """Real data we did not write: 411 110 call notes and 2,199 citizen messages (../shared/data)."""
    out = StringIO()
    call_command("evaluate_routing", calls=str(CALLS), messages=str(MESSAGES), rules_only=True, stdout=out)
    values = _values(out.getvalue())

    assert int(values["must_keep"]) > 200
    assert float(values["wrong_divert_rate"]) <= 0.02
    assert float(values["linkage_recall"]) >= 0.80
    assert float(values["citizen_non_police_rate"]) >= 0.60


def test_a_command_on_an_unmigrated_database_says_to_migrate_first(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("FENLIU_VAR_DIR", None)
    for command in (["evaluate_routing", "--calls", "x.csv"], ["classify_texts", "a.csv", "b.csv"], ["seed_demo"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1
        assert "run manage.py migrate first" in result.stderr
        assert "Traceback" not in result.stderr
    assert Path(tmp_path / "empty.sqlite3").exists()


# --- the admin -----------------------------------------------------------------------------------------

def test_an_administrator_edits_a_signal_and_a_bad_pattern_changes_nothing(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    signal = PoliceSignal.objects.get(code="gambling")
    url = reverse("admin:diversion_policesignal_change", args=[signal.pk])
    assert client.get(reverse("admin:diversion_policesignal_changelist")).status_code == 200
    form = {"code": signal.code, "name_zh": signal.name_zh, "name_en": signal.name_en, "order": signal.order,
            "active": "on", "words": '["赌博", "斗地主赢钱"]', "exclusions": "{}"}
    before = routing.current_rules().version

    response = client.post(url, {**form, "patterns": '["(未闭合"]'})
    assert response.status_code == 200  # the form again, with the message
    assert "不是有效的正则表达式" in response.content.decode()
    assert PoliceSignal.objects.get(pk=signal.pk).words == signal.words
    assert routing.current_rules().version == before

    response = client.post(url, {**form, "patterns": '["打牌[^。]{0,4}赢钱"]'})
    assert response.status_code == 302
    assert routing.current_rules().version > before
    assert routing.suggest("楼下有人打牌赢钱", use_model=False).decision == POLICE
    assert routing.suggest("有人斗地主赢钱", use_model=False).decision == POLICE

    settings_url = reverse("admin:diversion_routingsettings_change", args=[RoutingSettings.current().pk])
    assert client.get(settings_url).status_code == 200
