from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from config.health import healthz
from labeling.people import password_reset

# Django's account pages, its password reset replaced by ours (off unless mail is configured;
# labeling.people.password_reset)
ACCOUNTS = [p for p in auth_urls.urlpatterns if not p.name.startswith("password_reset")] + password_reset.urlpatterns

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("accounts/", include(ACCOUNTS)),
    path("rounds/", include("activelearn.urls")),
    path("", include("labeling.urls")),
]

handler404 = "api.exceptions.not_found"
