"""Synthetic customers: deterministic from the seed, realistic in shape.

Every random draw comes from ``random.Random`` seeded with a string built from
``SandboxConfig.seed``; string seeds go through SHA-512, so the same config gives
the same customers in every process (``hash()`` randomisation plays no part).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from datetime import date
from typing import Any

import orjson

from ._config import SandboxConfig
from ._records import RecordsBuilder, SandboxRecords

__all__ = ["CUSTOMER_FIELDS", "UNKNOWN_ENUM_VALUES", "generate_customers"]

FIRST_ID = 10_000
_POOL_SIZE = 1024

CUSTOMER_FIELDS: tuple[str, ...] = (
    "id",
    "first_name",
    "last_name",
    "middle_name",
    "date_of_birth",
    "phone",
    "email",
    "comment",
    "has_medical_recommendation",
    "recommendation",
    "state_id",
    "alternative_id",
    "passport",
    "gender",
    "weight",
    "height",
    "type",
    "ethnicity",
    "preferred_language",
    "manual_groups",
    "auto_groups",
    "home_phone",
    "office_phone",
    "fax",
    "address",
    "mail_messages_allowed",
    "email_messages_allowed",
    "text_messages_allowed",
    "call_messages_allowed",
    "email_consent_date",
    "phone_consent_date",
)
"""Top-level fields of a customer, in the order of the vendor's sample."""

RECOMMENDATION_FIELDS = ("number", "valid_from", "valid_to", "state_id_expires_on")
ADDRESS_FIELDS = ("street_address_1", "street_address_2", "city", "state", "zip")

UNKNOWN_ENUM_VALUES: Mapping[str, str] = {
    "gender": "non_binary",
    "type": "caregiver",
    "ethnicity": "middle_eastern_or_north_african",
    "preferred_language": "haitian_creole",
}
"""The rare value of each open enumeration that lies outside its documented set."""

_GENDERS = ("male", "female", "other")
_TYPES = ("recreational", "medical", "medical_with_rec")
_ETHNICITIES = (
    "american_indian_or_alaska_native",
    "asian",
    "black_or_african_american",
    "latino_or_hispanic",
    "native_hawaiian_or_pacific_islander",
    "white",
    "two_or_more_races",
    "prefer_not_to_say",
)
_LANGUAGES = (
    "english",
    "spanish",
    "chinese",
    "vietnamese",
    "tagalog",
    "korean",
    "russian",
    "armenian",
)
# Repetition weights the draw: most shoppers are English speakers, and so on.
_LANGUAGE_POOL = ("english",) * 14 + ("spanish",) * 4 + _LANGUAGES[2:]
_ETHNICITY_POOL = (
    _ETHNICITIES[:1]
    + ("asian",) * 3
    + ("black_or_african_american",) * 3
    + ("latino_or_hispanic",) * 6
    + _ETHNICITIES[4:5]
    + ("white",) * 7
    + ("two_or_more_races",) * 2
    + ("prefer_not_to_say",) * 2
)
_TYPE_POOL = ("recreational",) * 5 + ("medical",) * 2 + ("medical_with_rec",) * 3
_GENDER_POOL = ("male",) * 10 + ("female",) * 9 + ("other",)

