"""The demo seed stores an incident and reports whose transfers really exist on the chain."""

import pytest

from devtools.demo import SLUG, demo_seed
from incidents.models import Incident, Report
from verification.models import Price

pytestmark = pytest.mark.django_db


def test_it_seeds_an_incident_with_reports_citing_real_transfers(anvil, tmp_path):
    accounts = demo_seed(node=anvil, out_dir=tmp_path)

    incident = Incident.objects.get(slug=SLUG)
    assert incident.published
    assert incident.attacker_addresses.count() == 2
    assert incident.safelisted_addresses.count() == 1
    assert incident.assets.filter(contract__isnull=False).count() == 1
    assert Price.objects.filter(symbol="ETH").exists()
    reports = Report.objects.filter(incident=incident)
    assert reports.count() == 5
    hashes = {c.tx_hash for r in reports for c in r.claims.all()}
    found = [h for h in hashes if anvil.rpc.call("eth_getTransactionReceipt", h)]
    assert len(found) == 3  # the fourth cited hash is deliberately made up
    assert accounts.admin_password and accounts.reporter_password


def test_seeding_twice_replaces_the_demo_reports(anvil, tmp_path):
    demo_seed(node=anvil, out_dir=tmp_path)
    demo_seed(node=anvil, out_dir=tmp_path)

    assert Report.objects.filter(incident__slug=SLUG).count() == 5
