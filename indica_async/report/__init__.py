"""A report on an account's customers, from a sync store: figures first, then HTML.

::

    from indica_async.sync import Store
    from indica_async.report import build_report, render_html

    async with Store("customers.sqlite", create=False) as store:
        report = await build_report(store, "main-street")
    report.to_json()            # every figure as JSON-ready data, for a web backend
    html = render_html(report)  # one self-contained page

Needs the ``sync`` and ``report`` extras. ``docs/report.md`` explains each figure.
"""

from ._build import build_report
from ._model import (
    ActionItem,
    ChangesSinceLastSync,
    Channel,
    Count,
    DataQuality,
    Demographics,
    Expirations,
    Growth,
    MarketingReach,
    Period,
    Report,
    RunSummary,
    StoreSummary,
    Trend,
    TypeMix,
)
from ._render import (
    ACTION_LIST_COLUMNS,
    action_list_csv,
    render_html,
    write_action_list_csv,
)

__all__ = [
    "ACTION_LIST_COLUMNS",
    "ActionItem",
    "ChangesSinceLastSync",
    "Channel",
    "Count",
    "DataQuality",
    "Demographics",
    "Expirations",
    "Growth",
    "MarketingReach",
    "Period",
    "Report",
    "RunSummary",
    "StoreSummary",
    "Trend",
    "TypeMix",
    "action_list_csv",
    "build_report",
    "render_html",
    "write_action_list_csv",
]
