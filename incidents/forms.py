"""Forms of the report wizard, one per step; a draft keeps each step's answers as ``to_draft`` gives them."""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.chains import (
    HASH32_RE,
    ChainValueError,
    normalise_address,
    normalise_caip2,
    normalise_tx_hash,
)
from incidents.models import Asset, Consent, EvidenceKind, Incident
from incidents.validation import (
    REFUSED_CODE,
    chain_value_error,
    secret_refuse,
    ticket_id_clean,
    tx_hash_error,
)

STEPS = (
    ("incident", _("Incident")),
    ("account", _("Exchange account")),
    ("transfers", _("Transfers")),
    ("evidence", _("Evidence")),
    ("consent", _("Consent")),
    ("review", _("Review")),
)
STEP_NAMES = tuple(name for name, _label in STEPS)
OTHER_EXCHANGE = "other"
TRANSFERS_PREFIX = "transfers"

# Names people know chains by; anything else is shown by its CAIP-2 id alone.
CHAIN_NAMES = {
    "eip155:1": "Ethereum",
    "eip155:10": "OP Mainnet",
    "eip155:56": "BNB Smart Chain",
    "eip155:137": "Polygon",
    "eip155:8453": "Base",
    "eip155:42161": "Arbitrum One",
    "eip155:43114": "Avalanche C-Chain",
    "eip155:11155111": _("Sepolia (test network)"),
    "eip155:31337": _("Local test chain"),
    "bip122:000000000019d6689c085ae165831e93": "Bitcoin",
    "bip122:000000000933ea01ad0ee984209779ba": _("Bitcoin test network"),
}


def chain_label(caip2: str) -> str:
    """Return a chain's friendly name followed by its CAIP-2 id."""
    name = CHAIN_NAMES.get(caip2)
    return f"{name} ({caip2})" if name else caip2


class FreeTextField(forms.CharField):
    """A free-text field that refuses anything looking like a secret (see incidents.secrets)."""

    def validate(self, value):
        super().validate(value)
        secret_refuse(value)


class StepForm(forms.Form):
    """A wizard form that never echoes a refused secret back into the page it re-renders."""

    def __init__(self, *args, incident: Incident | None = None, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.incident = incident

    def full_clean(self):
        super().full_clean()
        if self.is_bound:
            self._secrets_hide()

    def _secrets_hide(self) -> None:
        """Empty every field holding a secret when the page is shown again, whatever else was wrong."""
        if not self.errors:
            return  # a valid form is never shown again: the step is saved and the browser moves on
        errors = self.errors.as_data()
        refused = [name for name in self.fields if self._secret_refusal(name, errors.get(name, []))]
        if refused:
            self.data = self.data.copy()  # the page is rendered from it, so the value goes here
            for name in refused:
                self.data[self.add_prefix(name)] = ""

    def _secret_refusal(self, name: str, errors: list[ValidationError]) -> bool:
        # Any field, with or without an error of its own: a seed phrase pasted into an amount box
        # fails as "not a number", one in a tx hash box may fail as too long or not be checked at
        # all when the chain is missing; none of them may come back in the page.
        if any(error.code == REFUSED_CODE for error in errors):
            return True
        raw = self.data.get(self.add_prefix(name))
        raw = raw.strip() if isinstance(raw, str) else ""
        if not raw or (name == "tx_hash" and HASH32_RE.fullmatch(raw)):
            return False  # a hash-shaped value in the hash box is told what is wrong with it instead
        try:
            secret_refuse(raw)
        except ValidationError as refusal:
            self.errors.pop(name, None)
            self.add_error(name, refusal)
            return True
        return False

    def answers(self) -> dict:
        """Return the cleaned answers (call after is_valid)."""
        return self.cleaned_data

    def to_draft(self) -> dict:
        """Return the cleaned answers as JSON that binds back to this form unchanged."""
        return {name: _jsonable(value) for name, value in self.cleaned_data.items()}


def decimal_input() -> forms.TextInput:
    # A text box with a decimal keypad: number inputs change values on scroll and read badly aloud.
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def _jsonable(value):
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal | date):
        return str(value)
    return "" if value is None else value


# --- 1. incident ----------------------------------------------------------------------------


class IncidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Incident) -> str:
        return _("%(title)s (incident window %(start)s to %(end)s UTC)") % {
            "title": obj.title, "start": f"{obj.window_start:%Y-%m-%d}", "end": f"{obj.window_end:%Y-%m-%d}",
        }


class IncidentStepForm(StepForm):
    incident = IncidentChoiceField(
        queryset=Incident.objects.published(), widget=forms.RadioSelect, empty_label=None,
        label=_("Which incident are you reporting a loss in?"),
        error_messages={"invalid_choice": _("Choose one of the incidents listed.")},
    )


# --- 2. account -----------------------------------------------------------------------------


class AccountStepForm(StepForm):
    exchange = forms.ChoiceField(
        label=_("Exchange"),
        help_text=_("File one report per exchange account. If you lost funds in two accounts, file two "
                    "reports."),
    )
    notes = FreeTextField(
        label=_("What happened"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("In your own words: when you noticed, what was traded or withdrawn, what you did."),
    )
    claimed_loss_usd = forms.DecimalField(
        label=_("Total loss in US dollars (optional)"), required=False, min_value=0, max_digits=20,
        decimal_places=2, widget=decimal_input(),
        help_text=_("Your estimate. Lossproof values what it can prove on its own."),
    )
    loss_date = forms.DateField(
        label=_("Date of the loss (optional)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    support_ticket_id = FreeTextField(
        label=_("Support ticket id (optional)"), required=False, max_length=100,
        help_text=_("The id of the ticket you opened with the exchange, as its support emails show it."),
    )
    exchange_email = forms.EmailField(
        label=_("Email address your exchange writes to (optional)"), required=False, max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("Only if your exchange account uses another address than the one you sign in with. "
                    "A support email counts for your report only when it was sent to one of your two "
                    "addresses. This address stays private: it is never published."),
    )
    police_report = FreeTextField(
        label=_("Police report reference (optional)"), required=False, max_length=500,
        help_text=_("The police station and the case or reference number, if you filed a report."),
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.exchanges = {str(exchange.pk): exchange for exchange in incident.exchanges.all()}
        self.fields["exchange"].choices = [
            ("", _("Choose the exchange")),
            *((pk, exchange.name) for pk, exchange in self.exchanges.items()),
            (OTHER_EXCHANGE, _("Other / not listed")),
        ]

    def clean_exchange(self):
        return self.exchanges.get(self.cleaned_data["exchange"])  # None stands for "other"

    def clean_exchange_email(self):
        return self.cleaned_data["exchange_email"].strip().lower()  # compared without regard to case

    def clean_loss_date(self):
        value = self.cleaned_data["loss_date"]
        if value and value > timezone.now().date():
            raise ValidationError(_("The date of the loss cannot be in the future."))
        return value

    def clean(self):
        cleaned = super().clean()
        if "support_ticket_id" not in cleaned:
            return cleaned  # refused on its own already
        try:
            cleaned["support_ticket_id"] = ticket_id_clean(exchange=cleaned.get("exchange"),
                                                           value=cleaned["support_ticket_id"])
        except ValidationError as error:
            self.add_error("support_ticket_id", error)
        return cleaned

    def to_draft(self) -> dict:
        exchange = self.cleaned_data["exchange"]
        return {**super().to_draft(), "exchange": str(exchange.pk) if exchange else OTHER_EXCHANGE}


# --- 3. transfers ---------------------------------------------------------------------------


def tx_hash_verdict(*, chain: str, tx_hash: str) -> dict | None:
    """Return whether ``tx_hash`` is a hash on ``chain`` and a message saying so; None for no input."""
    if not tx_hash.strip():
        return None
    try:
        normalise_caip2(chain)
    except ChainValueError:
        return {"ok": False, "message": _("Choose the chain first.")}
    error = tx_hash_error(chain=chain, tx_hash=tx_hash)
    if error:
        return {"ok": False, "message": error.messages[0]}
    return {"ok": True, "message": _("This is a well-formed transaction hash for %(chain)s. Lossproof looks "
                                     "it up on the chain after you submit.") % {"chain": chain_label(chain)}}


class AssetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Asset) -> str:
        return f"{obj.symbol} · {chain_label(obj.chain)}"


class TransferForm(StepForm):
    chain = forms.ChoiceField(label=_("Chain"), error_messages={
        "invalid_choice": _("Choose one of this incident's chains.")})
    tx_hash = forms.CharField(
        label=_("Transaction hash"), max_length=100,
        help_text=_("Copy it from your wallet or a block explorer. It is public: it proves nothing about "
                    "your keys."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "off", "class": "mono"}),
    )
    victim_address = FreeTextField(
        label=_("Your sending address (optional)"), required=False, max_length=100,
        help_text=_("The public address the funds left. Never a private key or recovery words."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "off", "class": "mono"}),
    )
    asset = AssetChoiceField(queryset=Asset.objects.none(), required=False, label=_("Asset (optional)"),
                             empty_label=_("Not sure"))
    amount = forms.DecimalField(
        label=_("Amount (optional)"), required=False, max_digits=40, decimal_places=18,
        widget=decimal_input(), help_text=_("In units of the asset, e.g. 1.5 for 1.5 ETH."),
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["chain"].choices = [(chain.caip2, chain_label(chain.caip2))
                                        for chain in incident.chains.all()]
        self.fields["asset"].queryset = incident.assets.all()
        self._as_you_type_check()

    def _as_you_type_check(self) -> None:
        """Let htmx ask tx_hash_check about the hash as it is typed, and again when the chain changes."""
        # POST, not GET: whatever was typed (a key pasted by mistake too) stays out of URLs and access logs.
        # htmx posts the whole form; hx-params keeps this row's two fields and the CSRF token.
        names = ("csrfmiddlewaretoken", self.add_prefix("chain"), self.add_prefix("tx_hash"))
        check = {"hx-post": reverse("incidents:tx-hash-check"), "hx-params": ",".join(names),
                 "hx-target": f"#{self['tx_hash'].auto_id}_check"}
        self.fields["tx_hash"].widget.attrs.update({**check, "hx-trigger": "input changed delay:400ms"})
        self.fields["chain"].widget.attrs.update({**check, "hx-trigger": "change"})

    def has_changed(self) -> bool:
        # The chain select always sends a value; a row is only filled in once more than that is.
        return any(name != "chain" for name in self.changed_data)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise ValidationError(_("Enter an amount greater than zero, or leave it empty."))
        return amount

    def clean(self):
        cleaned = super().clean()
        chain = cleaned.get("chain")
        if chain:
            self._clean_on_chain(chain, cleaned, "tx_hash", normalise_tx_hash)
            self._clean_on_chain(chain, cleaned, "victim_address", normalise_address)
            asset = cleaned.get("asset")
            if asset and asset.chain != chain:
                self.add_error("asset", _("This asset is not on the chain you chose."))
        return cleaned

    def _clean_on_chain(self, chain: str, cleaned: dict, name: str, normalise) -> None:
        """Check a tx hash or an address for ``chain`` and keep its canonical form."""
        value = cleaned.get(name)
        if not value:
            return
        kind = "tx_hash" if name == "tx_hash" else "address"
        error = chain_value_error(field=kind, chain=chain, value=value)
        if error:
            self.add_error(name, error)
        else:
            cleaned[name] = normalise(chain, value)


class BaseTransferFormSet(forms.BaseFormSet):
    def __init__(self, *args, incident: Incident, extra: int = 0, **kwargs):
        self.incident, self.extra = incident, extra
        super().__init__(*args, prefix=TRANSFERS_PREFIX, form_kwargs={"incident": incident}, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this transfer")

    def kept_forms(self) -> list[TransferForm]:
        """Return the filled-in rows the reporter did not remove (call after is_valid)."""
        return [form for form in self.forms
                if form.cleaned_data.get("tx_hash") and not form.cleaned_data.get("DELETE")]

    def clean(self):
        seen = set()
        for form in self.forms:
            key = (form.cleaned_data.get("chain"), form.cleaned_data.get("tx_hash"))
            if form.errors or not key[1] or form.cleaned_data.get("DELETE"):
                continue
            if key in seen:
                form.add_error("tx_hash", _("This transaction is already in this report."))
            seen.add(key)

    def answers(self) -> list[dict]:
        return [form.answers() for form in self.kept_forms()]

    def to_draft(self) -> dict:
        rows = [form.to_draft() for form in self.kept_forms()]
        return {"rows": [{key: value for key, value in row.items() if key != "DELETE"} for row in rows]}


TransferFormSet = forms.formset_factory(
    TransferForm, formset=BaseTransferFormSet, extra=0, can_delete=True, can_delete_extra=False,
    max_num=50, validate_max=True,
)


def transfers_data(rows: list[dict]) -> dict:
    """Return form data that binds stored transfer rows back to a TransferFormSet."""
    data = {f"{TRANSFERS_PREFIX}-TOTAL_FORMS": str(len(rows)),
            f"{TRANSFERS_PREFIX}-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        data.update({f"{TRANSFERS_PREFIX}-{index}-{key}": value for key, value in row.items()})
    return data


# --- 4. evidence ----------------------------------------------------------------------------


class EvidenceUploadForm(StepForm):
    kind = forms.ChoiceField(
        label=_("What is this file?"), choices=EvidenceKind.choices,
        help_text=_("Support email: the .eml file saved from your mail program. Trade history: the "
                    "CSV or XLSX export. Police report: PDF or picture. Screenshot: PNG or JPEG."),
    )
    file = forms.FileField(label=_("File"), widget=forms.FileInput(
        attrs={"accept": ".eml,.csv,.xlsx,.pdf,.png,.jpg,.jpeg"}))  # a hint for pickers; content decides

    @classmethod
    def refused(cls, message: str) -> "EvidenceUploadForm":
        """Return a blank form showing ``message`` by its file field, for an upload left unread."""
        form = cls(data={}, files={}, empty_permitted=True, use_required_attribute=False)
        form.full_clean()
        form.add_error("file", message)
        return form


# --- 5. consent -----------------------------------------------------------------------------


YES_NO = (("yes", _("Yes")), ("no", _("No")))


class ConsentStepForm(StepForm):
    consent_publish = forms.ChoiceField(
        label=_("How may your report appear in the public register?"), choices=Consent.choices,
        initial=Consent.PSEUDONYMOUS, widget=forms.RadioSelect,
        help_text=_("Pseudonymous: a code stands for you; nobody sees your name or email."),
    )
    reporter_name = FreeTextField(label=_("Your name, as it may be published"), required=False,
                                  max_length=200, help_text=_("Only if you chose to publish with your name."))
    consent_law_enforcement = forms.ChoiceField(
        label=_("May Lossproof share your report with law enforcement investigating this incident?"),
        choices=YES_NO, widget=forms.RadioSelect,
    )
    truthful = forms.BooleanField(label=_("What I wrote is true to the best of my knowledge."),
                                  error_messages={"required": _("Confirm this to go on.")})

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("consent_publish") != Consent.NAMED:
            cleaned["reporter_name"] = ""
        elif not cleaned.get("reporter_name") and "reporter_name" not in self.errors:
            self.add_error("reporter_name", _("Enter the name to publish, or choose to publish "
                                              "pseudonymously."))
        return cleaned


# --- building a step's form -----------------------------------------------------------------

FORMS = {"incident": IncidentStepForm, "account": AccountStepForm, "consent": ConsentStepForm}


def step_form(*, step: str, incident: Incident | None, data=None, initial=None, extra: int = 0):
    """Return the form (or the transfers formset) of a step, bound to ``data`` when given."""
    if step == "transfers":
        rows = (initial or {}).get("rows", [])
        return TransferFormSet(data, initial=rows, incident=incident, extra=extra if rows else 1)
    return FORMS[step](data, initial=initial, incident=incident)


def step_form_stored(*, step: str, incident: Incident | None, stored: dict):
    """Return a step's form bound to the answers a draft stored for it, to check them again."""
    data = transfers_data(stored.get("rows", [])) if step == "transfers" else stored
    return step_form(step=step, incident=incident, data=data)


def error_summary(form) -> list[tuple[str, str]]:
    """Return (field id, message) for every error of a form or formset, in page order."""
    if isinstance(form, forms.BaseFormSet):
        items = [("", str(error)) for error in form.non_form_errors()]
        for number, row in enumerate(form.forms, start=1):
            prefix = _("Transfer %(number)s") % {"number": number}
            items += [(anchor, f"{prefix}, {message}") for anchor, message in error_summary(row)]
        return items
    items = [("", str(error)) for error in form.non_field_errors()]
    for field in form:
        items += [(field.id_for_label, f"{field.label}: {error}") for error in field.errors]
    return items
