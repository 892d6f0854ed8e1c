"""The Spanish catalogue is compiled, complete and served to those who ask for Spanish."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_a_browser_asking_for_spanish_gets_the_pages_in_spanish():
    response = Client(headers={"Accept-Language": "es-ES,es;q=0.9"}).get("/")

    assert response["Content-Language"] == "es"
    assert 'lang="es"' in response.content.decode()
    assert "Lossproof nunca" in response.content.decode()


def test_the_language_switch_changes_the_language_for_the_next_pages():
    client = Client()

    client.post("/i18n/setlang/", {"language": "es", "next": "/"})

    assert client.get("/")["Content-Language"] == "es"


def test_placeholders_survive_translation():
    with translation.override("es"):
        text = translation.ngettext("%(count)s digit", "%(count)s digits", 8) % {"count": 8}

    assert text == "8 dígitos"


def test_every_listed_language_has_a_compiled_catalogue():
    for code, _name in settings.LANGUAGES:
        if code != "en":
            assert (settings.BASE_DIR / "locale" / code / "LC_MESSAGES" / "django.mo").is_file()


def test_a_refusal_built_from_several_pieces_is_spanish_throughout():
    from incidents.services import EvidenceFileError, evidence_check_upload

    with translation.override("es"), pytest.raises(EvidenceFileError) as refused:
        evidence_check_upload(kind="screenshot", data=b"%PDF-1.4 not an image", existing_count=0,
                              existing_bytes=0)

    assert "Captura de pantalla" in str(refused.value) and "una imagen JPEG" in str(refused.value)
