import pytest

from diversion import routing
from diversion.models import Category
from tests.factories import category

pytestmark = pytest.mark.django_db


def _codes(suggestion):
    return [c.code for c in suggestion.candidates]


def _reasons(suggestion):
    return {r.code for r in suggestion.police_reasons}


def test_it_ranks_noise_first_for_a_noise_complaint():
    text = "楼下广场舞噪音扰民，每天晚上十点还在放低音炮"
    suggestion = routing.suggest(text)

    assert suggestion.police is False
    assert suggestion.top.code == "C01"
    assert suggestion.top.department == "STJ"
    assert {m.word for m in suggestion.top.matches} >= {"广场舞", "噪音扰民", "扰民", "噪音", "低音炮"}


def test_matched_spans_point_at_the_words_in_the_text():
    text = "楼下广场舞噪音扰民，每天晚上十点还在放低音炮"
    suggestion = routing.suggest(text)

    for candidate in suggestion.candidates:
        assert candidate.matches == sorted(candidate.matches, key=lambda m: m.start)
        for match in candidate.matches:
            assert text[match.start:match.end] == match.word
    spans = {(m.word, m.start) for m in suggestion.top.matches}
    assert ("广场舞", 2) in spans
    assert ("噪音扰民", 5) in spans
    assert ("低音炮", text.index("低音炮")) in spans


def test_a_word_that_occurs_twice_is_matched_twice_but_scored_once():
    once = routing.suggest("隔壁噪音")
    twice = routing.suggest("隔壁噪音，楼上也是噪音")

    c01 = next(c for c in twice.candidates if c.code == "C01")
    assert [m.start for m in c01.matches if m.word == "噪音"] == [2, 9]
    assert once.top.code == twice.top.code == "C01"


def test_construction_noise_beats_social_noise_at_a_building_site():
    suggestion = routing.suggest("工地半夜施工噪音")

    codes = _codes(suggestion)
    assert codes[0] == "C02"
    assert "C01" in codes
    scores = {c.code: c.score for c in suggestion.candidates}
    assert scores["C02"] > scores["C01"]
    assert sum(scores.values()) == pytest.approx(1.0)


def test_a_text_without_any_keyword_has_no_candidates():
    suggestion = routing.suggest("喂喂，听得到吗")
    assert suggestion.police is False
    assert suggestion.candidates == []
    assert suggestion.top is None


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("邻居吵架后动手打人，对方拿着菜刀", {"fighting", "weapon", "category:A01"}),
        ("我家电动车被偷了", {"theft"}),
        ("接到电话说是公检法让我转账，我被骗了两万", {"fraud"}),
        ("路口两车追尾有人受伤", {"traffic", "injury"}),
        ("我家老人早上出门走失了联系不上", {"missing"}),
        ("有人站在楼顶扬言要跳楼", {"suicide"}),
        ("几十人聚集在工地门口讨薪堵路", {"gathering", "category:A03"}),
        ("老公喝了酒又家暴我，我脸上都流血了", {"fighting", "injury", "category:A02"}),
        ("菜市场门口有人抢包，往东边跑了", {"robbery"}),
        ("骑电动车被车撞了，司机开车逃逸了", {"traffic"}),
        ("女儿说不想活了，刚才发消息说要去跳河", {"suicide"}),
        ("刷单被骗了三万块，对方把我拉黑了", {"fraud", "category:A04"}),
        ("KTV门口两伙人打架，有人拿着棍棒", {"fighting", "weapon"}),
        ("酒吧门口有人被打了，头破血流", {"fighting", "injury"}),
        ("小区里有人偷东西，被保安抓住了", {"theft"}),
        ("上百人围堵在政府门口拉横幅", {"gathering"}),
        ("孩子放学一直没回家，现在联系不上", {"missing"}),
    ],
)
def test_it_keeps_crimes_violence_accidents_and_risks_with_the_police(text, reasons):
    suggestion = routing.suggest(text)

    assert suggestion.police is True
    assert _reasons(suggestion) >= reasons
    for reason in suggestion.police_reasons:
        assert reason.matches
        for match in reason.matches:
            assert text[match.start:match.end] == match.word


