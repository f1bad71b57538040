"""The one definition of export columns: parsing, aliases, quarantine, and clear errors."""

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard import schema

ROW = {"conversation_id": "c1", "author_id": "a1", "network": "twitter", "status": "OPEN",
       "created_time": 1_762_000_000_000}


def test_every_export_has_a_key_and_a_time_column_among_its_columns():
    for export in schema.EXPORTS.values():
        assert set(export.key) <= set(export.names), export.export_id
        assert export.time_column in export.names
        assert export.column(export.time_column).kind == "time"


def test_json_rows_are_typed_and_times_accept_epoch_ms_and_iso():
    rows = [ROW, {**ROW, "conversation_id": "c2", "created_time": "2025-11-01T12:26:40.000-05:00",
                  "priority": "4", "tags": ["Bot Handoff", "VIP"]}]
    result = schema.parse_json_bytes("conversation", json.dumps(rows).encode())
    assert result.quarantine.is_empty()
    frame = result.frame
    assert frame.schema["created_time"] == schema.TIME
    assert frame["created_time"].to_list() == [
        datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC), datetime(2025, 11, 1, 17, 26, 40, tzinfo=UTC)]
    assert frame["priority"].to_list() == [None, 4]
    assert frame["tags"].to_list()[1] == ["Bot Handoff", "VIP"]
    assert frame.columns == schema.EXPORTS["conversation"].names


def test_bad_values_are_quarantined_with_line_and_reason_and_good_rows_kept():
    rows = [ROW, {**ROW, "conversation_id": "c2", "created_time": "yesterday"}, {**ROW, "conversation_id": " "},
            {**ROW, "conversation_id": "c4", "priority": "3.5"}]
    result = schema.parse_json_bytes("conversation", json.dumps(rows).encode(), source="dump.json")
    assert result.frame["conversation_id"].to_list() == ["c1"]
    q = result.quarantine.sort("line")
    assert q["line"].to_list() == [2, 3, 4]
    assert q["source"].unique().to_list() == ["dump.json"]
    assert "created_time: cannot read 'yesterday' as time" in q["reason"][0]
    assert q["reason"][1] == "conversation_id: required value is empty"
    assert "priority: cannot read '3.5' as int" in q["reason"][2]


def test_missing_required_column_is_an_error_naming_it():
    with pytest.raises(schema.SchemaError, match=r"required column\(s\) missing: status") as err:
        schema.parse_rows("conversation", [{k: v for k, v in ROW.items() if k != "status"}], source="f.json")
    assert "f.json" in str(err.value)


def test_csv_from_the_khoros_ui_matches_display_headers_and_quarantines_ragged_lines():
    body = (
        "\ufeffConversation ID,Author ID,Network,Status,Created Time,Tags,Unknown Column\n"
        "c1,a1,twitter,CLOSED,2026-11-02T09:00:00Z,Bot Handoff;VIP,x\n"
        "c2,a1,twitter\n"
        "c3,a2,facebook,OPEN,1762000000000,,y\n"
    ).encode()
    result = schema.parse_csv_bytes("conversation", body, source="ui.csv")
    assert result.frame["conversation_id"].to_list() == ["c1", "c3"]
    assert result.frame["tags"].to_list() == [["Bot Handoff", "VIP"], []]
    assert result.quarantine["line"].to_list() == [3]  # a short line is quarantined as such, never read as nulls
    assert result.quarantine["reason"][0] == "expected 7 fields, found 3"
    assert any("unknown columns ignored: Unknown Column" in n for n in result.notices)


def test_csv_lines_with_too_many_fields_are_quarantined_by_line_and_the_rest_kept():
    body = (
        b"conversation_id,author_id,network,status,created_time\n"
        b"c1,a1,twitter,OPEN,1762000000000\n"
        b"c2,a1,twitter,OPEN,1762000000000,surplus,values\n"
        b"c3,a2,facebook,OPEN,1762000000000\n"
    )
    result = schema.parse_csv_bytes("conversation", body, source="ui.csv")
    assert result.frame["conversation_id"].to_list() == ["c1", "c3"]
    assert result.quarantine["line"].to_list() == [3]
    assert "expected 5 fields, found 7" in result.quarantine["reason"][0]


def test_author_export_keeps_crm_attributes_as_strings():
    body = b"author_id,network,updated_time,tier,Lifetime Value\na1,twitter,1762000000000,Gold,1200.5\n"
    frame = schema.parse_csv_bytes("author", body).frame
    assert frame["tier"].to_list() == ["Gold"]
    assert frame["lifetime_value"].to_list() == ["1200.5"]


def test_bool_columns_accept_spreadsheet_spellings():
    rows = [{"response_id": f"r{i}", "conversation_id": "c", "responder_type": "AGENT",
             "published_time": 1_762_000_000_000, "is_public": v} for i, v in enumerate(["true", "0", "Yes", True])]
    result = schema.parse_rows("response", rows)
    assert result.frame["is_public"].to_list() == [True, False, True, True]


def test_empty_inputs_give_empty_typed_frames():
    for body in (b"", b"[]", b"  \n"):
        result = schema.parse_json_bytes("response", body)
        assert result.frame.schema == schema.EXPORTS["response"].polars_schema
        assert result.frame.is_empty()
    assert schema.parse_csv_bytes("response", b"").frame.is_empty()


def test_not_json_and_unknown_export_and_format_are_clear_errors():
    with pytest.raises(schema.SchemaError, match="not valid JSON"):
        schema.parse_json_bytes("conversation", b"[{oops")
    with pytest.raises(schema.SchemaError, match="expected a JSON array"):
        schema.parse_json_bytes("conversation", b'{"rows": []}')
    with pytest.raises(schema.SchemaError, match="unknown export 'nope'"):
        schema.export_schema("nope")
    with pytest.raises(schema.SchemaError, match="unknown report format"):
        schema.parse_export_bytes("conversation", b"", "xml")


def test_typed_frame_round_trips_through_parquet(tmp_path):
    frame = schema.parse_rows("conversation", [ROW]).frame
    frame.write_parquet(tmp_path / "c.parquet")
    assert pl.read_parquet(tmp_path / "c.parquet").schema == frame.schema


def test_empty_csv_fields_are_missing_values():
    body = b"conversation_id,author_id,network,status,created_time,disposition,assigned_agent_id\n" \
           b"c1,a1,twitter,OPEN,1762000000000,,  \n"
    frame = schema.parse_csv_bytes("conversation", body).frame
    assert frame["disposition"].to_list() == [None]
    assert frame["assigned_agent_id"].to_list() == [None]
