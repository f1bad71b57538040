"""Automation Framework request records (deliveries to the bots and the bots' own calls) with the scripted
incidents and rare background errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.world.draws import Keyed, combine
from dashboard.simulator.world.reference import (
    BOTS,
    CONVERSATION_EVENTS,
    CUSTOMER_TEXTS,
    INCIDENT_SPECS,
    MINUTE,
    MS,
    NETWORKS,
    ORIGIN_OF_EVENT,
    RECORD_EVENT_TYPES,
    REQUEST_KINDS,
)
from dashboard.simulator.world.vectors import Events, Ids, as_times, pick_names, take


def incident_records(incidents: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
    out = []
    for inc in incidents:
        spec = INCIDENT_SPECS[inc["kind"]]
        bot = BOTS[inc["app_index"]]
        out.append({
            "app_id": bot["app_id"],
            "kind": inc["kind"],
            "start": datetime.fromtimestamp(inc["start"] / 1000, UTC),
            "end": datetime.fromtimestamp(inc["end"] / 1000, UTC),
            "origin": spec["origin"],
            "http_code": spec["http_code"],
            "message": spec["message"],
            "app_index": inc["app_index"],
            "start_ms": inc["start"],
            "end_ms": inc["end"],
        })
    return out



def bot_requests_table(draw: Keyed, ids: Ids, post_f, resp_f, act_f, created, bot_first, app, auto, contained,
                       handoff, bot_close, final_close, network, conv_author, incidents, now_ms, author_names
                       ) -> pl.DataFrame:
    """Automation Framework request records: deliveries to the bots (KHOROS) and the bots' calls (BOT).

    ``draw``: the conversations' keyed draws. A record's own draws (latency, background errors, texts, ids) are
    keyed by what it records (its conversation, kind and instant; an incident's app and tick), so a record is the
    same in every world that holds it."""
    n = len(created)
    seed = draw.seed
    ev = Events()
    bf = np.nonzero(bot_first)[0]
    ev.add(conv=bf, t=created[bf] + 40, etype=np.zeros(len(bf), np.int8), post=np.full(len(bf), -1))
    owned_until = np.minimum(handoff, bot_close)
    pc = post_f["conv"]
    to_bot = bot_first[pc] & (post_f["t"] < owned_until[pc])
    pidx = np.arange(len(pc))
    ev.add(to_bot, conv=pc, t=post_f["t"] + 60, etype=np.ones(len(pc), np.int8), post=pidx)
    rc = resp_f["conv"]
    bot_resp = resp_f["rtype"] == 1
    ev.add(bot_resp, conv=rc, t=resp_f["t"] - 150, etype=np.full(len(rc), 2, np.int8), post=np.full(len(rc), -1))
    agent_to_bot = (resp_f["rtype"] == 0) & resp_f["public"].astype(bool) & bot_first[rc]
    ev.add(agent_to_bot, conv=rc, t=resp_f["t"] + 80, etype=np.full(len(rc), 5, np.int8),
           post=np.full(len(rc), -1))
    handed_manual = bot_first & ~contained & ~auto
    ev.add(handed_manual, conv=np.arange(n), t=handoff - 120, etype=np.full(n, 3, np.int8), post=np.full(n, -1))
    ev.add(contained, conv=np.arange(n), t=bot_close - 100, etype=np.full(n, 4, np.int8), post=np.full(n, -1))
    ev.add(bot_first, conv=np.arange(n), t=final_close + 200, etype=np.full(n, 6, np.int8), post=np.full(n, -1))
    # A bot that cannot answer during a BOT-side incident still tries once before Khoros hands off.
    for inc in incidents:
        if inc["origin"] != "BOT":
            continue
        hit = auto & (app == inc["app_index"]) & (created >= inc["start_ms"]) & (created < inc["end_ms"])
        ev.add(hit, conv=np.arange(n), t=created + draw.integers("bot.incident_attempt", 1500, 5000),
               etype=np.full(n, 2, np.int8), post=np.full(n, -1))
    cols = ev.frame()
    conv, t, etype, post = cols["conv"], cols["t"], cols["etype"], cols["post"]
    rec_app = app[conv]
    # Incident traffic not tied to one conversation: retries and delivery probes, typing updates. It is
    # regular (a fixed step with jitter), so every 2-minute health window inside an incident sees it.
    extra_t, extra_app, extra_type = [], [], []

    def every(start: int, end: int, step: int, app_index: int) -> np.ndarray:
        ticks = np.arange(start, end, step, dtype=np.int64)
        return np.sort(ticks + Keyed(seed, combine(app_index, ticks)).integers("incident.jitter", 0, step // 2))

    for inc in incidents:
        begin, end, at = inc["start_ms"], inc["end_ms"], inc["app_index"]
        if inc["kind"] == "endpoint_down":
            # Retries pile up for ten minutes, then Khoros probes every two minutes while the bot is DOWN.
            burst = every(begin, min(end, begin + 10 * MINUTE), 10 * MS, at)
            probes = np.arange(begin + 10 * MINUTE, end, 2 * MINUTE, dtype=np.int64)
            times, etypes = np.concatenate([burst, probes]), 1
        elif inc["kind"] == "bad_deploy_4xx":
            times, etypes = every(begin, end, 8 * MS, at), 2  # the bad build calls /respond and fails
        elif inc["kind"] == "token_expired":
            times, etypes = every(begin, end, 20 * MS, at), 2  # the bot keeps calling with its expired token
        else:
            times, etypes = every(begin, end, 20 * MS, at), 7  # slow typing/read updates
        extra_t.append(times)
        extra_app.append(np.full(len(times), inc["app_index"]))
        extra_type.append(np.full(len(times), etypes, np.int8))
    if extra_t:
        m = sum(len(x) for x in extra_t)
        conv = np.concatenate([conv, np.full(m, -1)])
        t = np.concatenate([t, *extra_t])
        etype = np.concatenate([etype, *extra_type])
        post = np.concatenate([post, np.full(m, -1)])
        rec_app = np.concatenate([rec_app, *extra_app])
    keep = t < now_ms
    order = np.lexsort((etype[keep], conv[keep], t[keep]))
    conv, t, etype, post, rec_app = (a[keep][order] for a in (conv, t, etype, post, rec_app))
    m = len(t)
    origin = ORIGIN_OF_EVENT[etype]
    # What a record is about: its conversation (by key) or its app (incident traffic), its kind, instant and post.
    about = np.where(conv >= 0, np.append(ids.conv_keys, 0)[np.where(conv >= 0, conv, n)].astype(np.int64),
                     -1 - rec_app)
    rd = Keyed(seed, combine(about, etype, t, post))

    # Outcome of each request: incident rules first, then rare background errors; latency decides PENDING.
    state = np.zeros(m, np.int8)  # 0 SUCCESS, 1 PENDING, 2 ERROR
    code = np.where(origin == "KHOROS", 202, 200)
    kind = np.zeros(m, np.int8)  # index into REQUEST_KINDS
    latency = (320 * rd.lognormal("record.latency", 0.5)).astype(np.int64)
    for inc in incidents:
        inside = (rec_app == inc["app_index"]) & (t >= inc["start_ms"]) & (t < inc["end_ms"])
        if inc["kind"] == "slow":
            # The bot's endpoint answers in ~8.5 s (median); deliveries that take over Khoros' 10 s time out.
            delivered = inside & (origin == "KHOROS")
            slow_latency = (8_500 * rd.lognormal("record.slow_latency", 0.5)).astype(np.int64)
            latency = np.where(delivered, np.minimum(slow_latency, 10_000), latency)
            timeout = delivered & (slow_latency > 10_000)
            state, code = np.where(timeout, 2, state), np.where(timeout, 504, code)
            kind = np.where(timeout, REQUEST_KINDS.index(inc["kind"]), kind)
        else:
            hit = inside & (origin == inc["origin"])
            state, code = np.where(hit, 2, state), np.where(hit, inc["http_code"], code)
            kind = np.where(hit, REQUEST_KINDS.index(inc["kind"]), kind)
            if inc["kind"] == "endpoint_down":
                latency = np.where(hit, 10_000 + rd.integers("record.down_latency", 0, 400), latency)
    background = (state == 0) & (rd.random("record.background") < 0.004)
    bg_code = np.asarray([500, 429, 408])[rd.integers("record.background_code", 0, 3)]
    state, code = np.where(background, 2, state), np.where(background, bg_code, code)
    kind = np.where(background, np.select([bg_code == 500, bg_code == 429], [5, 6], 7), kind)
    completed = t + latency
    pending = completed >= now_ms
    state = np.where(pending, 1, state)

    has_conv = conv >= 0
    # Records without a conversation (incident retries) index a dummy element appended at position n.
    safe_conv = np.where(has_conv, conv, n)
    bot_network = np.asarray([NETWORKS.index(b["network_key"]) for b in BOTS])
    net = np.where(has_conv, np.append(network, 0)[safe_conv], bot_network[rec_app])
    author = np.where(has_conv, np.append(conv_author, -1)[safe_conv], -1)
    display = np.where(has_conv, np.append(ids.display, 0)[safe_conv], 0)
    app_ids = [b["app_id"] for b in BOTS]
    # Texts are built per kind on just the rows of that kind (a when/then chain would build every branch for
    # every row), with only the columns that kind needs: the largest worlds have millions of records.
    # Payloads as documented (khoros-care-api.md §7, §12): a message delivered to the bot; the bot's own call
    # (its /respond, /control or /resolve body); a conversation update with its operation and conversation; a
    # bare update (typing, read) that names no conversation.
    conversation_event = np.isin(etype, CONVERSATION_EVENTS) & has_conv
    payload_kind = np.where((etype == 1) & has_conv, 0,
                            np.where(origin == "BOT", 1, np.where(conversation_event, 2, 3)))

    def subset(mask: np.ndarray, needed: tuple[str, ...]) -> pl.DataFrame:
        """The rows of ``mask`` with just the ``needed`` helper columns (built only when asked for)."""
        rows = np.nonzero(mask)[0]
        k = len(rows)
        makers = {
            "network_key": lambda: pick_names(NETWORKS, net[rows]),
            "external_id": lambda: pick_names([b["external_id"] for b in BOTS], rec_app[rows]),
            "app_id": lambda: pick_names(app_ids, rec_app[rows]),
            "url": lambda: pick_names([b["callback_url"] for b in BOTS], rec_app[rows]),
            "message_id": lambda: take(pl.Series(20_000_000 + post[rows]).cast(pl.String), np.arange(k),
                                        post[rows] >= 0),
            "author_id": lambda: take(ids.author, author[rows]),
            "author_name": lambda: take(author_names, author[rows]),
            "event_type": lambda: pick_names(RECORD_EVENT_TYPES, etype[rows]),
            "conversation_uuid": lambda: take(ids.conv, conv[rows]),
            "display_id": lambda: display[rows],
            "kind": lambda: pick_names(REQUEST_KINDS, kind[rows]),
            "latency": lambda: latency[rows],
            "created_ms": lambda: t[rows],
            "text": lambda: pick_names(CUSTOMER_TEXTS, rd.subset(rows).integers("record.text", 0,
                                                                                len(CUSTOMER_TEXTS))),
            "delivery": lambda: rd.subset(rows).hex("record.delivery", 6),
            "secret": lambda: rd.subset(rows).hex("record.secret", 12),
        }
        return pl.DataFrame({"row": rows, **{name: makers[name]() for name in needed}})

    coordinate_cols = ("network_key", "external_id", "message_id")
    needs = (
        (*coordinate_cols, "author_id", "author_name", "text", "created_ms", "secret"),
        (*coordinate_cols, "event_type", "author_name", "secret"),
        (*coordinate_cols, "event_type", "author_id", "author_name", "display_id", "conversation_uuid", "app_id",
         "created_ms"),
        (*coordinate_cols, "event_type", "app_id"),
    )
    iso = pl.col("created_ms").cast(TIME).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    error_message = (
        pl.when(pl.col("kind") == "token_expired").then(
            pl.concat_str(pl.lit("401 Unauthorized: JWT expired at "), iso, pl.lit(" for appId "), pl.col("app_id")))
        .when(pl.col("kind") == "bad_deploy_4xx").then(
            pl.concat_str(pl.lit("400 Bad Request: field 'coordinate.messageId' must not be null (conversation "),
                          pl.col("display_id").cast(pl.String), pl.lit(", request "), pl.col("delivery"),
                          pl.lit(")")))
        .when(pl.col("kind") == "endpoint_down").then(
            pl.concat_str(pl.lit("POST "), pl.col("url"), pl.lit(" returned 503 Service Unavailable after "),
                          pl.col("latency").cast(pl.String), pl.lit(" ms (delivery "), pl.col("delivery"),
                          pl.lit(")")))
        .when(pl.col("kind") == "slow").then(
            pl.concat_str(pl.lit("504 Gateway Timeout: no answer from "), pl.col("url"),
                          pl.lit(" within 10000 ms (delivery "), pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_500").then(
            pl.concat_str(pl.lit("500 Internal Server Error from "), pl.col("url"), pl.lit(" (trace "),
                          pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_429").then(
            pl.concat_str(pl.lit("429 Too Many Requests: retry after "), (pl.col("latency") % 60 + 1).cast(pl.String),
                          pl.lit(" s (delivery "), pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_408").then(
            pl.concat_str(pl.lit("408 Request Timeout after "), pl.col("latency").cast(pl.String),
                          pl.lit(" ms (delivery "), pl.col("delivery"), pl.lit(")")))
    )
    q = pl.lit('"')
    coordinate = pl.concat_str(
        pl.lit('{"companyKey":"sim-company","networkKey":"'), pl.col("network_key"), pl.lit('","externalId":"'),
        pl.col("external_id"), pl.lit('","messageId":'),
        pl.when(pl.col("message_id").is_null()).then(pl.lit("null")).otherwise(
            pl.concat_str(q, pl.col("message_id"), q)),
        pl.lit(',"scope":"PRIVATE"}'),
    )
    payloads = (
        pl.concat_str(  # a customer message delivered to the bot: personal data and a session secret
            pl.lit('{"type":"message","coordinate":'), coordinate, pl.lit(',"author":{"id":"'), pl.col("author_id"),
            pl.lit('","fullName":"'), pl.col("author_name"), pl.lit('"},"text":"'), pl.col("text"),
            pl.lit('","receivedTS":'), pl.col("created_ms").cast(pl.String),
            pl.lit(',"properties":{"sessionToken":"sk_live_'), pl.col("secret"), pl.lit('"}}'),
        ),
        pl.concat_str(  # the bot's own call, with the bearer token it sent
            pl.lit('{"type":"'), pl.col("event_type"), pl.lit('","coordinate":'), coordinate,
            pl.lit(',"text":"Thanks '), pl.col("author_name").fill_null("there"),
            pl.lit(', let me look into that.","authorization":"Bearer eyJhbGciOiJIUzUxMiJ9.'), pl.col("secret"),
            pl.lit('"}'),
        ),
        pl.concat_str(  # a conversation event delivered to the bot
            pl.lit('{"type":"update","operation":"'), pl.col("event_type"), pl.lit('","coordinate":'), coordinate,
            pl.lit(',"author":{"id":"'), pl.col("author_id"), pl.lit('","fullName":"'), pl.col("author_name"),
            pl.lit('"},"conversation":{"displayId":'), pl.col("display_id").cast(pl.String),
            pl.lit(',"conversationUuid":"'), pl.col("conversation_uuid"), pl.lit('"}'),
            pl.when(pl.col("event_type") == "AGENT_RESPONSE").then(pl.concat_str(
                pl.lit(',"agentResponse":{"publishDate":'), pl.col("created_ms").cast(pl.String),
                pl.lit(',"text":"(agent response)"}'))).otherwise(pl.lit("")),
            pl.lit(',"owner":{"type":"BOT","appId":"'), pl.col("app_id"), pl.lit('"}}'),
        ),
        pl.concat_str(  # an update or a delivery retry that names no conversation (typing, read receipts)
            pl.lit('{"type":"'), pl.col("event_type"), pl.lit('","coordinate":'), coordinate,
            pl.lit(',"owner":{"type":"BOT","appId":"'), pl.col("app_id"), pl.lit('"}}'),
        ),
    )
    texts = [subset(payload_kind == k, needs[k]).select("row", payload=expr) for k, expr in enumerate(payloads)]
    payload = pl.concat(texts).sort("row")["payload"]
    del texts
    errors = subset(state == 2, ("kind", "app_id", "display_id", "delivery", "url", "latency", "created_ms")).select(
        "row", message=error_message)
    message = (
        pl.concat([errors, pl.DataFrame({"row": np.nonzero(state != 2)[0]}).with_columns(
            message=pl.lit(None, pl.String))])
        .sort("row")["message"]
    )
    done = state != 1
    accepted = np.where(origin == "KHOROS", 0, 1)
    return pl.DataFrame({
        "request_id": rd.uuids("record.id"),
        "app_id": pick_names(app_ids, rec_app),
        "origin": pick_names(("KHOROS", "BOT"), (origin == "BOT").astype(np.int64)),
        "state": pick_names(("SUCCESS", "PENDING", "ERROR"), state),
        "http_code": pl.Series(code).to_frame("c").select(pl.when(pl.lit(done)).then("c")).to_series(),
        "message": pl.DataFrame({"m": message, "ok": pick_names(("Accepted", "OK"), accepted), "s": state}).select(
            pl.when(pl.col("s") == 0).then("ok").otherwise("m")).to_series(),
        "event_type": pick_names(RECORD_EVENT_TYPES, etype),
        "network_key": pick_names(NETWORKS, net),
        "external_id": pick_names([b["external_id"] for b in BOTS], rec_app),
        "conversation_id": take(ids.conv, np.where(conversation_event, conv, -1)),
        "payload": payload,
        "created_time": as_times(t),
        "completed_time": as_times(completed).to_frame("c").select(pl.when(pl.lit(done)).then("c")).to_series(),
        "last_updated_time": as_times(np.where(done, completed, t)),
    }).select(EXPORTS["bot_request"].names)
