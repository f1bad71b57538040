"""Digests and alerts as e-mails (HTML with inline PNG charts and a plain-text part) and chat payloads.

Every value that comes from data (tier names, queue ids, conversation ids, error messages) is text: escaped for
HTML in e-mails, for Slack's mrkdwn (``& < >``) and for Adaptive Cards' Markdown in Teams, so none can become
markup or a link. The link back opens the same view in the dashboard: the page with the window, time zone and
filters as URL parameters (the sidebar's keys, bound to the URL).

Charts are the pure Altair builders' output rendered to PNG offline with ``vl-convert`` (no browser, no
network); a chart that cannot be rendered is left out with a note, never the whole e-mail.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard.filters import FILTER_COLUMNS
from dashboard.notify.content import DigestContent, create_digest_charts
from dashboard.views.kpi import Kpi, format_duration, format_value

__all__ = [
    "ChatMessage",
    "RenderedEmail",
    "chat_payload",
    "dashboard_link",
    "digest_chat",
    "digest_email",
    "html_with_inline_images",
    "render_png",
    "report_command",
    "simple_email",
]

log = logging.getLogger("dashboard.notify")

DIGEST_PAGE = ""
"""The Overview (the app's default page, served at the root)."""
ALERT_PAGE = "live_queue"
ACCENT = "#1f5fbf"


# --------------------------------------------------------------------------------------------------------------
# Links and helpers


def dashboard_link(base: str | None, page: str, *, start: date | None = None, end: date | None = None,
                   tz: str | None = None, filters: Mapping[str, Sequence] | None = None) -> str | None:
    """The dashboard URL of ``page`` showing local days ``[start, end)`` in ``tz`` with ``filters``; None without
    a base URL. Parameters are the sidebar's URL keys (``range``, ``dates`` twice, ``tz``, one per filter value)."""
    if not base:
        return None
    params: list[tuple[str, str]] = []
    if start is not None and end is not None:
        params += [("range", "Custom"), ("dates", start.isoformat()), ("dates", (end - timedelta(days=1)).isoformat())]
    if tz:
        params.append(("tz", tz))
    for dimension in FILTER_COLUMNS:
        params += [(dimension, str(v)) for v in (filters or {}).get(dimension, ())]
    query = f"?{urlencode(params)}" if params else ""
    return f"{base.rstrip('/')}/{page}{query}"


def report_command(content: DigestContent) -> str:
    """The report CLI line that prints the digest's tier figures, filters included (for readers who want to
    check them)."""
    as_of = content.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    filters = "".join(f" --filter {shlex.quote(f'{key}=' + ','.join(map(str, values)))}"
                      for key, values in content.filters.items() if values)
    return (f"python -m dashboard report sla --metric first_response --by tier --start {content.start:%Y-%m-%d} "
            f"--end {content.end:%Y-%m-%d} --tz {content.tz} --as-of {as_of} --bot-rule {content.bot_rule}{filters}")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{100 * low:.0f}–{100 * high:.0f} %"


def _local(t: datetime | None, tz: str) -> str:
    return "—" if t is None else t.astimezone(ZoneInfo(tz)).strftime("%d %b %H:%M")


def _sla_rows(frame: pl.DataFrame, column: str) -> list[list[str]]:
    rows = []
    for r in frame.iter_rows(named=True):
        decided = r["achieved"] + r["breached"]
        rows.append([
            "unknown" if r[column] is None else str(r[column]),
            _pct(r["attainment"]),
            _interval(r["attainment_low"], r["attainment_high"]),
            f"{r['achieved']} / {decided}",
            str(r["pending"]),
            format_duration(r["median_seconds"]),
            format_duration(r["p90_seconds"]),
        ])
    return rows


SLA_HEADERS = ["", "Attainment", "95 % interval", "Achieved / decided", "Pending", "Median", "p90"]
INCIDENT_HEADERS = ["App id", "Origin", "Start", "End", "Failures", "HTTP", "Top error"]
INCIDENT_TEXT_COLUMNS = (0, 1, 2, 3, 6)


@dataclass(frozen=True)
class _SlaSection:
    """One attainment table of the digest e-mail; ``name`` is both the :class:`DigestContent` field and the chart's."""

    name: str
    column: str
    heading: str
    text_heading: str
    label: str
    text_label: str
    image_alt: str
    empty: str


_SLA_SECTIONS = (
    _SlaSection("tiers", "tier", "First response SLA by customer tier", "FIRST RESPONSE SLA BY TIER", "Tier", "Tier",
                "Attainment by tier", "No conversations in this window."),
    _SlaSection("queues", "work_queue_id", "Work queues with the lowest first response attainment",
                "WORST WORK QUEUES (first response)", "Work queue", "Queue", "Attainment of the worst queues",
                "No decided first responses in this window."),
)


def _incident_rows(frame: pl.DataFrame, tz: str) -> list[list[str]]:
    return [[
        str(r["app_id"]), str(r["origin"]), _local(r["start"], tz),
        "ongoing" if r["ongoing"] else _local(r["end"], tz), str(r["failures"]),
        "" if r["top_http_code"] is None else str(r["top_http_code"]), str(r["top_message"] or ""),
    ] for r in frame.iter_rows(named=True)]


def _kpi_rows(content: DigestContent) -> list[list[str]]:
    return [[k.label, k.text, "—" if k.previous is None else _previous_text(k), k.delta or "—"] for k in content.kpis]


def _previous_text(kpi: Kpi) -> str:
    return format_value(kpi.previous, kpi.unit)


# --------------------------------------------------------------------------------------------------------------
# Charts


def render_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """A chart as PNG bytes, rendered offline (vl-convert's embedded Vega; no browser, no network)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_json(), scale=scale)


def _chart_images(content: DigestContent) -> tuple[dict[str, bytes], list[str]]:
    images: dict[str, bytes] = {}
    notes: list[str] = []
    for name, chart in create_digest_charts(content).items():
        try:
            images[name] = render_png(chart)
        except Exception as exc:  # a chart is not worth losing the e-mail for
            log.warning("digest %s: the %s chart could not be rendered (%s)", content.rule, name, type(exc).__name__)
            notes.append(f"The {name} chart could not be rendered.")
    return images, notes


# --------------------------------------------------------------------------------------------------------------
# E-mail


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    images: Mapping[str, bytes]
    """Inline PNGs by content id (referenced as ``cid:<id>`` in the HTML)."""

    def message(self, *, sender: str, recipients: Sequence[str], headers: Mapping[str, str] | None = None,
                domain: str | None = None) -> EmailMessage:
        """A ``multipart/alternative`` message: the text part, then the HTML part with its PNGs related to it."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = ", ".join(recipients)
        msg["Date"] = format_datetime(datetime.now().astimezone())
        msg["Message-ID"] = make_msgid(domain=domain or _domain_of(sender))
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        html_part = msg.get_payload()[1]
        for cid, png in self.images.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid}.png")
        return msg

    def standalone_html(self) -> str:
        """The HTML with its images inlined as data: URLs, to open in a browser (previews, screenshots)."""
        return html_with_inline_images(self.html, self.images)


