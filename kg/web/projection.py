"""Longitude and latitude onto an SVG canvas: an equirectangular projection, a degree of longitude
shortened by the cosine of the mean latitude, fitted to the canvas within a margin."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def fit(
    points: Sequence[tuple[float, float]], width: float, height: float, margin: float
) -> Callable[[float, float], tuple[float, float]]:
    """A function from (longitude, latitude) to (x, y) that fits ``points`` into the canvas."""
    mean_lat = sum(lat for _, lat in points) / len(points)
    stretch = math.cos(math.radians(mean_lat))
    xs = [long * stretch for long, _ in points]
    ys = [lat for _, lat in points]
    scale = min(
        (width - 2 * margin) / max(1e-9, max(xs) - min(xs)), (height - 2 * margin) / max(1e-9, max(ys) - min(ys))
    )
    left, top = min(xs), max(ys)
    return lambda long, lat: (margin + (long * stretch - left) * scale, margin + (top - lat) * scale)
