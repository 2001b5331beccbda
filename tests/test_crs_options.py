"""Mars CRS checks, coordinate normalisation and the runtime options registry."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

import marsgis
from marsgis.crs import (
    MARS_RADIUS_M,
    crs_code,
    crs_from_user_input,
    is_mars_crs,
    normalize_lon,
    require_projected,
)
from marsgis.exceptions import (
    BodyMismatchError,
    GeographicCRSError,
    InvalidOptionError,
    MissingCRSError,
)


def test_radius_is_the_iau_mars_sphere() -> None:
    assert MARS_RADIUS_M == CRS.from_user_input("IAU_2015:49900").ellipsoid.semi_major_metre


@pytest.mark.parametrize(
    "code", ["IAU_2015:49900", "IAU_2015:49910", "IAU_2015:49901", "ESRI:104905"]
)
def test_mars_codes_accepted(code: str) -> None:
    assert is_mars_crs(crs_from_user_input(code))


@pytest.mark.parametrize("code", ["EPSG:4326", "EPSG:3857", "IAU_2015:30100"])
def test_other_bodies_refused(code: str) -> None:
    with pytest.raises(
        BodyMismatchError, match=f"not a Mars CRS.*{code.split(':', maxsplit=1)[0]}|not a Mars CRS"
    ):
        crs_from_user_input(code)


def test_missing_crs() -> None:
    with pytest.raises(MissingCRSError, match="IAU_2015:49900"):
        crs_from_user_input(None)


def test_require_projected_names_the_fix() -> None:
    with pytest.raises(GeographicCRSError, match=r"rio\.reproject\('IAU_2015:49910'\)"):
        require_projected(CRS.from_user_input("IAU_2015:49900"), operation="viewshed")


def test_crs_code_recognises_gdal_written_iau() -> None:
    dem = marsgis.open_dem("mola")
    assert crs_code(dem.rio.crs) == "IAU_2015:49900"


def test_normalize_lon() -> None:
    lon = np.array([-180.0, -0.5, 0.0, 179.5, 180.0, 359.5, 360.0])
    np.testing.assert_array_equal(normalize_lon(lon), [180.0, 359.5, 0.0, 179.5, 180.0, 359.5, 0.0])
    np.testing.assert_array_equal(
        normalize_lon(lon, center=0.0), [-180.0, -0.5, 0.0, 179.5, -180.0, -0.5, 0.0]
    )


def test_options_context_manager_restores() -> None:
    assert marsgis.get_option("max_slope_deg") == 25.0
    with marsgis.set_options(max_slope_deg=20):
        assert marsgis.get_option("max_slope_deg") == 20
    assert marsgis.get_option("max_slope_deg") == 25.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"max_slope_deg": 95},
            r"'max_slope_deg' got 95; expected a number of degrees in \(0, 90\)",
        ),
        ({"chunk_size": 10}, "expected an integer >= 64"),
        ({"no_such": 1}, "unknown option 'no_such'"),
    ],
)
def test_options_validated(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        marsgis.set_options(**kwargs)
    assert marsgis.get_option("chunk_size") == 2048  # nothing half-applied


def test_show_versions(capsys: pytest.CaptureFixture[str]) -> None:
    marsgis.show_versions()
    out = capsys.readouterr().out
    assert f"marsgis: {marsgis.__version__}" in out and "PROJ:" in out
