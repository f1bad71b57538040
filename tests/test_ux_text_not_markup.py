"""Issue 18, item 10: customer-controlled text is shown as text, never as Markdown or HTML — on every page and in
the author panel.

A tenant's store where an author's display name and handle, a tier, an agent's name and an uploaded file's header
each hold a Markdown link and an image (a phishing link and a tracking pixel inside Khoros). Every element that
renders Markdown (titles, captions, messages, metric labels, values and help) is checked: where the text appears,
it is escaped (no link or image syntax is left for Markdown to read) and reads literally once rendered. What a
browser then draws is checked in ``test_browser_text_not_markup.py``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from dashboard.embed import encode_payload
from dashboard.simulator.world import WorldConfig, generate_world
from tests import _page_helpers as h
from tests._worlds import TENANT_ENV, write_tenant_store
from tests.conftest import DEMO_ENV, KHOROS_ENV_NAMES, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

LINK = "[Click me](http://evil.example/phish)"
IMAGE = "![pixel](http://evil.example/pixel.png)"
NAME = f"Eve {LINK} {IMAGE}"
HANDLE = "eve_[x](http://evil.example/handle)"
TIER = f"Gold {IMAGE}"
AGENT = f"Mallory {LINK}"
HEADER = f"Region {IMAGE}"
SECRET = DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"]
MARKUP = re.compile(r"(?<!\\)(\]\(|!\[|https?:)")
"""Link or image syntax (or a bare URL, which Markdown links) that an unescaped value would hand to Markdown."""


def hostile_world(end: datetime):
    """A small world whose customer text is hostile: one author's name and handle, the "Gold" tier, one agent."""
    world = generate_world(WorldConfig(seed=7, days=10, conversations_per_day=40, end=end,
                                       timezone="America/New_York"))
    tables = dict(world.tables)
    busiest = tables["conversation"].group_by("author_id").len().sort(["len", "author_id"], descending=True)
    author_id = busiest["author_id"][0]
    tables["author"] = tables["author"].with_columns(
        display_name=pl.when(pl.col("author_id") == author_id).then(pl.lit(NAME)).otherwise("display_name"),
        handle=pl.when(pl.col("author_id") == author_id).then(pl.lit(HANDLE)).otherwise("handle"),
        tier=pl.when(pl.col("tier") == "Gold").then(pl.lit(TIER)).otherwise("tier"),
    )
    agent_id = tables["raw_agent_states"]["agent_id"].sort()[0]
    tables["raw_agent_states"] = tables["raw_agent_states"].with_columns(
        agent_name=pl.when(pl.col("agent_id") == agent_id).then(pl.lit(AGENT)).otherwise("agent_name"))
    conversation = tables["conversation"].filter(pl.col("author_id") == author_id).sort("created_time").row(
        -1, named=True)
    author = tables["author"].filter(pl.col("author_id") == author_id).row(0, named=True)
    return tables, {"author": author, "conversation": conversation, "agent_id": agent_id}


def hostile_token(facts: dict) -> str:
    author, conversation = facts["author"], facts["conversation"]
    return encode_payload({
        "agent": {"id": "agent-7", "name": AGENT, "email": "mallory@example.com"},
        "author": {"id": author["author_id"], "network": author["network"], "handle": HANDLE},
        "conversationId": conversation["conversation_id"],
        "conversationDisplayId": conversation["conversation_display_id"],
        "network": author["network"], "timestamp": int(time.time()),
    }, SECRET)


def tenant_env(data_dir: Path) -> dict[str, str]:
    # A tenant opens without sign-in only on purpose (issue 19): these tests are about text, not who signs in.
    return {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(data_dir), "CARE_DASHBOARD_TIMEZONE": "America/New_York",
            "CARE_DASHBOARD_IFRAME_SECRET": SECRET, "CARE_DASHBOARD_ALLOW_ANONYMOUS": "true"}


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("hostile-tenant")
    tables, facts = hostile_world(datetime.now(UTC).replace(second=0, microsecond=0))
    write_tenant_store(tables, folder)
    return folder, facts


@pytest.fixture
def hostile(hostile_store, monkeypatch) -> Iterator[dict]:
    """The app's environment on the hostile tenant; the suite's shared demo core is left alone."""
    from dashboard.ui import loaders

    folder, facts = hostile_store
    for name in (*KHOROS_ENV_NAMES, *DEMO_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in tenant_env(folder).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(loaders, "_CORES", {})
    yield facts
    for core in loaders._CORES.values():
        core.close()


def markdown_values(at) -> list[str]:
    """Every string the page hands to an element that renders Markdown."""
    values = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error",
                                   "success") for e in getattr(at, kind)]
    values += [text for m in at.metric for text in (m.label, m.value, m.help or "")]
    return [str(v) for v in values]


def assert_shown_as_text(at, *expected: str) -> None:
    assert not at.exception, at.exception
    values = markdown_values(at)
    unsafe = [v for v in values if "evil" in v and MARKUP.search(v)]
    assert not unsafe, unsafe
    shown = "\n".join(h.plain(v) for v in values)
    for text in expected:
        assert text in shown, (text, shown[:2000])


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/service_levels.py", "pages/live_queue.py",
                                  "pages/agents.py"])
def test_filters_with_hostile_names_are_captions_of_text(hostile, page):
    at = run_app(page, query={"tier": TIER, "agent": hostile["agent_id"]})
    assert_shown_as_text(at, f"Customer tier: {TIER}", f"Agent: {AGENT}")


def test_a_drill_down_into_a_hostile_tier_names_it_as_text(hostile):
    at = run_app("pages/service_levels.py", query={"sla_pick": TIER})
    assert_shown_as_text(at, f"with customer tier = {TIER}")


def test_the_author_panel_shows_name_handle_tier_and_agent_as_text(hostile):
    at = run_app(query={"payload": hostile_token(hostile)})
    assert not at.error, [e.value for e in at.error]
    assert_shown_as_text(at, NAME, HANDLE, AGENT)
    assert [h.plain(s.value) for s in at.subheader] == [NAME]


def test_an_uploaded_files_header_is_quoted_as_text(hostile):
    header = f"Conversation ID,Author ID,Network,Status,Created Time,Closed Time,{HEADER}\n"
    body = (header + "ux-hostile-1,author-x,twitter,CLOSED,2001-03-01T10:00:00Z,2001-03-01T11:00:00Z,EU\n").encode()
    at = run_app("pages/data.py")
    at.selectbox(key="data_import_export").set_value("conversation")
    at.file_uploader(key="data_import_files").upload(f"export {LINK}.csv", body, "text/csv").run()
    at.button(key="data_import").click().run()
    assert not at.error, [e.value for e in at.error]
    assert_shown_as_text(at, "Region", "evil.example/pixel.png")
