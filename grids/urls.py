from django.urls import path

from . import views

urlpatterns = [
    path("grids/map/", views.grid_map, name="grids-map"),
    path("grids/map/data/", views.grid_map_data, name="grids-map-data"),
    path("grids/dispatch/", views.dispatch_board, name="grids-dispatch"),
    path("grids/dispatch/calls/<int:pk>/", views.dispatch_call, name="grids-dispatch-call"),
    path("grids/assignments/<int:pk>/arrive/", views.assignment_arrive, name="grids-arrive"),
    path("grids/assignments/<int:pk>/hand-over/", views.assignment_hand_over, name="grids-hand-over"),
    path("grids/kpis/", views.police_kpis, name="grids-kpis"),
    path("grids/unplaced/", views.unplaced, name="grids-unplaced"),
    path("grids/place-preview/", views.place_preview, name="grids-place-preview"),
    path("grids/unplaced/<int:pk>/", views.place_call, name="grids-place-call"),
    path("grids/hotspots/", views.hotspot_list, name="grids-hotspots"),
    path("grids/hotspots/new/", views.hotspot_new, name="grids-hotspot-new"),
    path("grids/hotspots/<int:pk>/", views.hotspot_detail, name="grids-hotspot"),
    path("grids/hotspots/<int:pk>/actions/", views.hotspot_action, name="grids-hotspot-action"),
    path("unit/", views.unit_page, name="unit-page"),
    path("unit/assignments/<int:pk>/", views.unit_stamp, name="unit-stamp"),
    path("unit/position/", views.unit_position, name="unit-position"),
    path("grids/patrol/", views.patrol, name="grids-patrol"),
    path("grids/patrol/points/<int:pk>/check-in/", views.patrol_check_in, name="grids-check-in"),
]
