from django.urls import path

from . import api

urlpatterns = [
    path("units/positions/", api.UnitPositionsApi.as_view(), name="api-unit-positions"),
]
