"""Fixtures of tests/io: the planetary products of :mod:`planetary_files`, written once."""

from __future__ import annotations

import pytest
from planetary_files import (
    Product,
    write_ctx_cube,
    write_hirise_dtm,
    write_hrsc_dtm,
    write_hrsc_pds4,
    write_mola_tile,
)


@pytest.fixture(scope="session")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Product]:
    folder = tmp_path_factory.mktemp("planetary")
    return {
        "hirise": write_hirise_dtm(folder),
        "mola": write_mola_tile(folder),
        "ctx": write_ctx_cube(folder),
        "hrsc": write_hrsc_dtm(folder),
        "hrsc-pds4": write_hrsc_pds4(folder),
    }
