"""Stations, mediators and dispute calls for the mediation tests."""

import pytest

from core.models import Role
from grids.models import Unit
from incidents import services as call_services
from mediation import services
from mediation.models import Mediator, MemberKind
from tests.factories import UnitFactory, UserFactory, category


@pytest.fixture
def station_a(db):
    return UnitFactory(code="PS-A", name="丽君派出所", kind=Unit.Kind.STATION)


@pytest.fixture
def station_b(db):
    return UnitFactory(code="PS-B", name="秀峰派出所", kind=Unit.Kind.STATION)


@pytest.fixture
def patrol_a(station_a):
    patrol = UnitFactory(code="PT-A", name="巡逻一组", kind=Unit.Kind.PATROL)
    patrol.stations.set([station_a])
    return patrol


@pytest.fixture
def med_a(mediator, station_a):
    """The fixed `mediator` actor, stationed at station A."""
    mediator.first_name = "黄秀英"
    mediator.save(update_fields=["first_name"])
    return Mediator.objects.create(user=mediator, station=station_a, kind=MemberKind.STATION_MEDIATOR)


@pytest.fixture
def lawyer_a(station_a):
    user = UserFactory(username="lawyer_a", role=Role.MEDIATOR, first_name="李律师")
    return Mediator.objects.create(user=user, station=station_a, kind=MemberKind.LAWYER)


@pytest.fixture
def med_b(station_b):
    user = UserFactory(username="mediator_b", role=Role.MEDIATOR, first_name="王调解")
    return Mediator.objects.create(user=user, station=station_b, kind=MemberKind.STATION_MEDIATOR)


@pytest.fixture
def dispute_call(make_call, dispatcher, patrol_a):
    """A neighbour dispute (A01) attended by station A's patrol."""

    def make(**overrides):
        overrides.setdefault("content", "楼上邻居家漏水到我家，找他理论两个人吵架了，要求赔偿")
        overrides.setdefault("caller_name", "张三")
        call = make_call(**overrides)
        call_services.call_assign_police(actor=dispatcher, call_pk=call.pk, unit=patrol_a, category=category("A01"))
        call.refresh_from_db()
        return call

    return make


@pytest.fixture
def open_file(med_a, station_a):
    """A walk-in file at station A opened by its mediator, with two parties."""

    def make(**overrides):
        data = {"title": "邻里漏水纠纷", "address": "秀峰区中山中路18号", "parties": [
            {"name": "张三", "phone": "13800001111", "role": "applicant"},
            {"name": "李四", "phone": "13900002222", "role": "respondent"},
        ]}
        data.update(overrides)
        return services.file_open(actor=med_a.user, station=station_a, **data)

    return make
