"""Field-by-field comparison of two stored customers (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["diff_fields"]


def diff_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]:
    """The names of the fields that differ, and their values before and after.

    Inside an object present on both sides (``address``, ``recommendation``) the
    names are ``object.field``; an object that appears, disappears or is replaced by a
    non-object is one change of the top-level field. A missing field equals null.
    """
    names: list[str] = []
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for field in sorted(set(before) | set(after)):
        was, now = before.get(field), after.get(field)
        if was == now:
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            for sub in sorted(set(was) | set(now)):
                if was.get(sub) != now.get(sub):
                    name = f"{field}.{sub}"
                    names.append(name)
                    old[name], new[name] = was.get(sub), now.get(sub)
            continue
        names.append(field)
        old[field], new[field] = was, now
    return tuple(names), old, new
