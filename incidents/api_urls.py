from django.urls import path

from . import api

urlpatterns = [
    path("calls/", api.CallListApi.as_view(), name="api-call-list"),
    path("calls/<int:pk>/", api.CallDetailApi.as_view(), name="api-call-detail"),
    path("calls/<int:pk>/classify/", api.CallClassifyApi.as_view(), name="api-call-classify"),
    path("calls/<int:pk>/claim/", api.CallClaimApi.as_view(), name="api-call-claim"),
    path("calls/<int:pk>/release/", api.CallReleaseApi.as_view(), name="api-call-release"),
    path("calls/<int:pk>/take-over/", api.CallTakeOverApi.as_view(), name="api-call-take-over"),
]
