from django.urls import path

from . import views

urlpatterns = [
    path("review/", views.review_dashboard, name="review"),
    path("review/build/", views.review_build, name="review-build"),
    path("review/backfill/", views.review_backfill_progress, name="review-backfill"),
    path("review/calls/", views.review_calls_view, name="review-calls"),
    path("review/map.json", views.review_map_data, name="review-map-data"),
    path("review/export.xlsx", views.review_export_xlsx, name="review-export-xlsx"),
    path("review/export.pdf", views.review_export_pdf, name="review-export-pdf"),
]