def html_with_inline_images(body: str, images: Mapping[str, bytes]) -> str:
    for cid, png in images.items():
        body = body.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    return body


def _domain_of(sender: str) -> str:
    found = re.search(r"@([A-Za-z0-9.-]+)", sender)
    return found.group(1) if found else "localhost"


_TABLE = 'style="border-collapse:collapse;margin:6px 0 14px 0;font-size:13px"'
_TH = 'style="text-align:left;padding:4px 10px;border-bottom:2px solid #c9d3e3;color:#3a4656"'
_TD = 'style="padding:4px 10px;border-bottom:1px solid #e3e8f0"'
_TDN = 'style="padding:4px 10px;border-bottom:1px solid #e3e8f0;text-align:right"'


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: Sequence[int] = (0,)) -> str:
    """A table with inline styles (mail clients drop style sheets); ``text_columns`` left-aligned, figures right."""
    e = html.escape
    head = "".join(f"<th {_TH}>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_TD if i in text_columns else _TDN}>{e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table {_TABLE}><tr>{head}</tr>{body}</table>"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: Sequence[int] = (0,)) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) if i in text_columns else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
    return "\n".join(lines)


def _html_page(title: str, subtitle: str, body: str, link: str | None, link_label: str, footer: str) -> str:
    e = html.escape
    button = (f'<p style="margin:18px 0"><a href="{e(link, quote=True)}" style="background:{ACCENT};color:#ffffff;'
              f'padding:9px 16px;border-radius:4px;text-decoration:none;font-weight:600">{e(link_label)}</a></p>'
              if link else "")
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        f"<title>{e(title)}</title></head>"
        '<body style="margin:0;padding:18px;background:#f4f6fa;font-family:Helvetica,Arial,sans-serif;color:#1c2430">'
        '<div style="max-width:760px;margin:0 auto;background:#ffffff;padding:20px 24px;border-radius:6px">'
        f'<h2 style="margin:0 0 4px 0;font-size:20px">{e(title)}</h2>'
        f'<p style="margin:0 0 14px 0;color:#5b6778;font-size:13px">{e(subtitle)}</p>'
        f"{body}{button}"
        f'<p style="margin-top:18px;color:#8a94a3;font-size:11px">{e(footer)}</p>'
        "</div></body></html>"
    )


