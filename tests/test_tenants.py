"""Several tenants: the tenants file (its errors name the file, line, tenant and key), store partitions, and the
CLI's ``--tenant`` / ``sync --all-tenants`` on two simulated tenants (oracle: each tenant's own world)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dashboard.access import tenant_of
from dashboard.cli import main
from dashboard.errors import SettingsError
from dashboard.settings import load_settings
from dashboard.tenants import TenantsError, load_tenants, parse_tenants
from tests._tenant_worlds import WORLDS, environment, single_env, tenants_env, write_tenants_file

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

KHOROS = ('[tenants.acme]\nanalytics_url = "https://acme.example.com/api/v2"\ncompany_key = "acme"\n'
          '[tenants.acme.credentials]\nusername = "ACME_USER"\npassword = "ACME_PASSWORD"\n')
SIMULATED = '[tenants.north]\nsimulator = { seed = 11, days = 21, conversations_per_day = 80 }\n'
WINDOW = ("--start", "2026-11-01", "--end", "2026-11-15")


def parse(text: str, **lookup: str):
    return parse_tenants(text, load_settings(env={}), lookup, source="tenants.toml", folder=Path("/etc/care"))


# ---- the file ----------------------------------------------------------------------------------------------------


def test_each_tenant_gets_its_own_settings_credentials_by_name_and_store_partition():
    tenants = parse(SIMULATED + "\n" + KHOROS + 'bot_username = "ACME_BOT_USER"\n', ACME_USER="u1",
                    ACME_PASSWORD="p1", ACME_BOT_USER="b1")
    assert tenants.names == ["north", "acme"]
    acme, north = tenants.settings_for("acme"), tenants.settings_for("north")
    assert (acme.username, acme.password, acme.bot_username, acme.company_key) == ("u1", "p1", "b1", "acme")
    assert not acme.use_simulator and north.use_simulator and north.simulator_seed == 11
    assert (north.username, north.password) == (None, None)  # no tenant's secret lands in another's settings
    assert tenant_of(acme) == "acme" and tenant_of(north) == "north"
    from dashboard.store import store_root

    roots = {store_root(s) for s in (acme, north)}
    assert len(roots) == 2 and all(r.parent == Path(acme.data_dir) / "store" for r in roots)
    assert "acme" in {r.name for r in roots}


def test_two_simulated_tenants_of_the_same_world_still_have_their_own_partitions():
    tenants = parse(SIMULATED + SIMULATED.replace("north", "east"))
    from dashboard.store import store_root

    assert store_root(tenants.settings_for("north")) != store_root(tenants.settings_for("east"))


def test_relative_paths_are_read_from_the_files_folder_and_keys_default_to_the_environment():
    text = SIMULATED + 'policy = "policies/north.toml"\ntimezone = "Europe/Berlin"\n'
    north = parse(text).settings_for("north")
    assert north.policy_path == Path("/etc/care/policies/north.toml") and north.timezone == "Europe/Berlin"
    assert parse(SIMULATED).settings_for("north").timezone == load_settings(env={}).timezone


@pytest.mark.parametrize(("text", "line", "says"), [
    ("[tenants.north\n", 1, "not valid TOML"),
    ('title = "x"\n' + SIMULATED, 1, "unknown key 'title'"),
    ("# nothing\n", None, "no [tenants.<name>] table"),
    (SIMULATED + 'time_zone = "UTC"\n', 3, "tenant 'north': unknown key 'time_zone'"),
    (SIMULATED + 'timezone = "EST"\n', 3, "tenant 'north': timezone:"),
    (SIMULATED + 'bot_rule = "robots"\n', 3, "tenant 'north': bot_rule must be one of"),
    (SIMULATED + 'export_time_format = "yyyy-QQ"\n', 3, "tenant 'north': export_time_format"),
    ('[tenants.north]\ntimezone = "UTC"\n', 1, "tenant 'north': needs analytics_url"),
    ('[tenants.north]\nsimulator = { seed = -1 }\n', 2, "simulator.seed must be a whole number"),
    (KHOROS.replace('password = "ACME_PASSWORD"\n', ""), 4, "tenant 'acme': credentials.password is required"),
    (KHOROS.replace('"ACME_PASSWORD"', '"hunter2!"'), 6, "must be the NAME of an environment variable"),
    (KHOROS.replace('company_key = "acme"\n', ""), 1, "tenant 'acme': company_key is required"),
    (KHOROS.replace("https://", "ftp://"), 2, "analytics_url must be an http(s) URL"),
    (KHOROS + SIMULATED + 'analytics_url = "https://x.example.com"\n', 8, "either the simulator or a Khoros"),
    ('[tenants."no/slash"]\n' + SIMULATED.split("\n", 1)[1], 1, "a tenant's name is 1-40 letters"),
])
def test_a_file_that_cannot_be_used_is_refused_naming_file_line_tenant_and_key(text, line, says):
    with pytest.raises(TenantsError) as caught:
        parse(text, ACME_USER="u", ACME_PASSWORD="p")
    assert caught.value.line == line and caught.value.source == "tenants.toml"
    assert says in str(caught.value)
    assert "hunter2" not in str(caught.value)  # a secret written where its name belongs is never echoed


def test_a_missing_secret_stops_only_its_tenant_and_says_which_tenant_key_variable_and_where():
    tenants = parse(SIMULATED + KHOROS, ACME_USER="u")
    assert tenants.settings_for("north").use_simulator  # the other tenant opens
    with pytest.raises(SettingsError) as caught:
        tenants.settings_for("acme")
    message = str(caught.value)
    assert message.startswith("tenants.toml line 8: tenant 'acme': credentials.password names ACME_PASSWORD")
    assert "neither in the environment nor in .streamlit/secrets.toml" in message


def test_secrets_toml_values_are_found_by_name_too(tmp_path):
    path = write_tenants_file(tmp_path, KHOROS)
    tenants = load_tenants(secrets={"ACME_USER": "from-secrets", "ACME_PASSWORD": "p"},
                           env={"CARE_DASHBOARD_TENANTS": str(path), "ACME_USER": "from-env"})
    assert tenants.settings_for("acme").username == "from-secrets"  # the secrets file wins, as for every setting


def test_without_a_file_there_is_one_tenant_as_before(tmp_path):
    env = {"CARE_DASHBOARD_DATA_DIR": str(tmp_path)}
    tenants = load_tenants(env=env)
    assert tenants.names == ["demo"] and not tenants.from_file
    assert tenants.settings_for("demo") == load_settings(env=env) and tenants.chosen(None) == "demo"
    with pytest.raises(SettingsError, match="no tenant 'emea'"):
        tenants.chosen("emea")
    with pytest.raises(TenantsError, match="tenants file not found"):
        load_tenants(env={"CARE_DASHBOARD_TENANTS": str(tmp_path / "nope.toml")})


# ---- the CLI on two simulated tenants ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> dict:
    """Two simulated tenants synced into one data folder by ``sync --all-tenants``, and a one-tenant deployment of
    north's world synced by a plain ``sync``."""
    root = tmp_path_factory.mktemp("tenants")
    tenants_file = write_tenants_file(root)
    env = tenants_env(root / "data", tenants_file)
    with environment(env):
        assert main(["sync", "--all-tenants", "--quiet"]) == 0
    single = single_env(root / "single", "north")
    with environment(single):
        assert main(["sync", "--quiet"]) == 0
    return {"env": env, "single": single, "root": root}


