from django.urls import path

from . import views

urlpatterns = [
    path("", views.file_list, name="mediation-files"),
    path("new/", views.file_open, name="mediation-file-open"),
    path("figures/", views.figures, name="mediation-figures"),
    path("<int:pk>/", views.file_detail, name="mediation-file"),
    path("<int:pk>/take/", views.file_take, name="mediation-file-take"),
    path("<int:pk>/triage/", views.file_triage, name="mediation-file-triage"),
    path("<int:pk>/plan/", views.file_plan, name="mediation-file-plan"),
    path("<int:pk>/parties/", views.party_add, name="mediation-party-add"),
    path("<int:pk>/sessions/", views.session_add, name="mediation-session-add"),
    path("<int:pk>/close/", views.file_close, name="mediation-file-close"),
    path("<int:pk>/reopen/", views.file_reopen, name="mediation-file-reopen"),
    path("<int:pk>/agreement/", views.agreement_print, name="mediation-agreement"),
    path("visits/<int:pk>/", views.followup_record, name="mediation-visit"),
]