def _h3(text: str) -> str:
    return f'<h3 style="margin:16px 0 4px 0;font-size:15px">{html.escape(text)}</h3>'


def _p(text: str, *, muted: bool = False) -> str:
    style = "margin:4px 0;font-size:13px" + (";color:#5b6778" if muted else "")
    return f'<p style="{style}">{html.escape(text)}</p>'


def _subtitle(content: DigestContent) -> str:
    return (f"{content.window_label} ({content.tz}) · {content.filters_label} · figures as of "
            f"{_local(content.as_of, content.tz)}")


def digest_email(content: DigestContent, *, link: str | None, charts: bool = True) -> RenderedEmail:
    """The digest as an e-mail: KPIs against the previous period, tiers with intervals, worst queues, incidents."""
    images, notes = _chart_images(content) if charts else ({}, [])
    cids = {name: f"{name}-chart" for name in images}
    html_parts: list[str] = []
    text_parts: list[str] = [content.title, _subtitle(content), ""]
    if "kpis" in content.sections:
        rows = _kpi_rows(content)
        html_parts += [_h3("Key figures (against the previous period of the same length)"),
                       _html_table(["", "This period", "Previous", "Change"], rows)]
        text_parts += ["KEY FIGURES (against the previous period)", _text_table(["", "Now", "Previous", "Change"],
                                                                                 rows), ""]
    for section in _SLA_SECTIONS:
        frame = getattr(content, section.name)
        if frame is None:
            continue
        rows = _sla_rows(frame, section.column)
        html_parts.append(_h3(section.heading))
        if section.name in cids:
            html_parts.append(f'<img src="cid:{cids[section.name]}" alt="{section.image_alt}" width="560" '
                              'style="display:block;max-width:100%;margin:4px 0">')
        html_parts.append(_html_table([section.label, *SLA_HEADERS[1:]], rows) if rows else
                          _p(section.empty, muted=True))
        text_parts += [section.text_heading, _text_table([section.text_label, *SLA_HEADERS[1:]], rows) if rows else
                       section.empty, ""]
    if "incidents" in content.sections:
        html_parts.append(_h3("Automation incidents"))
        text_parts.append("AUTOMATION INCIDENTS")
        if content.incidents is None:
            note = "No Bot API request records are stored."
            html_parts.append(_p(note, muted=True))
            text_parts += [note, ""]
        elif content.incidents.height == 0:
            html_parts.append(_p("None in this window.", muted=True))
            text_parts += ["None in this window.", ""]
        else:
            rows = _incident_rows(content.incidents, content.tz)
            html_parts.append(_html_table(INCIDENT_HEADERS, rows, INCIDENT_TEXT_COLUMNS))
            text_parts += [_text_table(INCIDENT_HEADERS, rows, INCIDENT_TEXT_COLUMNS), ""]
    for note in notes:
        html_parts.append(_p(note, muted=True))
        text_parts.append(note)
    footer = f"Same figures as: {report_command(content)}"
    if link:
        text_parts += [f"Open in the dashboard: {link}", ""]
    text_parts.append(footer)
    body = "".join(html_parts)
    page = _html_page(content.title, _subtitle(content), body, link, "Open in the dashboard", footer)
    images_by_cid = {cids[name]: png for name, png in images.items()}
    return RenderedEmail(subject=content.title, text="\n".join(text_parts) + "\n", html=page, images=images_by_cid)


def simple_email(message: ChatMessage, *, footer: str = "") -> RenderedEmail:
    """A short e-mail (alerts, tests) from a chat message: the same title, facts, lines and link."""
    facts = _html_table(["", ""], [[k, v] for k, v in message.facts]) if message.facts else ""
    lines = "".join(_p(line) for line in message.lines)
    body = facts + lines
    page = _html_page(message.title, message.subtitle, body, message.link, message.link_label, footer)
    text = [message.title, message.subtitle, ""]
    text += [f"{k}: {v}" for k, v in message.facts]
    text += list(message.lines)
    if message.link:
        text += ["", f"{message.link_label}: {message.link}"]
    if footer:
        text += ["", footer]
    return RenderedEmail(subject=message.title, text="\n".join(text) + "\n", html=page, images={})


