"""``CARE_DASHBOARD_STORE_URL`` (issue 14): read and checked like every setting, and where each tenant's store is
then (no server needed: nothing here talks to a bucket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.errors import SettingsError
from dashboard.settings import load_settings
from dashboard.store import store_location, store_root
from dashboard.store._objects import is_store_url, storage_options_from_env


def test_a_store_url_puts_each_tenant_under_its_label_and_keeps_the_local_folder_for_this_machine(tmp_path):
    env = {"CARE_DASHBOARD_DATA_DIR": str(tmp_path), "CARE_DASHBOARD_STORE_URL": "S3://care-data/dashboard/",
           "CARE_DASHBOARD_SIMULATOR_SEED": "3", "CARE_DASHBOARD_SIMULATOR_DAYS": "5"}
    settings = load_settings(env=env)
    assert settings.store_url == "s3://care-data/dashboard"
    assert store_location(settings) == "s3://care-data/dashboard/simulator-seed3-d5-c400"
    # the audit log and the notifier state stay in the local folder
    assert store_root(settings) == tmp_path / "store" / "simulator-seed3-d5-c400"
    local = load_settings(env={k: v for k, v in env.items() if k != "CARE_DASHBOARD_STORE_URL"})
    assert local.store_url is None and store_location(local) == tmp_path / "store" / "simulator-seed3-d5-c400"


@pytest.mark.parametrize("raw", ["/var/data/store", "http://bucket/x", "s3://", "s3:///", "ftp://host/x"])
def test_a_store_url_that_is_not_a_bucket_is_one_line_naming_the_setting(raw):
    with pytest.raises(SettingsError, match=r"CARE_DASHBOARD_STORE_URL must look like s3://bucket/prefix"):
        load_settings(env={"CARE_DASHBOARD_STORE_URL": raw})


def test_bucket_urls_are_told_from_folders_and_s3_options_come_from_the_aws_variables():
    assert is_store_url("s3://b/p") and is_store_url("gs://b") and is_store_url("az://c/p")
    assert not is_store_url(Path("/tmp/s3:/b")) and not is_store_url("/tmp/store") and not is_store_url("file://x")
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
           "AWS_REGION": "eu-west-1", "AWS_ALLOW_HTTP": "true", "HOME": "/root"}
    assert storage_options_from_env("s3://b/p", env) == {
        "aws_endpoint": "http://127.0.0.1:9000", "aws_access_key_id": "k", "aws_secret_access_key": "s",
        "aws_region": "eu-west-1", "aws_allow_http": "true"}
    assert storage_options_from_env("gs://b/p", env) == {}  # its library reads GOOGLE_* itself
    assert "aws_allow_http" not in storage_options_from_env("s3://b/p", {"AWS_ALLOW_HTTP": "false"})
