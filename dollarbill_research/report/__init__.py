"""Self-contained HTML reports of a backtest or a sweep (matplotlib figures inline as PNG).

``result.report(path)`` and ``sweep_result.report(path)`` call :func:`backtest_report` and
:func:`sweep_report`. A report is one file with no network reference (styles inline, figures as
``data:`` URIs) and is deterministic: the same result gives the same bytes.
"""

from dollarbill_research.report.backtest import backtest_report
from dollarbill_research.report.sweep import sweep_report

__all__ = ["backtest_report", "sweep_report"]