_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra",
    "Mark", "Ashley", "Jose", "Emily", "Luis", "Maria", "Kevin", "Michelle", "Brian",
    "Amanda", "Wei", "Mei", "Minh", "Linh", "Juan", "Sofia", "Andre", "Aaliyah", "Tyler",
    "Hannah", "Diego", "Camila", "Ethan", "Olivia", "Noah", "Ava", "Liam", "Isabella",
    "Hiroshi", "Yuki", "Arman", "Ani", "Dmitri", "Olga", "Kwame", "Ngozi", "Rafael", "Lucia",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "Nguyen", "Tran", "Kim", "Park", "Chen", "Wang", "Patel", "Singh", "Cohen", "O'Brien",
    "Sargsyan", "Petrosyan", "Ivanov", "Okafor", "Mensah", "Tanaka", "Sato", "Reyes",
    "Flores", "Rivera", "Cruz", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ramos",
)  # fmt: skip
_STREETS = (
    "Sunset Blvd", "Main St", "Mission St", "Valencia St", "Broadway", "Market St",
    "Telegraph Ave", "Colfax Ave", "Pike St", "Burnside St", "Hawthorne Blvd",
    "Fremont St", "Woodward Ave", "Michigan Ave", "Central Ave", "Oak St", "Pine St",
    "Maple Ave", "Cedar Ln", "Lincoln Ave", "Washington Blvd", "Park Ave", "Elm St",
    "Hollywood Blvd", "Venice Blvd", "El Camino Real", "Grand Ave", "Alvarado St",
)  # fmt: skip
_UNITS = ("Apt 1", "Apt 2B", "Unit 2", "Unit 14", "Suite 200", "Apt 305", "#7", "Apt 12C")
# (city, state, zip prefix, area codes); California repeats because most stores are there.
_CA = (
    ("Los Angeles", "CA", "900", ("213", "323", "310")),
    ("San Francisco", "CA", "941", ("415", "628")),
    ("San Diego", "CA", "921", ("619", "858")),
    ("Oakland", "CA", "946", ("510",)),
    ("Sacramento", "CA", "958", ("916",)),
    ("San Jose", "CA", "951", ("408", "669")),
    ("Long Beach", "CA", "908", ("562",)),
    ("Fresno", "CA", "937", ("559",)),
    ("Santa Cruz", "CA", "950", ("831",)),
    ("Eureka", "CA", "955", ("707",)),
)
_OTHER = (
    ("Denver", "CO", "802", ("303", "720")),
    ("Boulder", "CO", "803", ("303",)),
    ("Seattle", "WA", "981", ("206",)),
    ("Spokane", "WA", "992", ("509",)),
    ("Portland", "OR", "972", ("503", "971")),
    ("Eugene", "OR", "974", ("541",)),
    ("Las Vegas", "NV", "891", ("702",)),
    ("Detroit", "MI", "482", ("313",)),
    ("Ann Arbor", "MI", "481", ("734",)),
    ("Boston", "MA", "021", ("617",)),
    ("Chicago", "IL", "606", ("312", "773")),
    ("Phoenix", "AZ", "850", ("602",)),
    ("Tucson", "AZ", "857", ("520",)),
    ("Albuquerque", "NM", "871", ("505",)),
    ("New York", "NY", "100", ("212", "646")),
)
_CITIES = _CA * 3 + _OTHER
_EMAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com",
    "hotmail.com", "protonmail.com", "aol.com", "comcast.net",
)  # fmt: skip
_COMMENTS = (
    "Prefers indica flower for sleep; ask about new Kush drops.",
    "Frequent customer, usually comes in on Friday evenings.",
    "Sensitive to high-THC edibles, recommend 2.5 mg doses.",
    "Interested in CBD tinctures for joint pain.",
    "Asked to be notified when live rosin carts are back in stock.",
    "Veteran discount applied per manager approval.",
    "Likes sativa pre-rolls, mostly Jack Herer and Durban Poison.",
    "Uses delivery most weeks; gate code is on the order notes.",
    "Referred by a friend during the spring promotion.",
    "Bought a vaporizer battery, follow up on the warranty claim.",
    "Prefers paying cash, declined the loyalty app.",
    "Caregiver picks up orders on weekends with a signed form.",
    "Allergic to some terpenes, check the lab results before recommending.",
    "Regular at the Tuesday vendor days, enjoys trying new brands.",
    "Requested large-print receipts.",
    "Joined the loyalty program at the grand opening.",
)
# One customer in ten has no comment; the rest one to four sentences of notes.
_COMMENT_SENTENCES = (0, 1, 1, 2, 2, 2, 3, 3, 3, 4)
_MANUAL_GROUPS = (101, 102, 105, 110, 118, 203, 204, 207, 215, 220)
_AUTO_GROUPS = (301, 302, 305, 310, 311, 320)

# Multiplying by a number prime to 10 permutes the residues mod 10**8: state id digits
# look random yet stay unique while ids stay below 10**8 (about 40 million customers).
_STATE_ID_MULTIPLIER = 2_654_435_761
_STATE_ID_MODULUS = 10**8


