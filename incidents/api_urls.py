from django.urls import path

from . import api

urlpatterns = [
    path("calls/", api.CallListApi.as_view(), name="api-call-list"),
    path("calls/<int:pk>/", api.CallDetailApi.as_view(), name="api-call-detail"),
]
