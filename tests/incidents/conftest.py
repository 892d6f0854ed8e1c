import pytest


@pytest.fixture
def draft_storage(private_evidence_storage):
    """The storage draft files go to: the same as evidence (tests/conftest.py points both here)."""
    return private_evidence_storage
