"""What the catalog knows before any run, for every code location of workspace.yaml:

- 24/24 assets link to their code, have owners and kinds (with the right labels);
- every tabular asset has a column schema, and the schemas of database tables and views are
  exactly what PostgreSQL (or SQLite) holds after the code created them;
- every asset check says what it checks;
- every asset a schedule keeps up to date has a freshness policy;
- every location alerts on failed runs (`<p>_run_failure_sensor`).

Written files are compared with their column schemas in tests/<p>/test_catalog.py (the
pipelines' own fixtures run them).
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster import AssetKey, TableSchema

from assets.catalog import sql_columns, sql_type_name, with_code_references
from resources.env import code_link_target

ROOT = Path(__file__).resolve().parents[1]
LOCATIONS = {
    entry["python_module"]["location_name"]: entry["python_module"]["module_name"]
    for entry in yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
}
TABULAR_KINDS = {"parquet", "arrow", "postgres", "sqlite"}
# Assets only a sensor keeps up to date, and why no age of theirs says "late": they run when
# files appear or change, and a quiet folder is no fault.
CHANGE_DRIVEN = {
    "replay_sync/bucket_replays": "uploads follow new replays in SLP_ROOT",
    "replay_sync/replay_index": "indexed after each upload",
    "replay_sync/bucket_checkpoints": "pushed when the trainer writes checkpoints",
}


def _repository(location: str):
    return importlib.import_module(LOCATIONS[location]).defs.get_repository_def()


def _nodes():
    for location in sorted(LOCATIONS):
        graph = _repository(location).asset_graph
        for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
            yield location, key, graph.get(key)


def _column_schema(location: str, key: str) -> TableSchema:
    node = _repository(location).asset_graph.get(AssetKey.from_user_string(key))
    return node.metadata["dagster/column_schema"]


def test_every_asset_links_to_its_code_and_has_owners_and_kinds():
    nodes = list(_nodes())
    assert len(nodes) == 24
    wrong = []
    for location, key, node in nodes:
        name = key.to_user_string()
        references = node.metadata.get("dagster/code_references")
        declared = ROOT / "assets" / location / f"{key.path[-1]}.py"
        lines = [(Path(r.file_path), r.line_number) for r in references.code_references]
        if [path for path, _ in lines] != [declared]:
            wrong.append(f"{name}: code references {lines}, not {declared}")
        else:  # the line is the asset's decorator or definition
            text = declared.read_text().splitlines()[lines[0][1] - 1]
            if not text.startswith(("@", f"def {key.path[-1]}(", f"{key.path[-1]} = ")):
                wrong.append(f"{name}: line {lines[0][1]} is {text!r}")
        if not node.owners or any(not (o.startswith("team:") or "@" in o) for o in node.owners):
            wrong.append(f"{name}: owners {node.owners}")
        if node.owners != [f"team:{location}"]:
            wrong.append(f"{name}: owners {node.owners}, not the pipeline's team")
        if not node.kinds:
            wrong.append(f"{name}: no kinds")
    assert not wrong, "\n".join(wrong)


def test_kind_labels_say_what_is_written():
    graph = _repository("replay_mining").asset_graph
    parsed = graph.get(AssetKey.from_user_string("replay_mining/parsed_replays"))
    assert "arrow" in parsed.kinds and "parquet" not in parsed.kinds  # Arrow IPC parts
    dataset = graph.get(AssetKey.from_user_string("replay_mining/replay_dataset"))
    assert "parquet" in dataset.kinds


def test_every_tabular_asset_has_a_column_schema_and_databases_name_their_table():
    wrong = []
    for _, key, node in _nodes():
        if not node.kinds & TABULAR_KINDS:
            continue
        schema = node.metadata.get("dagster/column_schema")
        if not isinstance(schema, TableSchema) or not schema.columns:
            wrong.append(f"{key.to_user_string()}: no column schema")
        in_database = node.kinds & {"postgres", "sqlite"}
        if in_database and not node.metadata.get("dagster/table_name"):
            wrong.append(f"{key.to_user_string()}: no dagster/table_name")
        if not in_database and "lake_path" not in node.metadata:
            wrong.append(f"{key.to_user_string()}: no lake_path")
    assert not wrong, "\n".join(wrong)


def test_every_check_says_what_it_checks():
    missing = []
    for location in sorted(LOCATIONS):
        graph = _repository(location).asset_graph
        for check_key in graph.asset_check_keys:
            if not (graph.get_check_spec(check_key).description or "").strip():
                missing.append(f"{check_key.asset_key.to_user_string()}:{check_key.name}")
    assert not missing, missing


def _scheduled_and_sensed(repository) -> tuple[set[str], set[str]]:
    def targets(job_name: str) -> set[str]:
        job = repository.get_job(job_name)
        return {k.to_user_string() for k in job.asset_layer.selected_asset_keys}

    scheduled = {k for s in repository.schedule_defs for k in targets(s.job_name)}
    sensed = {
        k
        for s in repository.sensor_defs
        for target in s.targets
        if not target.job_name.startswith("__")
        for k in targets(target.job_name)
    }
    return scheduled, sensed


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_every_scheduled_asset_has_a_freshness_policy(location):
    repository = _repository(location)
    graph = repository.asset_graph
    scheduled, sensed = _scheduled_and_sensed(repository)
    lacking = []
    for name in sorted(scheduled | sensed):
        node = graph.get(AssetKey.from_user_string(name))
        if node.is_observable:  # the platform's spans: its freshness is the spans_arriving check
            continue
        if node.freshness_policy is None and name not in CHANGE_DRIVEN:
            lacking.append(name)
    assert not lacking, f"kept up to date but no freshness policy: {lacking}"
    # a change-driven asset is one no schedule runs
    assert not scheduled & set(CHANGE_DRIVEN)


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_every_location_alerts_on_failed_runs(location):
    repository = _repository(location)
    sensors = {s.name: s for s in repository.sensor_defs}
    assert f"{location}_run_failure_sensor" in sensors
    assert "alert_webhook" in repository.get_top_level_resources()


# -- the catalog's schemas are what the databases hold --------------------------------------------


def _postgres_columns(url: str, schema: str, table: str) -> list[tuple[str, str, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (schema, table),
        ).fetchall()
    assert rows, f"{schema}.{table} does not exist"
    return [(name, sql_type_name(kind), nullable) for name, kind, nullable in rows]


def _catalog_columns(schema: TableSchema) -> list[tuple[str, str, bool]]:
    return [(c.name, c.type, c.constraints.nullable) for c in schema.columns]


def test_analytics_tables_and_view_have_the_catalogs_columns(pg_url):
    from resources.analytics.settings import build_resources
    from resources.postgres import PostgresResource

    db = build_resources(source=PostgresResource(url=pg_url))["analytics_db"]
    db.create_source_table(typed_columns=False)
    db.migrate()
    for table in ("hourly_analytics", "daily_analytics", "model_usage_stats"):
        assert _postgres_columns(pg_url, "public", table) == _catalog_columns(
            _column_schema("analytics", f"analytics/{table}")
        ), table
    # a materialized view's columns are never NOT NULL: compare names and types
    view = _postgres_columns(pg_url, "public", "recent_activity_summary")
    catalog = _catalog_columns(_column_schema("analytics", "analytics/recent_activity_summary"))
    assert [c[:2] for c in view] == [c[:2] for c in catalog]
    spans = _postgres_columns(pg_url, "public", "execution_spans")
    assert spans == _catalog_columns(_column_schema("analytics", "analytics/execution_spans"))
    graph = _repository("analytics").asset_graph
    assert (
        graph.get(AssetKey.from_user_string("analytics/daily_analytics")).metadata[
            "dagster/table_name"
        ]
        == "public.daily_analytics"
    )


def test_riot_tables_have_the_catalogs_columns(pg_url):
    from resources.riot.store import RiotStore

    RiotStore(pg_url).ensure_schema()
    for key, table in (
        ("riot/tracked_player_updates", "riot_players"),
        ("riot/player_analyses", "riot_analyses"),
        ("riot/ban_checks", "riot_ban_checks"),
    ):
        assert _postgres_columns(pg_url, "public", table) == _catalog_columns(
            _column_schema("riot", key)
        ), table


def _sqlite_columns(path: Path, table: str) -> list[tuple[str, str, bool]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    # (cid, name, type, notnull, default, pk): SQLite allows NULL in a non-integer primary key,
    # but an INTEGER PRIMARY KEY is the row id, never NULL
    return [(r[1], sql_type_name(r[2]), not (r[3] or r[5])) for r in rows]


def test_rps_games_store_tables_have_the_catalogs_columns(tmp_path, pg_url):
    from resources.rps.games_store import GamesStore

    GamesStore(f"sqlite:///{tmp_path / 'rps.db'}").ensure_schema()
    for key, table in (("rps/legacy_games", "games"), ("rps/model_promotion", "promotion_events")):
        catalog = _catalog_columns(_column_schema("rps", key))
        assert _sqlite_columns(tmp_path / "rps.db", table) == catalog, table
    # the same DDL on PostgreSQL (RPS_DATABASE_URL=postgresql://...): only the id's type differs
    GamesStore(pg_url).ensure_schema()
    games = sql_columns(
        __import__("resources.rps.games_store", fromlist=["schema_sql"]).schema_sql(True), "games"
    )
    assert _postgres_columns(pg_url, "public", "games") == _catalog_columns(games)


def test_a_column_schema_names_no_table_it_was_not_given():
    with pytest.raises(ValueError, match="no table or view named 'nope'"):
        sql_columns("CREATE TABLE t (a int)", "nope")


# -- links to the code -------------------------------------------------------------------------


def test_code_links_follow_the_configured_remote(monkeypatch):
    monkeypatch.setenv("DAGSTER_CODE_LINK_URL", "https://github.com/example/asset-graph")
    monkeypatch.setenv("DAGSTER_CODE_LINK_REF", "v1.2")
    module = importlib.import_module("assets.riot.ban_checks")
    (linked,) = with_code_references([module.ban_checks])
    (reference,) = (
        linked.specs_by_key[AssetKey(["riot", "ban_checks"])]
        .metadata["dagster/code_references"]
        .code_references
    )
    assert reference.url.startswith(
        "https://github.com/example/asset-graph/tree/v1.2/assets/riot/ban_checks.py#L"
    )


def test_code_link_target_reads_a_remote_without_its_credentials(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert code_link_target(tmp_path, env={}) is None  # no remote: local files only
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "https://u:tok@gitlab.com/o/r.git"],
        check=True,
    )
    assert code_link_target(tmp_path, env={}) == ("https://gitlab.com/o/r", "main")
    with pytest.raises(ValueError, match="DAGSTER_CODE_LINK_URL"):
        code_link_target(tmp_path, env={"DAGSTER_CODE_LINK_URL": "https://example.com/o/r"})


# -- the new checks' invariants fail when broken ------------------------------------------------


def test_ban_check_evidence_rule_counts_checks_their_evidence_contradicts(pg_url):
    from assets.riot.ban_checks import UNSUPPORTED_CHECKS
    from resources.riot.store import RiotStore

    store = RiotStore(pg_url)
    store.ensure_schema()
    with psycopg.connect(pg_url) as conn:
        detection, normal = (
            conn.execute(
                "INSERT INTO riot_analyses (puuid, confidence, smurf_score, boosted_score, kind,"
                " level, is_detection, min_confidence, games_considered, signals,"
                " algorithm_version) VALUES (%s, 0.9, 0.9, 0, 'smurf', 'high', %s, 0.7, 10,"
                " '[1]', '1') RETURNING id",
                (puuid, is_detection),
            ).fetchone()[0]
            for puuid, is_detection in (("p1", True), ("p2", False))
        )
    evidence = {
        "account_missing": {"account_found": False, "summoner_found": False},
        "active": {"account_found": True, "summoner_found": True, "matches_since_detection": 2},
        "no_games_since_detection": {"account_found": True, "summoner_found": True},
    }
    for status, found in evidence.items():
        store.save_ban_check("p1", detection, status, {"matches_since_detection": 0} | found)
    assert store.scalar(UNSUPPORTED_CHECKS) == 0
    store.save_ban_check("p1", detection, "active", evidence["account_missing"])  # contradicted
    store.save_ban_check(
        "p2", normal, "account_missing", evidence["account_missing"]
    )  # no detection
    assert store.scalar(UNSUPPORTED_CHECKS) == 2


# -- declarative automation ------------------------------------------------------------------


def test_the_activity_view_follows_a_backfill_of_daily_analytics_once():
    from dagster import AssetMaterialization, DagsterInstance, evaluate_automation_conditions

    defs = importlib.import_module(LOCATIONS["analytics"]).defs
    view = AssetKey(["analytics", "recent_activity_summary"])
    instance = DagsterInstance.ephemeral()

    def requested(cursor):
        result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        return {r.key for r in result.results if r.true_subset.size}, result.cursor

    keys, cursor = requested(None)
    assert keys == set()  # nothing changed yet
    for day in ("2026-11-03", "2026-11-04"):  # a backfill of daily_analytics alone
        instance.report_runless_asset_event(
            AssetMaterialization(AssetKey(["analytics", "daily_analytics"]), partition=day)
        )
    keys, cursor = requested(cursor)
    assert keys == {view}
    instance.report_runless_asset_event(AssetMaterialization(view))  # the requested refresh ran
    keys, cursor = requested(cursor)
    assert keys == set()