def cli_out(env: dict, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with environment(env):
        code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_all_tenants_sync_into_one_store_root_each_its_own_partition(deployment):
    stores = sorted(p.name for p in (Path(deployment["env"]["CARE_DASHBOARD_DATA_DIR"]) / "store").iterdir())
    assert stores == ["north-simulator-seed11-d21-c80", "south-simulator-seed23-d21-c60"]


def _world(env: dict, tenant: str | None):
    from dashboard.core import Dashboard
    from dashboard.tenants import tenant_settings

    with environment(env):
        return Dashboard.open(tenant_settings(tenant), demo="read")


@pytest.mark.parametrize("tenant", list(WORLDS))
def test_report_for_a_tenant_shows_its_own_worlds_numbers(deployment, capsys, tenant):
    code, out, err = cli_out(deployment["env"], capsys, "report", "sla", "--tenant", tenant, *WINDOW, "--by", "tier",
                             "--format", "csv")
    assert code == 0, err
    shown = pl.read_csv(out.encode())
    core = _world(deployment["env"], tenant)
    try:
        world = core.source.world
    finally:
        core.close()
    zone = WORLDS[tenant]["timezone"]
    local_day = pl.col("first_inbound_time").dt.convert_time_zone(zone).dt.date()
    truth = world.truth.filter(local_day.is_between(date(2026, 11, 1), date(2026, 11, 15), closed="left"))
    per_tier = dict(truth.group_by("tier_at_start").len().iter_rows())
    row_sums = shown.select("tier", pl.sum_horizontal("total", "bot_contained", "not_started", "no_target"))
    assert dict(row_sums.iter_rows()) == per_tier and sum(per_tier.values()) > 100


def test_a_tenants_report_equals_a_one_tenant_deployment_of_the_same_world(deployment, capsys):
    args = ("report", "sla", *WINDOW, "--by", "tier,priority", "--metric", "resolution")
    code, several, err = cli_out(deployment["env"], capsys, *args, "--tenant", "north")
    assert code == 0, err
    code, one, err = cli_out(deployment["single"], capsys, *args)
    assert code == 0, err
    assert several == one
    _, other, _ = cli_out(deployment["env"], capsys, *args, "--tenant", "south")
    assert other != several  # the two tenants are different worlds


def test_a_command_with_several_tenants_must_name_one(deployment, capsys):
    code, _, err = cli_out(deployment["env"], capsys, "report", "sla", *WINDOW)
    assert code == 2 and "2 tenants are configured (north, south); name one with --tenant" in err
    code, _, err = cli_out(deployment["env"], capsys, "report", "sla", *WINDOW, "--tenant", "west")
    assert code == 2 and "no tenant 'west'" in err and "the tenants are north, south" in err
    code, out, err = cli_out(deployment["env"], capsys, "report", "queue", "--tenant", "south")
    assert code == 0, err
    code, out, err = cli_out(deployment["env"], capsys, "facts", "--check", "--tenant", "south")
    assert code == 0 and "current" in out, err
    code, out, err = cli_out(deployment["env"], capsys, "repair", "--check-only", "--tenant", "north")
    assert code == 0, err


def test_all_tenants_goes_on_past_a_tenant_whose_secret_is_missing_and_exits_non_zero(deployment, capsys, tmp_path):
    text = (Path(deployment["root"]) / "tenants.toml").read_text() + KHOROS.replace(
        "https://acme.example.com", "http://127.0.0.1:9")
    env = {**deployment["env"], "CARE_DASHBOARD_TENANTS": str(write_tenants_file(tmp_path, text)), "ACME_USER": "u"}
    code, out, err = cli_out(env, capsys, "sync", "--all-tenants", "--quiet", "--exports", "conversation")
    assert code == 1
    summary = out.split("Tenants:\n", 1)[1]
    assert "  north: ok\n" in summary and "  south: ok\n" in summary
    assert "  acme: FAILED (exit 2): " in summary and "credentials.password names ACME_PASSWORD" in summary
    assert "1 of 3 tenant(s) failed: acme" in err


@pytest.mark.integration
def test_all_tenants_goes_on_past_a_tenant_whose_secret_is_refused_and_names_it(deployment, capsys, tmp_path):
    """A Khoros tenant (a simulator served on loopback) whose password is wrong: the others sync, the summary names
    the refusal, the exit code says it, and the wrong secret is printed nowhere."""
    from datetime import UTC, datetime

    from dashboard.simulator.app import SimulatorOptions
    from dashboard.simulator.server import start_simulator
    from dashboard.simulator.world import WorldConfig, generate_world

    end = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    world = generate_world(WorldConfig(seed=6, days=3, conversations_per_day=20, end=end))
    options = SimulatorOptions(username="acme-user", password="right-pass", company_key="acme",
                               analytics_per_min=100_000, care_per_min=100_000)
    with start_simulator(world, options) as sim:
        text = (Path(deployment["root"]) / "tenants.toml").read_text() + (
            f'[tenants.acme]\nanalytics_url = "{sim.base_url}"\ncompany_key = "acme"\n'
            'export_time_format = "MM/dd/yyyy HH:mm:ss"\nrate_analytics_per_min = 100000\n'
            '[tenants.acme.credentials]\nusername = "ACME_USER"\npassword = "ACME_PASSWORD"\n')
        tenants_file = write_tenants_file(tmp_path, text)
        args = ("sync", "--all-tenants", "--quiet", "--exports", "conversation", "--start", "2026-11-17",
                "--author-lookback-days", "0")
        env = {**deployment["env"], "CARE_DASHBOARD_TENANTS": str(tenants_file), "ACME_USER": "acme-user"}
        code, out, err = cli_out({**env, "ACME_PASSWORD": "wrong-pass-123"}, capsys, *args)
        assert code == 1
        summary = out.split("Tenants:\n", 1)[1]
        assert "  north: ok\n" in summary and "  south: ok\n" in summary
        assert "  acme: FAILED (exit 1): " in summary and "401" in summary
        assert "wrong-pass-123" not in out + err and "1 of 3 tenant(s) failed: acme" in err
        code, out, err = cli_out({**env, "ACME_PASSWORD": "right-pass"}, capsys, *args)
        assert code == 0, err
        assert "  acme: ok\n" in out
