"""The embedded demo's 110 calls: a busy week (about 200 calls, 25 still waiting) after four quieter weeks
(about 230, with a hotspot that cools), walked through the real services.

The calls are written for Fenliu from templates (they are not taken from shared/data). Every state change
goes through the services (call_intake, call_divert, call_assign_police, police_finish, slip_accept,
slip_return, slip_complete, callback_record), replayed in time order on a simulated clock, so received,
issued, accepted, completed and callback times form believable weeks, and the repeat checks at intake
see the calls before them exactly as a live system would. The department's side of a slip is
diversion.demo.SlipLife; the places are grids.demo's Xiufeng district."""

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from core.demo import SYSTEM_USER, clock
from core.models import Role, User
from core.times import day_start
from diversion.demo import FATE_WEIGHTS, FATES, RETURNS, SlipLife
from diversion.models import Category, Department
from grids.demo import HOTSPOT, NAMED_PLACES, UNITS_BY_GRID
from grids.models import Grid

from . import services as call_services
from .models import Call

CALL_ID_PREFIX = "DEMO-"
HISTORY_CALLS = 175  # handled calls over the last 7 days
# The four weeks before that, quieter: what the weekly and monthly reports, the review's 30-day hotspots and
# the hotspot case that cooled down are made of (issue 38).
EARLIER_DAYS = range(7, 35)  # days ago
EARLIER_PER_DAY = (4, 8)  # calls a day, besides the cooling hotspot's
COOLING = "XF-L2-S1-M2"  # 东西巷: a hotspot in the evenings five weeks ago, quiet since the case opened
COOLING_CODES = ["C01", "C05", "B04", "D02"]
# Its evening non-police calls per day, from 34 days ago on: a hot week, then, once the case opens 27 days ago
# (grids.demo.HOTSPOT_CASES), fewer and fewer.
COOLING_PER_DAY = [7, 6, 8, 6, 7, 5, 6, 3, 2, 2, 1, 2, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0]
LADDER_EVERY = timedelta(hours=6)  # the supervision ladder's beat on the simulated clock
QUEUE_CALLS = 25  # the newest calls, left waiting for the dispatcher
QUEUE_WINDOW = timedelta(hours=3)
COMMERCIAL = {"A04", "B04", "C01", "C05", "D01", "D02", "D03", "D04"}

# --- Calls -------------------------------------------------------------------------------------
# Relative frequency of each sub-category among non-police calls.
CATEGORY_WEIGHTS = {
    "A01": 8, "A02": 4, "A03": 4, "A04": 6, "A05": 4, "A06": 3, "A07": 3, "A08": 2,
    "B01": 2, "B02": 5, "B03": 2, "B04": 5, "B05": 3, "B06": 4, "B07": 6,
    "C01": 10, "C02": 4, "C03": 2, "C04": 2, "C05": 6, "C06": 2,
    "D01": 3, "D02": 4, "D03": 2, "D04": 4, "D05": 2,
    "E01": 5, "E02": 5, "E03": 3, "E04": 2, "E05": 4,
    "F01": 2, "F02": 2, "F03": 3, "F04": 1, "F05": 2,
}
HOUR_PROFILES = {
    "all": [2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 6, 6, 6, 6, 6, 6, 7, 8, 8, 8, 6, 4],
    "night": [7, 5, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9],
    "day": [0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 8, 8, 5, 5, 7, 7, 6, 5, 3, 2, 1, 1, 0, 0],
}
NIGHT = {"C01", "C02", "C05", "B04"}
DAY = {"A03", "A05", "A06", "A07", "A08", "B01", "B03", "B05", "D05", "E05", "F04"}

FILL = {
    "eatery": ["米粉店", "烧烤店", "大排档", "小龙虾店", "啤酒鱼馆", "火锅店"],
    "bar": ["酒吧", "清吧", "音乐餐吧", "KTV"],
    "amount": ["1500", "2800", "3600", "4200", "6000", "8500", "12000"],
    "months": ["两个月", "三个月", "半年", "四个多月"],
    "car": ["白色小轿车", "黑色SUV", "银色面包车", "红色小车", "小货车"],
    "plate": ["桂C·3K2**", "桂C·8M6**", "桂C·D07**", "桂C·5P1**", "桂A·7H3**"],
    "floor": ["楼上", "楼下", "对门", "隔壁"],
    "since": ["从晚上九点多", "从十点钟", "这一个星期每晚", "连着三天晚上"],
    "site": ["在建楼盘", "安置房", "道路改造", "管网改造"],
    "shop": ["美容店", "健身房", "理发店", "母婴店", "洗车店"],
    "goods": ["玉镯", "银手镯", "桂花糕礼盒", "罗汉果", "茶叶", "银饰"],
    "kin": ["母亲", "父亲", "爱人", "岳母"],
    "bus": ["2", "10", "11", "24", "99"],
    "dur": ["两个小时", "三个多小时", "一上午", "大半天"],
    "hospital": ["医学院附院", "一家民营医院", "社区卫生服务中心", "一家口腔诊所"],
}

