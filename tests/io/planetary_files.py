"""Small planetary DEM products written byte by byte to their published label layouts.

Each writer returns a :class:`Product`: the path to open, the raw stored array and the facts
the test checks against (projection parameters, offsets, special values), so expected CRS,
transform, nodata and values are computed independently of marsgis.

Layouts followed
----------------
HiRISE DTM (``DTEEC_*.IMG``)
    PDS3 attached label as ISIS ``hidtmgen`` writes it (ISIS test suite, hidtmgen tests):
    ``RECORD_BYTES`` = one line, ``^IMAGE`` = first record after the label,
    ``SAMPLE_TYPE = PC_REAL``, ``SAMPLE_BITS = 32``, ``MISSING_CONSTANT = 16#FF7FFFFB#``,
    ``EQUIRECTANGULAR`` with ``CENTER_LATITUDE`` as the latitude of true scale,
    ``A_AXIS_RADIUS = 3396.19 <KM>``, ``MAP_SCALE`` in ``<METERS/PIXEL>``.
MOLA MEGDR tile (``MEGT*.IMG`` + ``.LBL``)
    PDS3 detached label, ``MSB_INTEGER`` 16 bit, ``MISSING_CONSTANT = -32768``,
    ``SIMPLE CYLINDRICAL``, ``CENTER_LONGITUDE = 180``, ``MAP_RESOLUTION`` in px/deg.
CTX DTM (USGS/ASU pipeline, ISIS3 cube)
    ``Object = IsisCube`` attached label, ``Format = Tile``, ``Type = Real``,
    ``ByteOrder = Lsb``, ``Group = Mapping`` with ``ProjectionName = Equirectangular``,
    ``UpperLeftCornerX/Y`` and ``PixelResolution`` in metres; ISIS special pixels (NULL, LRS,
    HRS) in the data.
HRSC DTM (``H*_DA4.IMG``, ESA PSA)
    PDS3 attached label, ``LSB_INTEGER`` 16 bit, ``MISSING_CONSTANT = -32768``,
    ``SINUSOIDAL`` on the 3396 km sphere, ``MAP_SCALE`` in ``<METERS/PIXEL>``; and the PDS4
    form (XML label, ``SignedLSB2``, ``Special_Constants``, ``cart:Sinusoidal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

R_HIRISE = 3_396_190.0
NULL4 = np.frombuffer(bytes.fromhex("FF7FFFFB"), dtype=">f4")[0]
LRS4 = np.frombuffer(bytes.fromhex("FF7FFFFC"), dtype=">f4")[0]
HRS4 = np.frombuffer(bytes.fromhex("FF7FFFFF"), dtype=">f4")[0]


@dataclass
class Product:
    path: Path
    raw: np.ndarray
    facts: dict[str, Any] = field(default_factory=dict)


def _terrain(lines: int, samples: int, *, base: float, amp: float) -> np.ndarray:
    yy, xx = np.mgrid[0:lines, 0:samples].astype(np.float64)
    return base + amp * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 3.0 * xx - 2.0 * yy


def _attached_pds3(path: Path, label_body: str, data: bytes, record_bytes: int) -> None:
    """Write ``label_body`` (with ``@LABEL_RECORDS@``/``@IMAGE@`` slots) then the data."""
    for n in range(1, 200):
        text = label_body.replace("@LABEL_RECORDS@", str(n)).replace("@IMAGE@", str(n + 1))
        text = text.replace("@FILE_RECORDS@", str(n + len(data) // record_bytes))
        if len(text.encode("ascii")) <= n * record_bytes:
            break
    path.write_bytes(text.encode("ascii").ljust(n * record_bytes, b" ") + data)


def write_hirise_dtm(folder: Path, *, center_latitude: float = 15.0) -> Product:
    lines, samples = 40, 30
    values = _terrain(lines, samples, base=-2600.0, amp=40.0).astype("<f4")
    values[0, 0] = NULL4  # the MISSING_CONSTANT, as the label gives it in hex
    values[5:8, 10:13] = NULL4
    values[20, 3] = LRS4  # other ISIS special pixels never are elevations either
    values[33, 27] = HRS4
    scale = 1.0
    lpo, spo = 1090650.5, 5868000.5
    body = f"""PDS_VERSION_ID            = PDS3

