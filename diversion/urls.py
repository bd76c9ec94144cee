from django.urls import path

from . import views

urlpatterns = [
    path("department/", views.department_inbox, name="department-inbox"),
    path("slips/<int:pk>/", views.slip_detail, name="slip-detail"),
    path("slips/<int:pk>/print/", views.slip_print, name="slip-print"),
    path("slips/<int:pk>/accept/", views.slip_accept, name="slip-accept"),
    path("slips/<int:pk>/return/", views.slip_return, name="slip-return"),
    path("slips/<int:pk>/complete/", views.slip_complete, name="slip-complete"),
    path("slips/<int:pk>/callback/", views.callback_record, name="slip-callback"),
    path("reviews/", views.review_queue, name="review-queue"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="review-decide"),
    path("callbacks/", views.callback_list, name="callback-list"),
    path("supervision/routing/", views.routing_quality, name="routing-quality"),
    path("supervision/routing/retrain/", views.routing_retrain, name="routing-retrain"),
    path("supervision/routing/misses/<int:pk>/word/", views.police_word_add, name="police-word-add"),
]