# Non-police templates per sub-category, in a dispatcher's note style. {addr}/{estate} come from the
# call's place, the rest from FILL.
TEMPLATES = {
    "A01": ["报警人称{floor}邻居家卫生间漏水到我家，天花板泡坏了，敲门几次都不开",
            "报警人反映对门邻居长期在楼道堆放纸箱杂物，说了几次不听，双方吵架，要求调解",
            "报警人称邻居家的狗整夜叫，宠物扰邻，上门沟通反而吵起来了",
            "报警人称与楼下邻居因为晾衣服滴水的事吵架，对方在门口骂了半个小时，要求来人调解"],
    "A02": ["报警人称和老公因为孩子读书的事吵了一晚上，想找妇联或社区帮忙调解家庭矛盾",
            "报警人称婆媳矛盾闹了一个多月，今天婆婆把她的行李放到门外，求助调解",
            "报警人称兄弟几个为赡养老人的事互相推，{kin}现在没人照顾",
            "报警人称前夫拖欠孩子抚养费{months}，不知道该找哪里"],
    "A03": ["报警人称在{site}工地做了{months}，包工头拖欠工资{amount}元，一直不结工钱",
            "报警人称在{addr}一家{shop}上班，被老板辞退，当月工资不给",
            "报警人称所在公司一直不交社保，问怎么维权",
            "报警人称{eatery}老板跑了，店里七八个员工的工资都没拿到"],
    "A04": ["报警人称在{addr}一家{shop}办了预付卡，充值{amount}元，现在店关门了，要求退款",
            "游客称在正阳步行街买的{goods}怀疑是假货，商家不退",
            "报警人称新买的手机有质量问题，门店不给退，售后一直推",
            "游客称在东西巷买的{goods}缺斤短两，要求商家退货"],
    "A05": ["报警人称{estate}物业因为欠物业费扬言停水停电威胁，要求处理",
            "报警人反映{estate}电梯坏了没人修，一个星期了，家里老人上下楼很不方便",
            "报警人称{estate}物业乱收停车费，一个月涨到三百块，业主意见很大"],
    "A06": ["报警人称退租时房东押金不退，说墙面弄脏了要扣两千",
            "报警人称租房合同还没到期，房东突然换锁，东西还在屋里",
            "租客反映中介收了中介费，房子漏水也不管，要求退钱"],
    "A07": ["报警人称朋友借钱{amount}元一年多欠钱不还，微信也拉黑了",
            "报警人称给一家{eatery}供货，对方欠款{amount}元，合同到期一直不结",
            "报警人称装修公司和他结算工程款有争议，对方一直拖着"],
    "A08": ["报警人称{kin}在{hospital}做完手术后出现并发症，怀疑医疗事故，要求医院赔偿，双方正在协商",
            "报警人称在{hospital}看病时医生态度很差，要求投诉",
            "报警人称孩子在{hospital}被误诊，耽误了治疗，要求讨个说法"],
    "B01": ["报警人反映{estate}有住户楼顶加层，正在私搭乱建，已经砌了半人高",
            "报警人称{estate}楼下有人圈占绿地搭棚，种菜养鸡",
            "报警人举报隔壁在院子里加盖违章建筑，挡住了采光"],
    "B02": ["报警人称{floor}装修，中午装修电钻声一直不停，孩子没法午休",
            "报警人称楼上邻居装修砸墙，担心砸到承重墙，要求住建部门来看看",
            "报警人反映{estate}有住户夜里装修，十点多了还在敲墙"],
    "B03": ["报警人称住的老房子墙体开裂，裂缝越来越大，担心房子要塌",
            "报警人反映{addr}外墙瓷砖掉落，下面就是人行道，存在安全隐患",
            "报警人称{estate}楼道楼板裂缝，住户担心是危房"],
    "B04": ["报警人反映{addr}流动摊贩占道经营，晚上摆摊把人行道都占满了",
            "报警人称楼下水果店店外经营，货摆到路中间，车都过不去",
            "报警人称夜市摊位占用人行道，推婴儿车过不去"],
    "B05": ["报警人称{estate}门口垃圾没人清，堆了三天，臭气熏天",
            "报警人反映有车辆夜间在{addr}附近空地乱倒建筑垃圾",
            "报警人称{addr}附近的公厕脏得没法进，没人打扫"],
    "B06": ["报警人称{addr}门口井盖丢失，晚上看不清，已用树枝做了标记",
            "报警人反映{addr}一段路灯不亮，已经一个星期",
            "报警人称{addr}路面塌陷出一个坑，电动车差点摔倒"],
    "B07": ["报警人称一辆{car}（{plate}）堵住车库出口，车上没留电话，急着上班，要求挪车",
            "报警人称有车停在店门口堵门，卷闸门拉不开，需要移车",
            "报警人称自己的车位被{car}占了，车被挡在里面，要求联系车主挪车"],
    "C01": ["报警人称{addr}的{bar}音乐声太吵，低音炮震得窗户响，已经过了十二点",
            "报警人反映{estate}广场舞音响太大，每晚七点到十点，噪音扰民",
            "报警人称楼下KTV喧哗到凌晨两点，孩子明天要考试",
            "报警人称隔壁商铺门口用喇叭循环播放促销，吵了{dur}"],
    "C02": ["报警人称{addr}附近工地半夜施工，打桩声吵得睡不着",
            "报警人反映{site}工地夜间施工，渣土车来回跑，凌晨还在作业",
            "报警人称工地噪音太大，晚上十一点还在切割钢筋"],
    "C03": ["报警人称附近有一股刺鼻异味，像烧塑料，晚上特别明显",
            "报警人反映{addr}一家小作坊烟囱冒黑烟，臭味飘进小区"],
    "C04": ["报警人称桃花江边有管子往江里排污水，河水变黑，还有死鱼",
            "报警人反映{addr}的洗车店污水直排到雨水井"],
    "C05": ["报警人称楼下{eatery}油烟熏人，窗户都不敢开",
            "报警人反映{addr}露天烧烤摊每晚摆到凌晨，排烟直冲居民楼",
            "报警人称{estate}底商饭店排烟管道对着卧室，油烟太大"],
    "C06": ["报警人称{addr}附近空地有人在烧垃圾，浓烟很大",
            "报警人反映有人往芦笛路边倾倒废料，疑似危废，有刺鼻气味"],
    "D01": ["报警人称在{addr}一家{eatery}吃完后一家三口拉肚子，怀疑食材变质",
            "报警人称在超市买的牛奶已经过期还在卖",
            "报警人反映有人在{estate}推销保健品给老人，说能治百病",
            "报警人称巷子里有家无证餐馆，后厨很脏"],
    "D02": ["游客称在{addr}一家{eatery}吃饭被宰客，一条鱼收了八百多",
            "报警人反映{addr}一家{shop}虚假宣传，说打一折实际是原价",
            "报警人称停车场乱收费，停半小时收二十元",
            "报警人称{addr}有一家店无照经营，卖翻新的电动车电池"],
    "D03": ["报警人称孩子才十四岁，未成年人进网吧玩了一通宵，网吧不查身份证",
            "游客反映跟旅行团出游，导游强制购物，不买就甩脸色",
            "报警人称{addr}一家游戏厅营业到深夜，很多学生在里面"],
    "D04": ["报警人称在{addr}打出租车被拒载，司机说不顺路",
            "乘客称网约车司机故意绕路，多收钱，车费比平时多一倍",
            "报警人反映{bus}路公交不停站，在站台招手也不停"],
    "D05": ["报警人称孩子报的培训机构跑路，学费交了{amount}元还没上几节课",
            "报警人反映学校老师组织有偿补课，一个月收一千多",
            "报警人称学校收费名目太多，要求教育部门查一下"],
    "E01": ["报警人称家里突然停电，整栋楼都没电，已经{dur}",
            "报警人称{estate}从早上停水到现在，也没看到停水通知",
            "报警人反映楼里水压低，四楼以上没水",
            "报警人称家里电闸跳闸合不上，{kin}晚上要用制氧机"],
    "E02": ["报警人称出门忘带钥匙，钥匙锁家里了，求助开锁",
            "报警人称家门锁芯坏了门打不开，要求帮忙联系开锁",
            "报警人称钥匙丢了，进不了家门，{kin}在外地"],
    "E03": ["报警人称{estate}有几条流浪狗，晚上追着人叫，担心咬到孩子",
            "报警人称家里阳台进了一条蛇，不敢靠近",
            "报警人反映窗外有个很大的马蜂窝，孩子不敢开窗"],
    "E04": ["报警人称{addr}有一名老人露宿街头，看着像流浪人员，天冷需要救助",
            "外地务工人员称钱包丢了，没钱回家，求助",
            "报警人称桥底下有一个流浪汉，好像精神不太好，需要救助"],
    "E05": ["报警人咨询孩子落户怎么办，需要准备哪些材料",
            "来电咨询异地就医医保报销政策",
            "报警人咨询公积金提取怎么办理",
            "报警人咨询身份证丢了补办怎么办理"],
    "F01": ["报警人称楼道里闻到很重的煤气味，怀疑燃气泄漏，已经开窗通风",
            "报警人称{addr}路边自来水管爆管，水淹到路面",
            "报警人称楼道电表箱电线着火冒烟，已经拉了总闸"],
    "F02": ["报警人称{addr}有一名老人晕倒在路边，不省人事，已打了120",
            "报警人称{kin}突发心脏病呼吸困难，120还没到，请求协助",
            "报警人称{addr}一名游客突然抽搐倒地，需要急救"],
    "F03": ["报警人称暴雨后{addr}积水到膝盖，车辆过不去",
            "报警人称{addr}一棵大树被风吹倒，压在路中间",
            "报警人反映{addr}后山有碎石滚落，担心山体滑坡"],
    "F04": ["报警人称{addr}有一家小店违规储存大量烟花爆竹",
            "报警人反映{site}工地没防护，工人高空作业不系安全带",
            "报警人称{estate}有人燃放烟花，离加油站很近"],
    "F05": ["报警人称{estate}电梯困人，里面有两个人，卡在七楼和八楼之间",
            "报警人称{addr}商场电梯困人，里面有老人",
            "报警人称孩子的头卡在防盗窗里出不来"],
}

