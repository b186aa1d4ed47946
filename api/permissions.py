"""DRF permission classes over the role permissions in labeling.people.roles (the HTML views check
the same names with permission_required)."""
from rest_framework.permissions import BasePermission


def has_perm(perm: str) -> type[BasePermission]:
    class HasPerm(BasePermission):
        message = f"your role does not allow this ({perm.split('.')[1].replace('_', ' ')})"

        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(perm))

    HasPerm.__name__ = f"Has_{perm.replace('.', '_')}"
    return HasPerm
