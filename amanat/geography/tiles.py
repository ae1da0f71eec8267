"""A tile map of provinces: each province a square placed roughly where it lies (no shapes needed).

Iran's provinces have positions (data/iran_tiles.json, by official code); any other country's
provinces, or ones without a position, go in a grid in name order below them.
"""

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@cache
def iran_tiles() -> dict[str, tuple[int, int]]:
    """Tile positions of Iran's provinces by official code (row 0 north, column 0 west)."""
    text = (resources.files("amanat.geography") / "data" / "iran_tiles.json").read_text(encoding="utf-8")
    return {code: (int(rc[0]), int(rc[1])) for code, rc in json.loads(text)["provinces"].items()}


@dataclass
class Tile(Generic[T]):
    """One province's square on the map, carrying what the page shows of it (`tally`)."""

    tally: T
    row: int
    col: int


def tile_layout(
    items: list[T], province_of: Any = lambda item: item.province
) -> tuple[list[Tile[T]], int, int]:
    """Place each item's province: Iran's by position, others in name order below; (tiles, rows, columns)."""
    positions = iran_tiles()
    tiles = [
        Tile(item, *positions[province_of(item).code])
        for item in items
        if province_of(item).code in positions
    ]
    rest = sorted(
        (item for item in items if province_of(item).code not in positions), key=lambda i: province_of(i).name
    )
    columns = max((tile.col for tile in tiles), default=-1) + 1
    first_row = max((tile.row for tile in tiles), default=-1) + 1
    if not columns:
        columns = max(1, math.ceil(math.sqrt(len(rest))))
    for index, item in enumerate(rest):
        tiles.append(Tile(item, first_row + index // columns, index % columns))
    rows = max((tile.row for tile in tiles), default=-1) + 1
    return tiles, rows, columns