def generate_customers(config: SandboxConfig | None = None) -> SandboxRecords:
    """Generate the customers ``config`` describes, sorted by ``(created, id)``.

    Each customer combines an identity, a profile and a household drawn from seeded
    pools of a thousand each, and gets its own id, state id and sign-up dates: values
    vary widely, yet a hundred thousand customers take about a second.
    """
    config = config or SandboxConfig()
    days = _creation_days(config)
    rng = random.Random(f"indica-sandbox:{config.seed}:customers")
    rand = rng.random
    identities = [_identity(rand) for _ in range(_POOL_SIZE)]
    profiles = [_profile(rand) for _ in range(_POOL_SIZE)]
    households = [_household(rand) for _ in range(_POOL_SIZE)]
    template = dict.fromkeys(CUSTOMER_FIELDS)
    field_count = len(CUSTOMER_FIELDS) - 1
    dumps = orjson.dumps

    builder = RecordsBuilder()
    created_column, ids, state_ids = builder.created, builder.ids, builder.state_ids
    buffer, offsets = builder.buffer, builder.offsets
    customer_id = FIRST_ID
    created = date.min
    created_iso = ""
    recommendations: list[dict[str, Any]] = []
    for ordinal in days:
        if ordinal != created.toordinal():
            created = date.fromordinal(ordinal)
            created_iso = created.isoformat()
            recommendations = []
        customer_id += 1 + int(rand() * 4)
        identity, has_email = identities[int(rand() * _POOL_SIZE)]
        profile, allow_email = profiles[int(rand() * _POOL_SIZE)]
        household, state = households[int(rand() * _POOL_SIZE)]
        body = template.copy()
        body.update(identity)
        body.update(profile)
        body.update(household)
        body["id"] = customer_id
        if has_email:
            body["email_messages_allowed"] = allow_email
            if allow_email:
                body["email_consent_date"] = created_iso
        if profile["text_messages_allowed"]:
            body["phone_consent_date"] = created_iso
        if profile["has_medical_recommendation"]:
            if not recommendations:
                recommendations = [_recommendation(rand, ordinal) for _ in range(8)]
            body["recommendation"] = recommendations[int(rand() * 8)]

        digits = f"{customer_id * _STATE_ID_MULTIPLIER % _STATE_ID_MODULUS:08d}"
        draw = rand()
        if draw > 0.045:
            body["state_id"] = state + digits
        elif draw > 0.02:
            # A few state ids hold a space or a slash, as some states print them.
            if draw > 0.035:
                body["state_id"] = f"{state} {digits}"
            elif draw > 0.025:
                body["state_id"] = f"{state}{digits[:3]}/{digits[3:]}"
            else:
                body["state_id"] = f"{state} {digits[:3]}/{digits[3:]}"
        # Fields may be missing altogether, not only null (API.md: nullable and optional).
        draw = rand()
        if draw < 0.3:
            del body[CUSTOMER_FIELDS[1 + int(draw * 1e6) % field_count]]
            if draw < 0.03:
                body.pop(CUSTOMER_FIELDS[1 + int(rand() * field_count)], None)
        # RecordsBuilder.add, inlined: this loop runs once per customer.
        created_column.append(ordinal)
        ids.append(customer_id)
        state_ids.append(body.get("state_id"))
        buffer += dumps(body)
        buffer += b","
        offsets.append(len(buffer))
    return builder.build()


def _creation_days(config: SandboxConfig) -> list[int]:
    """The creation day (as an ordinal) of every customer, ascending."""
    if config.daily_counts is not None:
        days: list[int] = []
        for day in sorted(config.daily_counts):
            days.extend([day.toordinal()] * config.daily_counts[day])
        return days
    first = config.start_date.toordinal()
    span = config.end_date.toordinal() - first + 1
    weights = _day_weights(config, span)
    cumulative: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    rng = random.Random(f"indica-sandbox:{config.seed}:days")
    rand = rng.random
    counts = [0] * span
    # Inverse-CDF sampling by bisection, as random.choices does, without its overhead.
    for _ in range(config.customers):
        counts[min(bisect.bisect(cumulative, rand() * total), span - 1)] += 1
    days = []
    for offset, count in enumerate(counts):
        if count:
            days.extend([first + offset] * count)
    return days


