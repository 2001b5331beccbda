"""Schema migrations on SpatiaLite and PostGIS: from empty, from the previous revision, back
to base, atomicity, the Mars SRID, and the engine's error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from pyproj import CRS
from shapely import wkt

from marsgis import db
from marsgis.db.engine import VERSION_TABLE, alembic_config
from marsgis.db.schema import metadata
from marsgis.exceptions import DatabaseError, ValidationError

MARSGIS_TABLES = {"missions", "mission_status_history", "mars_data_cache"}
HEAD = db.head_revision()  # later revisions (plans, reports, ML registry) chain after 0002


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) & (MARSGIS_TABLES | {VERSION_TABLE})


def _srid_row(engine: sa.Engine) -> dict[str, object] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT auth_name, auth_srid, proj4text, srtext FROM spatial_ref_sys "
                    "WHERE srid = :srid"
                ),
                {"srid": db.MARS_SRID},
            )
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


def test_head_and_srid_constant() -> None:
    # one linear chain (get_current_head refuses several heads) that starts 0001, 0002
    scripts = ScriptDirectory.from_config(alembic_config())
    chain = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert chain[:2] == ["0001", "0002"] and chain[-1] == HEAD == db.head_revision()
    assert chain == sorted(chain)
    assert db.MARS_SRID == 949900


def test_upgrade_from_empty(db_url: str) -> None:
    assert db.current_revision(db_url) is None
    assert db.upgrade(db_url) == HEAD
    assert db.current_revision(db_url) == HEAD
    engine = db.get_engine(db_url)
    assert _tables(engine) == MARSGIS_TABLES | {VERSION_TABLE}
    # a second upgrade is a no-op
    assert db.upgrade(db_url) == HEAD


def test_get_engine_migrates_on_first_use(db_url: str) -> None:
    engine = db.get_engine(db_url)
    assert db.current_revision(engine) == HEAD
    assert db.get_engine(db_url) is engine


def test_mars_srid_registered_with_iau_definition(db_engine: sa.Engine) -> None:
    row = _srid_row(db_engine)
    assert row is not None
    assert row["auth_name"] == "IAU_2015"
    assert row["auth_srid"] == 49900
    assert row["proj4text"] == "+proj=longlat +R=3396190 +no_defs"
    stored = CRS.from_wkt(str(row["srtext"]))
    assert stored.is_geographic
    assert stored.ellipsoid.semi_major_metre == 3396190.0
    assert stored.ellipsoid.semi_minor_metre == 3396190.0
    assert stored.equals(CRS.from_user_input("IAU_2015:49900"), ignore_axis_order=True)
    from_proj = CRS.from_proj4(str(row["proj4text"]))
    assert from_proj.ellipsoid.semi_major_metre == 3396190.0


def test_geometry_columns_use_mars_srid_and_spatial_indexes(db_engine: sa.Engine) -> None:
    with db_engine.connect() as conn:
        if db_engine.dialect.name == "postgresql":
            rows = conn.execute(
                sa.text(
                    "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
                    "ORDER BY f_table_name"
                )
            ).all()
            rows = [r for r in rows if r[0] in MARSGIS_TABLES]
            assert [tuple(r) for r in rows] == [
                ("mars_data_cache", "bounds", "POLYGON", db.MARS_SRID),
                ("missions", "target", "POINT", db.MARS_SRID),
            ]
            indexes = dict(
                conn.execute(
                    sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname='public'")
                ).all()
            )
            assert "USING gist (target)" in indexes["idx_missions_target"]
            assert "USING gist (bounds)" in indexes["idx_mars_data_cache_bounds"]
        else:
            rows = conn.execute(
                sa.text(
                    "SELECT f_table_name, f_geometry_column, geometry_type, srid, "
                    "spatial_index_enabled FROM geometry_columns ORDER BY f_table_name"
                )
            ).all()
            rows = [r for r in rows if r[0] in MARSGIS_TABLES]
            # SpatiaLite geometry type codes: 1 = POINT, 3 = POLYGON
            assert [tuple(r) for r in rows] == [
                ("mars_data_cache", "bounds", 3, db.MARS_SRID, 1),
                ("missions", "target", 1, db.MARS_SRID, 1),
            ]
            # no Earth SRIDs are loaded into the embedded file
            assert conn.execute(sa.text("SELECT count(*) FROM spatial_ref_sys")).scalar() == 1


def test_stored_geometry_is_in_mars_srid(db_url: str) -> None:
    mission = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=db_url)
    with db.get_engine(db_url).connect() as conn:
        text, srid = conn.execute(
            sa.text("SELECT ST_AsText(target), ST_SRID(target) FROM missions WHERE id = :id"),
            {"id": mission.id},
        ).one()
    assert srid == db.MARS_SRID
    point = wkt.loads(text)
    assert (point.x, point.y) == (137.4417, -4.5895)


def test_schema_module_matches_migrations(db_engine: sa.Engine) -> None:
    def include_object(obj: object, name: str, type_: str, reflected: bool, other: object) -> bool:
        if type_ == "table" and name not in metadata.tables:
            return False  # PostGIS / SpatiaLite metadata tables, the version table
        return bool(alembic_helpers.include_object(obj, name, type_, reflected, other))

    with db_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_object": include_object,
                "compare_type": True,
            },
        )
        assert compare_metadata(context, metadata) == []


def test_upgrade_from_previous_revision(db_url: str) -> None:
    engine = db.get_engine(db_url, migrate=False)
    assert db.upgrade(db_url, "0001") == "0001"
    assert db.current_revision(db_url) == "0001"
    assert _tables(engine) == {"missions", "mission_status_history", VERSION_TABLE}
    assert db.upgrade(db_url) == HEAD
    assert db.current_revision(db_url) == HEAD
    assert _tables(engine) == MARSGIS_TABLES | {VERSION_TABLE}


def test_data_survives_downgrade_and_upgrade_of_last_revision(db_url: str) -> None:
    mission = db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=db_url)
    assert db.downgrade(db_url, revision="0001") == "0001"
    engine = db.get_engine(db_url)  # back at head: get_engine migrates again
    assert db.current_revision(db_url) == HEAD
    assert _tables(engine) == MARSGIS_TABLES | {VERSION_TABLE}
    assert db.get_mission(mission.id, db=db_url) == mission


def test_downgrade_to_base_removes_everything(db_url: str) -> None:
    db.add_mission("Gale", lat=-4.6, lon=137.4, db=db_url)
    engine = db.get_engine(db_url)
    assert db.downgrade(db_url, revision="base") is None
    assert db.current_revision(db_url) is None
    assert _tables(engine) <= {VERSION_TABLE}
    assert _srid_row(engine) is None
    # and back up again, empty
    assert db.upgrade(db_url) == HEAD
    assert db.list_missions(db=db_url) == []
    assert _srid_row(engine) is not None


def test_failed_upgrade_changes_nothing(db_url: str) -> None:
    engine = db.get_engine(db_url, migrate=False)
    assert db.upgrade(db_url, "0001") == "0001"
    # An index with the name that revision 0002 creates last makes 0002 fail at its last step,
    # after it created mars_data_cache and registered its geometry column.
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE INDEX ix_mars_data_cache_expires_at ON missions (name)"))
    with pytest.raises(DatabaseError, match="ix_mars_data_cache_expires_at"):
        db.upgrade(db_url)
    assert db.current_revision(db_url) == "0001"
    assert "mars_data_cache" not in _tables(engine)
    with engine.connect() as conn:
        registered = conn.execute(
            sa.text("SELECT count(*) FROM geometry_columns WHERE f_table_name = 'mars_data_cache'")
        ).scalar()
    assert registered == 0


def test_default_database_is_spatialite_in_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(data_dir))
    try:
        engine = db.get_engine()
        assert engine.dialect.name == "sqlite"
        assert (data_dir / "marsgis.sqlite").is_file()
        assert db.current_revision() == HEAD
        mission = db.add_mission("default", lat=1.0, lon=2.0)
        assert db.get_mission(mission.id) == mission
    finally:
        db.dispose_engines()


def test_unreachable_database_error_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg2://u:secret@127.0.0.1:1/x"
    with pytest.raises(DatabaseError) as info:
        db.get_engine(url)
    message = str(info.value)
    assert "secret" not in message
    assert "postgresql+psycopg2://u:***@127.0.0.1:1/x" in message
    assert "MARSGIS_DATABASE_URL" in message
    # the same through the environment and a store function
    monkeypatch.setenv("MARSGIS_DATABASE_URL", url)
    with pytest.raises(DatabaseError) as info:
        db.list_missions()
    assert "secret" not in str(info.value)
    assert "u:***@127.0.0.1:1/x" in str(info.value)


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        db.get_engine("mysql+pymysql://u:hunter2@localhost/marsgis")
    assert "hunter2" not in str(info.value)
    assert "PostGIS" in str(info.value)
    with pytest.raises(ValidationError, match="database URL, a SQLAlchemy Engine or None"):
        db.get_engine(42)  # type: ignore[arg-type]


def test_database_from_a_newer_marsgis_is_refused(spatialite_url: str) -> None:
    engine = db.get_engine(spatialite_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    db.dispose_engines()  # a new process: get_engine checks the schema again
    with pytest.raises(DatabaseError, match="knows revisions 0001, 0002") as info:
        db.get_engine(spatialite_url)
    assert "newer marsgis" in str(info.value)
    with pytest.raises(DatabaseError, match="'0042'"):
        db.upgrade(spatialite_url, "0042")


def test_explicit_sqlite_url_to_a_missing_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "typo-dir" / "store.sqlite"
    url = f"sqlite:///{typo}"
    for call in (
        lambda: db.get_engine(url),
        lambda: db.get_engine(url, migrate=False),
        lambda: db.current_revision(url),
        lambda: db.list_missions(db=url),
    ):
        with pytest.raises(DatabaseError, match="does not exist") as info:
            call()
        assert f"no folder {str(typo.parent)!r}" in str(info.value)
        assert "marsgis db upgrade" in str(info.value)
    # through the environment, as `MARSGIS_DATABASE_URL=... marsgis mission list` uses it
    monkeypatch.setenv("MARSGIS_DATABASE_URL", url)
    with pytest.raises(DatabaseError, match="does not exist"):
        db.list_missions()
    assert not typo.parent.exists()  # neither the folder nor a store was created
    # an existing folder, a misspelt file name
    missing = tmp_path / "stroe.sqlite"
    with pytest.raises(DatabaseError, match=f"no file {str(missing)!r}"):
        db.list_missions(db=f"sqlite:///{missing}")
    assert not missing.exists()


def test_upgrade_creates_an_explicit_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "store.sqlite"
    url = f"sqlite:///{path}"
    try:
        assert db.upgrade(url) == HEAD
        assert path.is_file()
        mission = db.add_mission("created", lat=-4.5, lon=137.4, db=url)
        db.dispose_engines()  # a new process: the store now exists and is used as it is
        assert db.list_missions(db=url) == [mission]
    finally:
        db.dispose_engines()
