"""Where files live: private local folders (the default) or one S3-compatible bucket.

Evidence, draft uploads and release files go through Django's storage API only, so the web
process and the workers need no shared disk once FILE_STORAGE=s3 (see docs/scaling.md).
Previews are re-encoded on each request and never stored.
"""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

LOCAL, S3 = "local", "s3"
ENCRYPTIONS = ("", "AES256", "aws:kms")
S3_BACKEND = "storages.backends.s3.S3Storage"


class ReleaseFolderStorage(FileSystemStorage):
    """The local release folder, read from settings.RELEASES_ROOT each time it is used."""

    @property
    def base_location(self):
        return self._value_or_setting(self._location, settings.RELEASES_ROOT)

    @property
    def location(self):
        return str(Path(self.base_location).resolve())


def s3_options(*, bucket: str, endpoint: str, region: str, access_key: str, secret_key: str,
               prefix: str, encryption: str, kms_key_id: str, addressing: str, timeout: float) -> dict:
    """Return the S3Storage options shared by every kind of file (each adds its own ``location``)."""
    from botocore.config import Config  # only loaded when the bucket is in use

    if encryption not in ENCRYPTIONS:
        raise ImproperlyConfigured(f"S3_ENCRYPTION={encryption!r} is not one of: empty, AES256, aws:kms.")
    if encryption != "aws:kms" and kms_key_id:
        raise ImproperlyConfigured("S3_KMS_KEY_ID is only read with S3_ENCRYPTION=aws:kms.")
    return {
        "bucket_name": bucket, "endpoint_url": endpoint or None, "region_name": region or None,
        # Empty keys leave boto3 to its own chain (instance role, AWS_* variables, profile).
        "access_key": access_key or None, "secret_key": secret_key or None,
        "default_acl": "private", "querystring_auth": True, "custom_domain": None,
        # Names are generated (report id and sha256); never replace a file that exists.
        "file_overwrite": False, "object_parameters": _encryption(encryption, kms_key_id),
        "addressing_style": addressing or None, "signature_version": "s3v4",
        "client_config": Config(connect_timeout=timeout, read_timeout=max(timeout, 30.0),
                                retries={"max_attempts": 3, "mode": "standard"}),
        "location": prefix.strip("/"),
    }


def _encryption(kind: str, kms_key_id: str) -> dict:
    if not kind:
        return {}
    params = {"ServerSideEncryption": kind}
    if kms_key_id:
        params["SSEKMSKeyId"] = kms_key_id
    return params


def storages_setting(*, backend: str, evidence_root: Path, s3: dict | bool) -> dict:
    """Return settings.STORAGES for FILE_STORAGE=local or s3: evidence (with drafts) and releases."""
    if backend == LOCAL:
        evidence = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": evidence_root, "base_url": None,
                                "file_permissions_mode": 0o600, "directory_permissions_mode": 0o700}}
        releases = {"BACKEND": "config.storage.ReleaseFolderStorage",
                    "OPTIONS": {"base_url": None, "file_permissions_mode": 0o644,
                                "directory_permissions_mode": 0o755}}
    elif backend == S3:
        evidence = {"BACKEND": S3_BACKEND, "OPTIONS": _under(s3, "evidence")}
        releases = {"BACKEND": S3_BACKEND, "OPTIONS": _under(s3, "releases")}
    else:
        raise ImproperlyConfigured(f"FILE_STORAGE={backend!r} must be 'local' or 's3'.")
    return {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "evidence": evidence, "releases": releases,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def _under(options: dict, folder: str) -> dict:
    prefix = options["location"]
    return {**options, "location": f"{prefix}/{folder}" if prefix else folder}
