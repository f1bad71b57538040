"""Reading what Khoros sends: time text never guessed, documented ids, millisecond durations, derived keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard import schema
from dashboard.schema import BEGINNING_OF_TIME, TimeFormatError, TimeReading

HEADER = "CONVERSATION_ID,AUTHOR_ID,NETWORK,STATUS,CREATED_TIME\n"
US = TimeReading("%m/%d/%Y %H:%M:%S", "America/New_York")


def conversations(*times: str) -> bytes:
    rows = "".join(f"c{i},a1,twitter,OPEN,{t}\n" for i, t in enumerate(times))
    return (HEADER + rows).encode()


def created(body: bytes, times: TimeReading | None = None) -> list[datetime]:
    result = schema.parse_csv_bytes("conversation", body, source="f.csv", times=times)
    assert result.quarantine.is_empty(), result.quarantine["reason"].to_list()
    return result.frame["created_time"].to_list()


def test_a_slash_date_that_reads_two_ways_stops_and_names_the_setting_and_the_option():
    with pytest.raises(TimeFormatError) as err:
        schema.parse_csv_bytes("conversation", conversations("05/01/2026 10:32:15"), source="f.csv",
                               times=TimeReading(zone="America/New_York"))
    text = str(err.value)
    assert "f.csv" in text and "created_time" in text and "'05/01/2026 10:32:15'" in text
    assert "2026-05-01" in text and "2026-01-05" in text  # both readings shown
    assert "KHOROS_EXPORT_TIME_FORMAT" in text and "--time-format" in text
    assert "Nothing was read" in text


def test_with_the_format_every_row_is_read_right_in_the_configured_zone():
    got = created(conversations("05/01/2026 10:32:15", "11/23/2026 10:32:15", "1/2/2026 9:03:07"), US)
    assert got == [datetime(2026, 5, 1, 14, 32, 15, tzinfo=UTC),   # EDT, UTC-4
                   datetime(2026, 11, 23, 15, 32, 15, tzinfo=UTC),  # EST, UTC-5
                   datetime(2026, 1, 2, 14, 3, 7, tzinfo=UTC)]
    # Khoros' own way of writing the format means the same
    assert created(conversations("05/01/2026 10:32:15"), TimeReading("MM/dd/yyyy HH:mm:ss", "America/New_York")) \
        == got[:1]
    day_first = created(conversations("05/01/2026 10:32:15"), TimeReading("dd/MM/yyyy HH:mm:ss", "Europe/Paris"))
    assert day_first == [datetime(2026, 1, 5, 9, 32, 15, tzinfo=UTC)]


def test_a_value_that_reads_two_ways_stops_even_when_the_rest_of_the_file_would_settle_it():
    # "11/23/2026" can only be November 23rd, but that is no reason to read "05/01/2026" as May 1st.
    with pytest.raises(TimeFormatError, match="'05/01/2026 10:32:15' reads more than one way"):
        schema.parse_csv_bytes("conversation", conversations("05/01/2026 10:32:15", "11/23/2026 10:32:15"),
                               times=TimeReading(zone="UTC"))
    # Values that read one way only are read, and the notice says how.
    result = schema.parse_csv_bytes("conversation", conversations("11/23/2026 10:32:15", "12/13/2026 08:00:00"),
                                    times=TimeReading(zone="UTC"))
    assert result.frame["created_time"].to_list() == [datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC),
                                                      datetime(2026, 12, 13, 8, 0, tzinfo=UTC)]
    assert any("time format read from the values: MM/dd/yyyy" in n for n in result.notices)
    # A value the day and the month agree on reads one way too.
    assert created(conversations("11/11/2026 10:00:00"), TimeReading(zone="UTC")) == [
        datetime(2026, 11, 11, 10, tzinfo=UTC)]
    # Two formats in one file: no single reading, so nothing is read.
    with pytest.raises(TimeFormatError, match="more than one format"):
        schema.parse_csv_bytes("conversation", conversations("11/23/2026 10:32:15", "23/11/2026 10:32:15"),
                               times=TimeReading(zone="UTC"))


def test_a_local_time_without_a_zone_stops_and_names_the_zone_setting():
    for value in ("11/23/2026 10:32:15", "2026-11-23T10:32:15", "2026-11-23 10:32:15"):
        with pytest.raises(TimeFormatError) as err:
            schema.parse_csv_bytes("conversation", conversations(value), times=TimeReading("%m/%d/%Y %H:%M:%S"))
        assert "KHOROS_EXPORT_TIMEZONE" in str(err.value) and "--time-zone" in str(err.value), value
    # both problems at once: both named
    with pytest.raises(TimeFormatError) as err:
        schema.parse_csv_bytes("conversation", conversations("05/01/2026 10:32:15"))
    assert "--time-format" in str(err.value) and "--time-zone" in str(err.value)


def test_iso_with_an_offset_and_epoch_ms_are_always_read_and_never_guessed_from_each_other():
    got = created(conversations("2026-11-23T10:32:15Z", "2026-11-23T10:32:15.250-05:00", "2026-11-23 10:32+0100",
                                "1795429935000"))
    assert got == [datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC),
                   datetime(2026, 11, 23, 15, 32, 15, 250000, tzinfo=UTC),
                   datetime(2026, 11, 23, 9, 32, tzinfo=UTC), datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC)]
    # a mixed column is read value by value: no format inferred from one value is applied to another
    rows = [{"conversation_id": "a", "author_id": "x", "network": "n", "status": "OPEN",
             "created_time": "2026-11-23T10:32:15Z"},
            {"conversation_id": "b", "author_id": "x", "network": "n", "status": "OPEN",
             "created_time": "2026-11-23T10:32:15"}]
    with pytest.raises(TimeFormatError, match="has no zone"):
        schema.parse_rows("conversation", rows)
    result = schema.parse_rows("conversation", rows, times=TimeReading(zone="Asia/Tokyo"))
    assert result.frame["created_time"].to_list() == [datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC),
                                                      datetime(2026, 11, 23, 1, 32, 15, tzinfo=UTC)]


def test_the_repeated_fall_back_hour_is_read_as_its_first_occurrence_with_a_notice():
    result = schema.parse_csv_bytes("conversation", conversations("11/01/2026 01:30:00", "11/01/2026 00:30:00",
                                                                  "11/01/2026 02:30:00"), times=US)
    assert result.frame["created_time"].to_list() == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT, the first of the two 01:30s
        datetime(2026, 11, 1, 4, 30, tzinfo=UTC), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)]
    assert any("1 time(s) fall in the hour America/New_York repeats" in n for n in result.notices)
    # a local time the spring-forward night skips does not exist: quarantined with the format it was read with
    skipped = schema.parse_csv_bytes("conversation", conversations("03/08/2026 02:30:00", "03/08/2026 03:30:00"),
                                     times=US)
    assert skipped.frame.height == 1 and skipped.quarantine["reason"].to_list() == [
        "created_time: cannot read '03/08/2026 02:30:00' as time (MM/dd/yyyy HH:mm:ss)"]


def test_time_formats_are_strftime_or_khoros_style_and_bad_ones_are_named():
    assert schema.to_strftime("MM/dd/yyyy hh:mm:ss a") == "%m/%d/%Y %I:%M:%S %p"
    assert schema.to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS") == "%Y-%m-%dT%H:%M:%S.%3f"
    assert schema.to_strftime("%d.%m.%Y %H:%M") == "%d.%m.%Y %H:%M"
    with pytest.raises(ValueError, match="unknown letter 'Q'"):
        schema.to_strftime("QQ/dd")
    with pytest.raises(ValueError, match="unsupported directive '%Q'"):
        TimeReading("%Q")
    with pytest.raises(ValueError, match="IANA"):
        TimeReading(zone="Mars/Base")


def test_every_field_as_a_string_is_typed():
    rows = [{"RESPONSE_ID": "r1", "CONVERSATION_ID": "c1", "RESPONDER_TYPE": "AGENT", "AGENT_ID": "",
             "BOT_APP_ID": "", "PUBLISHED_TIME": "11/23/2026 10:32:15", "IN_REPLY_TO_POST_ID": "",
             "IS_PUBLIC": "false"}]
    result = schema.parse_json_bytes("response", json.dumps(rows).encode(), times=TimeReading(US.format, "UTC"))
    assert result.quarantine.is_empty()
    row = result.frame.row(0, named=True)
    assert row["is_public"] is False and row["agent_id"] is None and row["in_reply_to_post_id"] is None
    assert row["published_time"] == datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC)


def test_millisecond_durations_become_seconds_and_our_id_beats_an_alias():
    body = (b"AGENT_ID,WINDOW_START,RESPONSES,TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS\n"
            b"ag,2026-11-01T00:00:00Z,4,25475000\nbg,2026-11-01T00:00:00Z,1,1499\n")
    frame = schema.parse_csv_bytes("team_performance", body).frame
    assert frame["logged_in_seconds"].to_list() == [25475, 1] and frame["responses"].to_list() == [4, 1]
    both = (b"conversation_id,ASSIGNED_AGENT_DISPLAY_ID,assigned_agent_id,author_id,network,status,created_time\n"
            b"c,display-7,agent-uuid,a,t,OPEN,1795429935000\n")
    result = schema.parse_csv_bytes("conversation", both)
    assert result.frame["assigned_agent_id"].to_list() == ["agent-uuid"]
    assert result.matched["assigned_agent_id"] == "assigned_agent_id" and "ASSIGNED_AGENT_DISPLAY_ID" in result.unknown
    alone = both.replace(b"assigned_agent_id,", b"").replace(b"agent-uuid,", b"")
    assert schema.parse_csv_bytes("conversation", alone).frame["assigned_agent_id"].to_list() == ["display-7"]


def test_an_author_without_updated_time_applies_from_the_beginning_of_time():
    body = b"AUTHOR_ID,NETWORK,TIER,REGION\na1,twitter,Gold,West\na2,facebook,Silver,\n"
    result = schema.parse_csv_bytes("author", body)
    assert result.frame["updated_time"].to_list() == [BEGINNING_OF_TIME] * 2
    assert result.frame["region"].to_list() == ["West", None]
    assert any("apply from the beginning of time" in n for n in result.notices)
    # a row with a blank value is the same; a row with a value keeps it
    mixed = b"author_id,network,tier,updated_time\na1,t,Gold,\na2,t,Gold,1795429935000\n"
    assert schema.parse_csv_bytes("author", mixed).frame["updated_time"].to_list() == [
        BEGINNING_OF_TIME, datetime(2026, 11, 23, 10, 32, 15, tzinfo=UTC)]


def test_a_history_action_without_action_id_gets_a_stable_key_from_its_content():
    csv_body = (b"CONVERSATION_ID,ACTION,ACTION_TIME,AGENT_ID,FROM_VALUE,TO_VALUE\n"
                b"c1,ASSIGNED,11/23/2026 10:32:15,ag,,ag\nc1,CLOSED,11/23/2026 11:00:00,ag,,\n"
                b"c2,CLOSED,11/23/2026 11:00:00,ag,,\n")
    first = schema.parse_csv_bytes("conversation_history_action", csv_body, times=TimeReading(US.format, "UTC"))
    again = schema.parse_csv_bytes("conversation_history_action", csv_body, times=TimeReading(US.format, "UTC"))
    ids = first.frame["action_id"].to_list()
    assert ids == again.frame["action_id"].to_list() and len(set(ids)) == 3
    assert all(i.startswith("derived-") for i in ids)
    # the same action in JSON with epoch ms (another file, another format) gets the same key
    rows = [{"conversation_id": "c1", "action": "ASSIGNED", "action_time": 1795429935000, "agent_id": "ag",
             "to_value": "ag"}]
    assert schema.parse_rows("conversation_history_action", rows).frame["action_id"].to_list() == ids[:1]
    # an explicit id is kept as it is
    assert schema.parse_rows("conversation_history_action", [{**rows[0], "action_id": "A-1"}]).frame[
        "action_id"].to_list() == ["A-1"]


def test_detection_reports_candidates_and_ambiguity_for_doctor():
    found = schema.detect_time_format(pl.Series(["05/01/2026 10:32:15", "12/01/2026 10:32:15"]))
    assert found.ambiguous and found.format is None and set(found.candidates) >= {"%m/%d/%Y %H:%M:%S%.f",
                                                                                  "%d/%m/%Y %H:%M:%S%.f"}
    one = schema.detect_time_format(["11/23/2026 10:32:15", "", None])
    assert not one.ambiguous and one.format == "%m/%d/%Y %H:%M:%S%.f" and one.needs_zone
    iso = schema.detect_time_format(["2026-11-23T10:32:15Z", "1795429935000"])
    assert (iso.iso_aware, iso.epoch, iso.other, iso.needs_zone) == (1, 1, 0, False)
    junk = schema.detect_time_format(["soon", "11/23/26 10:32"])  # a two-digit year is no year
    assert junk.candidates == [] and junk.unreadable == ["soon", "11/23/26 10:32"]
