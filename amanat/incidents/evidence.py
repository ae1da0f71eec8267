"""Checking an evidence file by its content: allowed type, size limit, a name that does not disguise it.

The type is detected from the file's bytes (the `filetype` library reads the magic numbers), never from
its name or the content type the client sent. Only types a browser cannot run are allowed: photos, PDF,
video and audio; never SVG, HTML, scripts, archives or executables (they have no signature `filetype`
accepts here, or one outside the allowed set). A name whose extension claims another type than the
content (an EXE or a PDF named photo.jpg) is refused as disguised. The whole file is read in chunks to
measure it and record its SHA-256, then rewound so the caller can store it.
"""

import hashlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext as _

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# How much of the start of a file the type detection looks at (filetype reads at most 8 KiB).
SIGNATURE_BYTES = 8192


@dataclass(frozen=True)
class _Allowed:
    extension: str  # the extension the stored file gets
    names: frozenset[str]  # extensions a client's file name may honestly carry for this content


_MP4_FAMILY = frozenset({"mp4", "m4v", "m4a"})

# Detected content type -> what is allowed for it.
ALLOWED_TYPES: dict[str, _Allowed] = {
    "image/jpeg": _Allowed("jpg", frozenset({"jpg", "jpeg", "jpe", "jfif"})),
    "image/png": _Allowed("png", frozenset({"png"})),
    "image/webp": _Allowed("webp", frozenset({"webp"})),
    "image/heic": _Allowed("heic", frozenset({"heic", "heif"})),
    "application/pdf": _Allowed("pdf", frozenset({"pdf"})),
    "video/mp4": _Allowed("mp4", _MP4_FAMILY),
    "video/quicktime": _Allowed("mov", frozenset({"mov", "qt"})),
    "audio/mpeg": _Allowed("mp3", frozenset({"mp3"})),
    "audio/mp4": _Allowed("m4a", _MP4_FAMILY),
    "audio/ogg": _Allowed("ogg", frozenset({"ogg", "oga", "opus"})),
}


@dataclass(frozen=True)
class CheckedEvidence:
    content_type: str  # detected from the bytes, e.g. "image/jpeg"
    extension: str  # the safe extension for the detected type, e.g. "jpg"
    sha256: str  # hex digest of the whole content
    size: int


def _fail(message: str) -> ValidationError:
    return ValidationError({"evidence": [message]})


def _display_name(name: str) -> str:
    """The file's own name without any directory a client may have sent, shortened for messages."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:100] or _("(unnamed file)")


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(".")
    if "." not in base.lstrip("."):
        return ""
    return base.rsplit(".", 1)[-1].lower()


def max_bytes() -> int:
    return int(getattr(settings, "INCIDENT_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def evidence_check(upload: File, *, name: str) -> CheckedEvidence:
    """Check one evidence file; raise ValidationError({"evidence": [...]}) naming the file if refused."""
    shown = _display_name(name)
    limit = max_bytes()
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    try:
        for chunk in upload.chunks():
            size += len(chunk)
            if size > limit:
                raise _fail(
                    _("“%(name)s” is too large: at most %(mb)s MB per file.")
                    % {"name": shown, "mb": _megabytes(limit)}
                )
            digest.update(chunk)
            if len(head) < SIGNATURE_BYTES:
                head.extend(chunk[: SIGNATURE_BYTES - len(head)])
    finally:
        upload.seek(0)
    if size == 0:
        raise _fail(_("“%(name)s” is empty.") % {"name": shown})
    kind = filetype.guess(bytes(head))
    allowed = ALLOWED_TYPES.get(kind.mime) if kind is not None else None
    if kind is None or allowed is None:
        raise _fail(
            _(
                "“%(name)s” is not an allowed kind of file. Send photos (JPEG, PNG, WebP, HEIC), PDF, "
                "video (MP4, MOV) or audio (MP3, M4A, OGG)."
            )
            % {"name": shown}
        )
    claimed = _extension(name)
    if claimed and claimed not in allowed.names:
        raise _fail(
            _("“%(name)s” is named as a .%(claimed)s file but its content is %(type)s: it was refused.")
            % {"name": shown, "claimed": claimed, "type": kind.mime}
        )
    return CheckedEvidence(
        content_type=kind.mime, extension=allowed.extension, sha256=digest.hexdigest(), size=size
    )


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return f"{value:g}" if value >= 1 else f"{value:.2f}"
