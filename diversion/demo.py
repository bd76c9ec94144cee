"""The embedded demo's departments: one staff user per department (with the department's e-mail), and
what departments and callers do with a slip in the demo week (SlipLife, replayed by incidents.demo.CallWeek).
"""

from collections import Counter
from datetime import datetime, timedelta

from django.utils import timezone

from core.models import Role, User

from . import services as slip_services
from .models import Department, HandoffSlip

DEPT_STAFF_NAMES = ["李明", "王丽", "张伟", "赵敏", "孙强", "唐静", "蒋涛", "莫小燕", "覃海", "秦芳", "韦东",
                    "蒙雪", "黄志刚", "卢婷", "廖军", "邓佳", "阳光辉", "石磊", "粟红", "文斌"]

RESULTS = {
    "A01": ["司法所调解员上门，双方达成协议，漏水部位由楼上住户三日内维修",
            "社区网格员和调解员到场，双方签订调解协议"],
    "A02": ["妇联工作人员和社区干部上门调解，双方情绪平稳，约定后续回访"],
    "A03": ["劳动保障监察大队约谈用工单位，已督促结清工资", "已受理立案，责令限期支付拖欠工资"],
    "A04": ["市场监管所约谈商家，已为消费者办理退款", "已组织调解，商家同意退货退款"],
    "A05": ["住建局约谈物业公司，已恢复正常服务并公示收费标准", "已督促物业维修，电梯已恢复运行"],
    "A06": ["已联系房东和租客现场调解，押金按约定退还"],
    "A07": ["人民调解委员会组织双方调解，达成分期还款协议", "已告知可向法院起诉，并提供法律援助咨询"],
    "A08": ["卫健委医患纠纷调解组介入，引导走医疗纠纷调解程序", "已转医院投诉办处理，医院已致歉"],
    "B01": ["执法中队现场核查，下达责令停止违法行为通知书，已停工", "违建部分已由当事人自行拆除"],
    "B02": ["已上门告知装修管理规定，装修方承诺中午和夜间停工", "现场核查未涉及承重墙，已责令按规定时间施工"],
    "B03": ["住建局组织房屋安全鉴定，已设置警示并通知住户", "已拆除松动外墙瓷砖，排除隐患"],
    "B04": ["执法队员现场劝导，摊贩已撤离并规范摆放", "已清理占道摊位，纳入夜间巡查"],
    "B05": ["环卫所已清运垃圾，加密清运频次", "已清理建筑垃圾，查处倾倒车辆"],
    "B06": ["已设置警示并补装井盖", "路灯已维修恢复照明", "已围挡塌陷点，市政队修复路面"],
    "B07": ["已联系车主到场挪车", "社区通过物业找到车主，车辆已移走"],
    "C01": ["执法人员到场，责令降低音量并调整音响朝向，已整改", "已约谈经营者，要求十点后停止外放音乐",
            "已协调广场舞队降低音量、缩短时间"],
    "C02": ["已责令工地夜间停止施工，核查夜间施工许可", "工地已停工，对施工单位立案调查"],
    "C03": ["执法人员现场检测，责令作业坊停产整改"],
    "C04": ["已采样取证，责令洗车店接入污水管网", "已封堵排污口，立案调查"],
    "C05": ["已责令安装油烟净化设施，限期整改", "执法队员劝导烧烤摊撤离，已整改"],
    "C06": ["已扑灭焚烧点并对当事人教育", "已清运倾倒废料，立案追查来源"],
    "D01": ["已抽检食品并责令下架过期商品", "已对无证餐馆立案查处"],
    "D02": ["已约谈商家并责令退还多收费用", "已立案调查价格违法行为"],
    "D03": ["文旅执法大队现场检查，已对网吧立案处罚", "已约谈旅行社，责令改正并退还费用"],
    "D04": ["已调取行车记录，对司机处罚并退还多收车费", "已转公交公司核查，对驾驶员进行教育"],
    "D05": ["教育局已约谈学校，停止违规收费", "已登记学员信息，督促培训机构退费"],
    "E01": ["供电抢修人员到场，已恢复供电", "供水公司已抢修，恢复正常供水"],
    "E02": ["社区联系备案开锁公司上门开锁，已核实身份"],
    "E03": ["已派员处置，蛇已捕捉放生", "已联系专业人员摘除马蜂窝", "已联系犬只收容机构处置流浪犬"],
    "E04": ["救助站已接回安置，提供食宿", "已购买车票，护送至车站返乡"],
    "E05": ["已电话答复办理流程和所需材料", "已告知办理地点和线上办理渠道"],
    "F01": ["燃气公司抢修人员到场关阀，排除泄漏", "供水抢修队已关阀抢修"],
    "F02": ["已协助120将病人送医"],
    "F03": ["已组织排水抢险，积水已消退", "园林人员已清理倒伏树木，道路恢复通行"],
    "F04": ["已查扣违规储存的烟花爆竹并立案", "已责令工地停工整改安全防护"],
    "F05": ["维保人员到场，被困人员已安全救出"],
}
GENERIC_RESULT = "已联系报警人并到现场核实处理，问题已解决"

