"""Parse: rows per second turning a downloaded export (JSON or CSV bytes) into the typed frame, vs pandas.

The bytes are rendered exactly as the simulator serves a download (``dashboard.simulator.exports.render``: as
Khoros documents exports, every field a string under its Khoros id, times in the company's format —
``MM/dd/yyyy HH:mm:ss`` — in the zone asked for, tags joined with ';') from synthetic rows. Ours is
``dashboard.schema.parse_json_bytes / parse_csv_bytes`` with that format and zone (which also validates every
value and quarantines bad rows with a reason); the baseline is what an analyst writes with pandas to get the same
column types (``read_json`` / ``read_csv`` as text, the Khoros ids renamed, ``to_datetime`` with the format and
zone, nullable integers and booleans, tags split into lists). Both answers are checked to hold the same values
before the timings are kept.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl

from bench.synthetic import SyntheticConfig, generate
from dashboard.schema import EXPORTS, TimeReading, parse_csv_bytes, parse_json_bytes
from dashboard.simulator.exports import ExportRequest, column_id, render
from dashboard.simulator.world import WorldConfig
from dashboard.simulator.world.reference import COMPANY_TIME_FORMATS

ZONE = "America/New_York"

__all__ = ["pandas_parse", "parse_notes", "run_parse"]


class _World:
    """What ``render`` reads of a world: its configuration (the company's time format and zone)."""

    config = WorldConfig(timezone=ZONE)


READING = TimeReading(_World.config.company_time_format, ZONE)


def pandas_parse(export_id: str, body: bytes, fmt: str) -> pd.DataFrame:
    """Typed pandas frame from an export body, written the plain way."""
    schema = EXPORTS[export_id]
    if fmt == "json":
        df = pd.read_json(io.BytesIO(body), orient="records", dtype=str, convert_dates=False)
        df = df.replace({"": None})
    else:
        df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_values=[""])
    df = df.rename(columns={column_id(export_id, c.name): c.name for c in schema.columns})
    strftime = COMPANY_TIME_FORMATS[_World.config.company_time_format]
    for col in schema.columns:
        if col.name not in df:
            continue
        s = df[col.name]
        if col.kind == "time":
            # a repeated hour (the autumn clock change) is its first occurrence, a skipped one no time: as ours
            local = pd.to_datetime(s, format=strftime)
            df[col.name] = local.dt.tz_localize(ZONE, ambiguous=np.ones(len(local), dtype=bool),
                                                nonexistent="NaT").dt.tz_convert("UTC")
        elif col.kind == "int":
            df[col.name] = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif col.kind == "float":
            df[col.name] = pd.to_numeric(s, errors="coerce")
        elif col.kind == "bool":
            df[col.name] = s.map({True: True, False: False, "true": True, "false": False}).astype("boolean")
        elif col.kind == "list":
            df[col.name] = s.fillna("").str.split(";").map(lambda v: [x for x in v if x])
        elif col.kind == "str":
            df[col.name] = s.astype("string")
    return df


def _check_same(ours: pl.DataFrame, theirs: pd.DataFrame, export_id: str) -> list[str]:
    problems = []
    if ours.height != len(theirs):
        problems.append(f"{ours.height} rows vs {len(theirs)}")
        return problems
    for col in EXPORTS[export_id].columns:
        a = ours.get_column(col.name)
        b = theirs[col.name]
        if col.kind == "time":
            same = a.dt.epoch("ms").fill_null(-1).to_list() == (
                b.astype("datetime64[ms, UTC]").astype("int64").where(b.notna(), -1).tolist())
        elif col.kind == "list":
            same = [list(x) for x in a.fill_null([]).to_list()] == [list(x) if isinstance(x, list | tuple) else
                                                                    list(x) if hasattr(x, "__len__") else []
                                                                    for x in b.tolist()]
        else:
            same = [None if v is None else v for v in a.to_list()] == [None if pd.isna(v) else v for v in b.tolist()]
        if not same:
            problems.append(f"column {col.name} differs")
    return problems


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times = []
    value = None
    for _ in range(repeat):
        value = None
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def run_parse(rows: int, repeat: int = 3, log: Callable[[str], None] = print) -> dict:
    world = generate(SyntheticConfig(n_conversations=max(rows // 2, 1000), n_authors=max(rows // 4, 1000),
                                     days=30, seed=3))
    out: dict = {"rows_requested": rows, "cases": []}
    for export_id in ("response", "conversation"):
        frame = world[export_id].head(rows)
        for fmt in ("json", "csv"):
            body = render(frame, ExportRequest(export_id, 0, 0, fmt=fmt, timezone=ZONE), _World())
            ours_fn = (lambda b=body, e=export_id: parse_json_bytes(e, b, times=READING)) if fmt == "json" else (
                lambda b=body, e=export_id: parse_csv_bytes(e, b, times=READING))
            ours_s, ours_res = _best(ours_fn, repeat)
            pandas_s, pandas_res = _best(lambda b=body, e=export_id, f=fmt: pandas_parse(e, b, f), repeat)
            problems = list(_check_same(ours_res.frame, pandas_res, export_id))
            if ours_res.quarantine.height:
                problems.append(f"{ours_res.quarantine.height} rows quarantined")
            case = {"export": export_id, "format": fmt, "rows": frame.height, "mb": len(body) / 2**20,
                    "ours_s": ours_s, "pandas_s": pandas_s, "ours_rows_per_s": frame.height / ours_s,
                    "pandas_rows_per_s": frame.height / pandas_s, "agree": not problems, "problems": problems}
            out["cases"].append(case)
            log(f"  parse {export_id:12s} {fmt:4s} {frame.height:>9,} rows  ours {case['ours_rows_per_s']:>12,.0f}"
                f" rows/s  pandas {case['pandas_rows_per_s']:>12,.0f} rows/s  "
                f"{'agree' if not problems else 'DIFFER: ' + problems[0]}")
    return out


def parse_notes(p: dict) -> list[str]:
    """Explain CSV results that differ or lag, with the cause checked on this installation."""
    import inspect

    cases = p.get("cases", [])
    csv_cases = [c for c in cases if c["format"] == "csv"]
    if not csv_cases:
        return []
    lines = []
    from dashboard import schema

    kwarg = "missing_utf8_is_empty_string"
    rejected = kwarg in inspect.getsource(schema) and kwarg not in inspect.signature(pl.read_csv).parameters
    slow_or_different = [c for c in csv_cases if not c["agree"] or c["ours_rows_per_s"] < c["pandas_rows_per_s"]]
    if slow_or_different and rejected:
        lines.append(
            "- CSV parse: `dashboard.schema.parse_csv_bytes` calls `pl.read_csv(..., "
            "missing_utf8_is_empty_string=False)`; Polars " + pl.__version__ + " no longer accepts that argument, "
            "so every CSV falls back to the line-by-line `csv`-module reader meant for malformed files. That is "
            "why CSV throughput is below pandas, and why empty CSV fields come back as empty strings instead of "
            "nulls (the 'same values: NO' columns are exactly the optional text columns). Fix in schema.py "
            "(owner: foundation): drop the argument (Polars reads empty fields as null by default).")
    return lines
