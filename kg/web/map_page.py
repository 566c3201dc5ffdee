"""The map page's picture: regions placed by their coordinates, zoomed and centred as the request asks, and
labels placed so that none covers another label or a region's dot.

Zoom and centre are plain query parameters (``zoom`` 1 to 16, ``lat`` and ``long``), so the map is moved
with links and the keyboard, without scripts. Labels are placed greedily, the larger regions first: each
tries eight spots around its dot and takes the first that overlaps nothing already drawn; a label with no
free spot is left out (its dot keeps its name as a tooltip, and zooming in makes room). Labels of county
level places appear once zoomed in. Province outlines (``kg.web.outlines``) lie under the dots, projected as the
dots are; a province with no dot of its own in view is named faintly, only where its name covers nothing.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

from kg.errors import BadRequest
from kg.web.outlines import credit, outline_paths
from kg.web.projection import fit

WIDTH, HEIGHT, MARGIN = 720, 760, 40
ZOOMS = (1, 2, 4, 8, 16)
_FONT, _GAP = 13.0, 3.0
_LEVEL_ORDER = {"province": 0, "municipality": 0, "prefecture-city": 1}
#: Spots around a dot, in the order tried: (dx, dy) of the text's anchor from the dot, and its anchor.
_SPOTS = (("start", 1, 0), ("end", -1, 0), ("middle", 0, -1), ("middle", 0, 1),
          ("start", 1, -1), ("start", 1, 1), ("end", -1, -1), ("end", -1, 1))  # fmt: skip


def text_width(text: str) -> float:
    """About how wide ``text`` is at the map's font size: wide characters (Chinese) count double."""
    # generous: the browser's sans-serif may be wider than average (DejaVu Sans is about 0.62 em)
    return sum(_FONT * (1.05 if unicodedata.east_asian_width(c) in "WF" else 0.68) for c in text)


def radius(level: str) -> float:
    return 7.0 if level in ("province", "municipality") else 4.0


def view(args) -> tuple[int, float | None, float | None]:
    """The zoom and centre a request asks for; BadRequest for values out of range."""
    try:
        zoom = int(args.get("zoom", "1"))
        lat = float(args["lat"]) if "lat" in args else None
        long = float(args["long"]) if "long" in args else None
    except ValueError:
        raise BadRequest("zoom is a whole number, lat and long are numbers of degrees") from None
    if zoom not in ZOOMS:
        raise BadRequest(f"zoom is one of {', '.join(map(str, ZOOMS))}")
    if (lat is not None and not -90 <= lat <= 90) or (long is not None and not -180 <= long <= 180):
        raise BadRequest("lat is from -90 to 90 and long from -180 to 180")
    return zoom, lat, long


