from django.contrib import admin, messages

from api.models import ApiToken
from api.tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed and revoked here; they are made with POST /api/tokens/ or
    `manage.py create_api_token`, which show the key once (only its hash is stored)."""

    list_display = ("name", "prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("id", "user", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_token(token, actor=request.user)
        messages.success(request, f"{queryset.count()} token(s) revoked.")