# Police matters: (template, kept-with-police sub-category or None, result, unit's report)
POLICE_TEMPLATES = [
    ("报警人称{addr}烧烤摊有几个人喝酒后打架，有人受伤", None, "transferred", "涉事人员已带回派出所调查"),
    ("报警人称在正阳步行街逛街时手机被偷，怀疑是扒手", None, "transferred", "已登记受理，调取周边监控"),
    ("报警人称停在{addr}楼下的电动车被盗", None, "transferred", "已登记受理，移交派出所侦查"),
    ("报警人称接到自称快递客服的电话，被骗转账{amount}元", None, "transferred", "已受理，移交反诈中心止付"),
    ("报警人称网上刷单被骗，已转账{amount}元", None, "transferred", "已受理并告知反诈注意事项"),
    ("报警人称{addr}两车追尾，没有人受伤，双方对责任有争议", None, "on_scene",
     "现场拍照取证，引导双方快处快赔"),
    ("报警人称{kin}有老年痴呆，早上出门后走失，穿灰色外套", None, "on_scene",
     "巡逻查找，已在附近公园找到，交家属带回"),
    ("游客称在东西巷孩子走丢了，五岁男孩，穿蓝色衣服", None, "on_scene",
     "经查找十五分钟后找到孩子，交还家长"),
    ("报警人称有男子在{addr}一家{eatery}醉酒闹事，摔酒瓶", None, "on_scene", "现场劝离，店家不追究"),
    ("报警人称被丈夫家暴，被掐脖子，现在躲在邻居家", "A02", "transferred", "已出具家庭暴力告诫书，妇联跟进"),
    ("报警人称{addr}工地二十多名工人聚集讨薪，情绪激动", "A03", "on_scene", "现场稳控，人社部门到场协调"),
    ("报警人称与邻居因为停车位争吵后，被对方动手打伤", "A01", "transferred", "双方带回派出所，依法调查处理"),
]

