from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core import views as core_views

api_v1 = [
    path("", include("incidents.api_urls")),
    path("", include("diversion.api_urls")),
    path("", include("grids.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health/", core_views.health, name="health"),
    path("accounts/login/", core_views.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("open311/v2/", include("diversion.open311.urls")),
    path("", include("incidents.urls")),
    path("", include("diversion.urls")),
    path("", include("diversion.supervision.urls")),
    path("", include("grids.urls")),
    path("mediation/", include("mediation.urls")),
    path("", include("incidents.review.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
