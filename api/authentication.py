from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.tokens import user_for_key


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sw_…` (or `Token sw_…`)."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the token must be ASCII") from None
        user, token = user_for_key(key)
        if user is None:
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A per-user API token from /api/tokens/."}
