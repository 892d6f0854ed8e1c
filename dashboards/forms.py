"""The dashboard's filters, read from the URL; only values the unfiltered picture names are offered."""

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import ReportStatus, Tier
from registry.stats import PUBLIC_STATUSES, Filters

SOURCE_CHOICES = [("sheet", _("Imported sheet")), ("web", _("Web form")), ("api", _("API"))]
ANY = [("", _("Any"))]


class FilterForm(forms.Form):
    """Minimum tier, status, exchange, asset, date range and source (all optional)."""

    min_tier = forms.ChoiceField(label=_("Minimum tier"), required=False, choices=ANY + Tier.choices)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + [
        (value, label) for value, label in ReportStatus.choices if value in PUBLIC_STATUSES])
    # The refusal never repeats the value: it may name a group too small to be shown.
    exchange = forms.ChoiceField(label=_("Exchange"), required=False, error_messages={"invalid_choice": _(
        "Choose one of the exchanges listed (groups of fewer than 5 reports are not offered).")})
    asset = forms.ChoiceField(label=_("Asset"), required=False, error_messages={"invalid_choice": _(
        "Choose one of the assets listed (groups of fewer than 5 reports are not offered).")})
    since = forms.DateField(label=_("From (day of the transfer)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(label=_("Source"), required=False, choices=ANY + SOURCE_CHOICES)

    def __init__(self, data, *, stats: dict):
        super().__init__(data)
        # Only groups the picture itself names (5 reports or more): a folded name is never offered,
        # and typing one in is refused like any unknown value.
        self.fields["exchange"].choices = ANY + _named(stats["by_exchange"], "exchange")
        self.fields["asset"].choices = ANY + _named(stats["by_asset"], "asset")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start of the date range is after its end."))
        return data

    def filters(self) -> Filters:
        """Return the valid filters (none when the form has errors)."""
        if not self.is_valid():
            return Filters()
        dates = ("since", "until")
        return Filters(**{name: self.cleaned_data.get(name) or (None if name in dates else "")
                          for name in Filters.__dataclass_fields__})


def _named(rows: list[dict], key: str) -> list[tuple[str, str]]:
    return [(row[key], row[key]) for row in rows if not row.get("other") and row.get(key)]