/* Format of the DTM as ISIS hidtmgen writes it (MRO HiRISE DTM, SOCET SET) */
RECORD_TYPE               = FIXED_LENGTH
RECORD_BYTES              = {samples * 4}
FILE_RECORDS              = @FILE_RECORDS@
LABEL_RECORDS             = @LABEL_RECORDS@
^IMAGE                    = @IMAGE@

/* Identification Information */
DATA_SET_ID               = "MRO-M-HIRISE-5-DTM-V1.0"
DATA_SET_NAME             = "MRO MARS HIGH RESOLUTION IMAGING SCIENCE
                             EXPERIMENT DTM V1.0"
PRODUCER_INSTITUTION_NAME = "UNIVERSITY OF ARIZONA"
PRODUCER_ID               = "UA"
PRODUCER_FULL_NAME        = "ALFRED MCEWEN"
PRODUCT_ID                = "DTEEC_002387_1985_003798_1985_A01"
PRODUCT_VERSION_ID        = "1.0"
INSTRUMENT_HOST_NAME      = "MARS RECONNAISSANCE ORBITER"
INSTRUMENT_HOST_ID        = "MRO"
INSTRUMENT_NAME           = "HIGH RESOLUTION IMAGING SCIENCE EXPERIMENT"
INSTRUMENT_ID             = "HIRISE"
TARGET_NAME               = MARS
SOURCE_PRODUCT_ID         = ("PSP_002387_1985", "PSP_003798_1985")
RATIONALE_DESC            = "NULL"
SOFTWARE_NAME             = "Socet_Set 5.4.1"

OBJECT = IMAGE
    LINES             = {lines}
    LINE_SAMPLES      = {samples}
    BANDS             = 1
    OFFSET            = 0.0
    SCALING_FACTOR    = 1.0
    SAMPLE_BITS       = 32
    SAMPLE_BIT_MASK   = 2#11111111111111111111111111111111#
    SAMPLE_TYPE       = PC_REAL
    MISSING_CONSTANT  = 16#FF7FFFFB#
    VALID_MINIMUM     = -2700.0
    VALID_MAXIMUM     = -2400.0
END_OBJECT = IMAGE

OBJECT = IMAGE_MAP_PROJECTION
    ^DATA_SET_MAP_PROJECTION     = "DSMAP.CAT"
    MAP_PROJECTION_TYPE          = "EQUIRECTANGULAR"
    PROJECTION_LATITUDE_TYPE     = PLANETOCENTRIC
    A_AXIS_RADIUS                = 3396.19 <KM>
    B_AXIS_RADIUS                = 3396.19 <KM>
    C_AXIS_RADIUS                = 3396.19 <KM>
    COORDINATE_SYSTEM_NAME       = PLANETOCENTRIC
    POSITIVE_LONGITUDE_DIRECTION = EAST
    KEYWORD_LATITUDE_TYPE        = PLANETOCENTRIC
    CENTER_LATITUDE              = {center_latitude:.1f} <DEG>
    CENTER_LONGITUDE             = 180.0 <DEG>
    LINE_FIRST_PIXEL             = 1
    LINE_LAST_PIXEL              = {lines}
    SAMPLE_FIRST_PIXEL           = 1
    SAMPLE_LAST_PIXEL            = {samples}
    MAP_PROJECTION_ROTATION      = 0.0 <DEG>
    MAP_RESOLUTION               = {np.pi * R_HIRISE / 180.0 / scale:.5f} <PIX/DEG>
    MAP_SCALE                    = {scale:.1f} <METERS/PIXEL>
    MAXIMUM_LATITUDE             = 18.38924 <DEG>
    MINIMUM_LATITUDE             = 18.38857 <DEG>
    LINE_PROJECTION_OFFSET       = {lpo} <PIXEL>
    SAMPLE_PROJECTION_OFFSET     = {spo} <PIXEL>
    EASTERNMOST_LONGITUDE        = 77.45 <DEG>
    WESTERNMOST_LONGITUDE        = 77.44 <DEG>
END_OBJECT = IMAGE_MAP_PROJECTION

OBJECT = VIEWING_PARAMETERS
    NORTH_AZIMUTH = 270.0 <DEG>
