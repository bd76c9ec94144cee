import csv
from io import StringIO

import pytest
from django.core.management import call_command

from diversion.routing.families import FAMILIES

pytestmark = pytest.mark.django_db

# A small labelled file written for these tests, in the shape of the citizen-message data (label,text).
LABELLED = {
    "城乡建设": ["小区物业不作为电梯坏了没人修", "违章建筑占用绿地请城管处理", "路灯不亮井盖丢失",
               "楼顶加层违建无人管", "小区垃圾没人清运", "老旧小区改造进度太慢"],
    "劳动和社会保障": ["公司拖欠工资三个月", "单位不给交社保", "辞退员工不给补偿",
                  "包工头欠薪不还", "养老保险转移办理咨询", "失业金怎么领取"],
    "教育文体": ["学校乱收补课费", "培训机构跑路学费不退", "幼儿园收费太高",
             "学校食堂饭菜质量差", "老师在校外办补习班", "体育馆不对市民开放"],
    "商贸旅游": ["商家卖假货不给退", "超市缺斤短两", "旅行团强制购物",
             "景区门票乱涨价", "预付卡充值后店铺跑路", "导游辱骂游客"],
    "卫生计生": ["医院乱收费", "医生态度恶劣", "诊所无证行医",
             "医保报销比例太低", "疫苗接种预约不上", "二胎生育登记怎么办理"],
    "环境保护": ["化工厂排放废气刺鼻", "河里污水直排死鱼", "工地夜间施工噪音",
             "养猪场臭味熏人", "工厂冒黑烟", "砂石场粉尘污染严重"],
    "交通运输": ["出租车拒载绕路", "公交车不停站", "网约车多收钱",
             "道路修了一半停工", "客运站黑车拉客", "公交线路调整不合理"],
}


def _write(path, rows, fieldnames):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_classify_texts_adds_the_routing_columns_and_keeps_the_others(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, [
        {"id": "1", "text": "楼下广场舞噪音扰民，每天晚上十点还在放低音炮"},
        {"id": "2", "text": "有人持刀在商场门口抢劫"},
        {"id": "3", "text": "喂喂，听得到吗"},
    ], ["id", "text"])

    call_command("classify_texts", str(source), str(target), stdout=StringIO())

    rows = _read(target)
    assert list(rows[0]) == ["id", "text", "police_or_non_police", "category_code", "group_code", "department",
                             "department_family", "confidence", "matched"]
    noise, robbery, nothing = rows
    assert (noise["id"], noise["police_or_non_police"], noise["category_code"], noise["group_code"],
            noise["department"], noise["department_family"]) == ("1", "non_police", "C01", "C", "STJ", "环境保护")
    assert "广场舞@2" in noise["matched"].split()
    assert 0 < float(noise["confidence"]) <= 1
    assert robbery["police_or_non_police"] == "police"
    assert {"持刀@2", "抢劫@9"} <= set(robbery["matched"].split())
    assert (nothing["police_or_non_police"], nothing["category_code"], nothing["department_family"]) == (
        "undecided", "", "")


def test_evaluate_routing_scores_by_cross_validation_and_saves_a_model_classify_texts_uses(tmp_path):
    labelled = tmp_path / "labelled.csv"
    _write(labelled, [{"label": label, "text": t} for label, texts in LABELLED.items() for t in texts],
           ["label", "text"])
    model_path = tmp_path / "family.joblib"
    out = StringIO()

    call_command("evaluate_routing", str(labelled), "--folds", "3", "--save-model", str(model_path), stdout=out)

    printed = dict(line.split("=", 1) for line in out.getvalue().splitlines() if "=" in line)
    assert printed["texts"] == "42"
    assert 0 <= float(printed["accuracy"]) <= 1
    assert 0 <= float(printed["macro_f1"]) <= 1
    assert {f"f1[{family}]" for family in FAMILIES} <= set(printed)
    assert "rules_only_macro_f1" in printed
    assert model_path.exists()

    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source, [{"text": "出租车司机拒载还绕路"}, {"text": "有人在学校门口打架"}], ["text"])
    call_command("classify_texts", str(source), str(target), "--model", str(model_path), stdout=StringIO())

    taxi, fight = _read(target)
    assert taxi["department_family"] in FAMILIES
    assert taxi["police_or_non_police"] == "non_police"
    assert fight["police_or_non_police"] == "police"  # the rules win over any model
    assert fight["department_family"] in FAMILIES


def test_classify_texts_refuses_a_file_without_a_text_column(tmp_path):
    from django.core.management.base import CommandError

    source = tmp_path / "in.csv"
    _write(source, [{"content": "噪音"}], ["content"])
    with pytest.raises(CommandError):
        call_command("classify_texts", str(source), str(tmp_path / "out.csv"), stdout=StringIO())
