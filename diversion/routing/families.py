"""The mapping table from our departments and sub-categories to the seven department families of the
citizen-message data (../shared/data/messages), used by classify_texts and evaluate_routing.

A sub-category's family is its own entry below when it has one (where the sub-category's subject decides,
not the department that happens to own it in this city), else its default department's family."""

from django.utils.translation import gettext_lazy as _

URBAN = "城乡建设"
LABOUR = "劳动和社会保障"
EDUCATION = "教育文体"
COMMERCE = "商贸旅游"
HEALTH = "卫生计生"
ENVIRONMENT = "环境保护"
TRANSPORT = "交通运输"

FAMILIES = [URBAN, LABOUR, EDUCATION, COMMERCE, HEALTH, ENVIRONMENT, TRANSPORT]
FAMILY_LABELS = {
    URBAN: _("Housing, urban construction and management"),
    LABOUR: _("Human resources and social security"),
    EDUCATION: _("Education, culture and sports"),
    COMMERCE: _("Commerce, market regulation and tourism"),
    HEALTH: _("Health"),
    ENVIRONMENT: _("Ecology and environment"),
    TRANSPORT: _("Transport"),
}

DEPARTMENT_FAMILY = {
    "SFJ": URBAN,  # mediation of neighbours' and debt disputes: community affairs
    "FL": LABOUR,
    "RSJ": LABOUR,
    "SCJ": COMMERCE,
    "ZJJ": URBAN,
    "CGJ": URBAN,
    "WJW": HEALTH,
    "STJ": ENVIRONMENT,
    "WLJ": EDUCATION,
    "JTJ": TRANSPORT,
    "JYJ": EDUCATION,
    "GYQ": URBAN,
    "NYJ": URBAN,
    "MZJ": LABOUR,
    "YJJ": URBAN,
    "JDB": URBAN,
    "12345": LABOUR,
}

CATEGORY_FAMILY = {
    "A02": LABOUR,  # family and marriage: civil affairs
    "A03": LABOUR,
    "A08": HEALTH,
    "C05": ENVIRONMENT,  # cooking fumes are an environmental matter wherever the city puts them
    "D01": COMMERCE,
    "D03": COMMERCE,  # internet cafés, tour groups: cultural market and tourism
    "D04": TRANSPORT,
    "D05": EDUCATION,
    "E05": LABOUR,  # 社保, 公积金, 医保, 落户 enquiries
    "F02": HEALTH,
}

# Where a family goes when only the family is known (the model's answer with no matching rule).
FAMILY_DEPARTMENT = {
    URBAN: "ZJJ",
    LABOUR: "RSJ",
    EDUCATION: "JYJ",
    COMMERCE: "SCJ",
    HEALTH: "WJW",
    ENVIRONMENT: "STJ",
    TRANSPORT: "JTJ",
}


def family_of(*, category_code: str = "", department_code: str = "") -> str:
    """The family of a sub-category (its own entry, else its department's), or of a department alone."""
    if category_code in CATEGORY_FAMILY:
        return CATEGORY_FAMILY[category_code]
    return DEPARTMENT_FAMILY.get(department_code, "")
