"""Synthetic customers: deterministic from the seed, realistic in shape.

Every random draw comes from ``random.Random`` seeded with a string built from
``SandboxConfig.seed``; string seeds go through SHA-512, so the same config gives
the same customers in every process (``hash()`` randomisation plays no part).
"""

from __future__ import annotations

import bisect
import enum
import random
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import orjson

from ..models import CustomerType, Ethnicity, Gender, PreferredLanguage
from ._config import SandboxConfig
from ._records import RecordsBuilder, SandboxRecords

__all__ = [
    "BURST_FACTOR",
    "CUSTOMER_FIELDS",
    "UNKNOWN_ENUM_SHARE",
    "UNKNOWN_ENUM_VALUES",
    "VENDOR_SAMPLE",
    "VENDOR_SAMPLE_ID",
    "generate_customers",
]

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
"""The one value of each open enumeration that lies outside the models' members.

About 1% of customers carry it, on purpose: a client must keep an unknown value as its
raw string. Every other enumeration value the sandbox serves is a member of the
models' enums, read from them, so the data cannot drift from the models."""

UNKNOWN_ENUM_SHARE = 0.01
"""Share of customers whose value of each open enumeration is `UNKNOWN_ENUM_VALUES`'s."""

VENDOR_SAMPLE_ID = 12345
VENDOR_SAMPLE: Mapping[str, Any] = {
    "id": VENDOR_SAMPLE_ID, "first_name": "Jane", "last_name": "Smith", "middle_name": "A",
    "date_of_birth": "1990-04-12", "phone": "555-123-4567", "email": "jane@example.com",
    "comment": "Frequent customer", "has_medical_recommendation": True,
    "recommendation": {"number": "RX987654", "valid_from": "2025-01-01",
                       "valid_to": "2025-12-31", "state_id_expires_on": "2025-07-15"},
    "state_id": "CA987654", "alternative_id": None, "passport": None,
    "gender": "female", "weight": 65, "height": "5'6\"", "type": "medical_with_rec",
    "ethnicity": "latino_or_hispanic", "preferred_language": "english",
    "manual_groups": [101, 203], "auto_groups": [301],
    "home_phone": None, "office_phone": None, "fax": None,
    "address": {"street_address_1": "456 Sunset Blvd", "street_address_2": "Unit 2",
                "city": "Los Angeles", "state": "CA", "zip": "90026"},
    "mail_messages_allowed": True, "email_messages_allowed": True,
    "text_messages_allowed": False, "call_messages_allowed": True,
    "email_consent_date": "2024-11-10", "phone_consent_date": "2024-11-10",
}  # fmt: skip
"""The vendor guide's sample customer, served by default (`SandboxConfig.vendor_sample`)."""


def _weighted(members: Iterable[enum.Enum], weights: Mapping[enum.Enum, int]) -> tuple[str, ...]:
    """Every member's value, repeated by its weight (1 unless given): a draw pool.

    Built from the enum itself, so a member added to the models is served too, and one
    removed fails here, at import, instead of being served as an unknown value.
    """
    return tuple(m.value for m in members for _ in range(weights.get(m, 1)))


# Repetition weights the draw: most shoppers are English speakers, and so on.
_GENDER_POOL = _weighted(Gender, {Gender.MALE: 10, Gender.FEMALE: 9, Gender.OTHER: 1})
_TYPE_POOL = _weighted(
    CustomerType,
    {CustomerType.RECREATIONAL: 5, CustomerType.MEDICAL: 2, CustomerType.MEDICAL_WITH_REC: 3},
)
_ETHNICITY_POOL = _weighted(
    Ethnicity,
    {
        Ethnicity.ASIAN: 3,
        Ethnicity.BLACK_OR_AFRICAN_AMERICAN: 3,
        Ethnicity.LATINO_OR_HISPANIC: 6,
        Ethnicity.WHITE: 7,
        Ethnicity.PREFER_NOT_TO_SAY: 2,
    },
)
_LANGUAGE_POOL = _weighted(
    PreferredLanguage, {PreferredLanguage.ENGLISH: 14, PreferredLanguage.SPANISH: 4}
)
_MEDICAL_TYPES = (CustomerType.MEDICAL.value, CustomerType.MEDICAL_WITH_REC.value)

