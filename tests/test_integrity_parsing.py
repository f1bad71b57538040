"""Issue 18, parsing: what files as people save them do to an import (short rows, unbalanced quotes, encodings,
line endings), odd values (huge integers, far-off times, colliding headers, a column named ``__row``) and values
that cannot be true (epoch seconds, epoch 0, the year 2200, closed before created). Every row the file holds is
either read or quarantined with its line and reason; nothing raises but a refusal that says what to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard import schema

HEADER = "conversation_id,author_id,network,status,created_time,priority,disposition"
T0 = 1_794_326_400_000
T0_TIME = datetime(2026, 11, 10, 16, tzinfo=UTC)


def csv_rows(n: int, start: int = 0) -> list[str]:
    return [f"c-{i},a-{i % 7},twitter,OPEN,{T0 + i * 60_000},{i % 5},resolved" for i in range(start, start + n)]


def parse(lines: list[str], **kw) -> schema.ParseResult:
    return schema.parse_csv_bytes("conversation", ("\n".join([HEADER, *lines]) + "\n").encode(), source="f.csv", **kw)


# ---- item 1: a CSV row with fewer fields than the header -------------------------------------------------------


def test_a_short_row_is_quarantined_with_its_line_never_read_as_nulls():
    rows = csv_rows(5)
    rows[2] = "c-2,a-2,twitter,OPEN,1794326520000"  # priority and disposition missing: not "no priority"
    result = parse(rows)
    assert result.frame["conversation_id"].to_list() == ["c-0", "c-1", "c-3", "c-4"]
    q = result.quarantine.row(0, named=True)
    assert (q["line"], q["reason"]) == (4, "expected 7 fields, found 5") and q["raw"].startswith("c-2,a-2")


# ---- item 2: an unbalanced quote ----------------------------------------------------------------------------------


def test_an_unbalanced_quote_quarantines_its_line_and_every_following_row_is_kept():
    rows = csv_rows(263)
    rows[1] = 'c-1,a-1,twitter,OPEN,1794326460000,1,"resolved'  # the quote never closes
    result = parse(rows)
    assert result.frame.height == 262 and "c-1" not in result.frame["conversation_id"].to_list()
    assert result.quarantine["line"].to_list() == [3]
    assert "unbalanced quote" in result.quarantine["reason"][0]
    assert any("1 CSV line(s)" in n for n in result.notices)


def test_more_than_128_kb_after_an_unbalanced_quote_is_no_traceback():
    rows = csv_rows(3000)
    rows[0] = 'c-0,"a-0,twitter,OPEN,1794326400000,0,resolved'
    assert len("\n".join(rows[1:])) > 128 * 1024
    result = parse(rows)
    assert result.frame.height == 2999 and result.quarantine["line"].to_list() == [2]


def test_two_unbalanced_quotes_do_not_swallow_the_rows_between_them():
    rows = csv_rows(20)
    rows[3] = 'c-3,a-3,twitter,OPEN,1794326580000,3,"resolved'
    rows[9] = 'c-9,a-9,twitter,OPEN,1794326940000,4,"resolved'
    result = parse(rows)
    assert result.frame.height == 18
    assert result.quarantine["line"].to_list() == [5, 11]


def test_a_quoted_field_may_still_span_lines():
    rows = csv_rows(3)
    rows[1] = 'c-1,a-1,twitter,OPEN,1794326460000,1,"resolved\nafter a call, ""twice"""'
    result = parse(rows)
    assert result.quarantine.is_empty()
    assert result.frame["disposition"].to_list() == ["resolved", 'resolved\nafter a call, "twice"', "resolved"]
    bad = csv_rows(3, start=3)
    bad[0] = "c-3,a-3,twitter,OPEN,1794326580000,5"  # after a record spanning two lines: line numbers still right
    result = parse(rows + bad)
    assert result.quarantine["line"].to_list() == [6]


# ---- item 8: encodings and line endings ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_unicode_files_with_a_byte_order_mark_are_read(encoding):
    text = "\n".join([HEADER, "c-1,a-1,twitter,OPEN,1794326400000,1,Zoë's café ☕"]) + "\n"
    body = text.encode(encoding)
    if encoding == "utf-16-be":
        body = b"\xfe\xff" + body
    result = schema.parse_csv_bytes("conversation", body)
    assert result.quarantine.is_empty() and result.frame["disposition"].to_list() == ["Zoë's café ☕"]
    assert result.frame["conversation_id"].to_list() == ["c-1"]


def test_excel_unicode_text_utf16_with_tabs_is_read():
    text = "\r\n".join([HEADER.replace(",", "\t"), "c-1\ta-1\ttwitter\tOPEN\t1794326400000\t1\tdone"]) + "\r\n"
    result = schema.parse_csv_bytes("conversation", text.encode("utf-16"))
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    assert any("tab-separated" in n for n in result.notices) and any("UTF-16" in n for n in result.notices)


def test_excel_csv_macintosh_line_endings_are_read():
    body = ("\r".join([HEADER, *csv_rows(4)]) + "\r").encode()
    result = schema.parse_csv_bytes("conversation", body)
    assert result.frame.height == 4 and result.quarantine.is_empty()
    assert not any("unknown columns" in n for n in result.notices)
    assert any("carriage return" in n for n in result.notices)


