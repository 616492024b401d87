"""Forms of the task screens. They parse and type the input; the services decide whether it is
allowed and check the bounds again (``followup.services``), so the API and the screens answer alike."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ecabinet.textlimits import description_max
from meetings.templatetags.screens import ministry_name

from .models import Task

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PAGE_MAX = 999_999


class FilterForm(forms.Form):
    """The register's filters (GET). An unusable value is reported and that filter left out."""

    ministry = forms.ChoiceField(label=_("Ministry"), required=False)
    meeting = forms.TypedChoiceField(label=_("Session"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label=_("State"), required=False)
    deadline_after = forms.DateField(label=_("Deadline from"), required=False, widget=DATE)
    deadline_before = forms.DateField(label=_("Deadline to"), required=False, widget=DATE)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=PAGE_MAX, widget=forms.HiddenInput)

    def __init__(self, *args, ministries=(), meetings=(), **kwargs):
        super().__init__(*args, **kwargs)
        everything = pgettext_lazy("filter", "All")
        self.fields["ministry"].choices = [("", everything), *((m.code, ministry_name(m)) for m in ministries)]
        self.fields["meeting"].choices = [("", everything), *((m.pk, f"{m.title} ({m.starts_at:%d/%m/%Y})")
                                                              for m in meetings)]
        self.fields["state"].choices = [("", everything), *Task.State.choices]


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=settings.TASK_TITLE_MAX_CHARS,
                            help_text=_("What the ministry is to do, e.g. “Complete the draft Decree on …”."))
    description = forms.CharField(label=_("Details"), required=False, max_length=description_max(),
                                  widget=forms.Textarea(attrs={"rows": 3}))
    lead_ministry = forms.ChoiceField(label=_("Lead ministry"))
    co_ministries = forms.MultipleChoiceField(label=_("Co-operating ministries"), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    # required unless the task is regular: the service says which is missing
    deadline = forms.DateField(label=_("Deadline"), required=False, widget=DATE,
                               help_text=_("Required, unless the task is regular."))
    regular = forms.BooleanField(label=_("Regular task (no deadline)"), required=False,
                                 help_text=_("A standing duty with no deadline; it is never overdue."))
    priority = forms.ChoiceField(label=_("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL)

    def __init__(self, *args, ministries=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(m.code, ministry_name(m)) for m in ministries]
        self.fields["lead_ministry"].choices = [("", _("— choose —")), *choices]
        self.fields["co_ministries"].choices = choices


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=settings.TASK_REASON_MAX_CHARS,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    # Required here too, so that the screen says it beside the field; the service has the final word.
    reason = forms.CharField(label=_("Reason"), max_length=settings.TASK_REASON_MAX_CHARS,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Give the reason: the ministry reads it.")})


class ExtendForm(ReasonForm):
    deadline = forms.DateField(label=_("New deadline"), widget=DATE)
    field_order = ["deadline", "reason"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); the count and sizes are bounded by
    the service (``TASK_REPORT_MAX_ATTACHMENTS``, ``TASK_REPORT_MAX_BYTES``) and the request cap."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,.pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class ReportForm(forms.Form):
    """The lead ministry's report on the task page: progress, or that the task is done; PDFs attached.
    The text's bound and the kinds' rules are the service's (``followup.reports``)."""

    kind = forms.ChoiceField(
        label=_("Kind of report"), widget=forms.RadioSelect, initial="progress",
        choices=[("progress", _("Progress report (the work goes on)")),
                 ("done", _("Report of completion (the task is done; the Office of the Government reviews it)"))])
    text = forms.CharField(label=_("Report"), required=False, max_length=settings.TASK_REPORT_TEXT_MAX_CHARS,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("Say what has been done: needed for a progress report."))
    files = MultipleFileField(
        label=_("Attachments (PDF)"), required=False,
        help_text=_("Up to %(n)s PDF files; they are checked like session documents.")
        % {"n": settings.TASK_REPORT_MAX_ATTACHMENTS})


# action → its form (None: a button alone)
ACTION_FORMS: dict[str, type[forms.Form] | None] = {
    "start": None, "report": NoteForm, "accept": NoteForm, "return": ReasonForm, "extend": ExtendForm,
    "cancel": ReasonForm,
}