# First names by the gender they usually go with, so that names and genders agree.
_FEMALE_NAMES = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Sandra", "Ashley", "Emily", "Maria", "Michelle",
    "Amanda", "Mei", "Linh", "Sofia", "Aaliyah", "Hannah", "Camila", "Olivia", "Ava",
    "Isabella", "Yuki", "Ani", "Olga", "Ngozi", "Lucia",
)  # fmt: skip
_MALE_NAMES = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Carlos", "Daniel", "Matthew", "Anthony", "Mark", "Jose", "Luis", "Kevin", "Brian",
    "Wei", "Minh", "Juan", "Andre", "Tyler", "Diego", "Ethan", "Noah", "Liam", "Hiroshi",
    "Arman", "Dmitri", "Kwame", "Rafael",
)  # fmt: skip
_FIRST_NAMES = _FEMALE_NAMES + _MALE_NAMES
_NAMES_BY_GENDER: Mapping[str | None, tuple[str, ...]] = {
    Gender.FEMALE.value: _FEMALE_NAMES,
    Gender.MALE.value: _MALE_NAMES,
}
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


# Phone numbers: ``AREA-EXCHANGE-LINE``, exchange 200..999. Multiplying the customer id
# by a number prime to 8,000,000 permutes the residues, so each field's numbers are
# unique per customer (for ids below 8,000,000, about three million customers) yet look
# random. One multiplier per field.
_PHONE_SPACE = 800 * 10_000
_MOBILE_MULTIPLIER = 48_271
_OFFICE_MULTIPLIER = 40_503
_FAX_MULTIPLIER = 1_000_003


# Formatted once: a phone number is then three lookups and a concatenation.
_EXCHANGES = tuple(f"-{200 + n}-" for n in range(800))
_LINES = tuple(f"{n:04d}" for n in range(10_000))


def _unique_phone(area: str, customer_id: int, multiplier: int) -> str:
    exchange, line = divmod(customer_id * multiplier % _PHONE_SPACE, 10_000)
    return area + _EXCHANGES[exchange] + _LINES[line]


def generate_customers(config: SandboxConfig | None = None) -> SandboxRecords:
    """Generate the customers ``config`` describes, sorted by ``(created, id)``.

    Each customer gets its own id, state id, email and phones (unique: the email's local
    part ends in the customer's id, the only digits in it; each phone number is a
    permutation of the id) and sign-up dates. An identity (gender and names that agree),
    a profile and a household (address and home phone, shared by the household's
    members) come from seeded pools of a thousand each.
    Values vary widely, yet a hundred thousand customers take about a second. With
    ``config.vendor_sample``, the vendor's sample customer takes the place of one.
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
    # The sample takes the place of the first customer whose id reaches its own (or of
    # the last one): ids stay ascending within a day, and the count stays exact.
    sample_pending = config.vendor_sample
    last = len(days) - 1
    for index, ordinal in enumerate(days):
        if ordinal != created.toordinal():
            created = date.fromordinal(ordinal)
            created_iso = created.isoformat()
            recommendations = []
        customer_id += 1 + int(rand() * 4)
        if sample_pending and (customer_id >= VENDOR_SAMPLE_ID or index == last):
            sample_pending = False
            customer_id = VENDOR_SAMPLE_ID
            created_column.append(ordinal)
            ids.append(customer_id)
            state_ids.append(VENDOR_SAMPLE["state_id"])
            buffer += dumps(VENDOR_SAMPLE)
            buffer += b","
            offsets.append(len(buffer))
            continue
        identity, local, domain, phones = identities[int(rand() * _POOL_SIZE)]
        profile, allow_email = profiles[int(rand() * _POOL_SIZE)]
        household, state, area = households[int(rand() * _POOL_SIZE)]
        body = template.copy()
        body.update(identity)
        body.update(profile)
        body.update(household)
        body["id"] = customer_id
        if phones & 1:  # _unique_phone, inlined: this runs for almost every customer
            exchange, line = divmod(customer_id * _MOBILE_MULTIPLIER % _PHONE_SPACE, 10_000)
            body["phone"] = area + _EXCHANGES[exchange] + _LINES[line]
        if phones & 2:
            body["office_phone"] = _unique_phone(area, customer_id, _OFFICE_MULTIPLIER)
        if phones & 4:
            body["fax"] = _unique_phone(area, customer_id, _FAX_MULTIPLIER)
        if local is not None:
            body["email"] = local + str(customer_id) + domain
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


BURST_FACTOR = 8
"""How many times a usual day's sign-ups a burst day (grand opening, 4/20) brings."""


