import pytest

from grids import spatial


@pytest.fixture(autouse=True)
def _fresh_spatial_cache():
    # The index and gazetteer are cached per process; rows roll back between tests, so start clean.
    spatial.reset()
    yield
    spatial.reset()


def square(x0: float, y0: float, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}


def feature(code, level="micro", parent=None, geometry=None, **props) -> dict:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"code": code, "name": f"网格{code}", "level": level, "parent": parent, **props}}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def small_layer():
    """One police area, one small grid, two micro grids side by side at 110.00–110.02 E, 25.00–25.01 N."""
    return collection(
        feature("L1", "large", geometry=square(110.0, 25.0, 0.02)),
        feature("S1", "small", "L1", geometry=square(110.0, 25.0, 0.02)),
        feature("M1", "micro", "S1", geometry=square(110.0, 25.0)),
        feature("M2", "micro", "S1", geometry=square(110.01, 25.0)),
    )
