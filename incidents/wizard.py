"""The report form in steps (placeholder until issue 6's wizard lands)."""

from django.http import Http404


def _todo(request, **kwargs):
    raise Http404


draft_start = draft_step = draft_discard = draft_upload_remove = tx_hash_check = _todo