# Where a department sends a slip back: (reason, suggested department, sub-category to re-route to).
RETURNS = {
    "C05": ("该店为室内餐饮单位，油烟排放由生态环境部门监管，请改派", "STJ", "C05"),
    "B06": ("该路段路灯由供电部门维护，不属本局职责", "GYQ", "B06"),
    "E01": ("经核实为小区内部供水管网故障，属物业维修范围", "ZJJ", "A05"),
    "B05": ("垃圾堆放点位于小区内部，由物业负责清运", "ZJJ", "A05"),
    "A01": ("双方为村民宅基地纠纷，属街道调处范围", "JDB", "A01"),
}

# What happens to a handled non-police call after it is diverted (time may cut any of them short).
FATES = ["satisfied", "stuck_issued", "stuck_accepted", "no_callback", "unsatisfied", "unreached_then_ok"]
FATE_WEIGHTS = [74, 5, 7, 6, 2, 6]  # callbacks come out in the high 90s satisfied, as the seeds report
SATISFIED_COMMENTS = ["问题已解决，很满意", "处理及时，谢谢", "已经不吵了", "态度很好", ""]
UNSATISFIED = [("no", 1, "问题还在，没人来处理"), ("partly", 2, "只来看了一下，没有解决"),
               ("no", 2, "过两天又恢复原样了")]


def seed_department_staff(make_user) -> dict[str, User]:
    """One staff user per department, dept_<code>; a department without an e-mail gets a demo address."""
    users = {}
    for i, dept in enumerate(Department.objects.order_by("code")):
        if not dept.email:
            dept.email = f"{dept.code.lower()}@example.gov.cn"
            dept.save(update_fields=["email"])
        username = f"dept_{dept.code.lower()}"
        users[username] = make_user(username, role=Role.DEPARTMENT, department=dept,
                                    name=DEPT_STAFF_NAMES[i % len(DEPT_STAFF_NAMES)])
    return users


def seed_review_layers(make_user) -> dict[str, User]:
    """Gong county's review before a slip leaves (issue 40), set up but switched off: layer 1 the shift
    leaders' group (the demo user `leader`), layer 2 any supervisor. An administrator ticks both active in
    the admin (审核层级) to try it; the demo's own story runs without review, as a centre does before it
    decides to."""
    from django.contrib.auth.models import Group

    from .models import ReviewLayer

    leaders, _created = Group.objects.get_or_create(name="值班长")
    leader = make_user("leader", role=Role.DISPATCHER, name="韦华（值班长）")
    leader.groups.add(leaders)
    ReviewLayer.objects.get_or_create(position=1, defaults={
        "name_zh": "值班长", "name_en": "Shift leader", "group": leaders, "time_limit_minutes": 10, "active": False})
    ReviewLayer.objects.get_or_create(position=2, defaults={
        "name_zh": "值班指挥长", "name_en": "Duty commander", "role": Role.SUPERVISOR, "time_limit_minutes": 15,
        "active": False})
    return {"leader": leader}


def seed_platform(make_user) -> dict[str, User]:
    """A 12345 platform set up but switched off (issue 40), with its account (no password: it acts only through
    its signed events). An administrator points it at the county platform's address, sets the shared secret
    and ticks it active, on every department or on some (admin › 12345平台, 职能部门)."""
    from .models import Platform

    account = make_user("platform12345", role=Role.PLATFORM, name="12345政务服务便民热线", usable_password=False)
    Platform.objects.get_or_create(code="demo12345", defaults={
        "name": "县12345政务服务便民热线平台", "url": "https://12345.example.gov.cn/fenliu/slips",
        "secret": "demo-only-secret-change-me", "user": account, "active": False})
    return {"platform12345": account}