# The routing quality page's story (issue 35). Calls the rules read as a department's that the dispatcher
# kept with the police (the misses that matter: a new slang word, a new scam), and calls diverted to
# another sub-category than the one suggested: (days ago, hour, minute, template, result or code, report).
MISSES = [
    (6, 23, 40, "报警人称有几辆摩托车在{addr}飙车炸街，声音很大，半夜吵得睡不着", "on_scene",
     "交警到场，查处改装摩托车两辆"),
    (5, 10, 15, "报警人称手机收到短信说医保卡被冻结，让她转账解冻，已经转了{amount}元", "transferred",
     "已受理，移交反诈中心止付"),
    (1, 22, 5, "报警人称几辆改装摩托车在{addr}来回飙车炸街，吵得整条街睡不着", "on_scene",
     "交警到场，驾驶人已驶离，加强巡逻"),
    (1, 14, 30, "报警人称{kin}接到电话说社保卡被冻结，对方让他转账解冻", "transferred",
     "及时劝阻，未转账，已做反诈宣传"),
]
OTHER_CATEGORY = [
    (6, 19, 20, "报警人称楼上住户在阳台烧烤，油烟飘进我家，说了也不听", "A01"),
    (4, 9, 50, "报警人称隔壁装修工人把建筑垃圾倒在楼道里", "B02"),
    (3, 16, 40, "报警人称超市卖的牛奶过期了，找店家不给退", "D01"),
    (2, 11, 5, "报警人称房东把房子隔成十几个小间出租，楼道堆满电动车", "F04"),
]
# The models are trained from the decisions of the week so far on this day (days ago, hour): the calls
# after it carry the models' opinions.
TRAIN_AT = (3, 6)

PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                  "157", "158", "159", "177", "180", "181", "186", "187", "188", "189", "199"]
SURNAMES = "王李张刘陈杨黄赵周吴唐蒋莫覃韦秦"


@dataclass
class _Spec:
    """One synthetic call and what will happen to it."""

    received_at: datetime
    content: str
    phone: str
    grid: Grid | None
    address: str
    category: str | None  # the sub-category that fits; police calls may have one (kept with police)
    police: bool = False
    police_outcome: tuple[str, str] = ("on_scene", "")
    queue: bool = False  # newest calls: left for the dispatcher
    fate: str = "satisfied"
    grid_late: bool = False  # no grid at intake; the dispatcher sets it
    channel: str = "phone"
    caller_name: str = ""
    lat: float | None = None
    lon: float | None = None
    pinned: bool = False  # part of a cluster or a repeat caller's series: keeps its grid, never returned
    no_grid: bool = False  # arrives without a micro grid
    call_id: str = ""
    call: Call | None = None
    slip_pk: int | None = None
    rerouted: bool = False


# Dispatch to arrival, minutes: (range, weight). About 18 % within 1, 68 % within 3, 88 % within 5, the rest
# late (traffic, a far suburb): the 1-3-5 figures a command centre sees, not a perfect record.
ARRIVAL_BANDS = [((0.4, 1.0), 18), ((1.0, 3.0), 50), ((3.0, 5.0), 20), ((5.0, 14.0), 12)]


