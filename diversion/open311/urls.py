"""/open311/v2/…, each path with its format suffix (.json or .xml) as GeoReport v2 names them."""

from django.urls import path, register_converter

from . import api


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FormatConverter, "open311format")

urlpatterns = [
    path("discovery.<open311format:format>", api.DiscoveryApi.as_view(), name="open311-discovery"),
    path("services.<open311format:format>", api.ServiceListApi.as_view(), name="open311-services"),
    path("services/<str:code>.<open311format:format>", api.ServiceDefinitionApi.as_view(),
         name="open311-service"),
    path("requests.<open311format:format>", api.RequestListApi.as_view(), name="open311-requests"),
    path("requests/<str:request_id>.<open311format:format>", api.RequestDetailApi.as_view(),
         name="open311-request"),
    path("servicerequestupdates.<open311format:format>", api.UpdateListApi.as_view(),
         name="open311-updates"),
    path("tokens/<str:token>.<open311format:format>", api.TokenApi.as_view(), name="open311-token"),
]