# Open311 (issue 41): the demo's keys, fixed so the README's examples work on the demo; never in production.
OPEN311_DEMO_KEYS = {"stjcase": "demo-stj-open311-key", "cityapp": "demo-cityapp-open311-key"}


def seed_open311() -> dict[str, str]:
    """Two Open311 clients: 生态环境局's case system (reads its slips) and a city app (posts reports). Returns
    their demo keys by code. An administrator issues real keys in the admin (Open311接入方 › 发放新api_key)."""
    from .models import Department, Open311Client
    from .models_open311 import key_hash
    from .open311.services import open311_key_issue

    for code, name, department in [("stjcase", "生态环境局案件系统", Department.objects.get(code="STJ")),
                                   ("cityapp", "城市随手拍App", None)]:
        client, created = Open311Client.objects.get_or_create(code=code, defaults={
            "name": name, "kind": "department" if department else "partner", "department": department})
        if created:
            open311_key_issue(actor=None, client=client)  # its account; then the demo's fixed key instead
        key = OPEN311_DEMO_KEYS[code]
        Open311Client.objects.filter(pk=client.pk).update(key_prefix=key[:8], key_hash=key_hash(key))
    return dict(OPEN311_DEMO_KEYS)


class SlipLife:
    """The department's and the callback desk's steps in the demo week: return, accept, complete, call back.
    A mixin of incidents.demo.CallWeek, whose clock, random source, users and `_divert` it uses."""

    def _dept_user(self, spec) -> User:
        slip = HandoffSlip.objects.only("department_id").get(pk=spec.slip_pk)
        return self.dept_users[slip.department_id]

    def _return(self, when, spec) -> None:
        reason, suggested, reroute = RETURNS[spec.category]
        slip_services.slip_return(actor=self._dept_user(spec), slip_pk=spec.slip_pk, reason=reason,
                                  suggested_department=self.departments[suggested])
        # Most returned calls are re-routed by the dispatcher; the rest wait in the queue.
        if self.rng.random() < 0.6:
            spec.rerouted, spec.fate = True, "satisfied"
            self._at(when + self._minutes(5, 40), self._reroute, spec, reroute, suggested)

    def _reroute(self, when, spec, code: str, department_code: str) -> None:
        self._divert(when, spec, self.catalog[code], self.departments[department_code])

    def _accept(self, when, spec) -> None:
        user = self._dept_user(spec)
        slip = slip_services.slip_accept(actor=user, slip_pk=spec.slip_pk, handler_name=user.first_name)
        if self.rng.random() < 0.1:  # the handler rings the caller: the full number is shown, and logged
            from incidents.services import call_reveal_phone

            call_reveal_phone(actor=user, call=spec.call, reason="联系报警人核实现场情况")
        if spec.fate == "stuck_accepted":
            return
        if spec.fate == "late":  # done at last, a day or more past the time limit: the ladder has climbed
            spec.fate = "satisfied"
            self._at(max(slip.deadline, when) + timedelta(hours=self.rng.uniform(20, 60)), self._complete, spec)
            return
        hours = {"major_urgent": (0.4, 1.5), "consultation": (1, 12), "request": (2, 30),
                 "complaint": (3, 48), "report": (6, 72)}[self.catalog[spec.category].time_limit_class.code]
        self._at(when + timedelta(hours=self.rng.uniform(*hours)), self._complete, spec)

    def _complete(self, when, spec) -> None:
        result = self.rng.choice(RESULTS.get(spec.category, [GENERIC_RESULT]))
        slip_services.slip_complete(actor=self._dept_user(spec), slip_pk=spec.slip_pk, result=result)
        if spec.fate != "no_callback":
            due = self._office_hours(when + timedelta(hours=self.rng.uniform(2, 20)))
            self._at(due, self._callback, spec, 1)

    def _office_hours(self, when: datetime) -> datetime:
        """Callbacks are made between 9:00 and 20:00."""
        local = timezone.localtime(when)
        if 9 <= local.hour < 20:
            return when
        day = local if local.hour >= 20 else local - timedelta(days=1)
        return (day + timedelta(days=1)).replace(hour=9, minute=self.rng.randint(0, 59))

    def _callback(self, when, spec, attempt: int) -> None:
        rng = self.rng
        actor = self.users["supervisor"] if rng.random() < 0.2 else self._dispatcher(when)
        channel = rng.choices(["phone", "sms", "visit"], weights=[80, 15, 5])[0]
        fate = spec.fate
        if fate == "unreachable" or (fate == "unreached_then_ok" and attempt == 1):
            slip_services.callback_record(actor=actor, slip_pk=spec.slip_pk, channel="phone", reached=False,
                                          comment="无人接听")
            if fate == "unreached_then_ok" or attempt < 3:
                self._at(self._office_hours(when + timedelta(hours=rng.uniform(3, 20))), self._callback, spec,
                         attempt + 1)
        elif fate == "unsatisfied":
            resolved, satisfaction, comment = rng.choice(UNSATISFIED)
            slip_services.callback_record(actor=actor, slip_pk=spec.slip_pk, channel=channel, reached=True,
                                          resolved=resolved, satisfaction=satisfaction, comment=comment)
            # Reopened: the department takes it again, usually, and this time it holds.
            spec.fate = "satisfied"
            if rng.random() < 0.6:
                self._at(when + timedelta(hours=rng.uniform(1, 6)), self._accept, spec)
        else:
            satisfaction = rng.choices([5, 4], weights=[70, 30])[0]
            slip_services.callback_record(actor=actor, slip_pk=spec.slip_pk, channel=channel, reached=True,
                                          resolved="yes", satisfaction=satisfaction,
                                          comment=rng.choice(SATISFIED_COMMENTS))