def _box(x: float, y: float, anchor: str, width: float) -> tuple[float, float, float, float]:
    left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
    return left, y - _FONT - 1, left + width, y + 4


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Taken:
    """Boxes already drawn, in a grid of cells, so that a label is checked against its neighbours only
    (a map of thousands of regions took seconds with every box checked against every other)."""

    CELL = 48.0

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _cells(self, box) -> list[tuple[int, int]]:
        x0, y0, x1, y1 = (int(v // self.CELL) for v in box)
        return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]

    def add(self, box) -> None:
        for cell in self._cells(box):
            self.cells.setdefault(cell, []).append(box)

    def free(self, box) -> bool:
        return not any(_overlaps(box, other) for cell in self._cells(box) for other in self.cells.get(cell, ()))


def place_labels(points: list[dict], zoom: int, names: Sequence[dict] = ()) -> int:
    """Give each point that gets a label ``label_x``, ``label_y`` and ``anchor``; the number left out. Then each of
    ``names`` (an outline's name and the spot it may take) that covers no label or dot gets ``label_x``,
    ``label_y``."""
    taken = _Taken()
    for p in points:  # dots with a pixel to spare: a glyph may reach a little past its text's anchor
        taken.add((p["x"] - p["r"] - 1.5, p["y"] - p["r"] - 1.5, p["x"] + p["r"] + 1.5, p["y"] + p["r"] + 1.5))
    wanted = [p for p in points if p["level"] in _LEVEL_ORDER or zoom >= 4]
    left_out = 0
    for point in sorted(wanted, key=lambda p: (_LEVEL_ORDER.get(p["level"], 2), p["label"])):
        width = text_width(point["label"])
        for anchor, dx, dy in _SPOTS:
            x = point["x"] + dx * (point["r"] + _GAP)
            # the baseline: beside the dot, or with the whole text box clear above or below it
            y = point["y"] + {0: 4, -1: -point["r"] - 5, 1: point["r"] + _FONT + 2}[dy]
            box = _box(x, y, anchor, width)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= WIDTH and box[3] <= HEIGHT
            if inside and taken.free(box):
                point.update(label_x=round(x, 1), label_y=round(y, 1), anchor=anchor)
                taken.add(box)
                break
        else:
            left_out += 1
    for name in names:
        x, y = name["spot"]
        box = _box(x, y + 4, "middle", text_width(name["name"]))
        if box[0] >= 0 and box[1] >= 0 and box[2] <= WIDTH and box[3] <= HEIGHT and taken.free(box):
            name.update(label_x=round(x, 1), label_y=round(y + 4, 1))
            taken.add(box)
    return left_out


def layout(regions: list[dict], links: list[dict], zoom: int, lat: float | None, long: float | None) -> dict:
    """The regions and links on the canvas at ``zoom`` around (``lat``, ``long``) (the whole map's centre by
    default), with their labels placed, and the links to move the view."""
    project = fit([(r["long"], r["lat"]) for r in regions], WIDTH, HEIGHT, MARGIN)
    centre = project(long, lat) if lat is not None and long is not None else (WIDTH / 2, HEIGHT / 2)

    def at(long: float, lat: float) -> tuple[float, float]:
        x, y = project(long, lat)
        return WIDTH / 2 + (x - centre[0]) * zoom, HEIGHT / 2 + (y - centre[1]) * zoom

    def place(r: dict) -> tuple[float, float]:
        return at(r["long"], r["lat"])

    points = []
    for r in regions:
        x, y = place(r)
        if -10 <= x <= WIDTH + 10 and -10 <= y <= HEIGHT + 10:
            points.append({**r, "x": x, "y": y, "r": radius(r["level"])})
    outlines = outline_paths(at, WIDTH, HEIGHT)
    named = {p["label"] for p in points if p["level"] in ("province", "municipality")}
    left_out = place_labels(points, zoom, [o for o in outlines if o["spot"] and o["name"] not in named])
    drawn = []
    for line in (item for item in links if item["a"] and item["b"]):
        (x1, y1), (x2, y2) = place(line["a"]), place(line["b"])
        if line["kind"] == "agreement":  # beside a park line between the same regions, not hidden under it
            length = math.hypot(x2 - x1, y2 - y1) or 1
            dx, dy = -(y2 - y1) / length * 5, (x2 - x1) / length * 5
            x1, y1, x2, y2 = x1 + dx, y1 + dy, x2 + dx, y2 + dy
        drawn.append({**line, "x1": x1, "y1": y1, "x2": x2, "y2": y2})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "points": points,
        "links": drawn,
        "outlines": outlines,
        "credit": credit(),
        "left_out": left_out,
        "zoom": zoom,
        "moves": _moves(project, centre, zoom, regions),
    }


def _moves(project, centre: tuple[float, float], zoom: int, regions: list[dict]) -> dict:
    """Query strings for zooming in and out, panning by a third of the view, and centring on a province."""
    longs, lats = [r["long"] for r in regions], [r["lat"] for r in regions]
    # the view's centre back in degrees: the projection is linear, so two known points give its inverse
    (x0, y0), (x1, y1) = project(min(longs), max(lats)), project(max(longs), min(lats))
    per_x = (max(longs) - min(longs)) / ((x1 - x0) or 1)
    per_y = (min(lats) - max(lats)) / ((y1 - y0) or 1)
    long = min(longs) + (centre[0] - x0) * per_x
    lat = max(lats) + (centre[1] - y0) * per_y
    step_x, step_y = WIDTH / 3 / zoom * per_x, HEIGHT / 3 / zoom * per_y

    def at(z: int, la: float, lo: float) -> dict:
        return {"zoom": z, "lat": round(la, 3), "long": round(lo, 3)}

    moves: dict[str, object] = {
        "north": at(zoom, lat - step_y, long),
        "south": at(zoom, lat + step_y, long),
        "west": at(zoom, lat, long - step_x),
        "east": at(zoom, lat, long + step_x),
    }
    if zoom < ZOOMS[-1]:
        moves["in"] = at(ZOOMS[ZOOMS.index(zoom) + 1], lat, long)
    if zoom > ZOOMS[0]:
        moves["out"] = at(ZOOMS[ZOOMS.index(zoom) - 1], lat, long)
    moves["centres"] = [
        {"label": r["label"], **at(max(zoom, 2), r["lat"], r["long"])}
        for r in sorted(regions, key=lambda r: r["label"])
        if r["level"] in ("province", "municipality")
    ]
    return moves
