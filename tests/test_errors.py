"""The exception tree and the public namespace: context given at construction, the
public module in every name, and the SDK's own error from the public `Window`."""

from __future__ import annotations

import datetime as dt
import pickle
import traceback
import typing

import pytest

import indica_async
from indica_async import (
    APIError,
    APIStatusError,
    Customer,
    DecodeError,
    Gender,
    InvalidArgumentError,
    NotFoundError,
    RateLimitError,
    ServerError,
    Window,
    WindowOverflowError,
)
from indica_async._errors import with_context

D0 = dt.date(2024, 1, 1)


def test_every_public_name_reports_the_public_module() -> None:
    modules = {}
    for name in indica_async.__all__:
        value = getattr(indica_async, name)
        if not isinstance(value, type) and not callable(value):
            continue  # a constant or an instance (`converter`) has no module of its own
        modules[name] = getattr(value, "__module__", None)
    assert {"AsyncIndicaClient", "Customer", "NotFoundError", "Window"} <= modules.keys()
    assert {n: m for n, m in modules.items() if m != "indica_async"} == {}


def test_the_public_module_keeps_pickling_and_type_hints_working() -> None:
    # Both look a class up by its module: the re-export must be what they find.
    assert pickle.loads(pickle.dumps(Gender.FEMALE)) is Gender.FEMALE
    customer = Customer(id=1, gender=Gender.FEMALE)
    assert pickle.loads(pickle.dumps(customer)) == customer
    for cls in (Customer, indica_async.Address, indica_async.Recommendation):
        assert typing.get_type_hints(cls)


def test_a_traceback_names_the_public_module() -> None:
    error = NotFoundError("not found", status=404, method="GET", path="/customers/1")
    text = "".join(traceback.format_exception_only(type(error), error))
    assert text.startswith("indica_async.NotFoundError: 404 not found (GET /customers/1)")


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2024-01-01", D0),
        (D0, "2024-01-02"),
        (dt.datetime(2024, 1, 1, 12), D0),
        (D0, None),
        (20240101, D0),
        (dt.date(2024, 1, 2), D0),
    ],
)
def test_a_bad_window_raises_the_sdks_own_error(first: object, last: object) -> None:
    with pytest.raises(InvalidArgumentError):
        Window(first, last)  # type: ignore[arg-type]


def test_a_single_day_cannot_be_split_and_says_so_in_the_sdks_error() -> None:
    with pytest.raises(InvalidArgumentError):
        Window(D0, D0).split()


ERRORS: list[APIError] = [
    APIError("boom", method="GET", path="/customers"),
    APIStatusError("unexpected status", status=418, method="GET", path="/customers/1"),
    NotFoundError("not found", status=404, method="GET", path="/customers/state-id/{state_id}"),
    RateLimitError("rate limited", status=429, method="GET", path="/customers", retry_after=2.5),
    ServerError("the API failed", status=503),
    DecodeError("bad", field="[0].id", expected="int", method="GET", path="/customers"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_context_is_added_by_building_a_copy(error: APIError) -> None:
    window = Window(D0, dt.date(2024, 1, 31))
    before = (str(error), repr(error), dict(vars(error)))
    copy = with_context(error, window=window)
    assert type(copy) is type(error) and copy is not error
    assert copy.window == window and "[window 2024-01-01..2024-01-31]" in str(copy)
    assert (str(error), repr(error), dict(vars(error))) == before  # the original is untouched
    assert {k: v for k, v in vars(copy).items() if k != "window"} == {
        k: v for k, v in vars(error).items() if k != "window"
    }
    restored = pickle.loads(pickle.dumps(copy))
    assert type(restored) is type(copy) and vars(restored) == vars(copy)
    assert str(restored) == str(copy) and restored.args == copy.args


def test_every_context_can_be_given_to_the_constructor() -> None:
    window = Window(D0, D0)
    for cls in (APIError, DecodeError):
        assert cls("x", method="GET", path="/p", window=window).window == window
    for status_cls in (APIStatusError, NotFoundError, RateLimitError, ServerError):
        error = status_cls("x", status=500, method="GET", path="/p", window=window)
        assert str(error) == "500 x (GET /p) [window 2024-01-01]"


def test_a_window_overflow_carries_the_callers_max_limit() -> None:
    error = WindowOverflowError(D0, 40, 40)
    assert (error.day, error.count, error.max_limit, error.server_cap) == (D0, 40, 40, None)
    assert "max_limit=40" in str(error)
    capped = pickle.loads(pickle.dumps(WindowOverflowError(D0, 33, 1000, server_cap=33)))
    assert (capped.max_limit, capped.server_cap) == (1000, 33)
    assert "caps limit at 33" in str(capped)
