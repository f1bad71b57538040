"""Rendering: the link back carries the view, the e-mail is text + HTML with inline PNGs, and data is always text
(escaped for HTML, Slack mrkdwn and Teams Markdown)."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlsplit

import polars as pl

from dashboard.notify.content import SLA_COLUMNS, DigestContent
from dashboard.notify.render import (
    ChatMessage,
    dashboard_link,
    digest_chat,
    digest_email,
    report_command,
    slack_payload,
    teams_payload,
)
from dashboard.views.kpi import Kpi

HOSTILE = "<script>alert('x')</script> *bold* [link](https://evil.example) & co"


def _content(tier_name: str = "Platinum") -> DigestContent:
    tiers = pl.DataFrame({
        "tier": [tier_name, "Gold"], "total": [12, 30], "achieved": [9, 20], "breached": [1, 8], "pending": [2, 2],
        "attainment": [0.9, 20 / 28], "attainment_low": [0.6, 0.53], "attainment_high": [0.98, 0.85],
        "median_seconds": [600.0, 1800.0], "p90_seconds": [3000.0, 7200.0],
    }).select("tier", *SLA_COLUMNS)
    queues = tiers.rename({"tier": "work_queue_id"}).with_columns(pl.Series("work_queue_id", [12, 11]))
    incidents = pl.DataFrame({
        "app_id": ["bot-a"], "origin": ["BOT"], "start": [datetime(2026, 11, 17, 15, 0, tzinfo=UTC)],
        "end": [datetime(2026, 11, 17, 16, 0, tzinfo=UTC)], "ongoing": [False], "duration_s": [3600.0],
        "failures": [42], "top_http_code": [503], "top_message": [HOSTILE],
    })
    kpis = (Kpi("conversations", "Conversations", 42.0, "count", "", previous=40.0),
            Kpi("first_response_attainment", "First response SLA", 29 / 37, "ratio", "", previous=0.8))
    return DigestContent(rule="daily-care", start=date(2026, 11, 17), end=date(2026, 11, 18), tz="America/New_York",
                         as_of=datetime(2026, 11, 18, 13, 0, tzinfo=UTC), filters={"tier": ("Platinum", "Gold")},
                         kpis=kpis, tiers=tiers, queues=queues, incidents=incidents)


def test_the_link_back_opens_the_same_view() -> None:
    link = dashboard_link("https://care.example.com/", "service_levels", start=date(2026, 11, 9),
                          end=date(2026, 11, 16), tz="America/New_York",
                          filters={"priority": (4, 5), "tier": ("Platinum",)})
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://care.example.com/service_levels"
    assert parse_qsl(parts.query) == [("range", "Custom"), ("dates", "2026-11-09"), ("dates", "2026-11-15"),
                                      ("tz", "America/New_York"), ("tier", "Platinum"), ("priority", "4"),
                                      ("priority", "5")]
    assert dashboard_link(None, "service_levels") is None


def test_the_digest_email_is_text_and_html_with_inline_pngs() -> None:
    content = _content()
    rendered = digest_email(content, link="https://care.example.com/?tz=America%2FNew_York")
    message = rendered.message(sender="Care <care@example.com>", recipients=["lead@example.com"],
                               headers={"X-Care-Dashboard-Slot": "2026-11-18T13:00:00Z"})
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert parsed["Subject"] == "Care digest daily-care: Tue 17 Nov 2026"
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["To"] == "lead@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    assert "Platinum" in text and "90.0 %" in text and "60–98 %" in text and "9 / 10" in text
    assert report_command(content) in text
    related = parsed.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    html_part = parsed.get_body(("html",)).get_content()
    images = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert {p["Content-ID"].strip("<>") for p in images} == {"tiers-chart", "queues-chart"}
    for part in images:
        assert part.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="cid:{part["Content-ID"].strip("<>")}"' in html_part
    assert 'href="https://care.example.com/?tz=America%2FNew_York"' in html_part
    # the standalone HTML (preview, screenshot) carries the images itself
    assert "data:image/png;base64," in rendered.standalone_html() and "cid:" not in rendered.standalone_html()


def test_data_is_text_in_the_email() -> None:
    rendered = digest_email(_content(tier_name=HOSTILE), link=None, charts=False)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in rendered.html
    assert HOSTILE in rendered.text  # the plain-text part shows it as it is
    assert rendered.images == {}


def test_data_is_text_in_slack_and_teams() -> None:
    chat = digest_chat(_content(tier_name=HOSTILE), link="https://care.example.com/")
    payload = slack_payload(chat)
    assert "<script>" not in payload["text"] and "&lt;script&gt;" in payload["text"]  # mrkdwn: escaped
    data_blocks = [b for b in payload["blocks"] if b["type"] == "section"]
    kinds = {f["type"] for b in data_blocks for f in b.get("fields", [])} | {
        b["text"]["type"] for b in data_blocks if "text" in b}
    assert kinds == {"plain_text"}  # never parsed for *bold* or <links>
    assert HOSTILE in json.dumps(data_blocks, ensure_ascii=False)
    teams = teams_payload(chat)
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    texts = json.dumps(card)
    assert "\\\\*bold\\\\*" in texts and "\\\\[link\\\\](https://evil.example)" in texts
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in the dashboard",
                                  "url": "https://care.example.com/"}


def test_chat_carries_the_kpis_as_text_and_the_link() -> None:
    chat = digest_chat(_content(), link="https://care.example.com/x")
    assert chat.facts[0] == ("Conversations", "42, +2 (+5%) vs previous")
    assert chat.facts[1][0] == "First response SLA" and chat.facts[1][1].startswith("78.4%")
    slack = slack_payload(chat)
    assert slack["blocks"][0]["text"]["text"] == chat.title
    fields = slack["blocks"][2]["fields"]
    assert fields[0] == {"type": "plain_text", "text": "Conversations\n42, +2 (+5%) vs previous", "emoji": False}
    assert slack["blocks"][-1]["elements"][0]["url"] == "https://care.example.com/x"
    assert "<https://care.example.com/x|Open in the dashboard>" in slack["text"]
    facts = teams_payload(chat)["attachments"][0]["content"]["body"][2]["facts"]
    assert facts[0] == {"title": "Conversations", "value": "42, +2 (+5%) vs previous"}


def test_teams_escapes_signs_that_start_markdown() -> None:
    card = teams_payload(ChatMessage("t", lines=("- not a list", "1. not numbered", "a_b *c* [d]")))
    texts = [b["text"] for b in card["attachments"][0]["content"]["body"][1:]]
    assert texts == ["\\- not a list", "\\1. not numbered", "a\\_b \\*c\\* \\[d\\]"]


def test_slack_sections_hold_at_most_ten_fields() -> None:
    message = ChatMessage("t", facts=tuple((f"k{i}", str(i)) for i in range(13)))
    sections = [b for b in slack_payload(message)["blocks"] if b["type"] == "section"]
    assert [len(s["fields"]) for s in sections] == [10, 3]
