from rest_framework.routers import SimpleRouter

from .api import SlipViewSet

# SimpleRouter, not DefaultRouter: the API root is shared with other apps' routes under /api/v1/.
router = SimpleRouter()
router.register("slips", SlipViewSet, basename="api-slip")

urlpatterns = router.urls
