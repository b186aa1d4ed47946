from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("label/", views.label_page, name="label"),
    path("label/api/next", views.api_next, name="label-next"),
    path("label/api/<uuid:lease_id>/draft", views.api_draft, name="label-draft"),
    path("label/api/<uuid:lease_id>/submit", views.api_submit, name="label-submit"),
]
