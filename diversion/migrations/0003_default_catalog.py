"""The default catalog: 17 departments, 5 time-limit classes, 6 groups and 36 sub-categories.

Written for Fenliu from the reasoned synthesis in shared/data/catalog (36 non-police sub-categories in
6 groups). Department ownership differs between cities; administrators edit it in the admin."""

from django.db import migrations

TIME_LIMIT_CLASSES = [
    # code, zh, en, hours
    ("consultation", "咨询类", "Consultation", 72),
    ("request", "诉求类", "Request", 120),
    ("complaint", "投诉类", "Complaint", 168),
    ("report", "举报类", "Report", 240),
    ("major_urgent", "重大紧急类", "Major urgent", 2),
]

DEPARTMENTS = [
    ("SFJ", "司法局（司法所/人民调解委员会）", "Justice Bureau (mediation committees)"),
    ("FL", "妇联", "Women's Federation"),
    ("RSJ", "人社局（劳动保障监察大队）", "Human Resources and Social Security Bureau"),
    ("SCJ", "市场监督管理局", "Market Regulation Administration"),
    ("ZJJ", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("CGJ", "城市管理综合执法局", "Urban Management Law Enforcement Bureau"),
    ("WJW", "卫生健康委员会", "Health Commission"),
    ("STJ", "生态环境局", "Ecology and Environment Bureau"),
    ("WLJ", "文化和旅游局", "Culture and Tourism Bureau"),
    ("JTJ", "交通运输局", "Transport Bureau"),
    ("JYJ", "教育局", "Education Bureau"),
    ("GYQ", "公用事业单位（供水供电供气供热）", "Public utilities (water, power, gas, heating)"),
    ("NYJ", "农业农村局", "Agriculture and Rural Affairs Bureau"),
    ("MZJ", "民政局（救助管理站）", "Civil Affairs Bureau (relief station)"),
    ("YJJ", "应急管理局", "Emergency Management Bureau"),
    ("JDB", "街道办事处", "Street office"),
    ("12345", "12345政务服务便民热线", "12345 government service hotline"),
]

GROUPS = [
    ("A", "矛盾纠纷类", "Civil disputes"),
    ("B", "房屋与城市管理类", "Housing and urban management"),
    ("C", "涉环境违法类", "Environmental violations"),
    ("D", "市场与行业监管类", "Market and sector regulation"),
    ("E", "非警务求助与公共服务类", "Non-police assistance and public services"),
    ("F", "应急联动类", "Emergency linkage"),
]

# code, zh, en, department, time-limit class, urgency, keywords, keep-with-police condition, police words
CATEGORIES = [
    ("A01", "邻里纠纷", "Neighbour dispute", "SFJ", "request", "depends",
     ["邻居", "楼上楼下", "吵架", "占用楼道", "漏水到我家", "宠物扰邻", "邻里", "对门", "楼道堆放"],
     "动手、持械、伤人→留公安（治安纠纷）", ["动手", "持械", "伤人"]),
    ("A02", "家庭婚姻纠纷（无暴力）", "Family or marital dispute, non-violent", "FL", "request", "depends",
     ["夫妻吵架", "离婚", "赡养老人", "抚养费", "分家产", "婆媳", "家庭矛盾", "老公", "老婆"],
     "家庭暴力、威胁人身→留公安", ["家暴", "家庭暴力", "威胁要杀", "掐脖子"]),
    ("A03", "劳资纠纷/欠薪", "Labour dispute, wage arrears", "RSJ", "request", "normal",
     ["拖欠工资", "讨薪", "包工头", "不结工钱", "辞退", "不交社保", "欠薪", "工资", "老板跑了"],
     "聚集讨薪、堵路、扬言跳楼→留公安", ["聚集讨薪", "堵路", "扬言跳楼"]),
    ("A04", "消费纠纷", "Consumer dispute", "SCJ", "complaint", "normal",
     ["退款", "退货", "商家不退", "预付卡", "充值跑路", "假货", "缺斤短两", "消费", "不给退", "售后"],
     "疑似诈骗→公安", ["诈骗", "被骗"]),
    ("A05", "物业服务纠纷", "Property-management dispute", "ZJJ", "complaint", "normal",
     ["物业", "物业费", "停车费", "电梯坏了没人修", "业委会", "停水停电威胁", "物业公司"],
     "物业强行断水断电、冲突→视情公安", ["冲突", "推搡"]),
    ("A06", "房屋租赁纠纷", "Tenancy dispute", "ZJJ", "request", "depends",
     ["房东", "租客", "押金不退", "房租", "强行清退", "换锁", "租房", "中介"],
     "强行驱赶、扣押财物、冲突→公安", ["强行驱赶", "扣押财物", "扣我东西"]),
    ("A07", "经济债务/合同纠纷", "Debt or contract dispute", "SFJ", "request", "normal",
     ["欠钱不还", "借款", "合同", "货款", "欠款", "工程款", "借钱", "还钱"],
     "疑似诈骗、非法拘禁讨债→公安", ["非法拘禁", "关起来", "不让走"]),
    ("A08", "医患纠纷", "Doctor–patient dispute", "WJW", "complaint", "depends",
     ["医院", "医疗事故", "手术失败", "赔偿", "医生态度", "误诊", "护士"],
     "医闹、打砸、停尸闹事→公安", ["医闹", "打砸", "停尸"]),
    ("B01", "违法建设", "Illegal construction", "CGJ", "report", "normal",
     ["违建", "私搭乱建", "加盖", "楼顶加层", "圈占绿地", "违章建筑", "搭棚"], "", []),
    ("B02", "违规装修/装修扰民", "Renovation violations or noise", "ZJJ", "complaint", "normal",
     ["装修", "砸墙", "承重墙", "电钻", "中午装修", "夜里装修", "敲墙"], "", []),
    ("B03", "房屋安全隐患/危房", "Unsafe or dangerous building", "ZJJ", "request", "depends",
     ["墙体开裂", "楼板裂缝", "房子要塌", "危房", "外墙脱落", "裂缝", "瓷砖掉落"],
     "正在坍塌、坠物伤人→119+应急联动", ["坠物伤人", "正在坍塌"]),
    ("B04", "占道经营/流动摊贩", "Street vending or road occupation", "CGJ", "complaint", "normal",
     ["摆摊", "占道", "流动摊贩", "夜市", "店外经营", "小贩", "占用人行道"],
     "暴力抗法→公安", ["暴力抗法"]),
    ("B05", "市容环卫", "Sanitation and garbage", "CGJ", "complaint", "normal",
     ["垃圾没人清", "乱倒垃圾", "建筑垃圾", "渣土", "公厕脏", "垃圾", "垃圾桶"], "", []),
    ("B06", "市政公用设施损坏", "Damaged public facilities", "CGJ", "request", "depends",
     ["井盖丢失", "井盖", "路灯不亮", "塌陷", "护栏损坏", "破损", "下水道堵", "路灯", "坑"],
     "井盖缺失、路面塌陷→先设警示并联动", []),
    ("B07", "车辆挪移", "Vehicle-moving request", "JDB", "request", "normal",
     ["挪车", "堵住车库", "车被挡", "堵门", "占车位", "挡住", "移车"],
     "堵消防通道、急救车→紧急处置", ["堵消防通道", "挡住救护车"]),
    ("C01", "社会生活噪声扰民", "Social-life noise", "STJ", "complaint", "normal",
     ["噪音扰民", "扰民", "广场舞", "KTV", "喇叭", "低音炮", "酒吧", "喧哗", "播放音乐", "噪音", "太吵"],
     "", []),
    ("C02", "建筑施工噪声", "Construction noise", "STJ", "complaint", "normal",
     ["夜间施工", "打桩", "工地噪音", "半夜施工", "工地", "施工"], "", []),
    ("C03", "工业废气/异味", "Industrial air pollution or odour", "STJ", "report", "depends",
     ["异味", "刺鼻", "冒黑烟", "化工厂", "臭味", "废气"],
     "疑似毒气、危化泄漏→119+应急", ["毒气"]),
    ("C04", "非法排污/水体污染", "Illegal discharge or water pollution", "STJ", "report", "normal",
     ["排污", "污水直排", "河水变黑", "死鱼", "偷排", "污水"], "", []),
    ("C05", "餐饮油烟/露天烧烤", "Restaurant fumes or open-air BBQ", "CGJ", "complaint", "normal",
     ["油烟", "烧烤", "熏人", "排烟"], "", []),
    ("C06", "露天焚烧/固废倾倒", "Open burning or waste dumping", "STJ", "report", "depends",
     ["烧垃圾", "烧秸秆", "浓烟", "倾倒废料", "危废", "焚烧"], "已起火→119", []),
    ("D01", "食品药品安全", "Food and drug safety", "SCJ", "report", "depends",
     ["变质", "过期", "吃坏肚子", "无证餐馆", "假药", "保健品", "食物中毒", "拉肚子"],
     "群体性食物中毒→120+市场监管", []),
    ("D02", "无证经营/价格欺诈/产品质量", "Unlicensed business, price fraud, product quality", "SCJ", "report",
     "normal", ["乱收费", "价格欺诈", "虚假宣传", "无照经营", "质量问题", "宰客", "天价"],
     "传销、诈骗→公安", ["传销", "诈骗"]),
    ("D03", "文化市场/网吧/出版物", "Cultural market, internet cafés, publications", "WLJ", "report", "normal",
     ["网吧", "未成年人进网吧", "游戏厅", "非法出版物", "导游", "旅行团"], "", []),
    ("D04", "交通运输服务", "Transport services", "JTJ", "complaint", "normal",
     ["出租车拒载", "绕路", "网约车多收钱", "公交不停站", "出租车", "网约车", "公交", "拒载"],
     "交通事故、交通违法→交警", ["交通事故", "撞了"]),
    ("D05", "教育与培训", "Education and training", "JYJ", "complaint", "normal",
     ["补课", "学校收费", "培训机构跑路", "校车", "培训机构", "学校"], "", []),
    ("E01", "水电气热故障（非险情）", "Utility outage, non-hazardous", "GYQ", "request", "normal",
     ["停水", "停电", "没暖气", "水压低", "电费", "漏水", "没水", "没电", "跳闸"], "", []),
    ("E02", "开锁求助", "Lock-out", "JDB", "request", "depends",
     ["钥匙锁家里", "开锁", "门打不开", "钥匙丢了", "锁在里面", "忘带钥匙"],
     "屋内有老人小孩、灶上有火→119/公安", ["孩子锁在", "老人在屋里", "灶上有火"]),
    ("E03", "动物类求助", "Animal problems", "NYJ", "request", "depends",
     ["流浪狗", "狗咬人", "蛇进屋", "马蜂窝", "野猪", "流浪猫", "蛇", "马蜂"],
     "咬伤→120；疯狗→联动", []),
    ("E04", "困难群众救助", "Vulnerable or stranded persons", "MZJ", "request", "depends",
     ["流浪", "乞讨", "没钱回家", "露宿", "流浪汉", "救助"], "极端天气、病重→120/联动", []),
    ("E05", "政务与政策咨询", "Government information enquiries", "12345", "consultation", "normal",
     ["怎么办", "社保", "公积金", "医保", "落户", "咨询", "办理", "政策"], "", []),
    ("F01", "公共设施险情（燃气泄漏、爆管等）", "Utility hazard (gas leak, burst main, wiring fire)", "GYQ",
     "major_urgent", "high",
     ["煤气味", "漏气", "燃气泄漏", "爆管", "水淹", "电线着火", "天然气"],
     "同步119；必要时公安先期处置", []),
    ("F02", "医疗急救", "Medical emergency", "WJW", "major_urgent", "high",
     ["晕倒", "昏迷", "不省人事", "急病", "呼吸困难", "心脏病", "抽搐"], "同步120", []),
    ("F03", "自然灾害/内涝/树木倒伏", "Natural hazard, flooding, fallen trees", "YJJ", "major_urgent", "high",
     ["积水", "内涝", "淹了", "树倒了", "塌方", "山体滑坡", "大树"], "有人员被困→119", []),
    ("F04", "安全生产/烟花爆竹隐患", "Work-safety hazards, fireworks", "YJJ", "report", "depends",
     ["工地没防护", "危化品", "燃放烟花", "烟花爆竹", "违规储存", "放鞭炮"], "已发生事故→119/120", []),
    ("F05", "电梯困人/人员被困", "Persons trapped (lifts etc.)", "SCJ", "major_urgent", "high",
     ["电梯困人", "被困", "卡住了", "出不来", "困在电梯"], "同步119", []),
]


def load(apps, schema_editor):
    TimeLimitClass = apps.get_model("diversion", "TimeLimitClass")
    Department = apps.get_model("diversion", "Department")
    CategoryGroup = apps.get_model("diversion", "CategoryGroup")
    Category = apps.get_model("diversion", "Category")
    classes = {
        code: TimeLimitClass.objects.create(code=code, name_zh=zh, name_en=en, deadline_hours=hours)
        for code, zh, en, hours in TIME_LIMIT_CLASSES
    }
    departments = {
        code: Department.objects.create(code=code, name_zh=zh, name_en=en) for code, zh, en in DEPARTMENTS
    }
    groups = {code: CategoryGroup.objects.create(code=code, name_zh=zh, name_en=en) for code, zh, en in GROUPS}
    for code, zh, en, dept, tlc, urgency, keywords, condition, police_words in CATEGORIES:
        Category.objects.create(
            code=code, name_zh=zh, name_en=en, group=groups[code[0]], default_department=departments[dept],
            time_limit_class=classes[tlc], urgency=urgency, keywords=keywords,
            police_conditions=condition, police_keywords=police_words,
        )


def unload(apps, schema_editor):
    for model in ("Category", "CategoryGroup", "Department", "TimeLimitClass"):
        apps.get_model("diversion", model).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("diversion", "0002_initial")]
    operations = [migrations.RunPython(load, unload)]