# --- The supervision story (issue 38): what the ladder raised over the demo weeks, answered and followed up ---
NOTICE_REPLIES = {
    "warning": "已安排专人当日联系报警人并到场处置，今日内办结反馈",
    "supervision": "已召开科室会议专题研究，明确责任人，三日内办结并反馈",
    "rectification": "局党组已专题部署整改，建立台账逐件销号，一周内完成整改",
}
SENT_BACK = "回复未写明办结时限和责任人，请补充后重新回复"
MEETINGS = [
    # (days ago convened, title, action descriptions for the slip's department, 住建局 and 城管局, closed)
    (24, "东西巷夜间经营噪音与油烟联合整治联席会议",
     ["夜间21时后开展巡查，对超标排放的烧烤店立案查处", "督促沿街商铺安装油烟净化设施",
      "规范东西巷夜间外摆，清理占道经营"],
     True),
    (2, "中山中路与解放西路交叉口内涝积水联合处置联席会议",
     ["汛期值守，暴雨预警时提前布设抽排设备", "疏通路口排水口、加装雨水篦子", "设置积水警示标志并加强路面巡查"],
     False),
]


def seed_supervision_story(*, users: dict, now: datetime, cooling: str) -> None:
    """After the replayed weeks (incidents.demo.CallWeek ran the notice ladder on its beat): departments
    answer the older notices and the supervisor accepts or sends them back; two joint meetings on the slips
    behind the cooled hotspot (the micro grid `cooling`) and the flooded crossing (one closed weeks ago, one
    with actions open); two accountability records. All through the supervision services, on the simulated
    clock."""
    from core.demo import clock

    from .models import JointMeeting, Notice, NoticeKind, NoticeStatus, SlipStatus
    from .supervision import services as sup

    supervisor = users["supervisor"]
    staff = {u.department_id: u for u in User.objects.filter(role=Role.DEPARTMENT, username__startswith="dept_")}
    if JointMeeting.objects.exists():
        return

    # Notices older than two days are answered and reviewed, as departments do; the newer ones wait. Of the
    # older ones, the newest supervision notice's reply was sent back, the newest rectification notice's
    # reply waits for review, and the oldest rectification notice was never answered (held to account below).
    unanswered = None
    for kind in (NoticeKind.WARNING, NoticeKind.SUPERVISION, NoticeKind.RECTIFICATION):
        old = list(Notice.objects.filter(kind=kind, status=NoticeStatus.ISSUED, issued_at__lt=now - timedelta(days=2))
                   .order_by("issued_at", "pk"))
        if kind == NoticeKind.RECTIFICATION and len(old) > 1:
            unanswered = old.pop(0)
        for i, notice in enumerate(old):
            newest = i == len(old) - 1
            replied = notice.issued_at + timedelta(hours=3 + i % 6)
            with clock(replied):
                sup.notice_reply(actor=staff[notice.department_id], notice_pk=notice.pk,
                                 reply=NOTICE_REPLIES[kind])
            if newest and kind == NoticeKind.RECTIFICATION:
                continue  # replied; the supervisor has not reviewed it yet
            sent_back = newest and kind == NoticeKind.SUPERVISION
            with clock(replied + timedelta(hours=2)):
                sup.notice_review(actor=supervisor, notice_pk=notice.pk, accept=not sent_back,
                                  comment=SENT_BACK if sent_back else "")

    # Joint meetings: on the cooling hotspot's slips weeks ago, on the flooded crossing this week.
    departments = {d.code: d for d in Department.objects.all()}
    departments_by_pk = {d.pk: d for d in departments.values()}
    for days_ago, title, actions, closed in MEETINGS:
        convened = now - timedelta(days=days_ago)
        slips = HandoffSlip.objects.exclude(status=SlipStatus.RETURNED).filter(issued_at__lt=convened)
        slips = slips.filter(call__micro_grid__code=cooling) if closed else slips.filter(category__code="F03")
        slip = slips.order_by("-issued_at").first()
        if slip is None:
            continue
        invited = [slip.department, *(d for code in ("ZJJ", "CGJ") if (d := departments.get(code))
                                      and d.pk != slip.department_id)]
        with clock(convened):
            meeting = sup.meeting_convene(actor=supervisor, slip_pk=slip.pk, title=title,
                                          meeting_at=convened + timedelta(hours=20),
                                          time_limit=convened + timedelta(days=8), departments=invited)
        held = convened + timedelta(hours=22)
        with clock(held):
            sup.meeting_record(actor=supervisor, meeting_pk=meeting.pk,
                               decisions="各部门按职责分工落实，限期办结，指挥中心跟踪督办并组织回访")
            made = [sup.meeting_action_add(actor=supervisor, meeting_pk=meeting.pk, department=dept,
                                           description=text, deadline=held + timedelta(days=2 + 2 * n))
                    for n, (dept, text) in enumerate(zip(invited, actions, strict=False))]
        for n, action in enumerate(made):
            done = held + timedelta(days=1 + 2 * n)
            if (not closed and n > 0) or done >= now:
                continue  # this week's meeting: the first action is done, the others are open
            with clock(done):
                sup.meeting_action_done(actor=staff[action.department_id], action_pk=action.pk,
                                        note="已按会议要求完成，现场已整改到位")
        if closed:
            with clock(held + timedelta(days=2 * len(made))):
                sup.meeting_close(actor=supervisor, meeting_pk=meeting.pk)

    # Accountability: the department that never answered its rectification notice was held to account; a
    # reminder talk two days ago with the department with the most notices this week.
    if unanswered is not None:
        at = min(unanswered.reply_deadline + timedelta(days=1), now - timedelta(hours=1))
        with clock(at):
            sup.accountability_record(actor=supervisor, kind="held_to_account", department=unanswered.department,
                                      occurred_on=timezone.localdate(at), notices=[unanswered],
                                      summary="整改通知单逾期未回复，按联动机制予以通报问责")
    week = Notice.objects.filter(issued_at__gte=now - timedelta(days=7)).values_list("department_id", flat=True)
    counts = Counter(week)
    if counts:
        dept_id = min(counts, key=lambda d: (-counts[d], d))
        at = now - timedelta(days=2)
        with clock(at):
            sup.accountability_record(
                actor=supervisor, kind="reminder_talk", department=departments_by_pk[dept_id],
                occurred_on=timezone.localdate(at), person="分管副局长",
                summary="就本周多张移交单超期、通知单多次下发进行提醒谈话，要求建立台账、限期整改",
                notices=Notice.objects.filter(department_id=dept_id, issued_at__gte=now - timedelta(days=7)))