def _day_weights(config: SandboxConfig, span: int) -> list[float]:
    if config.distribution == "growing":
        # Sign-ups per day grow linearly to four times the first day's rate.
        return [1.0 + 3.0 * offset / max(span - 1, 1) for offset in range(span)]
    if config.distribution == "bursty":
        return _bursty_weights(config, span)
    return [1.0] * span


def _bursty_weights(config: SandboxConfig, span: int) -> list[float]:
    """Light days, and about 2% of days (grand opening, 4/20s) holding 30% of sign-ups."""
    burst_count = max(1, round(span * 0.02))
    if burst_count >= span:
        return [1.0] * span
    rng = random.Random(f"indica-sandbox:{config.seed}:bursts")
    first = config.start_date
    bursts: list[int] = [rng.randrange(min(7, span))]  # the grand opening
    for year in range(first.year, config.end_date.year + 1):
        offset = (date(year, 4, 20) - first).days
        if 0 <= offset < span and offset not in bursts:
            bursts.append(offset)
    while len(bursts) < burst_count:
        offset = rng.randrange(span)
        if offset not in bursts:
            bursts.append(offset)
    bursts = bursts[:burst_count]
    light = 0.7 / (span - len(bursts))
    heavy = 0.3 / len(bursts)
    weights = [light] * span
    for offset in bursts:
        weights[offset] = heavy
    return weights


def _pick(rand: Any, seq: tuple[Any, ...]) -> Any:
    return seq[int(rand() * len(seq))]


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _phone(rand: Any, area: str) -> str:
    return f"{area}-{200 + int(rand() * 800)}-{int(rand() * 10000):04d}"


def _identity(rand: Any) -> tuple[dict[str, Any], bool]:
    """Names, birth date, email, comment, work phones; and whether an email is on file."""
    first_name = _pick(rand, _FIRST_NAMES)
    last_name = _pick(rand, _LAST_NAMES)
    roll = rand()
    if roll < 0.55:
        middle_name: str | None = None
    elif roll < 0.85:
        middle_name = chr(65 + int(rand() * 26))
    else:
        middle_name = _pick(rand, _FIRST_NAMES)
    sentences = _pick(rand, _COMMENT_SENTENCES)
    if sentences == 0:
        comment: str | None = None
    else:
        comment = " ".join(_pick(rand, _COMMENTS) for _ in range(sentences))
    email = None
    if rand() > 0.06:
        local = f"{first_name}.{last_name}".lower().replace("'", "")
        if rand() < 0.6:
            local += str(int(rand() * 1000))
        email = f"{local}@{_pick(rand, _EMAIL_DOMAINS)}"
    # Ages at sign-up run from 21 to about 80, over sign-ups across recent years.
    birth = date(2024, 1, 1).toordinal() - 21 * 366 - int(rand() * 63 * 365)
    area = _pick(rand, _pick(rand, _CITIES)[3])
    fields = {
        "first_name": first_name if rand() > 0.01 else None,
        "last_name": last_name if rand() > 0.01 else None,
        "middle_name": middle_name,
        "date_of_birth": _iso(birth) if rand() > 0.03 else None,
        "email": email,
        "comment": comment,
        "office_phone": _phone(rand, area) if rand() < 0.08 else None,
        "fax": _phone(rand, area) if rand() < 0.02 else None,
    }
    return fields, email is not None


