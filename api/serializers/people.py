"""Users, roles, screening decisions, API tokens and per-annotator figures (admins; a token: its owner)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.models import ApiToken
from labeling.models import Annotator, Role


class UserOut(serializers.ModelSerializer):
    # null for a user made outside Stepwise (createsuperuser) until it first uses the site
    role = serializers.CharField(source="annotator.role", read_only=True, allow_null=True)
    annotator = serializers.UUIDField(source="annotator.uuid", read_only=True, allow_null=True)
    screening_passed_at = serializers.DateTimeField(source="annotator.screening_passed_at", read_only=True,
                                                    allow_null=True)

    class Meta:
        model = get_user_model()
        fields = ["username", "email", "is_active", "role", "annotator", "screening_passed_at", "date_joined"]


def _checked_password(password: str, user) -> str:
    """The site's AUTH_PASSWORD_VALIDATORS, as the Django admin and createsuperuser apply them."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None
    return password


class UserIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", help_text="Letters, digits and @/./+/-/_ only.")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True,
                                     help_text="Checked by the site's password validators.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)

    def validate(self, data):
        user = get_user_model()(username=data["username"], email=data.get("email", ""))
        try:
            _checked_password(data["password"], user)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"password": exc.detail}) from None
        return data


class UserPatch(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    password = serializers.CharField(min_length=8, max_length=128, required=False, write_only=True,
                                     help_text="Checked by the site's password validators.")
    is_active = serializers.BooleanField(required=False)

    def validate_password(self, value):
        return _checked_password(value, self.context.get("user"))


class ScreeningIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["approve", "reset"])


class TokenOut(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]


class TokenCreatedOut(TokenOut):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(TokenOut.Meta):
        fields = TokenOut.Meta.fields + ["key"]


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    user = serializers.CharField(required=False, max_length=150,
                                 help_text="Admins only: make the token for this username, someone whose rights are "
                                           "all yours (else 403).")


class AnnotatorStatsOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    username = serializers.CharField()
    role = serializers.CharField()
    passes = serializers.IntegerField()
    steps_rated = serializers.IntegerField()
    passes_per_hour = serializers.FloatField(allow_null=True)
    seconds_per_step = serializers.FloatField(allow_null=True)
    qc_agreement = serializers.FloatField(allow_null=True)
    qc_answered = serializers.IntegerField()
    screening = serializers.CharField()
    screening_agreement = serializers.FloatField(allow_null=True)


class AnnotatorRef(serializers.ModelSerializer):
    class Meta:
        model = Annotator
        fields = ["uuid", "role"]
