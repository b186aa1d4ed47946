from django.urls import path

from activelearn import views

urlpatterns = [
    path("", views.rounds_page, name="rounds"),
]