END_OBJECT = VIEWING_PARAMETERS
END
"""
    path = folder / "DTEEC_002387_1985_003798_1985_A01.IMG"
    _attached_pds3(path, body, values.tobytes(), samples * 4)
    return Product(
        path,
        values,
        {
            "lpo": lpo,
            "spo": spo,
            "scale": scale,
            "center_latitude": center_latitude,
            "center_longitude": 180.0,
            "radius": R_HIRISE,
        },
    )


def write_mola_tile(folder: Path) -> Product:
    lines, samples, res = 32, 48, 128
    top, west = -4.0, 137.0
    values = np.round(_terrain(lines, samples, base=-4400.0, amp=120.0)).astype(">i2")
    values[10:12, 30:34] = -32768  # MISSING_CONSTANT
    lpo = top * res + 0.5  # line 1 centre at top − 0.5/res
    spo = (180.0 - west) * res + 0.5  # CENTER_LONGITUDE 180: sample 1 at west + 0.5/res
    label = f"""PDS_VERSION_ID                = PDS3
RECORD_TYPE                   = FIXED_LENGTH
RECORD_BYTES                  = {samples * 2}
FILE_RECORDS                  = {lines}
^IMAGE                        = "MEGT04S137HB.IMG"
DATA_SET_ID                   = "MGS-M-MOLA-5-MEGDR-L3-V1.0"
PRODUCT_ID                    = "MEGT04S137HB.IMG"
SPACECRAFT_NAME               = "MARS GLOBAL SURVEYOR"
INSTRUMENT_ID                 = MOLA
TARGET_NAME                   = MARS
OBJECT                        = IMAGE
  NAME                        = "TOPOGRAPHY"
  LINES                       = {lines}
  LINE_SAMPLES                = {samples}
  SAMPLE_TYPE                 = MSB_INTEGER
  SAMPLE_BITS                 = 16
  UNIT                        = METER
  SCALING_FACTOR              = 1
  OFFSET                      = 0
  MISSING_CONSTANT            = -32768
END_OBJECT                    = IMAGE
OBJECT                        = IMAGE_MAP_PROJECTION
  ^DATA_SET_MAP_PROJECTION    = "DSMAP.CAT"
  MAP_PROJECTION_TYPE         = "SIMPLE CYLINDRICAL"
  A_AXIS_RADIUS               = 3396.0 <KM>
  B_AXIS_RADIUS               = 3396.0 <KM>
  C_AXIS_RADIUS               = 3396.0 <KM>
  FIRST_STANDARD_PARALLEL     = "N/A"
  SECOND_STANDARD_PARALLEL    = "N/A"
  POSITIVE_LONGITUDE_DIRECTION = "EAST"
  CENTER_LATITUDE             = 0.0 <DEGREE>
  CENTER_LONGITUDE            = 180.0 <DEGREE>
  LINE_FIRST_PIXEL            = 1
  LINE_LAST_PIXEL             = {lines}
  SAMPLE_FIRST_PIXEL          = 1
  SAMPLE_LAST_PIXEL           = {samples}
  MAP_PROJECTION_ROTATION     = 0.0
  MAP_RESOLUTION              = {res} <PIXEL/DEGREE>
  MAP_SCALE                   = 0.46302 <KM/PIXEL>
  MAXIMUM_LATITUDE            = {top} <DEGREE>
  MINIMUM_LATITUDE            = {top - lines / res} <DEGREE>
  LINE_PROJECTION_OFFSET      = {lpo} <PIXEL>
  SAMPLE_PROJECTION_OFFSET    = {spo} <PIXEL>
  EASTERNMOST_LONGITUDE       = {west + samples / res} <DEGREE>
  WESTERNMOST_LONGITUDE       = {west} <DEGREE>
  COORDINATE_SYSTEM_TYPE      = "BODY-FIXED ROTATING"
  COORDINATE_SYSTEM_NAME      = "PLANETOCENTRIC"
