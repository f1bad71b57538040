"""The one base of every error the dashboard raises on purpose, and where each kind is defined.

A page, the CLI or a notebook catches :class:`DashboardError` and shows its message as it is: every message
says what failed and where (a setting's name, a file and line, an API method and redacted URL) and never holds
a secret or customer text. Anything else that escapes is a bug: pages log it as an internal error and show no
raw text; the CLI exits with a one-line message.

    DashboardError                       (this module)
    ├── SettingsError                    a setting is missing or invalid; names the setting (this module)
    ├── StoreError                       the store cannot be read or written; names the file (this module)
    │   └── StoreBusy                    another writer holds the store's writer lease; names it (this module)
    ├── KhorosError                      the Khoros APIs (or the simulator): method, redacted URL, status
    │                                    (dashboard.khoros.errors, which draws its own subtree)
    ├── SchemaError                      an export file lacks a required column (dashboard.schema)
    ├── ConfigFileError                  a configuration file is wrong; file, line, reason (this module)
    │   ├── PolicyError                  an SLA policy file (dashboard.metrics.policy)
    │   ├── RulesError                   the notifier's rules file (dashboard.notify.errors; a NotifyError too)
    │   └── AccessError                  the access file, CARE_DASHBOARD_ACCESS (dashboard.access)
    ├── ScheduleError                    a business schedule is wrong (dashboard.metrics.business_hours)
    ├── AlertRuleError                   an [[alerts]] entry is wrong; file, entry, key (dashboard.alerts)
    ├── NotifyError                      digests and SLA alerts (dashboard.notify.errors)
    │   ├── RulesError                   the rules file (CARE_DASHBOARD_NOTIFY) is wrong (a ConfigFileError)
    │   ├── NotifyConfigError            a delivery setting is missing or unusable; names it, never its value
    │   ├── DeliveryError                a channel failed after its retries; says whether a retry may help
    │   └── NotifyBusy                   another `notify run` holds the store's notification lock
    ├── PlanningError                    a planning figure (contact reasons, occupancy, staffing, what-if
    │                                    targets) cannot be computed as asked; the argument or edited row
    │                                    and why (this module; raised by dashboard.metrics and the views)
    ├── AuditError                       the audit cannot be written or read; names its folder (dashboard.audit)
    ├── ReportError                      bad report arguments or an empty store (dashboard.report)
    └── InvalidPayload                   an iFrame payload is not valid (dashboard.embed)

Subclasses that were ``ValueError`` before keep that base too, so existing ``except ValueError`` still works.
"""

from __future__ import annotations

__all__ = ["ConfigFileError", "DashboardError", "PlanningError", "SettingsError", "StoreBusy", "StoreError"]


class DashboardError(Exception):
    """Base of every error the dashboard raises on purpose; its message is safe to show as it is."""


class SettingsError(DashboardError, ValueError):
    """A setting is missing or has a value that cannot be used; the message names the setting."""


class ConfigFileError(DashboardError, ValueError):
    """A configuration file cannot be used: ``source`` (the file), ``line`` (1-based; None when unknown) and
    ``reason``; the message reads ``<source> line <line>: <reason>``."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {reason}")


class StoreError(DashboardError, ValueError):
    """The store cannot be read or written as asked; the message names the file or the day."""


class StoreBusy(StoreError):
    """Another writer (a sync, an import, a repair) holds the store's writer lease and did not let go in the time
    given; the message names it."""


class PlanningError(DashboardError, ValueError):
    """A planning metric was asked something it cannot answer (an empty window, an attainment outside (0, 1),
    too little history to forecast from, an edited target that does not parse); the message says which
    argument or row, and why."""