def test_a_file_in_another_encoding_is_refused_with_the_line_and_what_to_do():
    body = ("\n".join([HEADER, *csv_rows(3), "c-9,a-9,twitter,OPEN,1794326400000,1,caf\xe9"]) + "\n").encode("cp1252")
    with pytest.raises(schema.SchemaError) as err:
        schema.parse_csv_bytes("conversation", body, source="win.csv")
    message = str(err.value)
    assert "win.csv" in message and "line 5 is not UTF-8 (byte 0xE9)" in message and "CSV UTF-8" in message
    no_mark = ("\n".join([HEADER, *csv_rows(2)])).encode("utf-16-le")
    with pytest.raises(schema.SchemaError, match="UTF-16 without a byte-order mark"):
        schema.parse_csv_bytes("conversation", no_mark)


# ---- item 6: odd values -----------------------------------------------------------------------------------------


def row(**over) -> dict:
    return {"conversation_id": "c-1", "author_id": "a-1", "network": "twitter", "status": "OPEN",
            "created_time": T0, **over}


def test_an_integer_beyond_int64_in_json_is_quarantined_by_name():
    huge = 99_999_999_999_999_999_999_999
    body = json.dumps([row(), row(conversation_id="c-2", priority=huge),
                       row(conversation_id="c-3", created_time=huge)]).encode()
    result = schema.parse_json_bytes("conversation", body, source="big.json")
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    reasons = dict(zip(result.quarantine["line"], result.quarantine["reason"], strict=True))
    assert f"priority: cannot read '{huge}' as int" in reasons[2]
    assert f"created_time: cannot read '{huge}' as time" in reasons[3]
    rows = schema.parse_rows("conversation", [row(), row(conversation_id="c-2", priority=huge)])
    assert rows.frame.height == 1 and rows.quarantine["line"].to_list() == [2]


def test_a_time_far_before_any_data_is_quarantined_not_given_a_day():
    body = json.dumps([row(), row(conversation_id="c-2", created_time=-1e15)]).encode()
    result = schema.parse_json_bytes("conversation", body)
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    reason = result.quarantine["reason"][0]
    assert "created_time: '-1000000000000000.0' is not between 1990-01-01 and 2100-01-01" in reason


def test_attribute_headers_that_read_the_same_are_kept_apart_and_said_so():
    body = b"author_id,network,updated_time,region,Region ,Tier,tier\na1,twitter,1794326400000,West,EMEA,Gold,Silver\n"
    result = schema.parse_csv_bytes("author", body)
    frame = result.frame
    assert frame["region"].to_list() == ["West"] and frame["region_2"].to_list() == ["EMEA"]
    assert frame["tier"].to_list() == ["Gold"] and frame["tier_2"].to_list() == ["Silver"]  # the first is ours
    assert any("'Region ' reads as 'region' like 'region': kept apart as 'region_2'" in n for n in result.notices)


def test_a_column_named_like_our_internal_ones_is_just_a_column():
    body = (HEADER + ",__row,__reason\n" + "c-1,a-1,twitter,OPEN,1794326400000,1,done,7,x\n").encode()
    result = schema.parse_csv_bytes("conversation", body)
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    assert any("unknown columns ignored: __row, __reason" in n for n in result.notices)
    author = schema.parse_rows("author", [{"author_id": "a", "network": "x", "__row": "1", "__day": "y"}])
    assert author.frame.select("row", "day").row(0) == ("1", "y")
    bad = schema.parse_json_bytes("conversation", json.dumps([row(__row=1, created_time="soon")]).encode())
    assert bad.quarantine["line"].to_list() == [1] and json.loads(bad.quarantine["raw"][0])["__row"] == 1


# ---- item 7: values that cannot be true ---------------------------------------------------------------------------


def test_epoch_seconds_are_told_from_milliseconds_by_magnitude_and_said_so():
    seconds = T0 // 1000  # 1794326400: 1970-01-21 if it were milliseconds
    result = schema.parse_rows("conversation", [row(created_time=seconds), row(conversation_id="c-2"),
                                                 row(conversation_id="c-3", created_time=str(seconds))])
    assert result.frame["created_time"].to_list() == [T0_TIME] * 3
    assert any("2 created_time value(s) are epoch seconds" in n for n in result.notices)
    csv = schema.parse_csv_bytes("conversation", f"{HEADER}\nc-1,a,twitter,OPEN,{seconds},1,x\n".encode())
    assert csv.frame["created_time"].to_list() == [T0_TIME]


@pytest.mark.parametrize("value", [0, "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", 7_258_118_400_000])
def test_out_of_range_times_are_quarantined_with_the_reason(value):
    result = schema.parse_rows("conversation", [row(), row(conversation_id="c-2", created_time=value)])
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    assert "is not between 1990-01-01 and 2100-01-01" in result.quarantine["reason"][0]


def test_closed_before_created_is_quarantined():
    result = schema.parse_rows("conversation", [
        row(closed_time=T0 + 60_000), row(conversation_id="c-2", closed_time=T0 - 60_000)])
    assert result.frame["conversation_id"].to_list() == ["c-1"]
    assert result.quarantine["reason"][0] == f"closed_time: '{T0 - 60_000}' is before created_time '{T0}'"
    states = schema.parse_rows("raw_agent_states", [
        {"agent_id": "x", "state": "AVAILABLE", "start_time": T0, "end_time": T0 - 1000}])
    assert states.frame.is_empty() and "end_time" in states.quarantine["reason"][0]


def test_a_json_array_element_that_is_not_an_object_is_quarantined():
    body = json.dumps([row(), "c-2", [1, 2]]).encode()
    result = schema.parse_json_bytes("conversation", body)
    assert result.frame.height == 1 and result.quarantine["line"].to_list() == [2, 3]
    assert pl.Series(result.quarantine["reason"]).str.contains("not an object").all()
