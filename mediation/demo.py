"""The embedded demo's mediation: the demo mediator keeps the dispute files of one police station, and the
files of the last weeks stand at every stage (issue 38): registered and not yet taken, triaged, mediating,
closed with follow-up visits done and due, flared up and reopened, referred to court."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from core.demo import clock
from core.times import day_start

from . import services
from .models import DisputeFile, FollowUpVisit, Mediator

AGREED, REFERRED = DisputeFile.Outcome.AGREED, DisputeFile.Outcome.REFERRED

# (days ago opened, title, dispute type, parties as (name, phone, role), summary, amount, complexity, plan,
#  sessions as (days after opening, place, notes), outcome as (days after opening, outcome, agreement) or None,
#  follow-up visits recorded as (result, flared up))
FILES = [
    (44, "楼上漏水致楼下天花板受损纠纷", "A01",
     [("吴建国", "13978123401", "applicant"), ("蒋丽华", "13978123402", "respondent")],
     "楼上卫生间防水层老化，漏水致楼下厨房天花板受损，双方多次争吵并报警", Decimal("1200"), "simple", "",
     [(1, "community", "双方到社区调解室，查看漏水照片，楼上住户认可漏水事实")],
     (1, AGREED, "楼上住户三日内维修卫生间防水层，并赔偿楼下天花板修缮费1200元"),
     [("防水已维修，未再漏水，双方关系正常", False), ("未再发生纠纷", False)]),
    (30, "朋友间借款三万元未还纠纷", "A07",
     [("陈志强", "13978123403", "applicant"), ("黄海涛", "13978123404", "respondent")],
     "双方系多年朋友，借款三万元逾期一年未还，对方否认部分借款", Decimal("30000"), "complex",
     "核对借条和转账记录，分别做双方工作，调解不成引导诉讼",
     [(2, "station", "双方对借款金额分歧较大，一方只认可两万元"), (6, "station", "第二次调解未能达成一致")],
     (7, REFERRED, ""), [("已向人民法院起诉，双方未再发生冲突", False)]),
    (22, "装修噪音引发邻里争吵纠纷", "A01",
     [("莫小红", "13978123405", "applicant"), ("韦国庆", "13978123406", "respondent")],
     "楼上装修中午和夜间施工，楼下住户上门理论引发争吵", None, "simple", "",
     [], (1, AGREED, "装修方承诺中午12时至14时、晚上8时后停止施工"),
     [("装修方又在夜间施工，双方再次争吵，纠纷复发", True)]),
    (12, "婆媳赡养与住房纠纷", "A02",
     [("唐秀英", "13978123407", "applicant"), ("李晓梅", "13978123408", "respondent"),
      ("李国平", "13978123409", "third")],
     "婆婆与儿媳因赡养费和住房分配长期矛盾，婆婆被劝离住所后报警", None, "complex",
     "先分别谈心疏导情绪，再邀请社区干部和亲属共同调解，明确赡养责任和居住安排",
     [(1, "station", "分别听取双方意见，情绪有所缓和"), (3, "community", "在社区调解室，亲属到场共同协商")],
     (4, AGREED, "儿子每月支付赡养费800元，婆婆继续居住原房屋次卧，双方互不干涉生活"), []),
    (6, "拖欠装修工程款纠纷", "A07",
     [("覃师傅", "13978123410", "applicant"), ("秦女士", "13978123411", "respondent")],
     "装修完工后业主以质量问题为由拒付尾款三万八千元", Decimal("38000"), "complex",
     "邀请第三方查验装修质量，按查验结论分清责任后再协商尾款",
     [(1, "station", "双方陈述，业主提出墙面开裂、瓷砖空鼓等问题"), (4, "community", "第三方查验人员到场查验")],
     None, []),
    (1, "租房押金不退纠纷", "A06",
     [("邓佳", "13978123412", "applicant"), ("石先生", "13978123413", "respondent")],
     "租客退租后房东以墙面污损为由扣押金两千元", Decimal("2000"), "simple", "", [], None, []),
]


def seed_mediator(user, station) -> Mediator:
    """The demo mediator keeps the files of `station` (丽君派出所 in the demo)."""
    mediator, _ = Mediator.objects.get_or_create(user=user, defaults={"station": station})
    return mediator


def seed_files(*, mediator: Mediator, dispatcher, now: datetime) -> None:
    """The files of FILES through the mediation services on the simulated clock, and one file the command
    centre opened from this morning's neighbour dispute call, waiting for a mediator to take it."""
    from diversion.models import Category
    from incidents.models import Call

    if DisputeFile.objects.exists():
        return
    user, station = mediator.user, mediator.station
    types = {c.code: c for c in Category.objects.filter(code__startswith="A")}
    local = timezone.localtime(now)
    for days_ago, title, code, parties, summary, amount, complexity, plan, sessions, outcome, visits in FILES:
        opened = (local - timedelta(days=days_ago)).replace(hour=9, minute=30, second=0, microsecond=0)
        with clock(opened):
            file = services.file_open(actor=user, station=station, title=title, summary=summary,
                                      dispute_type=types[code], amount=amount,
                                      parties=[{"name": n, "phone": p, "role": r} for n, p, r in parties])
            services.file_triage(actor=user, file_pk=file.pk, complexity=complexity)
            if plan:
                services.file_set_plan(actor=user, file_pk=file.pk, plan=plan)
        for after, place, notes in sessions:
            held = opened + timedelta(days=after, hours=5)
            with clock(held):
                services.session_record(actor=user, file_pk=file.pk, held_at=held, place=place, notes=notes,
                                        attendees="、".join(n for n, _p, _r in parties), members=[mediator])
        if outcome is None:
            continue
        after, result, agreement = outcome
        with clock(opened + timedelta(days=after, hours=7)):
            services.file_close(actor=user, file_pk=file.pk, outcome=result, agreement_text=agreement,
                                note="" if agreement else "双方分歧较大，已告知可向人民法院起诉")
        for visit, (text, flared) in zip(FollowUpVisit.objects.filter(file=file).order_by("due_on"), visits,
                                         strict=False):
            at = day_start(visit.due_on) + timedelta(hours=15)
            if at < now:
                with clock(at):
                    services.followup_record(actor=user, visit_pk=visit.pk, result=text, flared_up=flared)

    # From a call: the command centre opens the file; the station's mediator has yet to take it.
    call = (Call.objects.filter(category__code="A01", received_at__lt=now - timedelta(hours=2))
            .exclude(file_links__isnull=False).order_by("-received_at").first())
    if call is not None:
        with clock(call.received_at + timedelta(minutes=40)):
            services.file_open(actor=dispatcher, station=station, call=call, title="邻里纠纷（110警情转办）",
                               summary=call.content, dispute_type=types["A01"], grid=call.micro_grid,
                               address=call.address,
                               parties=[{"name": call.caller_name or "报警人", "phone": call.caller_phone}])
