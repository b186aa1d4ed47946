"""The Django admin is for superusers only (issue 25): it shows every project's rows, and its ModelAdmins, filters,
inlines, autocompletes, raw-id pop-ups, history pages and delete cascades were never scoped to projects, nor are
third-party ones (Celery results, login attempts). Admins and ML staff of a project do what they need through the
API and the pages, which scope everything to their projects (docs/security.md, "Roles, tokens and the Django
admin"). The check is the site's, so it covers every ModelAdmin registered now or later."""
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class SuperuserAdminSite(admin.AdminSite):
    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_superuser)


class SuperuserAdminConfig(AdminConfig):
    default_site = "config.admin_site.SuperuserAdminSite"
