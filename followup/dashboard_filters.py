"""The filter of the dashboard, its JSON, the CSV export and the PDF report: one form, so the four
read the same query string the same way (``ministry``, ``meeting``, ``state``, ``deadline_after``,
``deadline_before``, ``overdue`` — the names of ``GET /api/v1/tasks/``). A value that cannot be used
is 400 ``invalid_filter`` naming the field in the API and the exports, and a message on the screen."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from ecabinet.errors import ValidationFailed
from ecabinet.models import Ministry
from meetings.models import Meeting

from .models import Task
from .selectors import TaskFilters

__all__ = ["FILTER_NAMES", "TaskFilterForm", "filters_or_400"]

FILTER_NAMES = ("ministry", "meeting", "state", "deadline_after", "deadline_before", "overdue")


class TaskFilterForm(forms.Form):
    ministry = forms.ChoiceField(label=pgettext_lazy("dashboard", "Ministry"), required=False)
    meeting = forms.TypedChoiceField(label=pgettext_lazy("dashboard", "Session"), required=False, coerce=int,
                                     empty_value=None)
    state = forms.ChoiceField(label=pgettext_lazy("dashboard", "State"), required=False)
    deadline_after = forms.DateField(label=pgettext_lazy("dashboard", "Deadline from"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    deadline_before = forms.DateField(label=pgettext_lazy("dashboard", "Deadline to"), required=False,
                                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    overdue = forms.TypedChoiceField(label=pgettext_lazy("dashboard", "Overdue"), required=False, empty_value=None,
                                     coerce=lambda v: v == "true")

    def __init__(self, data=None, *, user=None, visible=None, **kwargs):
        """``visible``: the caller's tasks (``tasks_visible_to``), to offer only the sessions that
        have some (the most recent ``DASHBOARD_SESSION_CHOICES``); without it, any session id passes."""
        super().__init__(data, **kwargs)
        everyone = ("", pgettext("dashboard", "All"))
        self.fields["ministry"].choices = [everyone, *Ministry.objects.order_by("name").values_list("code", "name")]
        self.fields["state"].choices = [everyone, *Task.State.choices]
        self.fields["overdue"].choices = [everyone, ("true", _("Overdue only")), ("false", _("Not overdue"))]
        if visible is not None:
            sessions = (Meeting.objects.filter(Exists(visible.filter(meeting_id=OuterRef("pk"))))
                        .order_by("-starts_at")
                        .values_list("pk", "title")[:settings.DASHBOARD_SESSION_CHOICES])
            self.fields["meeting"].choices = [everyone, *sessions]
        else:
            self.fields["meeting"] = forms.IntegerField(required=False, min_value=1, max_value=10**18 - 1)

    def clean(self):
        data = super().clean()
        after, before = data.get("deadline_after"), data.get("deadline_before")
        if after and before and after > before:
            self.add_error("deadline_before", _("The end of the period is before its start."))
        return data

    def task_filters(self) -> TaskFilters:
        """The valid form as the register's ``TaskFilters``."""
        d = self.cleaned_data
        return TaskFilters(ministry=d.get("ministry") or None, meeting=d.get("meeting"), state=d.get("state") or None,
                           deadline_before=d.get("deadline_before"), deadline_after=d.get("deadline_after"),
                           overdue=d.get("overdue"))


def filters_or_400(params) -> TaskFilters:
    """The filters of a query string, or 400 ``invalid_filter`` naming the first field that cannot be used."""
    form = TaskFilterForm({k: params.get(k) for k in FILTER_NAMES if params.get(k) not in (None, "")})
    if not form.is_valid():
        field = next(iter(form.errors))
        field = field if field != "__all__" else "deadline_before"
        raise ValidationFailed(_("The filter “%(field)s” has a value that cannot be used.") % {"field": field},
                               code="invalid_filter", field=field)
    return form.task_filters()