END_OBJECT                    = IMAGE_MAP_PROJECTION
END
"""
    (folder / "megt04s137hb.lbl").write_text(label)
    (folder / "megt04s137hb.img").write_bytes(values.tobytes())  # lower case, as on disk
    return Product(folder / "megt04s137hb.lbl", values, {"top": top, "west": west, "res": res})


def write_ctx_cube(folder: Path) -> Product:
    lines, samples, tile = 24, 40, 16
    res = 18.0
    clat, clon = -4.6, 137.4
    values = _terrain(lines, samples, base=-4500.0, amp=25.0).astype("<f4")
    values[0:2, 0:5] = NULL4  # NULL
    values[12, 20] = LRS4
    values[13, 21] = HRS4
    ulx, uly = -41_562.0, -272_664.0
    tiles_y, tiles_x = -(-lines // tile), -(-samples // tile)
    padded = np.full((tiles_y * tile, tiles_x * tile), NULL4, dtype="<f4")
    padded[:lines, :samples] = values
    blob = b"".join(
        padded[ty * tile : (ty + 1) * tile, tx * tile : (tx + 1) * tile].tobytes()
        for ty in range(tiles_y)
        for tx in range(tiles_x)
    )
    start = 4097
    label = f"""Object = IsisCube
  Object = Core
    StartByte   = {start}
    Format      = Tile
    TileSamples = {tile}
    TileLines   = {tile}

    Group = Dimensions
      Samples = {samples}
      Lines   = {lines}
      Bands   = 1
    End_Group

    Group = Pixels
      Type       = Real
      ByteOrder  = Lsb
      Base       = 0.0
      Multiplier = 1.0
    End_Group
  End_Object

  Group = Instrument
    SpacecraftName = Mars_Reconnaissance_Orbiter
    InstrumentId   = CTX
    TargetName     = Mars
  End_Group

  Group = Mapping
    ProjectionName     = Equirectangular
    CenterLongitude    = {clon}
    TargetName         = Mars
    EquatorialRadius   = 3396190.0 <meters>
    PolarRadius        = 3376200.0 <meters>
    LatitudeType       = Planetocentric
    LongitudeDirection = PositiveEast
    LongitudeDomain    = 360
    MinimumLatitude    = -4.80
    MaximumLatitude    = -4.58
    MinimumLongitude   = 137.0
    MaximumLongitude   = 137.5
    UpperLeftCornerX   = {ulx} <meters>
    UpperLeftCornerY   = {uly} <meters>
    PixelResolution    = {res} <meters/pixel>
    Scale              = 3293.0 <pixels/degree>
    CenterLatitude     = {clat}
  End_Group
End_Object

Object = Label
  Bytes = {start - 1}
End_Object
End
"""
    head = label.encode("ascii")
    assert len(head) < start - 1
    path = folder / "DTM_Gale_CTX_18m.cub"
    path.write_bytes(head.ljust(start - 1, b"\0") + blob)
    return Product(
        path,
        values,
        {
            "ulx": ulx,
            "uly": uly,
            "res": res,
            "clat": clat,
            "clon": clon,
            "a": 3396190.0,
            "b": 3376200.0,
        },
    )


def write_hrsc_dtm(folder: Path) -> Product:
    lines, samples = 36, 28
    scale = 50.0
    clon = 76.0
    values = np.round(_terrain(lines, samples, base=-2300.0, amp=60.0)).astype("<i2")
    values[0:3, :] = -32768  # MISSING_CONSTANT along the strip edge
    values[17, 9] = -32768
    lpo, spo = 36_001.5, 1_999.5
    body = f"""PDS_VERSION_ID = PDS3
/* HRSC Level-4 DTM (ESA PSA), areoid heights */
RECORD_TYPE = FIXED_LENGTH
RECORD_BYTES = {samples * 2}
FILE_RECORDS = @FILE_RECORDS@
LABEL_RECORDS = @LABEL_RECORDS@
^IMAGE = @IMAGE@
DATA_SET_ID = "MEX-M-HRSC-5-REFDR-DTM-V1.0"
DATA_SET_NAME = "MARS EXPRESS HRSC DIGITAL TERRAIN MODEL V1.0"
PRODUCT_ID = "H0905_0000_DA4.IMG"
MISSION_NAME = "MARS EXPRESS"
INSTRUMENT_HOST_NAME = "MARS EXPRESS"
INSTRUMENT_NAME = "HIGH RESOLUTION STEREO CAMERA"
INSTRUMENT_ID = HRSC
PROCESSING_LEVEL_ID = 4
TARGET_NAME = MARS
ORBIT_NUMBER = 905
OBJECT = IMAGE
  INTERCHANGE_FORMAT = BINARY
  LINES = {lines}
  LINE_SAMPLES = {samples}
  SAMPLE_TYPE = LSB_INTEGER
  SAMPLE_BITS = 16
  SAMPLE_BIT_MASK = 2#1111111111111111#
  BANDS = 1
  BAND_STORAGE_TYPE = BAND_SEQUENTIAL
  SCALING_FACTOR = 1.0
  OFFSET = 0.0
  MISSING_CONSTANT = -32768
  UNIT = METER
