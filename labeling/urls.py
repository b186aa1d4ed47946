from django.urls import path

from labeling import views

urlpatterns = [
    path("", views.home, name="home"),
    path("label/", views.label_page, name="label"),
    path("label/progress/", views.progress_page, name="progress"),
    path("quality/", views.quality_page, name="quality"),
    path("quality/labels/", views.label_agreement_page, name="label-agreement"),
    path("projects/<slug:slug>/settings/", views.project_settings, name="project-settings"),
    path("quality/annotators/<uuid:annotator_uuid>/screening", views.screening_decision, name="screening-decision"),
]
