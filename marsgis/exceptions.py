"""The one exception family of marsgis.

Every error marsgis raises on purpose derives from :class:`MarsGISError`, and every
message names the bad value and the call that fixes it (rioxarray, geopandas habit).
"""

from __future__ import annotations

__all__ = [
    "BodyMismatchError",
    "ConcurrencyError",
    "ConfigurationError",
    "CoordinateError",
    "DataNotFoundError",
    "DataReadError",
    "DatabaseError",
    "DatasetIntegrityError",
    "DependencyNotFoundError",
    "GeographicCRSError",
    "InvalidOptionError",
    "LabelError",
    "MarsGISError",
    "MissingCRSError",
    "NotFoundError",
    "OutOfBoundsError",
    "OutputError",
    "PermissionDeniedError",
    "PlanningError",
    "RemoteCatalogError",
    "StateTransitionError",
    "StationError",
    "AdmissionRefusedError",
    "AuditIntegrityError",
    "BookingConflictError",
    "CapacityExceededError",
    "SeparationOfDutiesError",
    "ValidationError",
]


class MarsGISError(RuntimeError):
    """Base class of every error raised by marsgis."""


class ValidationError(MarsGISError, ValueError):
    """An argument has a bad value (out of range, wrong type, unknown name)."""


class CoordinateError(ValidationError):
    """A latitude or longitude is non-finite or out of range."""


class InvalidOptionError(ValidationError):
    """An unknown option or a bad option value was given to ``set_options``."""


class MissingCRSError(MarsGISError):
    """A raster or vector dataset carries no CRS."""


class BodyMismatchError(MarsGISError):
    """A CRS describes another body than Mars (an Earth CRS, for example)."""


class GeographicCRSError(MarsGISError):
    """An operation needs a projected Mars CRS but got a geographic one."""


class DataNotFoundError(MarsGISError, LookupError):
    """A dataset name, file or catalog item does not exist."""


class DataReadError(MarsGISError, OSError):
    """A file exists but cannot be opened or read: truncated, corrupted, or not its format.

    Rasters (DEMs) and images (the classifier's inputs) alike.

    Raised at open time and also when a lazily opened DEM reads its pixels later, inside a
    dask computation; the message names the file and what to do.
    """

    # ``OSError`` lays out its instances differently from ``RuntimeError``: name its ``__new__``
    # so that copies made by unpickling (a Dask worker's error reaching the client, through
    # tblib) build this class the way Python does, instead of a bare ``Exception``
    __new__ = OSError.__new__  # type: ignore[assignment]


class OutOfBoundsError(ValidationError):
    """A requested window (bbox) lies outside the DEM; the message gives the DEM's bounds."""


class DatasetIntegrityError(MarsGISError):
    """A shipped or cached file does not match its recorded sha256."""


class LabelError(MarsGISError):
    """A PDS3 label is missing, incomplete or disagrees with its data file."""


class DependencyNotFoundError(MarsGISError, ImportError):
    """An optional dependency is not installed; the message gives the install line."""

    __new__ = ImportError.__new__  # type: ignore[assignment]  # as DataReadError's


class DatabaseError(MarsGISError):
    """The database is unreachable or refused an operation."""


class NotFoundError(DatabaseError, LookupError):
    """A stored record (a mission, for example) does not exist."""


class PermissionDeniedError(DatabaseError):
    """The database refused an operation because the connected role may not do it.

    On a shared PostGIS deployment each hub user connects as a PostgreSQL role whose grants
    follow the user's hub group (viewers read, operators change mission status, scientists
    create and edit missions); see :mod:`marsgis.db.roles`.
    """


class ConcurrencyError(DatabaseError):
    """An update was based on a stale version of a record; nothing was written."""


class StateTransitionError(ValidationError):
    """A status change that the lifecycle does not allow."""


class RemoteCatalogError(MarsGISError):
    """A remote STAC catalog could not be reached or answered badly."""


class OutputError(MarsGISError, OSError):
    """A file could not be written (full disk, no permission, a failed check).

    The previous file at that path, if any, is left unchanged (see :mod:`marsgis.io.atomic`).
    """

    # ``OSError`` lays out its instances differently from ``RuntimeError``: name its ``__new__``
    # so that copies made by unpickling (a Dask worker's error reaching the client, through
    # tblib) build this class the way Python does, instead of a bare ``Exception``
    __new__ = OSError.__new__  # type: ignore[assignment]


class PlanningError(MarsGISError):
    """A planning request cannot be satisfied (e.g. an unreachable goal)."""


class ConfigurationError(InvalidOptionError):
    """A ``MARSGIS_*`` environment variable has a bad value (see :mod:`marsgis.config`)."""


class StationError(MarsGISError):
    """A station rule refused an operation (admission, capacity, bay booking, duties).

    Nothing was changed by the refused operation (a refused admission is itself recorded as an
    entry event and an audit record).
    """


class AdmissionRefusedError(StationError):
    """An admission's preconditions do not hold (no valid visa, expired document, wrong colony)."""


class CapacityExceededError(AdmissionRefusedError):
    """A colony is full: admitting one more would exceed its capacity."""


class BookingConflictError(StationError):
    """A docking bay booking overlaps another booking of the same bay."""


class SeparationOfDutiesError(StationError):
    """The same person may not hold both roles (officer and applicant, or both revoking officers)."""


class AuditIntegrityError(StationError):
    """The station audit log's hash chain is broken (a record was altered, removed or inserted)."""
