from django.contrib import admin
from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("rounds/", include("activelearn.urls")),
    path("", include("labeling.urls")),
]

handler404 = "api.exceptions.not_found"
