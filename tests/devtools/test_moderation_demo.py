"""The moderation demo: two moderators with second factors, and a queue with a large and a contested case."""

import pytest
from allauth.mfa.models import Authenticator

from accounts.models import Role, User
from devtools.demo import SLUG, demo_seed
from devtools.moderation_demo import MODERATORS, moderation_demo_seed
from incidents.models import Claim, Report

pytestmark = pytest.mark.django_db


def test_it_seeds_two_moderators_with_totp_and_a_queue_worth_working(anvil, tmp_path):
    demo_seed(node=anvil, out_dir=tmp_path)

    admin, *moderators = moderation_demo_seed(node=anvil)

    assert [m.email for m in moderators] == list(MODERATORS)
    for sign_in in moderators:
        user = User.objects.get(email=sign_in.email)
        assert user.role == Role.MODERATOR and not user.is_superuser and user.check_password(sign_in.password)
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).count() == 1
    assert len({m.totp_secret for m in [admin, *moderators]}) == 3
    assert User.objects.get(username="admin").role == Role.REPORTER
    reports = Report.objects.filter(incident__slug=SLUG)
    assert reports.filter(claimed_loss_usd__gt=10_000).exists()
    shared = Claim.objects.filter(report__in=reports).values("tx_hash").order_by()
    assert any(shared.filter(tx_hash=c["tx_hash"]).count() == 2 for c in shared)
    for claim in Claim.objects.filter(report__in=reports, amount__gte=1):
        assert claim.tx_hash == "0x" + "ab" * 32 or anvil.rpc.call("eth_getTransactionReceipt", claim.tx_hash)