def test_police_precedence_holds_even_when_a_category_also_matches():
    # 噪音 and 邻居 match non-police sub-categories; the knife still keeps the call with the police.
    suggestion = routing.suggest("邻居噪音太吵，上去理论，他拿着菜刀出来")

    assert suggestion.police is True
    assert "weapon" in _reasons(suggestion)
    assert {"C01", "A01"} <= set(_codes(suggestion))


@pytest.mark.parametrize("text", [
    "没有人受伤，就是噪音太大",
    "没人打架，就是楼上太吵",
    "邻居吵架但没动手，就是一直骂人",
    "现场没有任何人受伤，也没有人员被打，就是楼下烧烤油烟太大",
])
def test_a_negated_police_word_does_not_force_the_police(text):
    suggestion = routing.suggest(text)

    assert suggestion.police is False
    assert suggestion.police_reasons == []
    assert suggestion.candidates


def test_a_negation_in_one_place_does_not_hide_a_police_word_elsewhere():
    suggestion = routing.suggest("没有人受伤，但是他们还在打架")

    assert suggestion.police is True
    assert _reasons(suggestion) == {"fighting"}


@pytest.mark.parametrize(
    "text",
    [
        "无缘无故被打了",
        "孩子没回来，联系不上",
        "老人没带手机走失了",
        "没想到他拿刀出来",
    ],
)
def test_a_negation_word_that_does_not_negate_the_police_word_is_ignored(text):
    suggestion = routing.suggest(text)
    assert suggestion.police is True


def test_a_categorys_own_police_words_force_the_police_with_the_category_as_reason():
    text = "邻居因为占用楼道的事情动手了"
    suggestion = routing.suggest(text)

    assert suggestion.police is True
    reason = next(r for r in suggestion.police_reasons if r.code == "category:A01")
    assert [(m.word, text[m.start:m.end]) for m in reason.matches] == [("动手", "动手")]
    assert "动手" in str(reason.label)
    # The sub-category is still suggested: the dispatcher sees both.
    assert suggestion.top.code == "A01"


def test_a_category_police_word_that_is_negated_does_not_force_the_police():
    suggestion = routing.suggest("邻居占用楼道，吵了几句，没动手")

    assert suggestion.police is False
    assert suggestion.top.code == "A01"


def test_as_dict_keeps_reasons_candidates_and_spans():
    data = routing.suggest("路口两车追尾有人受伤").as_dict()

    assert data["police"] is True
    codes = [r["code"] for r in data["police_reasons"]]
    assert codes == ["injury", "traffic"]
    assert data["police_reasons"][1]["matches"] == [{"word": "追尾", "start": 4, "end": 6}]


def test_a_keyword_added_to_the_catalog_is_used_by_the_next_suggestion():
    text = "隔壁烧蜂窝煤呛得人睡不着"
    assert "C05" not in _codes(routing.suggest(text))  # compiles and caches the catalog

    c05 = Category.objects.get(code="C05")
    c05.keywords = [*c05.keywords, "蜂窝煤"]
    c05.save()

    suggestion = routing.suggest(text)
    assert suggestion.top.code == "C05"
    assert [(m.word, m.start) for m in suggestion.top.matches] == [("蜂窝煤", 3)]


def test_a_police_word_added_to_a_category_is_used_by_the_next_suggestion():
    text = "楼上装修把我家墙砸穿了，工人还骂人"
    assert routing.suggest(text).police is False

    b02 = category("B02")
    b02.police_keywords = ["骂人"]
    b02.police_conditions = "辱骂、威胁→公安"
    b02.save()

    suggestion = routing.suggest(text)
    assert suggestion.police is True
    assert _reasons(suggestion) == {"category:B02"}


def test_a_deactivated_category_is_no_longer_suggested():
    text = "工地半夜施工噪音"
    assert routing.suggest(text).top.code == "C02"

    Category.objects.filter(code="C02").update(active=False)  # a bulk update sends no signal ...
    assert routing.suggest(text).top.code == "C02"
    c02 = Category.objects.get(code="C02")
    c02.save()  # ... a save does

    assert routing.suggest(text).top.code == "C01"


def test_highlight_spans_merge_overlapping_matches():
    text = "楼下噪音扰民"
    matches = [m for c in routing.suggest(text).as_dict()["candidates"] for m in c["matches"]]

    pieces = routing.highlight_spans(text, matches)
    assert pieces == [("楼下", False), ("噪音扰民", True)]
    assert "".join(p for p, _ in pieces) == text
