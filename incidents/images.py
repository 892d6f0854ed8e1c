"""Decode evidence images safely and make the metadata-free copies people look at."""

import io
import warnings

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from incidents.uploads import EvidenceFileError

FORMATS = ("PNG", "JPEG")
IMAGE_TYPES = ("image/png", "image/jpeg")
PREVIEW_MAX_SIDE = 2560  # pixels


def image_decode(data: bytes) -> Image.Image:
    """Decode a PNG or JPEG fully, refusing bombs and anything Pillow cannot read."""
    image = _image_run(Image.open, io.BytesIO(data), formats=FORMATS)
    # The header is read before any pixel: refusing here costs no memory.
    width, height = image.size
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise _bomb_error()
    _image_run(image.load)
    return image


def _image_run(action, *args, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return action(*args, **kwargs)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise EvidenceFileError(_("This image cannot be read: it is damaged or not really a PNG or "
                                  "JPEG picture. Save it again as PNG or JPEG and retry.")) from exc


def _bomb_error() -> EvidenceFileError:
    return EvidenceFileError(_("This image declares more than %(limit)s pixels, which is far larger "
                               "than any screenshot or scan. Send a smaller copy.")
                             % {"limit": f"{settings.IMAGE_MAX_PIXELS:,}"})


def image_preview(data: bytes) -> bytes:
    """Return a PNG copy of the image, upright, at most PREVIEW_MAX_SIDE wide and high, without metadata."""
    image = ImageOps.exif_transpose(image_decode(data))
    # Enough to read a phone screenshot or a scanned page; the original stays downloadable, and a
    # 40-megapixel PNG is not encoded again at full size in the upload's request.
    image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    # A new image from raw pixels carries no info dict, so nothing of the original's metadata
    # can be written out again by the encoder.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG")
    return out.getvalue()