# --------------------------------------------------------------------------------------------------------------
# Chat


@dataclass(frozen=True)
class ChatMessage:
    """What a chat message says, before it is shaped for Slack or Teams. Every string is plain text."""

    title: str
    subtitle: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    link: str | None = None
    link_label: str = "Open in the dashboard"
    severity: str = "info"

    def fallback(self) -> str:
        parts = [self.title, self.subtitle, *(f"{k}: {v}" for k, v in self.facts), *self.lines]
        return "\n".join(p for p in parts if p)


def digest_chat(content: DigestContent, *, link: str | None) -> ChatMessage:
    """The digest for chat: KPIs as text (value and change), tier attainment in one line each, and the link."""
    facts = tuple((k.label, k.text + (f", {k.delta} vs previous" if k.delta else "")) for k in content.kpis)
    lines: list[str] = []
    if content.tiers is not None:
        lines += [f"First response SLA, tier {'unknown' if r['tier'] is None else r['tier']}: "
                  f"{_pct(r['attainment'])} ({r['achieved']} of {r['achieved'] + r['breached']})"
                  for r in content.tiers.iter_rows(named=True)]
    if content.queues is not None and content.queues.height:
        worst = content.queues.row(0, named=True)
        lines.append(f"Lowest queue: {worst['work_queue_id']} at {_pct(worst['attainment'])}")
    if content.incidents is not None and content.incidents.height:
        lines.append(f"Automation incidents: {content.incidents.height}")
    return ChatMessage(title=content.title, subtitle=_subtitle(content), facts=facts, lines=tuple(lines), link=link)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_INLINE = re.compile(r"([\\*_~`\[\]])")
_TEAMS_LINE_START = re.compile(r"^(\s*)([-+#>]|\d+\.)", re.MULTILINE)


def _teams_escape(text: str) -> str:
    # Adaptive Cards run a small Markdown (emphasis, links, lists) over TextBlock and FactSet text: a backslash
    # makes the signs that can start one literal; other punctuation is left alone (some Teams clients show
    # every backslash).
    return _TEAMS_LINE_START.sub(r"\1\\\2", _TEAMS_INLINE.sub(r"\\\1", text))


def slack_payload(message: ChatMessage) -> dict[str, Any]:
    """A Slack incoming-webhook payload (Block Kit, with ``text`` as the notification and fallback, where ``& < >``
    are escaped so no data becomes a link or a mention)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": False}},
    ]
    if message.subtitle:
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": message.subtitle[:3000],
                                                         "emoji": False}]})
    # plain_text everywhere: Slack formats *, _, ~ and ` in mrkdwn and has no escape for them, and data is text.
    for start in range(0, len(message.facts), 10):  # Slack allows ten fields per section
        blocks.append({"type": "section", "fields": [
            {"type": "plain_text", "text": f"{k}\n{v}"[:2000], "emoji": False}
            for k, v in message.facts[start:start + 10]
        ]})
    if message.lines:
        text = "\n".join(f"• {line}" for line in message.lines)
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": text[:3000], "emoji": False}})
    if message.link:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": message.link_label}, "url": message.link,
        }]})
    fallback = _slack_escape(message.fallback())
    if message.link:
        fallback += f"\n<{message.link}|{_slack_escape(message.link_label)}>"
    return {"text": fallback[:4000], "blocks": blocks}


def teams_payload(message: ChatMessage) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook payload (an Adaptive Card in a message, as Teams workflows and the
    older connectors both accept)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": _teams_escape(message.title), "weight": "Bolder", "size": "Medium",
         "wrap": True, **({"color": "Attention"} if message.severity == "critical" else {})},
    ]
    if message.subtitle:
        body.append({"type": "TextBlock", "text": _teams_escape(message.subtitle), "isSubtle": True, "wrap": True,
                     "spacing": "None"})
    if message.facts:
        body.append({"type": "FactSet", "facts": [{"title": _teams_escape(k), "value": _teams_escape(v)}
                                                  for k, v in message.facts]})
    body += [{"type": "TextBlock", "text": _teams_escape(line), "wrap": True, "spacing": "Small"}
             for line in message.lines]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card},
    ]}


def chat_payload(message: ChatMessage, fmt: str) -> dict[str, Any]:
    if fmt == "slack":
        return slack_payload(message)
    if fmt == "teams":
        return teams_payload(message)
    raise ValueError(f"unknown webhook format {fmt!r}; use slack or teams")
