"""Two simulated tenants in one deployment: a tenants file, and the environment that names it.

``north`` and ``south`` are the bundled simulator's worlds of different seeds, sizes and report zones, each its
own store partition under one data folder; the pinned end makes every test see the same data."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

END = "2026-11-18T15:30:00+00:00"
WORLDS = {
    "north": {"seed": 11, "days": 21, "conversations_per_day": 80, "timezone": "America/New_York"},
    "south": {"seed": 23, "days": 21, "conversations_per_day": 60, "timezone": "Europe/Berlin"},
}
TENANTS_TOML = "".join(
    f'[tenants.{name}]\nsimulator = {{ seed = {w["seed"]}, days = {w["days"]}, conversations_per_day = '
    f'{w["conversations_per_day"]} }}\ntimezone = "{w["timezone"]}"\n\n'
    for name, w in WORLDS.items())
CLEARED = ("KHOROS_ANALYTICS_URL", "KHOROS_CARE_URL", "KHOROS_BOT_API_URL", "KHOROS_COMPANY_KEY", "KHOROS_USERNAME",
           "KHOROS_PASSWORD", "CARE_DASHBOARD_TENANTS", "CARE_DASHBOARD_ACCESS", "CARE_DASHBOARD_TENANT_NAME",
           "CARE_DASHBOARD_SIMULATOR_SEED", "CARE_DASHBOARD_SIMULATOR_DAYS", "CARE_DASHBOARD_SIMULATOR_CPD")


def write_tenants_file(folder: Path, text: str = TENANTS_TOML) -> Path:
    path = folder / "tenants.toml"
    path.write_text(text)
    return path


def tenants_env(data_dir: Path, tenants_file: Path | None, **extra: str) -> dict[str, str]:
    env = {"CARE_DASHBOARD_DATA_DIR": str(data_dir), "CARE_DASHBOARD_SIMULATOR_END": END,
           "CARE_DASHBOARD_IFRAME_SECRET": "test-iframe-secret-for-the-suite", **extra}
    if tenants_file is not None:
        env["CARE_DASHBOARD_TENANTS"] = str(tenants_file)
    return env


def single_env(data_dir: Path, name: str) -> dict[str, str]:
    """The environment of a one-tenant deployment of the same world as tenant ``name`` (no tenants file)."""
    w = WORLDS[name]
    return tenants_env(data_dir, None, CARE_DASHBOARD_SIMULATOR_SEED=str(w["seed"]),
                       CARE_DASHBOARD_SIMULATOR_DAYS=str(w["days"]),
                       CARE_DASHBOARD_SIMULATOR_CPD=str(w["conversations_per_day"]),
                       CARE_DASHBOARD_TIMEZONE=w["timezone"])


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set and the other deployment settings cleared, for a module's fixtures."""
    saved = dict(os.environ)
    for name in CLEARED:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
