"""Decoding one question image given as bytes (an upload, or a file read by `kvqae ask`), with limits.

Checks, in order, each failure one InputError naming the image: empty data; more than `max_bytes`
(TooLargeError); not an image PIL can identify (UnsupportedInputError; data that starts with a PNG, JPEG, GIF,
... signature is a truncated or corrupt image of that format, an InputError); more than `max_pixels` from the
header alone, before any pixel is decoded (TooLargeError: decompression bombs never reach the decoder);
truncated or corrupt data found while decoding. Only the raster formats in FORMATS are opened (PIL would
hand an EPS upload to Ghostscript, an external interpreter, and said "truncated or corrupt" without it).
The photo is turned upright by its EXIF orientation (a phone photo was read on its side) and 16-bit
greyscale keeps its tones (`kvqae.encode.loader.rgb_image`).
"""

from __future__ import annotations

import io
import re
import warnings
from typing import TYPE_CHECKING

from kvqae.errors import InputError, TooLargeError, UnsupportedInputError

if TYPE_CHECKING:
    from PIL import Image

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# raster formats a question photo may have (MPO, a phone's multi-picture JPEG, opens as JPEG)
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF", "ICO", "PPM", "TGA", "JPEG2000")
# signatures long enough to be sure of the format: data that starts with one and still cannot be opened is a
# cut or damaged image of that format, not "not an image" (WebP and AVIF are told apart in `signature_format`)
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
)


def signature_format(data: bytes) -> str | None:
    """The image format whose signature `data` starts with (PNG, JPEG, ...), None when none matches."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:11] == b"ftypavi":  # ftypavif, ftypavis
        return "AVIF"
    return next((name for magic, name in SIGNATURES if data.startswith(magic)), None)


# PIL warns on stderr about a corrupt EXIF block; the image still decodes, and only its orientation (and dpi)
# is lost, so the warning is noise in a server log or beside a CLI's one-line answer
CORRUPT_EXIF = "Corrupt EXIF data"


def decode_image(
    data: bytes,
    *,
    name: str = "image",
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Bytes -> a fully decoded RGB PIL image; `name` (file name or "image") goes into every error."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from kvqae.encode.loader import declared_bits_of, rgb_image, tiff_layout, unsupported_tiff

    if not data:
        raise InputError("the image is empty (0 bytes)", path=name, field="image")
    if len(data) > max_bytes:
        raise TooLargeError(
            f"the image is {len(data) / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB allowed",
            path=name,
            field="image",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", CORRUPT_EXIF, UserWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        known = signature_format(data)
        layout = tiff_layout(io.BytesIO(data)) if known == "TIFF" else None
        if isinstance(e, UnidentifiedImageError) and layout is not None:  # sound tags, pixels PIL can't read
            raise UnsupportedInputError(unsupported_tiff(layout), path=name, field="image") from None
        if isinstance(e, UnidentifiedImageError) and known is not None:
            raise InputError(f"truncated or corrupt {known} image (its header cannot be read)", path=name,
                             field="image") from None
        if isinstance(e, UnidentifiedImageError):
            raise UnsupportedInputError(
                "not an image (JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF, ICO, PPM, TGA or JPEG 2000 expected)",
                path=name,
                field="image",
            ) from None
        if (pixels := re.search(r"\((\d+) pixels\)", str(e))) is not None:  # PIL's bomb check, ~179 MP
            raise TooLargeError(f"the image is {int(pixels.group(1)) / 1e6:.1f} megapixels, more than the "
                                f"{max_pixels / 1e6:g} allowed", path=name, field="image") from None
        raise TooLargeError(f"the image is too large to decode ({e})", path=name, field="image") from None
    except (OSError, SyntaxError, ValueError) as e:
        known = signature_format(data)
        if re.search(r"text chunk|decompressed data too large|MAX_TEXT", str(e), re.IGNORECASE):
            # PIL refuses PNG metadata (tEXt / zTXt / iTXt, an ICC profile) past its safety limits: the
            # pixels may be fine, so "corrupt" misled
            raise TooLargeError(f"the image's metadata is over the size PIL reads ({e}); save it without "
                                "metadata (text chunks, ICC profile)", path=name, field="image") from None
        if known is not None:
            raise InputError(f"truncated or corrupt {known} image ({e})", path=name, field="image") from None
        raise UnsupportedInputError(f"unreadable image ({e})", path=name, field="image") from None
    width, height = im.size
    if width * height > max_pixels:
        raise TooLargeError(
            f"the image is {width}x{height} = {width * height / 1e6:.1f} megapixels, more than the "
            f"{max_pixels / 1e6:g} allowed",
            path=name,
            field="image",
        )
    if width < 1 or height < 1:
        raise InputError(f"the image has no pixels ({width}x{height})", path=name, field="image")
    bits = declared_bits_of(im)  # before the turn upright, whose copy drops the TIFF tags
    try:
        im.load()  # decode now: truncated and corrupt files fail here
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", CORRUPT_EXIF, UserWarning)
            im = ImageOps.exif_transpose(im)  # upright, as a browser shows it (no-op without an orientation)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"truncated or corrupt image ({e})", path=name, field="image") from None
    return rgb_image(im, path=name, field="image", declared_bits=bits)
