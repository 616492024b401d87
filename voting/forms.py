"""Forms of the ballot screens. They parse and type the input; the services decide whether it is
allowed (and check the opinion rule again, so the API and the screens answer alike)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecabinet.textlimits import description_max

from .models import BallotAnswer, BallotQuestion

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
C = BallotAnswer.Choice


class BallotForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=500,
                            help_text=_("What the members are asked about, e.g. “the draft Decree on …”."))
    description = forms.CharField(label=_("Explanation for the members"), required=False, max_length=description_max(),
                                  widget=forms.Textarea(attrs={"rows": 3}))
    deadline = forms.DateTimeField(
        label=_("Deadline for answers"), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    silence_is_consent = forms.BooleanField(
        label=_("Silence counts as agreement"), required=False,
        help_text=_("Members who do not answer by the deadline are counted as agreeing; the summary says so."))
    meeting = forms.TypedChoiceField(
        label=_("Session"), required=False, coerce=int, empty_value=None,
        help_text=_("The session whose agenda item the ballot decides, or the session its result is reported "
                    "to. The ballot then goes into that session's archive package."))

    def __init__(self, *args, meeting_choices: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].choices = [("", _("— no session —")), *meeting_choices]


class QuestionForm(forms.Form):
    text = forms.CharField(label=_("Question"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class BallotDocumentForm(forms.Form):
    title = forms.CharField(label=_("Title of the draft"), max_length=500)
    file = forms.FileField(label=_("PDF file"),
                           widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}))


class RecipientsForm(forms.Form):
    recipients = forms.MultipleChoiceField(label=_("Recipients"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = list(choices)


def choice_name(question: BallotQuestion) -> str:
    return f"q{question.pk}"


def opinion_name(question: BallotQuestion) -> str:
    return f"q{question.pk}_opinion"


class AnswersForm(forms.Form):
    """One radio group and one opinion box per question. A question left without a choice is left as
    it was; the opinion is required for disagree and other."""

    def __init__(self, *args, questions: list[BallotQuestion], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for q in questions:
            self.fields[choice_name(q)] = forms.ChoiceField(
                label=_("Your answer to question %(n)s") % {"n": q.position}, choices=C.choices, required=False,
                widget=forms.RadioSelect)
            self.fields[opinion_name(q)] = forms.CharField(
                label=_("Opinion"), required=False, max_length=10_000,
                widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        chosen = 0
        for q in self.questions:
            choice = data.get(choice_name(q))
            if not choice:
                continue
            chosen += 1
            if choice != C.AGREE and not (data.get(opinion_name(q)) or "").strip():
                self.add_error(opinion_name(q), _("Write your opinion: it is required when you disagree or give "
                                                  "another opinion."))
        if not chosen and not self.errors:
            raise forms.ValidationError(_("Choose an answer to at least one question."), code="answers_required")
        return data

    def answers(self) -> list[dict]:
        return [{"question": q.pk, "choice": self.cleaned_data[choice_name(q)],
                 "opinion": self.cleaned_data.get(opinion_name(q)) or ""}
                for q in self.questions if self.cleaned_data.get(choice_name(q))]
