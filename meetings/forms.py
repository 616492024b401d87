"""Forms of the screens. They parse and type the input; the services decide whether it is allowed.

Choices that depend on the session (participants, invitable accounts) are passed in by the view,
so a form never queries on its own.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecabinet.models import Ministry

from .models import Document, Meeting, Participant
from .templatetags.screens import ministry_name

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind of session"), choices=Meeting.Kind.choices,
                             initial=Meeting.Kind.REGULAR)
    starts_at = forms.DateTimeField(
        label=_("Date and time"), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    location = forms.CharField(label=_("Location"), max_length=300, required=False)
    offline_copies = forms.BooleanField(label=_("Ministers may keep this session on their tablets"),
                                        required=False, initial=True)
    offline_restricted = forms.BooleanField(label=_("Restricted documents may be kept offline too"),
                                            required=False, initial=False)


class OfflineForm(forms.Form):
    """The secretariat's offline settings of a session (prepare screen; docs/offline.md)."""

    offline_copies = forms.BooleanField(label=_("Ministers may keep this session on their tablets"),
                                        required=False)
    offline_restricted = forms.BooleanField(
        label=_("Restricted documents may be kept offline too"), required=False,
        help_text=_("Only their recipients and the secretariat keep them; a lost tablet would expose them."))


class MinistryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Ministry) -> str:
        return ministry_name(obj)


class AgendaItemForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=500)
    presenter_ministry = MinistryChoiceField(label=_("Presenting ministry"), queryset=Ministry.objects.all(),
                                                required=False, empty_label=_("— none —"))
    planned_minutes = forms.IntegerField(label=_("Planned minutes"), min_value=1, max_value=600, required=False)


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


def _recipient_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=_("Recipients"), required=False, widget=forms.CheckboxSelectMultiple)


class DocumentUploadForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=500)
    classification = forms.ChoiceField(label=_("Classification"), choices=Document.Classification.choices,
                                       initial=Document.Classification.INTERNAL)
    file = forms.FileField(label=_("PDF file"),
                           widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}))
    recipients = _recipient_field()

    def __init__(self, *args, recipient_choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = list(recipient_choices)


class VersionForm(forms.Form):
    file = forms.FileField(label=_("PDF file of the new version"),
                           widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}))
    note = forms.CharField(label=_("What changed"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class RecipientsForm(forms.Form):
    recipients = _recipient_field()

    def __init__(self, *args, recipient_choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = list(recipient_choices)


class ParticipantForm(forms.Form):
    username = forms.ChoiceField(label=_("Person to invite"))
    role = forms.ChoiceField(label=_("Role"), choices=Participant.Role.choices, initial=Participant.Role.MEMBER)
    substitute_for = forms.ChoiceField(label=_("Substitute for"), required=False,
                                       help_text=_("Only for a substitute: the member they attend for."))

    def __init__(self, *args, people: list[tuple[str, str]] = (), members: list[tuple[str, str]] = (),
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].choices = [("", _("— choose —")), *people]
        self.fields["substitute_for"].choices = [("", "—"), *members]


class AttendanceForm(forms.Form):
    username = forms.CharField(max_length=150)
    status = forms.ChoiceField(label=_("Attendance"), choices=Participant.Attendance.choices)
    reason = forms.CharField(label=_("Reason for absence"), max_length=300, required=False)
