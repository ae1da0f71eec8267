"""Printable Persian (RTL) PDFs from templates, with the app's own fonts and nothing from the network."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import weasyprint
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint.urls import URLFetcher

FONT_FILES = {
    "regular": "vendor/vazirmatn/Vazirmatn-Regular.woff2",
    "bold": "vendor/vazirmatn/Vazirmatn-Bold.woff2",
}


class LocalFilesOnly(URLFetcher):  # type: ignore[misc]
    """Lets WeasyPrint read files inside one directory (the fonts) and nothing else: no network."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"only local files may be loaded into the PDF: {url[:200]}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"only the PDF's own fonts may be loaded: {url[:200]}")
        return super().fetch(url, headers)


def font_path(name: str) -> Path:
    # The app-directories finder reads the app's static folder, so no collectstatic is needed.
    found = finders.find(FONT_FILES[name])
    if not found:
        raise ImproperlyConfigured(f"The PDF font {FONT_FILES[name]} is missing from the static files.")
    return Path(found if isinstance(found, str) else found[0]).resolve()


def render_pdf(template: str, context: dict[str, Any] | Any) -> bytes:
    """Render `template` in Persian and print it; the template gets `fonts.regular` and `fonts.bold`.

    `context` may be a callable returning the context, so that it too is built in Persian.
    """
    regular, bold = font_path("regular"), font_path("bold")
    # An official Persian document: Persian whatever language the reader's request asked for.
    with translation.override("fa"):
        values = dict(context() if callable(context) else context)
        values["fonts"] = {"regular": regular.as_uri(), "bold": bold.as_uri()}
        html = render_to_string(template, values)
    fetcher = LocalFilesOnly(regular.parent)
    document = weasyprint.HTML(string=html, base_url=regular.parent.as_uri() + "/", url_fetcher=fetcher)
    pdf: bytes = document.write_pdf()
    return pdf
