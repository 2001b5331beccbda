"""The station's state machines: visa applications, visas and entry outcomes, in one table each.

Visa application (:data:`APPLICATION_TRANSITIONS`)::

    draft → submitted → under_review ⇄ info_requested
                            under_review → approved | rejected
    submitted | under_review → withdrawn

Each transition names who may make it: the ``applicant`` (submit, answer a request for
information, withdraw) or an ``officer`` (start the review, ask for information, decide). An
officer is never the application's applicant or sponsor (:func:`check_officer`).

Visa (:data:`VISA_TRANSITIONS`): created ``issued`` from an approved application only, then
``issued → expired | revoked``; a revocation is proposed by one officer and confirmed by a
second (:func:`check_second_officer`).

Entry events at arrival: :data:`ENTRY_OUTCOMES`.

The database holds the same tables as ``CHECK`` constraints; :mod:`marsgis.db.station` runs every
change through :func:`check_application_transition` / :func:`check_visa_transition` first.

>>> check_application_transition("draft", "submitted", actor="ana", applicant="ana")
'applicant'
>>> sorted(APPLICATION_TRANSITIONS["under_review"])
['approved', 'info_requested', 'rejected', 'withdrawn']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from marsgis.exceptions import SeparationOfDutiesError, StateTransitionError, ValidationError

__all__ = [
    "APPLICATION_STATUSES",
    "APPLICATION_TRANSITIONS",
    "DECIDED_STATUSES",
    "ENTRY_OUTCOMES",
    "VISA_STATUSES",
    "VISA_TRANSITIONS",
    "check_application_transition",
    "check_officer",
    "check_second_officer",
    "check_visa_transition",
]

#: States of a visa application.
APPLICATION_STATUSES = (
    "draft",
    "submitted",
    "under_review",
    "info_requested",
    "approved",
    "rejected",
    "withdrawn",
)
#: from status -> {to status: who may make the change ("applicant" or "officer")}.
APPLICATION_TRANSITIONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "draft": MappingProxyType({"submitted": "applicant"}),
        "submitted": MappingProxyType({"under_review": "officer", "withdrawn": "applicant"}),
        "under_review": MappingProxyType(
            {
                "info_requested": "officer",
                "approved": "officer",
                "rejected": "officer",
                "withdrawn": "applicant",
            }
        ),
        "info_requested": MappingProxyType({"under_review": "applicant"}),
        "approved": MappingProxyType({}),
        "rejected": MappingProxyType({}),
        "withdrawn": MappingProxyType({}),
    }
)
#: Application states that are decisions (final).
DECIDED_STATUSES = ("approved", "rejected", "withdrawn")

#: States of a visa (created ``issued``).
VISA_STATUSES = ("issued", "expired", "revoked")
#: from status -> the statuses it may go to.
VISA_TRANSITIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"issued": ("expired", "revoked"), "expired": (), "revoked": ()}
)

#: What an immigration officer records for a passenger at arrival.
ENTRY_OUTCOMES = ("admitted", "refused", "secondary_inspection")


def _status(value: object, known: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise ValidationError(f"{what} {value!r} is not one of {', '.join(known)}")
    return value


def check_officer(officer: str, *, applicant: str, sponsor: str | None = None) -> None:
    """Refuse an officer who is the application's applicant or sponsor.

    >>> check_officer("omar", applicant="ana", sponsor="sam")
    >>> check_officer("sam", applicant="ana", sponsor="sam")
    Traceback (most recent call last):
    ...
    marsgis.exceptions.SeparationOfDutiesError: officer 'sam' is the sponsor of this application; another immigration officer must decide it
    """
    if officer == applicant:
        raise SeparationOfDutiesError(
            f"officer {officer!r} is the applicant of this application; another immigration "
            "officer must decide it"
        )
    if sponsor is not None and officer == sponsor:
        raise SeparationOfDutiesError(
            f"officer {officer!r} is the sponsor of this application; another immigration "
            "officer must decide it"
        )


def check_second_officer(proposed_by: str | None, officer: str) -> None:
    """Refuse a revocation confirmed by nobody else than the officer who proposed it."""
    if proposed_by is None:
        raise StateTransitionError(
            "this visa has no proposed revocation; one officer proposes it "
            "(propose_revocation) and a second officer confirms it (revoke_visa)"
        )
    if proposed_by == officer:
        raise SeparationOfDutiesError(
            f"officer {officer!r} proposed this revocation and cannot also confirm it; a "
            "second immigration officer must confirm it"
        )


def check_application_transition(
    current: str,
    new: str,
    *,
    actor: str,
    applicant: str,
    sponsor: str | None = None,
) -> str:
    """Check that ``actor`` may move an application from ``current`` to ``new``.

    Returns who the transition belongs to (``"applicant"`` or ``"officer"``).

    Raises
    ------
    StateTransitionError
        The lifecycle has no such transition (the message lists the allowed ones), or an
        applicant's step is taken by someone else than the applicant.
    SeparationOfDutiesError
        An officer's step is taken by the applicant or the sponsor.
    """
    _status(current, APPLICATION_STATUSES, "application status")
    _status(new, APPLICATION_STATUSES, "application status")
    allowed = APPLICATION_TRANSITIONS[current]
    who = allowed.get(new)
    if who is None:
        options = ", ".join(repr(s) for s in allowed) or f"nothing ({current!r} is final)"
        raise StateTransitionError(
            f"a visa application cannot go from {current!r} to {new!r}; from {current!r} it "
            f"may go to: {options}"
        )
    if who == "applicant" and actor != applicant:
        raise StateTransitionError(
            f"only the applicant {applicant!r} may move an application from {current!r} to "
            f"{new!r}, not {actor!r}"
        )
    if who == "officer":
        check_officer(actor, applicant=applicant, sponsor=sponsor)
    return who


def check_visa_transition(current: str, new: str) -> None:
    """Check that a visa may go from ``current`` to ``new`` (:data:`VISA_TRANSITIONS`).

    >>> check_visa_transition("revoked", "issued")
    Traceback (most recent call last):
    ...
    marsgis.exceptions.StateTransitionError: a visa cannot go from 'revoked' to 'issued'; from 'revoked' it may go to: nothing ('revoked' is final)
    """
    _status(current, VISA_STATUSES, "visa status")
    _status(new, VISA_STATUSES, "visa status")
    allowed = VISA_TRANSITIONS[current]
    if new not in allowed:
        options = ", ".join(repr(s) for s in allowed) or f"nothing ({current!r} is final)"
        raise StateTransitionError(
            f"a visa cannot go from {current!r} to {new!r}; from {current!r} it may go to: "
            f"{options}"
        )
