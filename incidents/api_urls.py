from django.urls import path

from . import api

urlpatterns = [
    path("calls/", api.CallListApi.as_view(), name="api-call-list"),
    path("calls/<int:pk>/", api.CallDetailApi.as_view(), name="api-call-detail"),
    path("calls/<int:pk>/classify/", api.CallClassifyApi.as_view(), name="api-call-classify"),
]