def _profile(rand: Any) -> tuple[dict[str, Any], bool]:
    """Enumerations, body measures, groups, ids, contact preferences; and email consent."""
    roll = rand()
    if roll < 0.01:
        customer_type: str | None = UNKNOWN_ENUM_VALUES["type"]
    elif roll < 0.04:
        customer_type = None
    else:
        customer_type = _pick(rand, _TYPE_POOL)
    roll = rand()
    if roll < 0.02:
        has_recommendation: bool | None = None
    elif customer_type in ("medical", "medical_with_rec"):
        has_recommendation = roll > 0.06
    else:
        has_recommendation = roll > 0.92

    roll = rand()
    if roll < 0.01:
        gender: str | None = UNKNOWN_ENUM_VALUES["gender"]
    elif roll < 0.05:
        gender = None
    else:
        gender = _pick(rand, _GENDER_POOL)

    roll = rand()
    if roll < 0.08:
        weight: float | int | None = None
    elif roll < 0.6:
        weight = 45 + int(rand() * 80)
    else:
        weight = 45 + int(rand() * 80) + (1 + int(rand() * 9)) / 10

    roll = rand()
    if roll < 0.01:
        ethnicity: str | None = UNKNOWN_ENUM_VALUES["ethnicity"]
    elif roll < 0.1:
        ethnicity = None
    else:
        ethnicity = _pick(rand, _ETHNICITY_POOL)

    roll = rand()
    if roll < 0.01:
        language: str | None = UNKNOWN_ENUM_VALUES["preferred_language"]
    elif roll < 0.06:
        language = None
    else:
        language = _pick(rand, _LANGUAGE_POOL)

    manual_groups = None
    if rand() > 0.03:
        manual_groups = sorted({_pick(rand, _MANUAL_GROUPS) for _ in range(int(rand() * 4))})
    auto_groups = None
    if rand() > 0.03:
        auto_groups = sorted({_pick(rand, _AUTO_GROUPS) for _ in range(int(rand() * 3))})

    fields = {
        "has_medical_recommendation": has_recommendation,
        "alternative_id": f"ALT-{int(rand() * 1_000_000):06d}" if rand() < 0.1 else None,
        "passport": f"{int(rand() * 1_000_000_000):09d}" if rand() < 0.05 else None,
        "gender": gender,
        "weight": weight,
        "height": f"{4 + int(rand() * 3)}'{int(rand() * 12)}\"" if rand() > 0.1 else None,
        "type": customer_type,
        "ethnicity": ethnicity,
        "preferred_language": language,
        "manual_groups": manual_groups,
        "auto_groups": auto_groups,
        "mail_messages_allowed": rand() > 0.5 if rand() > 0.02 else None,
        "text_messages_allowed": rand() > 0.45 if rand() > 0.02 else None,
        "call_messages_allowed": rand() > 0.6 if rand() > 0.02 else None,
    }
    return fields, rand() > 0.3


def _household(rand: Any) -> tuple[dict[str, Any], str]:
    """Postal address and home phones (shared by whoever draws them); and the state."""
    city, state, zip_prefix, area_codes = _pick(rand, _CITIES)
    area = _pick(rand, area_codes)
    address: dict[str, Any] | None = None
    if rand() > 0.03:
        address = {
            "street_address_1": f"{1 + int(rand() * 9899)} {_pick(rand, _STREETS)}"
            if rand() > 0.02
            else None,
            "street_address_2": _pick(rand, _UNITS) if rand() < 0.3 else None,
            "city": city if rand() > 0.02 else None,
            "state": state if rand() > 0.02 else None,
            "zip": f"{zip_prefix}{int(rand() * 100):02d}" if rand() > 0.02 else None,
        }
        if rand() < 0.03:
            del address[_pick(rand, ADDRESS_FIELDS)]
    fields = {
        "phone": _phone(rand, area) if rand() > 0.04 else None,
        "home_phone": _phone(rand, area) if rand() < 0.15 else None,
        "address": address,
    }
    return fields, state


def _recommendation(rand: Any, created: int) -> dict[str, Any]:
    """A medical recommendation in force on the day ``created`` (an ordinal)."""
    valid_from = created - int(rand() * 300)
    recommendation: dict[str, Any] = {
        "number": f"RX{100_000 + int(rand() * 900_000)}" if rand() > 0.02 else None,
        "valid_from": _iso(valid_from) if rand() > 0.02 else None,
        "valid_to": _iso(valid_from + 365) if rand() > 0.03 else None,
        "state_id_expires_on": _iso(created + 90 + int(rand() * 1400)) if rand() > 0.1 else None,
    }
    if rand() < 0.03:
        del recommendation[_pick(rand, RECOMMENDATION_FIELDS)]
    return recommendation