class CallWeek(SlipLife):
    """Plans and replays the demo week. `grids` and `units` are grids.demo.seed_xiufeng's, `users` the demo
    users by username (core.demo and diversion.demo)."""

    def __init__(self, *, rng, now: datetime, grids: dict, units: dict, users: dict,
                 unit_logins: dict | None = None):
        self.rng, self.now, self.grids, self.units, self.users = rng, now, grids, units, users
        self.unit_logins = unit_logins or {}

    def run(self) -> None:
        """Plan the week's calls, then replay every step in time order on the simulated clock."""
        self.catalog = {c.code: c for c in Category.objects.select_related("default_department",
                                                                          "time_limit_class")}
        self.departments = {d.code: d for d in Department.objects.all()}
        self.dept_users = {u.department_id: u for u in User.objects.filter(role=Role.DEPARTMENT,
                                                                            username__startswith="dept_")}
        self.phones: set[str] = set()
        self._decks: dict[str, list] = {}
        specs = self._plan_calls()
        specs.sort(key=lambda s: s.received_at)
        for n, spec in enumerate(specs, start=1):
            spec.call_id = f"{CALL_ID_PREFIX}{n:06d}"
        self._events: list = []
        self._seq = itertools.count()
        for spec in specs:
            self._at(spec.received_at + timedelta(seconds=self.rng.randint(5, 40)), self._intake, spec)
        days_ago, hour = TRAIN_AT
        self._at((timezone.localtime(self.now) - timedelta(days=days_ago)).replace(hour=hour, minute=0), self._train)
        # The notice ladder runs on its beat all along, so notices rise level by level as they would.
        beat = specs[0].received_at
        while beat < self.now:
            self._at(beat, self._ladder)
            beat += LADDER_EVERY
        self._plan_reports(specs[0].received_at)
        while self._events:
            when, _, step, args = heapq.heappop(self._events)
            with clock(when):
                step(when, *args)

    def _plan_calls(self) -> list[_Spec]:
        rng = self.rng
        history_end = queue_start = self.now - QUEUE_WINDOW
        specs = self._clusters() + self._repeat_callers() + self._quality_story()
        n_police = 26
        for _ in range(n_police):
            specs.append(self._police_spec(self._when("all", history_end)))
        # Every sub-category at least once, then by frequency.
        every = rng.sample(list(CATEGORY_WEIGHTS), len(CATEGORY_WEIGHTS))
        while len(specs) < HISTORY_CALLS:
            code = every.pop() if every else self._pick_category()
            specs.append(self._spec(code, self._when(self._profile(code), history_end)))
        # Fates of the handled non-police calls; a few go back from the department.
        diverted = [s for s in specs if not s.police]
        for spec in diverted:
            spec.fate = rng.choices(FATES, weights=FATE_WEIGHTS)[0]
        returnable = [s for s in diverted if s.category in RETURNS and not s.pinned]
        for spec in rng.sample(returnable, min(6, len(returnable))):
            spec.fate = "return"
        # Three unanswered callbacks take days: pick calls old enough for all of them.
        old = self.now - timedelta(days=4)
        for spec in rng.sample([s for s in diverted if s.fate == "satisfied" and s.received_at < old], 2):
            spec.fate = "unreachable"
        # The newest calls, still waiting in the dispatcher's queue.
        for i in range(QUEUE_CALLS):
            when = queue_start + (self.now - timedelta(minutes=2) - queue_start) * rng.random()
            spec = self._police_spec(when) if i % 6 == 0 else self._spec(self._pick_category(), when)
            spec.queue = True
            specs.append(spec)
        # Two police calls of the last half hour, still being worked on: the units' phone pages and the
        # dispatch board have something in hand.
        for minutes in (28, 14):
            specs.append(self._police_spec(self.now - timedelta(minutes=minutes)))
        return specs + self._earlier_weeks()

    def _earlier_weeks(self) -> list[_Spec]:
        """The four weeks before the demo week (drawn after it, so the week itself stays as it was): fewer
        calls a day, nothing left stuck with a department, and the cooling hotspot at COOLING."""
        rng = self.rng
        local_now = timezone.localtime(self.now)
        specs = []
        for days_ago in EARLIER_DAYS:
            day = local_now - timedelta(days=days_ago)
            for _ in range(rng.randint(*EARLIER_PER_DAY)):
                if rng.random() < 0.15:
                    specs.append(self._police_spec(self._on_day(day, "all")))
                else:
                    code = self._pick_category()
                    specs.append(self._spec(code, self._on_day(day, self._profile(code))))
        cooling = self.grids[COOLING]
        for n, days_ago in zip(COOLING_PER_DAY, reversed(EARLIER_DAYS), strict=True):
            day = local_now - timedelta(days=days_ago)
            for _ in range(n):
                when = day.replace(hour=rng.randint(19, 23), minute=rng.randint(0, 59), second=rng.randint(0, 59),
                                   microsecond=0)
                code = rng.choice(COOLING_CODES)
                template = rng.choice([t for t in TEMPLATES[code] if self._named_grid(t) is None])
                address, text = self._fill(template, cooling, prefer_estate=False)
                specs.append(self._spec(code, when, grid=cooling, text=text, address=address, pinned=True))
        for spec in specs:
            if not spec.police:
                fate = rng.choices(FATES, weights=FATE_WEIGHTS)[0]
                # Nothing from weeks ago is still stuck; some of it was done late.
                spec.fate = ("late" if rng.random() < 0.5 else "satisfied") if fate.startswith("stuck") else fate
        return specs

    def _on_day(self, day: datetime, profile: str) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR_PROFILES[profile])[0]
        return day.replace(hour=hour, minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59), microsecond=0)

    def _clusters(self) -> list[_Spec]:
        """Three bursts of one kind of call at one address within two hours."""
        today = timezone.localtime(self.now).replace(second=0, microsecond=0)
        out = []
        clusters = [
            ("C01", HOTSPOT, "秀峰区正阳路46号夜色酒吧", 2, 23, 5, [
                "报警人称正阳路一家酒吧音乐声太吵，低音炮震得窗户响，睡不着",
                "报警人再次反映酒吧噪音扰民，已经过了十二点还在放音乐",
                "报警人称楼下酒吧喧哗，客人在门口大声唱歌",
                "报警人称酒吧播放音乐声音特别大，老人心脏不好受不了"]),
            ("C05", "XF-L1-S1-M1", "秀峰区丽君路88号", 4, 21, 20, [
                "报警人称楼下烧烤店油烟熏人，窗户都不敢开",
                "报警人反映丽君路烧烤摊排烟直冲居民楼，满屋子油烟味",
                "报警人称烧烤店把炉子摆到店外，油烟熏得阳台衣服都不能晾"]),
            ("F03", "XF-L2-S1-M3", "秀峰区中山中路与解放西路交叉口", 5, 16, 10, [
                "报警人称暴雨后中山中路路口积水很深，有车熄火",
                "报警人称解放西路口内涝，积水到膝盖，行人过不去",
                "报警人反映中山中路积水漫上人行道，排水口被堵"]),
        ]
        for code, grid_code, address, days_ago, hour, minute, texts in clusters:
            start = (today - timedelta(days=days_ago)).replace(hour=hour, minute=minute)
            grid = self.grids[grid_code]
            offsets = sorted(self.rng.sample(range(0, 110), len(texts)))
            for offset, text in zip(offsets, texts, strict=True):
                out.append(self._spec(code, start + timedelta(minutes=offset), grid=grid, text=text,
                                      address=address, pinned=True))
        return out

    def _repeat_callers(self) -> list[_Spec]:
        """Callers who ring about the same matter two to four times within days."""
        today = timezone.localtime(self.now).replace(second=0, microsecond=0)
        callers = [
            ("B02", "XF-L1-S1-M2", [(6, 12, 20), (5, 12, 35), (3, 22, 10)], [
                "报警人称楼上装修，中午装修电钻声一直不停，老人没法休息",
                "报警人再次来电，称楼上中午还在装修砸墙，昨天已经反映过",
                "报警人第三次来电，称楼上夜里装修，十点多还在敲墙"]),
            ("A01", "XF-L3-S1-M2", [(5, 9, 40), (3, 18, 5)], [
                "报警人称楼上邻居家漏水到我家，厨房天花板一直滴水",
                "报警人再次反映楼上漏水的事没解决，邻居说不是他家的问题，双方又吵了起来"]),
            ("A03", "XF-L1-S2-M2", [(4, 10, 15), (1, 15, 30)], [
                "报警人称在安置房工地干了三个月，包工头拖欠工资九千元，不结工钱",
                "报警人再次来电称欠薪还没给，包工头电话也不接了"]),
            ("C01", "XF-L2-S2-M1", [(6, 20, 10), (5, 20, 25), (4, 20, 5), (2, 19, 55)], [
                "报警人反映榕湖公寓楼下广场舞音响太大，噪音扰民",
                "报警人又反映广场舞音响太吵，孩子没法写作业",
                "报警人称广场舞喇叭每晚放到十点，多次反映没人管",
                "报警人第四次来电反映广场舞噪音，要求彻底解决"]),
            ("E01", "XF-L2-S2-M2", [(2, 7, 50), (2, 11, 20)], [
                "报警人称依仁小区从早上停水，也没看到停水通知",
                "报警人再次来电称还是没水，家里八十岁老人要做饭"]),
        ]
        out = []
        for code, grid_code, times, texts in callers:
            grid = self.grids[grid_code]
            address = f"秀峰区{grid.estates[0]}{self.rng.randint(1, 12)}栋"
            phone = self._phone()
            for (days_ago, hour, minute), text in zip(times, texts, strict=True):
                when = (today - timedelta(days=days_ago)).replace(hour=hour, minute=minute)
                out.append(self._spec(code, when, grid=grid, text=text, address=address, phone=phone,
                                      pinned=True))
        return out

    def _quality_story(self) -> list[_Spec]:
        """The misses that matter and the sub-category overrides (MISSES, OTHER_CATEGORY)."""
        today = timezone.localtime(self.now).replace(second=0, microsecond=0)
        out = []
        for days_ago, hour, minute, template, result, note in MISSES:
            when = (today - timedelta(days=days_ago)).replace(hour=hour, minute=minute)
            grid = self._pick_grid(None)
            address, text = self._fill(template, grid, prefer_estate=False)
            out.append(self._finish_spec(_Spec(received_at=when, content=text, phone=self._phone(), grid=grid,
                                               address=address, category=None, police=True,
                                               police_outcome=(result, note), pinned=True)))
        for days_ago, hour, minute, template, code in OTHER_CATEGORY:
            when = (today - timedelta(days=days_ago)).replace(hour=hour, minute=minute)
            grid = self._pick_grid(code)
            address, text = self._fill(template, grid, prefer_estate=True)
            out.append(self._spec(code, when, grid=grid, text=text, address=address, pinned=True))
        return out

    def _spec(self, code, when, *, grid=None, text=None, address=None, phone=None, pinned=False) -> _Spec:
        """A non-police call of sub-category `code`. Pinned calls (clusters, repeat callers) keep their grid
        and are not picked for returns."""
        if text is None:
            template = self._draw(code, TEMPLATES[code])
            grid = self._named_grid(template) or self._pick_grid(code)
            address, text = self._fill(template, grid, prefer_estate=code not in COMMERCIAL)
        spec = _Spec(received_at=when, content=text, phone=phone or self._phone(), grid=grid, address=address,
                     category=code, pinned=pinned)
        return self._finish_spec(spec)

    def _police_spec(self, when) -> _Spec:
        template, code, result, note = self._draw("police", POLICE_TEMPLATES)
        grid = self._named_grid(template) or self._pick_grid(None)
        address, text = self._fill(template, grid, prefer_estate=False)
        spec = _Spec(received_at=when, content=text, phone=self._phone(),
                     grid=grid, address=address, category=code, police=True, police_outcome=(result, note))
        return self._finish_spec(spec)

    def _finish_spec(self, spec: _Spec) -> _Spec:
        rng = self.rng
        spec.channel = rng.choices(["phone", "sms", "app", "transfer"], weights=[85, 5, 5, 5])[0]
        if rng.random() < 0.3:
            spec.caller_name = rng.choice(SURNAMES) + rng.choice(["先生", "女士"])
        if rng.random() < 0.7:
            lat, lon = spec.grid.centre
            spec.lat = round(lat + rng.uniform(-0.002, 0.002), 6)
            spec.lon = round(lon + rng.uniform(-0.002, 0.002), 6)
        # One call in ten arrives without a grid; the dispatcher places half of those.
        if rng.random() < 0.1 and not spec.pinned:
            spec.grid_late = rng.random() < 0.5
            spec.no_grid = True
        return spec

    def _named_grid(self, template: str) -> Grid | None:
        return next((self.grids[code] for place, code in NAMED_PLACES.items() if place in template), None)

    def _pick_category(self) -> str:
        codes = list(CATEGORY_WEIGHTS)
        return self.rng.choices(codes, weights=[CATEGORY_WEIGHTS[c] for c in codes])[0]

    def _pick_grid(self, code) -> Grid:
        micros = [g for g in self.grids.values() if g.level == Grid.Level.MICRO]
        if code in COMMERCIAL and self.rng.random() < 0.55:
            return self.grids[HOTSPOT] if self.rng.random() < 0.75 else self.grids["XF-L2-S1-M2"]
        if code in COMMERCIAL or code is None:
            return self.rng.choice(micros)
        return self.rng.choice([g for g in micros if g.estates] or micros)

    def _draw(self, key: str, options: list):
        """Draw from a shuffled deck per key, so variants are spread out rather than repeated."""
        deck = self._decks.get(key)
        if not deck:
            deck = self._decks[key] = self.rng.sample(options, len(options))
        return deck.pop()

    def _fill(self, template: str, grid: Grid, *, prefer_estate: bool) -> tuple[str, str]:
        """The call's address and text, agreeing with each other: a text naming an estate is located
        in that estate, a text naming a street address at that address."""
        rng = self.rng
        values = {key: rng.choice(options) for key, options in FILL.items()}
        street = f"{rng.choice(grid.streets)}{rng.randint(1, 160)}号"
        estate = rng.choice(grid.estates) if grid.estates else ""
        values["addr"], values["estate"] = street, estate or grid.name
        use_estate = estate and ("{estate}" in template or ("{addr}" not in template and prefer_estate
                                                           and rng.random() < 0.7))
        address = f"秀峰区{estate}{rng.randint(1, 12)}栋" if use_estate else f"秀峰区{street}"
        return address, template.format(**values)

    @staticmethod
    def _profile(code) -> str:
        return "night" if code in NIGHT else "day" if code in DAY else "all"

    def _when(self, profile: str, end: datetime) -> datetime:
        """A time in the week before `end`, on the hour-of-day profile. Always four draws, so the plan
        (texts, phones, fates) is the same whatever time of day the command runs."""
        rng = self.rng
        day, hour = rng.randint(0, 6), rng.choices(range(24), weights=HOUR_PROFILES[profile])[0]
        minute, second = rng.randint(0, 59), rng.randint(0, 59)
        when = (timezone.localtime(self.now) - timedelta(days=day)).replace(
            hour=hour, minute=minute, second=second, microsecond=0)
        return when - timedelta(days=1) if when > end else when

    def _phone(self) -> str:
        while True:
            phone = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    # --- The replay -----------------------------------------------------------------------------------
    def _at(self, when: datetime, step, *args) -> None:
        """Schedule a step; steps that would fall after now never happen (the call stays where it is)."""
        if when <= self.now:
            heapq.heappush(self._events, (when, next(self._seq), step, args))

    def _minutes(self, lo: float, hi: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(lo, hi))

    def _dispatcher(self, when: datetime) -> User:
        # Day shift and night shift.
        return self.users["dispatcher" if 8 <= timezone.localtime(when).hour < 20 else "dispatcher2"]

    def _intake(self, when, spec: _Spec) -> None:
        data = {
            "call_id": spec.call_id, "received_at": spec.received_at, "caller_phone": spec.phone,
            "caller_name": spec.caller_name, "address": spec.address, "lat": spec.lat, "lon": spec.lon,
            "content": spec.content, "channel": spec.channel,
            "micro_grid": None if spec.no_grid else spec.grid,
        }
        spec.call = call_services.call_intake(actor=self.users[SYSTEM_USER], data=data).call
        if not spec.queue:
            self._at(when + self._minutes(1, 6), self._classify, spec)

    def _plan_reports(self, since: datetime) -> None:
        """The reports the beat generates (config.settings.CELERY_BEAT_SCHEDULE), at their hours: each Monday
        07:10 the week before, on the 1st at 07:20 the month before, each morning at 07:00 yesterday's
        callbacks (the last three mornings)."""
        today = timezone.localdate(self.now)
        day = timezone.localdate(since) + timedelta(days=1)
        while day <= today:
            morning = day_start(day)
            if day.weekday() == 0:
                self._at(morning.replace(hour=7, minute=10), self._report, "weekly", day)
            if day.day == 1:
                self._at(morning.replace(hour=7, minute=20), self._report, "monthly", day)
            if (today - day).days < 3:
                self._at(morning.replace(hour=7), self._report, "daily", day)
            day += timedelta(days=1)

    def _report(self, when, kind: str, day) -> None:
        from diversion.supervision.reports import report_generate_due

        report_generate_due(kind, today=day)

    def _ladder(self, when) -> None:
        from diversion.supervision.services import ladder_run

        ladder_run(now=when)

    def _train(self, when) -> None:
        """The supervisor has both models trained from the decisions so far (the quality page's retrain)."""
        from core.errors import DomainError
        from diversion.routing.learning import keep_model_train, routing_model_train

        for trainer in (routing_model_train, keep_model_train):
            try:
                trainer(actor=self.users["supervisor"])
            except DomainError:  # too few decisions yet: the rules alone, as on a new system
                pass

    def _classify(self, when, spec: _Spec) -> None:
        actor = self._dispatcher(when)
        if spec.grid_late:
            call_services.call_set_grid(actor=actor, call_pk=spec.call.pk, grid=spec.grid)
        if spec.police:
            units = next(v for k, v in UNITS_BY_GRID.items() if spec.grid.code.startswith(k))
            unit = self.units[units[0] if self.rng.random() < 0.7 else units[1]]
            category = self.catalog[spec.category] if spec.category else None
            assignment = call_services.call_assign_police(actor=actor, call_pk=spec.call.pk, unit=unit,
                                                          note="请就近出警处置", category=category)
            login = self.unit_logins.get(unit.code)
            if login is not None:  # the unit taps its phone page: on the way, arrived, finished
                self._plan_stamps(when, spec, assignment.pk, login)
            elif self.rng.random() < 0.9:
                self._at(when + self._minutes(12, 55), self._police_finish, spec, assignment.pk, actor)
        else:
            self._divert(when, spec, self.catalog[spec.category], None)

    def _plan_stamps(self, when, spec: _Spec, assignment_pk: int, login: User) -> None:
        """When the unit will tap its page: arrival mostly within the 1-3-5 minute targets (seed 004), with a
        tail of late ones; “on the way” early in the trip; finished within the hour."""
        rng = self.rng
        workstation = next((u for u in login.unit.bound_units.filter(kind="workstation")
                            if u.code in self.unit_logins), None)
        if workstation is not None and rng.random() < 0.3:
            # A street call the station sends on to its bound workstation, which dispatches (seed 003).
            self._at(when + self._minutes(0.5, 2), self._push, spec, assignment_pk, login, workstation)
            return
        band = rng.choices([b for b, _ in ARRIVAL_BANDS], weights=[w for _, w in ARRIVAL_BANDS])[0]
        arrive = when + timedelta(minutes=rng.uniform(*band))
        self._at(when + (arrive - when) * rng.uniform(0.1, 0.3), self._unit_tap, "en_route", assignment_pk, login)
        self._at(arrive, self._unit_tap, "arrive", assignment_pk, login)
        # Finished on scene within the hour; one still there at the demo's now stays open on its page.
        self._at(arrive + self._minutes(8, 45), self._police_finish, spec, assignment_pk, login)

    def _push(self, when, spec: _Spec, assignment_pk: int, login: User, workstation) -> None:
        from grids import services as grid_services

        pushed = grid_services.police_push(actor=login, assignment_pk=assignment_pk, workstation_pk=workstation.pk,
                                           note="街面警情，推送警务站处置")
        self._plan_stamps(when, spec, pushed.pk, self.unit_logins[workstation.code])

    def _unit_tap(self, when, step: str, assignment_pk: int, login: User) -> None:
        from grids import services as grid_services

        grid_services.unit_tap(actor=login, assignment_pk=assignment_pk, step=step)

    def _police_finish(self, when, spec: _Spec, assignment_pk: int, actor: User) -> None:
        result, note = spec.police_outcome
        call_services.police_finish(actor=actor, assignment_pk=assignment_pk, result=result, note=note)

    def _divert(self, when, spec: _Spec, category: Category, department: Department | None) -> None:
        instructions = ""
        if category.urgency == "high":
            instructions = "情况紧急，请立即派员到场处置并及时反馈"
        elif spec.call.repeats.get("phone_7d"):
            instructions = "该报警人近期多次来电反映，请重点关注、彻底解决"
        elif self.rng.random() < 0.4:
            instructions = "请及时联系报警人核实处理"
        # The rules keep some of these with the police on a word (“没水” is not “没…”); the dispatcher
        # overrides them with a reason, as the service requires.
        override = "经核实不涉及治安违法，按非警务分流" if spec.call.suggested_police else ""
        slip = call_services.call_divert(actor=self._dispatcher(when), call_pk=spec.call.pk,
                                         category=category, department=department,
                                         instructions=instructions, override_reason=override)
        spec.slip_pk = slip.pk
        if spec.fate == "return" and not spec.rerouted:
            self._at(when + self._minutes(15, 90), self._return, spec)
        elif spec.fate != "stuck_issued":
            minutes = (3, 20) if category.urgency == "high" else (5, 75)
            self._at(when + self._minutes(*minutes), self._accept, spec)
