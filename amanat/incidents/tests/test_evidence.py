"""Evidence files are checked by their bytes: allowed type, size limit, empty files, disguised names."""

import base64
import hashlib
import io
import struct
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import translation

from amanat.incidents.evidence import evidence_check

# Real, tiny files (1x1 pixel images made with Pillow; a one-page PDF; container headers).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAx"
    "NDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy"
    "MjIyMjIyMjL/wAARCAABAAEDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
    "4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC"
    "AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm"
    "Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq"
    "8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDkKKKK8U/TD//Z"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGM4IScHAAK2AQU0pnWqAAAAAElFTkSuQmCC"
)
WEBP = base64.b64decode(
    "UklGRjoAAABXRUJQVlA4IC4AAACwAQCdASoBAAEAAUAmJaACdLoABDAAAP7x3I/4DdfFtMv/vYL/3YL/3YL/WwAA"
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n165\n%%EOF\n"
)
MP4 = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2" + b"\x00" * 40
M4A = struct.pack(">I", 24) + b"ftypM4A " + struct.pack(">I", 0) + b"M4A isom" + b"\x00" * 40
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 60
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ZIP = b"PK\x03\x04" + b"\x00" * 60


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _messages(error: ValidationError) -> list[str]:
    return [str(m) for m in error.message_dict["evidence"]]


@pytest.mark.parametrize(
    ("content", "name", "content_type", "extension"),
    [
        (JPEG, "photo.jpg", "image/jpeg", "jpg"),
        (JPEG, "IMG_0001.JPEG", "image/jpeg", "jpg"),
        (PNG, "screen.png", "image/png", "png"),
        (WEBP, "pic.webp", "image/webp", "webp"),
        (PDF, "minutes.pdf", "application/pdf", "pdf"),
        (MP4, "clip.mp4", "video/mp4", "mp4"),
        (M4A, "voice.m4a", "audio/mp4", "m4a"),
        (MP3, "voice.mp3", "audio/mpeg", "mp3"),
        (PNG, "no-extension", "image/png", "png"),
        (JPEG, "C:\\Users\\me\\Pictures\\عکس شعبه.jpg", "image/jpeg", "jpg"),
    ],
)
def test_allowed_files_are_accepted_with_type_from_content(
    content: bytes, name: str, content_type: str, extension: str
) -> None:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    checked = evidence_check(upload, name=name)
    assert checked.content_type == content_type
    assert checked.extension == extension
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_the_file_is_rewound_and_read_whole_in_chunks() -> None:
    content = PNG + b"\x00" * 200_000  # several 64 KiB chunks
    upload = SimpleUploadedFile("big.png", content)
    upload.read(10)
    checked = evidence_check(upload, name="big.png")
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()
    assert upload.tell() == 0
    assert upload.read() == content


def test_a_plain_django_file_works_too() -> None:
    checked = evidence_check(File(io.BytesIO(PDF), name="x.pdf"), name="x.pdf")
    assert checked.content_type == "application/pdf"


def test_client_content_type_is_ignored() -> None:
    """An HTML page sent with the client saying image/png is still HTML."""
    upload = SimpleUploadedFile("page.png", HTML, content_type="image/png")
    with pytest.raises(ValidationError) as caught:
        evidence_check(upload, name="page.png")
    assert "“page.png” is not an allowed kind of file" in _messages(caught.value)[0]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (HTML, "page.html"),
        (SVG, "drawing.svg"),
        (EXE, "setup.exe"),
        (ZIP, "files.zip"),
        (b"just some text", "notes.txt"),
    ],
)
def test_types_outside_the_allowed_set_are_refused(content: bytes, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        evidence_check(SimpleUploadedFile(name, content), name=name)
    assert f"“{name}” is not an allowed kind of file" in _messages(caught.value)[0]


@pytest.mark.parametrize(
    ("content", "name", "detected"),
    [
        (PDF, "photo.jpg", "application/pdf"),
        (PNG, "scan.pdf", "image/png"),
        (JPEG, "photo.jpg.exe", "image/jpeg"),
        (MP4, "clip.png", "video/mp4"),
    ],
)
def test_a_name_claiming_another_type_is_refused_as_disguised(
    content: bytes, name: str, detected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        evidence_check(SimpleUploadedFile(name, content), name=name)
    message = _messages(caught.value)[0]
    assert f"“{name}”" in message
    assert detected in message


def test_an_executable_named_jpg_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        evidence_check(SimpleUploadedFile("photo.jpg", EXE, content_type="image/jpeg"), name="photo.jpg")
    assert "“photo.jpg” is not an allowed kind of file" in _messages(caught.value)[0]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        evidence_check(SimpleUploadedFile("empty.jpg", b""), name="empty.jpg")
    assert _messages(caught.value) == ["“empty.jpg” is empty."]


@override_settings(INCIDENT_EVIDENCE_MAX_BYTES=1024)
def test_a_file_over_the_limit_is_refused() -> None:
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 2000)
    with pytest.raises(ValidationError) as caught:
        evidence_check(upload, name="big.png")
    assert "“big.png” is too large" in _messages(caught.value)[0]
    assert upload.tell() == 0
    # Exactly at the limit is fine.
    at_limit = PNG + b"\x00" * (1024 - len(PNG))
    assert evidence_check(SimpleUploadedFile("ok.png", at_limit), name="ok.png").size == 1024


def test_messages_are_translated() -> None:
    with translation.override("fa"), pytest.raises(ValidationError) as caught:
        evidence_check(SimpleUploadedFile("empty.jpg", b""), name="empty.jpg")
    assert "empty.jpg" in _messages(caught.value)[0]
