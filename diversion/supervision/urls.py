from django.urls import path

from . import views

urlpatterns = [
    path("supervision/", views.supervision_home, name="supervision-home"),
    path("notices/", views.notice_list, name="notice-list"),
    path("notices/new/", views.notice_new, name="notice-new"),
    path("notices/<int:pk>/", views.notice_detail, name="notice-detail"),
    path("notices/<int:pk>/print/", views.notice_print, name="notice-print"),
    path("notices/<int:pk>/reply/", views.notice_reply, name="notice-reply"),
    path("notices/<int:pk>/review/", views.notice_review, name="notice-review"),
    path("meetings/", views.meeting_list, name="meeting-list"),
    path("slips/<int:slip_pk>/meeting/", views.meeting_new, name="meeting-new"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/record/", views.meeting_record, name="meeting-record"),
    path("meetings/<int:pk>/actions/", views.meeting_action_add, name="meeting-action-add"),
    path("meetings/<int:pk>/close/", views.meeting_close, name="meeting-close"),
    path("meeting-actions/<int:pk>/done/", views.action_done, name="meeting-action-done"),
    path("supervision/accountability/", views.accountability_list, name="accountability-list"),
    path("supervision/league/", views.league_table, name="league-table"),
    path("supervision/disclosures/", views.disclosure_list, name="disclosure-list"),
    path("supervision/reports/", views.report_list, name="report-list"),
    path("supervision/reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("supervision/reports/<int:pk>/export.xlsx", views.report_export, name="report-export"),
]
