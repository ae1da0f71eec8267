"""Pages never load anything from the internet: every script, style, font and image is served locally."""

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import client_for

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"""url\(\s*["']?(?:https?:)?//""", re.IGNORECASE)
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "path",
    ["/", "/geo/", "/geo/stations/", "/elections/", "/accounts/profile/", "/api/v1/docs", "/incidents/"],
)
def test_pages_reference_only_local_files(county_user: Any, path: str) -> None:
    response = client_for(county_user).get(path)
    assert response.status_code == 200
    assert not EXTERNAL.findall(response.content.decode()), f"{path} loads something from another host"


def test_login_page_references_only_local_files(db: Any) -> None:
    from django.test import Client

    body = Client().get("/accounts/login/").content.decode()
    assert not EXTERNAL.findall(body)


def test_public_report_page_references_only_local_files(db: Any) -> None:
    from django.test import Client

    response = Client().get("/incidents/report/")
    assert response.status_code == 200
    assert not EXTERNAL.findall(response.content.decode())


def test_stylesheets_reference_only_local_files() -> None:
    sheets = list((ROOT / "amanat").rglob("static/**/*.css"))
    assert sheets, "no stylesheets found"
    for sheet in sheets:
        assert not CSS_EXTERNAL.findall(sheet.read_text(encoding="utf-8", errors="replace")), sheet