END_OBJECT = IMAGE
OBJECT = IMAGE_MAP_PROJECTION
  ^DATA_SET_MAP_PROJECTION = "DSMAP.CAT"
  MAP_PROJECTION_TYPE = SINUSOIDAL
  PROJECTION_LATITUDE_TYPE = PLANETOCENTRIC
  A_AXIS_RADIUS = 3396.0 <KM>
  B_AXIS_RADIUS = 3396.0 <KM>
  C_AXIS_RADIUS = 3396.0 <KM>
  FIRST_STANDARD_PARALLEL = "N/A"
  SECOND_STANDARD_PARALLEL = "N/A"
  POSITIVE_LONGITUDE_DIRECTION = EAST
  CENTER_LATITUDE = 0.0 <DEG>
  CENTER_LONGITUDE = {clon} <DEG>
  REFERENCE_LATITUDE = "N/A"
  REFERENCE_LONGITUDE = "N/A"
  LINE_FIRST_PIXEL = 1
  LINE_LAST_PIXEL = {lines}
  SAMPLE_FIRST_PIXEL = 1
  SAMPLE_LAST_PIXEL = {samples}
  MAP_PROJECTION_ROTATION = 0.0 <DEG>
  MAP_RESOLUTION = {np.pi * 3_396_000.0 / 180.0 / scale:.4f} <PIXEL/DEG>
  MAP_SCALE = {scale} <METERS/PIXEL>
  MAXIMUM_LATITUDE = 30.37 <DEG>
  MINIMUM_LATITUDE = 30.33 <DEG>
  LINE_PROJECTION_OFFSET = {lpo} <PIXEL>
  SAMPLE_PROJECTION_OFFSET = {spo} <PIXEL>
  EASTERNMOST_LONGITUDE = 74.8 <DEG>
  WESTERNMOST_LONGITUDE = 74.7 <DEG>
END_OBJECT = IMAGE_MAP_PROJECTION
END
"""
    path = folder / "h0905_0000_da4.img"
    _attached_pds3(path, body, values.tobytes(), samples * 2)
    return Product(
        path, values, {"lpo": lpo, "spo": spo, "scale": scale, "clon": clon, "radius": 3_396_000.0}
    )


def write_hrsc_pds4(folder: Path) -> Product:
    """An HRSC DTM as the ESA PSA publishes it in PDS4: an XML label beside a raw image.

    ``Array_2D_Image`` of ``SignedLSB2`` with ``Special_Constants/missing_constant`` = −32768,
    ``cart:Sinusoidal`` on the 3396 km sphere, corner and pixel size in ``cart:`` metres.
    """
    lines, samples = 30, 26
    res, clon = 75.0, 76.0
    ulx, uly = -99_975.0, 1_800_075.0
    values = np.round(_terrain(lines, samples, base=-2350.0, amp=50.0)).astype("<i2")
    values[:, 0] = -32768
    values[12:14, 7:9] = -32768
    values[20, 20] = -32767  # an invalid_constant: not data either
    label = f"""<?xml version="1.0" encoding="UTF-8"?>
