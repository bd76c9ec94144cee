from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import ReviewViewSet, SlipViewSet
from .docking.api import PlatformEventsApi

# SimpleRouter, not DefaultRouter: the API root is shared with other apps' routes under /api/v1/.
router = SimpleRouter()
router.register("slips", SlipViewSet, basename="api-slip")
router.register("reviews", ReviewViewSet, basename="api-review")

urlpatterns = [
    *router.urls,
    # Issue 40: the 12345 platform's signed events (docs/docking.md).
    path("platforms/<slug:code>/events/", PlatformEventsApi.as_view(), name="api-platform-events"),
]
