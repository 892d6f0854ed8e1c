"""Small forms of the report page: add a file, answer a moderator, confirm a withdrawal."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from incidents.forms import FreeTextField, StepForm
from incidents.models import EvidenceKind, ReportMessage
from incidents.secrets import SECRET_NOTICE, SecretRefused


def _file_help() -> str:
    return _("PDF, PNG, JPEG, CSV, XLSX or an email saved as .eml; at most %(size)s.") % {
        "size": filesizeformat(settings.EVIDENCE_MAX_BYTES)}


class EvidenceAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is this file?"), choices=EvidenceKind.choices)
    file = forms.FileField(label=_("File"), help_text=lazy(_file_help, str)())

    @classmethod
    def too_large(cls) -> "EvidenceAddForm":
        """Return an empty form that says the upload was too large, without reading the upload."""
        form = cls()
        form.cleaned_data = {}  # add_error expects a cleaned form; nothing of the request was read
        form.add_error("file", _("This upload is larger than %(size)s, the most one file may be.")
                       % {"size": filesizeformat(settings.EVIDENCE_MAX_BYTES)})
        return form


class AnswerForm(StepForm):
    """The reporter's answer; like every wizard step, it never echoes a refused secret back."""

    body = FreeTextField(
        label=_("Your answer"), help_text=SECRET_NOTICE,
        max_length=ReportMessage._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off"}),
    )

    def refuse(self, error: ValueError) -> None:
        """Show why the answer was refused; never echo a secret back into the page."""
        if isinstance(error, SecretRefused):
            self.data = self.data.copy()
            self.data["body"] = ""
        self.add_error("body", str(error))


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand: my report, its claims, every file I uploaded and every message are "
                "erased for good, and this cannot be undone."),
        error_messages={"required": _("Tick the box to confirm, or go back to keep the report.")},
    )