<Product_Observational xmlns="http://pds.nasa.gov/pds4/pds/v1"
    xmlns:cart="http://pds.nasa.gov/pds4/cart/v1"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Identification_Area>
    <logical_identifier>urn:esa:psa:mex_hrsc:data_refdr:hb905_0000_da4</logical_identifier>
    <version_id>1.0</version_id>
    <title>Mars Express HRSC DTM, orbit 905 (areoid heights)</title>
    <information_model_version>1.15.0.0</information_model_version>
    <product_class>Product_Observational</product_class>
  </Identification_Area>
  <Observation_Area>
    <Time_Coordinates>
      <start_date_time>2004-10-11T04:09:42.000Z</start_date_time>
      <stop_date_time>2004-10-11T04:13:05.000Z</stop_date_time>
    </Time_Coordinates>
    <Investigation_Area>
      <name>Mars Express</name>
      <type>Mission</type>
    </Investigation_Area>
    <Observing_System>
      <Observing_System_Component>
        <name>HRSC</name>
        <type>Instrument</type>
      </Observing_System_Component>
    </Observing_System>
    <Target_Identification>
      <name>Mars</name>
      <type>Planet</type>
    </Target_Identification>
    <Discipline_Area>
      <cart:Cartography>
        <Local_Internal_Reference>
          <local_identifier_reference>dtm_image</local_identifier_reference>
          <local_reference_type>cartography_parameters_to_image_object</local_reference_type>
        </Local_Internal_Reference>
        <cart:Spatial_Domain>
          <cart:Bounding_Coordinates>
            <cart:west_bounding_coordinate unit="deg">74.3</cart:west_bounding_coordinate>
            <cart:east_bounding_coordinate unit="deg">74.4</cart:east_bounding_coordinate>
            <cart:north_bounding_coordinate unit="deg">30.37</cart:north_bounding_coordinate>
            <cart:south_bounding_coordinate unit="deg">30.33</cart:south_bounding_coordinate>
          </cart:Bounding_Coordinates>
        </cart:Spatial_Domain>
        <cart:Spatial_Reference_Information>
          <cart:Horizontal_Coordinate_System_Definition>
            <cart:Planar>
              <cart:Map_Projection>
                <cart:map_projection_name>Sinusoidal</cart:map_projection_name>
                <cart:Sinusoidal>
                  <cart:longitude_of_central_meridian unit="deg">{clon}</cart:longitude_of_central_meridian>
                </cart:Sinusoidal>
              </cart:Map_Projection>
              <cart:Planar_Coordinate_Information>
                <cart:planar_coordinate_encoding_method>Coordinate Pair</cart:planar_coordinate_encoding_method>
                <cart:Coordinate_Representation>
                  <cart:pixel_resolution_x unit="m/pixel">{res}</cart:pixel_resolution_x>
                  <cart:pixel_resolution_y unit="m/pixel">{res}</cart:pixel_resolution_y>
                  <cart:pixel_scale_x unit="pixel/deg">{np.pi * 3_396_000.0 / 180.0 / res:.4f}</cart:pixel_scale_x>
                  <cart:pixel_scale_y unit="pixel/deg">{np.pi * 3_396_000.0 / 180.0 / res:.4f}</cart:pixel_scale_y>
                </cart:Coordinate_Representation>
              </cart:Planar_Coordinate_Information>
              <cart:Geo_Transformation>
                <cart:upperleft_corner_x unit="m">{ulx}</cart:upperleft_corner_x>
                <cart:upperleft_corner_y unit="m">{uly}</cart:upperleft_corner_y>
              </cart:Geo_Transformation>
            </cart:Planar>
            <cart:Geodetic_Model>
              <cart:latitude_type>Planetocentric</cart:latitude_type>
              <cart:spheroid_name>MARS</cart:spheroid_name>
              <cart:a_axis_radius unit="km">3396.0</cart:a_axis_radius>
              <cart:b_axis_radius unit="km">3396.0</cart:b_axis_radius>
              <cart:c_axis_radius unit="km">3396.0</cart:c_axis_radius>
              <cart:longitude_direction>Positive East</cart:longitude_direction>
            </cart:Geodetic_Model>
          </cart:Horizontal_Coordinate_System_Definition>
        </cart:Spatial_Reference_Information>
      </cart:Cartography>
    </Discipline_Area>
  </Observation_Area>
  <File_Area_Observational>
    <File>
      <file_name>hb905_0000_da4.img</file_name>
    </File>
    <Array_2D_Image>
      <local_identifier>dtm_image</local_identifier>
      <offset unit="byte">0</offset>
      <axes>2</axes>
      <axis_index_order>Last Index Fastest</axis_index_order>
      <Element_Array>
        <data_type>SignedLSB2</data_type>
        <unit>m</unit>
        <scaling_factor>1.0</scaling_factor>
        <value_offset>0.0</value_offset>
      </Element_Array>
      <Axis_Array>
        <axis_name>Line</axis_name>
        <elements>{lines}</elements>
        <sequence_number>1</sequence_number>
      </Axis_Array>
      <Axis_Array>
        <axis_name>Sample</axis_name>
        <elements>{samples}</elements>
        <sequence_number>2</sequence_number>
      </Axis_Array>
      <Special_Constants>
        <missing_constant>-32768</missing_constant>
        <invalid_constant>-32767</invalid_constant>
      </Special_Constants>
    </Array_2D_Image>
  </File_Area_Observational>
</Product_Observational>
"""
    (folder / "hb905_0000_da4.xml").write_text(label, encoding="utf-8")
    (folder / "hb905_0000_da4.img").write_bytes(values.tobytes())
    return Product(
        folder / "hb905_0000_da4.xml",
        values,
        {"ulx": ulx, "uly": uly, "res": res, "clon": clon, "radius": 3_396_000.0},
    )
