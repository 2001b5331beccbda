"""The seeded demo station: a plausible station generated from a seed, with no real person in it.

No real passenger records exist, so the demo, the dashboards and the tests use this generator.
It is deterministic: the same ``seed`` and ``passengers`` give the same plan, byte for byte
(:attr:`StationPlan.digest`). It builds

* three colonies at real places of the IAU gazetteer: Jezero (crater, 18.41 °N 77.69 °E),
  Gale (crater, 5.37 °S 137.81 °E) and Arcadia Planitia (47.19 °N 175.69 °W), each with a
  station and four docking bays;
* six vessels of the four classes and twelve voyages arriving over 60 days from
  2031-05-01, each booked into a bay of its colony's station that takes its class, bookings
  never overlapping;
* ``passengers`` travellers with ICAO 9303 TD3 passports whose check digits are computed by the
  ``passporteye`` library (names drawn from short lists, states from real ISO 3166 codes, about
  3 % of passports expiring before arrival), a visa application each in every lifecycle state
  (about 70 % approved with an issued visa);
* admissions of the passengers of the first four voyages, decided by the admission rule
  (:func:`marsgis.station.rules.admission_refusals`) and the colonies' capacities.

>>> plan = generate_station(seed=7, passengers=20)
>>> [c["site"] for c in plan.colonies]
['Jezero', 'Gale', 'Arcadia Planitia']
>>> plan.digest == generate_station(seed=7, passengers=20).digest
True
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marsgis.exceptions import ValidationError
from marsgis.station.mrz import make_td3

__all__ = ["EPOCH", "StationPlan", "generate_station"]

#: When the demo station's first voyage is due.
EPOCH = datetime(2031, 5, 1, tzinfo=UTC)

_COLONIES = (
    {"name": "Jezero Colony", "site": "Jezero", "capacity": 1200, "radius_km": 8.0},
    {"name": "Gale Colony", "site": "Gale", "capacity": 1500, "radius_km": 12.0},
    {"name": "Arcadia Colony", "site": "Arcadia Planitia", "capacity": 800, "radius_km": 20.0},
)
_BAYS = (
    ("A1", ["shuttle", "freighter"]),
    ("A2", ["shuttle", "liner"]),
    ("B1", ["liner", "heavy"]),
    ("B2", ["freighter", "heavy"]),
)
_VESSELS = (
    ("Ares Dawn", "liner"),
    ("Hohmann Star", "liner"),
    ("Red Meridian", "heavy"),
    ("Phobos Runner", "shuttle"),
    ("Tharsis Hauler", "freighter"),
    ("Olympus Crossing", "heavy"),
)
_ORIGINS = ("Earth L1", "Luna Gateway", "Phobos Yard", "Ceres Relay")
_SURNAMES = (
    "OKAFOR",
    "LINDQVIST",
    "TANAKA",
    "MORENO",
    "IVANOVA",
    "SINGH",
    "MBEKI",
    "DUBOIS",
    "KOWALSKA",
    "HASSAN",
    "NGUYEN",
    "SILVA",
    "MULLER",
    "ROSSI",
    "KIM",
    "ODUYA",
)
_GIVEN = (
    "AMARA",
    "JONAS",
    "YUKI",
    "LUCIA",
    "MARINA",
    "ARJUN",
    "THABO",
    "CLAIRE",
    "ZOFIA",
    "OMAR",
    "LINH",
    "RAFAEL",
    "LENA",
    "MARCO",
    "JIWOO",
    "ADE",
)
_STATES = (
    "NGA",
    "SWE",
    "JPN",
    "ESP",
    "UKR",
    "IND",
    "ZAF",
    "FRA",
    "POL",
    "EGY",
    "VNM",
    "BRA",
    "CHE",
    "ITA",
    "KOR",
    "KEN",
)
_OFFICERS = ("officer.osei", "officer.lind", "officer.park")
#: Lifecycle end states of the generated applications, with their weights.
_STATUS_WEIGHTS = (
    ("approved", 70),
    ("under_review", 10),
    ("submitted", 8),
    ("info_requested", 5),
    ("rejected", 4),
    ("draft", 3),
)


@dataclass(frozen=True)
class StationPlan:
    """A generated station: plain JSON-ready records, referring to each other by list index."""

    seed: int
    colonies: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    bays: list[dict[str, Any]] = field(default_factory=list)
    vessels: list[dict[str, Any]] = field(default_factory=list)
    voyages: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    passengers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """sha256 of the plan's canonical JSON (what the seed audit record names)."""
        doc = {
            "seed": self.seed,
            "colonies": self.colonies,
            "stations": self.stations,
            "bays": self.bays,
            "vessels": self.vessels,
            "voyages": self.voyages,
            "bookings": self.bookings,
            "passengers": self.passengers,
        }
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def generate_station(*, seed: int = 2031, passengers: int = 3000) -> StationPlan:
    """Generate the demo station (deterministic for ``seed`` and ``passengers``)."""
    if isinstance(passengers, bool) or not isinstance(passengers, int) or passengers < 0:
        raise ValidationError(f"passengers {passengers!r} must be an integer >= 0")
    rng = random.Random(seed)
    plan = StationPlan(seed=seed)
    plan.colonies.extend(dict(c) for c in _COLONIES)
    for ci, spec in enumerate(_COLONIES):
        plan.stations.append({"name": f"{spec['site']} Port", "colony": ci})
        for code, classes in _BAYS:
            plan.bays.append({"station": ci, "code": code, "vessel_classes": list(classes)})
    plan.vessels.extend({"name": n, "vessel_class": c} for n, c in _VESSELS)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for vi in range(12):
        vessel = rng.randrange(len(_VESSELS))
        colony = vi % len(_COLONIES)
        start = EPOCH + timedelta(days=5 * vi, hours=rng.randrange(0, 24))
        end = start + timedelta(hours=rng.choice((12, 18, 24)))
        plan.voyages.append(
            {
                "vessel": vessel,
                "colony": colony,
                "origin": rng.choice(_ORIGINS),
                "arrival_start": start,
                "arrival_end": end,
            }
        )
        vessel_class = _VESSELS[vessel][1]
        for bi, bay in enumerate(plan.bays):
            if bay["station"] != colony or vessel_class not in bay["vessel_classes"]:
                continue
            dock = (start, start + timedelta(hours=6))
            if all(dock[1] <= a or b <= dock[0] for a, b in busy.get(bi, [])):
                busy.setdefault(bi, []).append(dock)
                plan.bookings.append(
                    {"bay": bi, "voyage": vi, "starts_at": dock[0], "ends_at": dock[1]}
                )
                break
    statuses = [s for s, _ in _STATUS_WEIGHTS]
    weights = [w for _, w in _STATUS_WEIGHTS]
    for i in range(passengers):
        voyage_index = rng.randrange(len(plan.voyages))
        voyage = plan.voyages[voyage_index]
        arrival = voyage["arrival_start"]
        state = rng.randrange(len(_STATES))
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
        if rng.random() < 0.03:  # a passport that lapses before arrival
            expires = arrival.date() - timedelta(days=rng.randrange(1, 300))
        else:
            expires = arrival.date() + timedelta(days=rng.randrange(200, 3650))
        surname, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        sex = rng.choice("FMX")
        number = f"M{i:08d}"
        mrz = make_td3(
            surname=surname,
            given_names=given,
            document_number=number,
            issuing_state=_STATES[state],
            nationality=_STATES[state],
            birth_date=birth,
            sex=sex,
            expires_on=expires,
        )
        status = rng.choices(statuses, weights)[0]
        sponsored = rng.random() < 0.3
        plan.passengers.append(
            {
                "mrz": mrz,
                "voyage": voyage_index,
                "colony": voyage["colony"],
                "applicant": f"pax.{i:05d}",
                "sponsor": f"sponsor.{rng.randrange(40):02d}" if sponsored else None,
                "status": status,
                "officer": rng.choice(_OFFICERS),
                "valid_from": arrival - timedelta(days=60),
                "valid_until": arrival + timedelta(days=rng.choice((365, 730, 1095))),
            }
        )
    return plan
