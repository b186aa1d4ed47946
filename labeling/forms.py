"""The project settings page's forms (validation only; labeling.people.projects writes)."""
from django import forms
from django.contrib.auth import get_user_model

from labeling.models import Project, Role
from labeling.people.projects import SETTINGS


class ProjectSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = list(SETTINGS)
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 10})}

    def clean_error_taxonomy(self):
        # an emptied (or missing) field means no error types asked, not a null the column cannot hold
        value = self.cleaned_data.get("error_taxonomy")
        return [] if value in (None, "") else value


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)

    def clean_username(self):
        user = get_user_model().objects.filter(username=self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError("no user with this name: an admin makes the account first")
        return user
