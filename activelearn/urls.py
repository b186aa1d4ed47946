from django.urls import path

from . import views

urlpatterns = [
    path("", views.rounds_page, name="rounds"),
]
