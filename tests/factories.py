"""Factories for tests: build real rows through the real services where a state matters."""

import itertools
from datetime import timedelta

import factory
from django.utils import timezone

from core.models import Role, User
from diversion.models import Category, Department
from grids.models import Grid, Unit

_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.DISPATCHER
    password = factory.django.Password("pw-for-tests-1")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    code = factory.Sequence(lambda n: f"U{n:03d}")
    name = factory.Sequence(lambda n: f"巡逻组{n}")
    kind = Unit.Kind.PATROL


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    code = factory.Sequence(lambda n: f"M{n:04d}")
    name = factory.Sequence(lambda n: f"微网格{n}")
    level = Grid.Level.MICRO


def call_data(**overrides) -> dict:
    """Validated intake data, as the serializer or form hands it to `call_intake`."""
    n = next(_seq)
    data = {
        "call_id": f"T{n:08d}",
        "received_at": timezone.now() - timedelta(minutes=5),
        "caller_phone": f"1380000{n:04d}",
        "caller_name": "",
        "address": f"秀峰区测试路{n}号",
        "lat": None,
        "lon": None,
        "content": "楼上邻居装修噪音扰民，晚上十一点还在砸墙",
        "channel": "phone",
    }
    data.update(overrides)
    return data


def category(code: str) -> Category:
    return Category.objects.select_related("default_department", "time_limit_class").get(code=code)


def department(code: str) -> Department:
    return Department.objects.get(code=code)
