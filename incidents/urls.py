from django.urls import path

from . import views
from .imports import views as imports

urlpatterns = [
    path("dispatch/", views.workbench, name="dispatch-workbench"),
    path("dispatch/queue/", views.queue_partial, name="dispatch-queue"),
    path("dispatch/calls/<int:pk>/panel/", views.call_panel, name="dispatch-panel"),
    path("dispatch/calls/<int:pk>/classify/", views.call_classify, name="call-classify"),
    path("dispatch/calls/<int:pk>/claim/", views.call_claim, name="call-claim"),
    path("dispatch/calls/<int:pk>/release/", views.call_release, name="call-release"),
    path("calls/", views.call_list, name="call-list"),
    path("imports/calls/", imports.import_list, name="call-imports"),
    path("imports/calls/<int:pk>/", imports.import_detail, name="call-import"),
    path("imports/calls/<int:pk>/progress/", imports.import_progress_partial, name="call-import-progress"),
    path("calls/new/", views.call_new, name="call-new"),
    path("calls/<int:pk>/", views.call_page, name="call-page"),
    path("calls/<int:pk>/phone/", views.call_reveal_phone, name="call-reveal-phone"),
    path("calls/<int:pk>/grid/", views.call_set_grid, name="call-set-grid"),
    path("assignments/<int:pk>/finish/", views.police_finish, name="police-finish"),
    path("wallboard/", views.wallboard, name="wallboard"),
    path("wallboard/figures/", views.wallboard_figures_partial, name="wallboard-figures"),
    path("wallboard/map.json", views.wallboard_map, name="wallboard-map"),
]
