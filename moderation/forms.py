"""Forms of the moderator's pages: the queue's filters (from the URL) and the decision forms."""

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import DecisionReason, Exchange, Incident, ReportStatus, Tier
from moderation.selectors import FLAG_NAMES, SORTS, WAITING, QueueFilters

HELD_CHOICES = [("", _("anyone or nobody")), ("me", _("me")), ("nobody", _("nobody")),
                ("anyone", _("any moderator"))]
SORT_CHOICES = [("flags", _("fraud flags first")), ("loss", _("verified loss")), ("age", _("oldest first"))]
DECIDABLE = [ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED, ReportStatus.REJECTED,
             ReportStatus.NEEDS_INFO]


class QueueFilterForm(forms.Form):
    """The queue's filters; an unknown or malformed value is ignored with a message, never a 500."""

    incident = forms.ChoiceField(label=_("Incident"), required=False)
    status = forms.MultipleChoiceField(
        label=_("Status"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[c for c in ReportStatus.choices if c[0] != ReportStatus.WITHDRAWN])
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("any")), *Tier.choices])
    flag = forms.ChoiceField(label=_("Flag"), required=False,
                             choices=[("", _("any")), *[(f, f) for f in FLAG_NAMES]])
    exchange = forms.ChoiceField(label=_("Exchange"), required=False)
    claimed_min = forms.DecimalField(label=_("Claimed from (USD)"), required=False, min_value=0)
    claimed_max = forms.DecimalField(label=_("Claimed up to (USD)"), required=False, min_value=0)
    verified_min = forms.DecimalField(label=_("Verified from (USD)"), required=False, min_value=0)
    verified_max = forms.DecimalField(label=_("Verified up to (USD)"), required=False, min_value=0)
    older_than_days = forms.IntegerField(label=_("Waiting at least (days)"), required=False, min_value=0,
                                         max_value=100_000)
    held_by = forms.ChoiceField(label=_("Claimed by"), required=False)
    contested = forms.BooleanField(label=_("Only with a contested transfer"), required=False)
    awaiting_second = forms.BooleanField(label=_("Only awaiting a second moderator"), required=False)
    tag = forms.SlugField(label=_("Tag"), required=False, max_length=40)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, data, *, holders):
        super().__init__(data)
        self.fields["incident"].choices = [("", _("any")), *Incident.objects.values_list("slug", "title")]
        self.fields["exchange"].choices = [("", _("any")), *[
            (str(pk), f"{name} ({incident})") for pk, name, incident in
            Exchange.objects.values_list("pk", "name", "incident__slug").order_by("name", "incident__slug")]]
        self.fields["held_by"].choices = [*HELD_CHOICES, *[(str(u.pk), u.username) for u in holders]]

    def filters(self) -> QueueFilters:
        """Return the filters the valid fields ask for; invalid fields fall back to no filter."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value not in (None, "", [])}
        statuses = tuple(data.pop("status", None) or ([] if self.data.get("status_any") else WAITING))
        data["sort"] = data.get("sort") if data.get("sort") in SORTS else "flags"
        return QueueFilters(statuses=statuses, **data)


class DecisionForm(forms.Form):
    status = forms.ChoiceField(label=_("Decision"), choices=[("", "---------"),
                                                             *[(s.value, s.label) for s in DECIDABLE]])
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *DecisionReason.choices])
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000,
                           help_text=_("Why, for the next moderator and the audit log. With "
                                       "“needs info”, the note is the question the reporter "
                                       "reads."))
    version = forms.CharField(widget=forms.HiddenInput)


class FlagForm(forms.Form):
    flag = forms.CharField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason"), choices=DecisionReason.choices)
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    version = forms.CharField(widget=forms.HiddenInput)


class BindForm(forms.Form):
    claim = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason"), choices=DecisionReason.choices)
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    version = forms.CharField(widget=forms.HiddenInput)


class SecondReviewForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                           required=False)
    version = forms.CharField(widget=forms.HiddenInput)