def _bursty_weights(config: SandboxConfig, span: int) -> list[float]:
    """Usual days, and about 2% of days (grand opening, 4/20s) with `BURST_FACTOR` times
    their sign-ups.

    A burst is a multiple of the usual rate, as at a real store, not a fixed share of
    all customers: with more customers over more days the burst days do not grow
    denser than the rest (a fixed 30% share on 2% of days had one day of a 50,000
    customer, two-year sandbox hold more than a walk's default `max_limit`).
    """
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
    weights = [1.0] * span
    for offset in bursts[:burst_count]:
        weights[offset] = float(BURST_FACTOR)
    return weights


def _pick(rand: Any, seq: tuple[Any, ...]) -> Any:
    return seq[int(rand() * len(seq))]


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _phone(rand: Any, area: str) -> str:
    return f"{area}-{200 + int(rand() * 800)}-{int(rand() * 10000):04d}"


_EMAIL_PATTERNS = ("{f}.{l}", "{i}{l}", "{f}{l}", "{f}_{l}", "{f}")


def _identity(rand: Any) -> tuple[dict[str, Any], str | None, str, int]:
    """Gender and names (agreeing), birth date, comment; the email's local part (or
    ``None``: no email) and ``@domain``; which phones are on file (bits: mobile, office,
    fax).

    The customer's id completes the email's local part and picks the phone numbers.
    """
    roll = rand()
    if roll < UNKNOWN_ENUM_SHARE:
        gender: str | None = UNKNOWN_ENUM_VALUES["gender"]
    elif roll < 0.05:
        gender = None
    else:
        gender = _pick(rand, _GENDER_POOL)
    names = _NAMES_BY_GENDER.get(gender, _FIRST_NAMES)
    first_name = _pick(rand, names)
    last_name = _pick(rand, _LAST_NAMES)
    roll = rand()
    if roll < 0.55:
        middle_name: str | None = None
    elif roll < 0.85:
        middle_name = chr(65 + int(rand() * 26))
    else:
        middle_name = _pick(rand, names)
    local = None
    if rand() > 0.06:
        first, last = first_name.lower(), last_name.lower().replace("'", "")
        local = _pick(rand, _EMAIL_PATTERNS).format(f=first, l=last, i=first[0])
    # Ages at sign-up run from 21 to about 80, over sign-ups across recent years.
    birth = date(2024, 1, 1).toordinal() - 21 * 366 - int(rand() * 63 * 365)
    fields = {
        "gender": gender,
        "first_name": first_name if rand() > 0.01 else None,
        "last_name": last_name if rand() > 0.01 else None,
        "middle_name": middle_name,
        "date_of_birth": _iso(birth) if rand() > 0.03 else None,
        "comment": _comment(rand),
    }
    phones = (rand() > 0.04) | (rand() < 0.08) << 1 | (rand() < 0.02) << 2
    return fields, local, "@" + _pick(rand, _EMAIL_DOMAINS), phones


def _comment(rand: Any) -> str | None:
    sentences = _pick(rand, _COMMENT_SENTENCES)
    if sentences == 0:
        return None
    return " ".join(_pick(rand, _COMMENTS) for _ in range(sentences))


def _profile(rand: Any) -> tuple[dict[str, Any], bool]:
    """Enumerations, body measures, groups, ids, contact preferences; and email consent."""
    roll = rand()
    if roll < UNKNOWN_ENUM_SHARE:
        customer_type: str | None = UNKNOWN_ENUM_VALUES["type"]
    elif roll < 0.04:
        customer_type = None
    else:
        customer_type = _pick(rand, _TYPE_POOL)
    roll = rand()
    if roll < 0.02:
        has_recommendation: bool | None = None
    elif customer_type in _MEDICAL_TYPES:
        has_recommendation = roll > 0.06
    else:
        has_recommendation = roll > 0.92

    roll = rand()
    if roll < 0.08:
        weight: float | int | None = None
    elif roll < 0.6:
        weight = 45 + int(rand() * 80)
    else:
        weight = 45 + int(rand() * 80) + (1 + int(rand() * 9)) / 10

    roll = rand()
    if roll < UNKNOWN_ENUM_SHARE:
        ethnicity: str | None = UNKNOWN_ENUM_VALUES["ethnicity"]
    elif roll < 0.1:
        ethnicity = None
    else:
        ethnicity = _pick(rand, _ETHNICITY_POOL)

    roll = rand()
    if roll < UNKNOWN_ENUM_SHARE:
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


def _household(rand: Any) -> tuple[dict[str, Any], str, str]:
    """Postal address and home phone (shared by the household's members); state, area code."""
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
        "home_phone": _phone(rand, area) if rand() < 0.15 else None,
        "address": address,
    }
    return fields, state, area


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
