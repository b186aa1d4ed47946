"""The project settings page's forms (validation only; labeling.people.projects writes)."""
from django import forms
from django.contrib.auth import get_user_model

from labeling.models import Project, Role
from labeling.people import label_sources
from labeling.people.projects import SETTINGS


class ProjectSettingsForm(forms.ModelForm):
    """The model checks every value (Project.clean: the outcome checker as grading reads it, the suggestion
    source), as it does for the API and the commands."""

    # the sources, and the project's imported runs (a labeller's file of traces' labels)
    suggestion_source = forms.ChoiceField(required=False, choices=[])

    class Meta:
        model = Project
        fields = list(SETTINGS)
        widgets = {"guidelines": forms.Textarea(attrs={"rows": 10}),
                   "outcome_checker": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})}
        help_texts = {"outcome_checker": 'JSON: {} grades as math; {"kind": "normalised"} is HotpotQA\'s exact match; '
                                         'also exact, numeric, regex, file, unit_tests, judge with their options '
                                         '(docs/agent-trajectories.md).'}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["suggestion_source"].choices = label_sources.suggestion_choices(self.instance.pk)
        self.fields["suggestion_source"].help_text = Project._meta.get_field("suggestion_source").help_text

    def clean_outcome_checker(self):
        value = self.cleaned_data.get("outcome_checker")
        return {} if value in (None, "") else value

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
