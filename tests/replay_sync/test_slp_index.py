"""Generated replays are valid Slippi files (peppi-py parses them, frames included) and the index
describes them; broken files become invalid rows with the reason."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from assets.replay_sync.characters import SLUG_TO_EXTERNAL, parse_character_list
from assets.replay_sync.slp_index import (
    INDEX_SCHEMA,
    find_replays,
    index_row,
    index_rows,
    write_index,
)
from assets.replay_sync.storage_cost import monthly_costs, usage_table
from sandboxes.slp_writer import (
    END_GAME,
    END_NO_CONTEST,
    PlayerSpec,
    ReplaySpec,
    random_spec,
    replay_bytes,
    write_replay,
)

MEWTWO, FOX = SLUG_TO_EXTERNAL["mewtwo"], SLUG_TO_EXTERNAL["fox"]


def test_written_replay_parses_fully_with_peppi(tmp_path):
    import peppi_py

    spec = ReplaySpec(
        players=(PlayerSpec(0, MEWTWO), PlayerSpec(2, FOX, cpu=True)),
        stage=32,
        last_frame=90,
        start_at="2026-11-01T12:34:56Z",
        played_on="console",
        end_method=END_GAME,
        winner_port=2,
    )
    path = write_replay(tmp_path / "game.slp", spec)
    assert path.read_bytes()[:11] == bytes.fromhex("7B 55 03 72 61 77 5B 24 55 23 6C")
    game = peppi_py.read_slippi(str(path), skip_frames=False)
    assert game.start.slippi.version == (3, 13, 0)
    assert [int(p.character) for p in game.start.players] == [MEWTWO, FOX]
    assert len(game.frames.id) == 90 + 124  # frames -123..last_frame
    assert game.metadata["lastFrame"] == 90 and game.metadata["playedOn"] == "console"
    assert [(pe.port.value, pe.placement) for pe in game.end.players] == [(0, 1), (2, 0)]


def test_index_rows_describe_header_and_outline(tmp_path):
    spec = ReplaySpec(
        players=(PlayerSpec(1, MEWTWO), PlayerSpec(3, FOX)),
        stage=31,
        last_frame=200,
        end_method=END_GAME,
        winner_port=1,
    )
    write_replay(tmp_path / "mewtwo" / "win.slp", spec)
    row = index_row(
        str(tmp_path / "mewtwo" / "win.slp"), str(tmp_path / "mewtwo"), "mewtwo", MEWTWO
    )
    assert row["valid"] and row["error"] is None
    assert row["path"] == "win.slp" and row["slippi_version"] == "3.13.0"
    assert (row["stage_id"], row["stage"]) == (31, "Battlefield")
    assert (row["last_frame"], row["frames"]) == (200, 324)
    assert row["ports"] == [2, 4] and row["characters"] == ["Mewtwo", "Fox"]
    assert (row["winner_port"], row["winner_character"]) == (2, "Mewtwo")
    assert row["end_method"] == "GAME" and row["has_partition_character"] is True
    assert row["played_on"] == "dolphin" and row["start_at"] == "2026-11-01T12:00:00Z"


def test_no_contest_has_no_winner(tmp_path):
    spec = ReplaySpec(
        players=(PlayerSpec(0, MEWTWO), PlayerSpec(1, FOX)), end_method=END_NO_CONTEST
    )
    write_replay(tmp_path / "nc.slp", spec)
    row = index_row(str(tmp_path / "nc.slp"), str(tmp_path), "mewtwo", MEWTWO)
    assert row["valid"] and row["end_method"] == "NO_CONTEST" and row["winner_port"] is None


def test_truncated_and_garbage_files_are_invalid_rows_with_a_reason(tmp_path):
    good = replay_bytes(random_spec(MEWTWO, seed=1))
    (tmp_path / "truncated.slp").write_bytes(good[: len(good) // 3])
    (tmp_path / "garbage.slp").write_bytes(b"not a replay at all")
    (tmp_path / "empty.slp").write_bytes(b"")
    for name in ("truncated.slp", "garbage.slp", "empty.slp"):
        row = index_row(str(tmp_path / name), str(tmp_path), "mewtwo", MEWTWO)
        assert row["valid"] is False
        assert row["error"].startswith("unreadable replay:"), row["error"]
        assert row["size_bytes"] == (tmp_path / name).stat().st_size


@pytest.mark.parametrize("processes", [1, 2])
def test_index_file_in_batches_and_processes(tmp_path, processes):
    folder = tmp_path / "fox"
    for i in range(7):
        write_replay(folder / f"sub{i % 2}" / f"g{i}.slp", random_spec(FOX, seed=i))
    (folder / "bad.slp").write_bytes(b"\x00" * 40)
    (folder / "notes.txt").write_text("not a replay")
    paths = find_replays(folder)
    assert len(paths) == 8
    out = tmp_path / "index.parquet"
    stats = write_index(
        index_rows(paths, folder, "fox", FOX, processes=processes, batch_size=3), out
    )
    assert (stats["rows"], stats["valid"], stats["invalid"]) == (8, 7, 1)
    assert stats["paths_unique"] and stats["errors"][0][0] == "bad.slp"
    table = pq.read_table(out)
    assert table.schema.equals(INDEX_SCHEMA) and table.num_rows == 8
    assert sorted(table.column("path").to_pylist()) == sorted(
        p.relative_to(folder).as_posix() for p in paths
    )
    rows = table.to_pylist()
    assert all(r["has_partition_character"] for r in rows if r["valid"])
    assert [r["path"] for r in rows if not r["valid"]] == ["bad.slp"]


def test_character_list_parsing():
    assert parse_character_list("Mewtwo, ice-climbers,mewtwo") == ["mewtwo", "ice_climbers"]
    assert parse_character_list("") == ["mewtwo", "ganondorf", "link", "fox", "marth"]
    with pytest.raises(ValueError, match="unknown character 'wario'"):
        parse_character_list("mewtwo,wario")


def test_storage_costs_at_runbook_prices():
    rows = {r["provider"]: r for r in monthly_costs(10 * 10**9, pulls_per_month=1)}
    assert rows["Backblaze B2"] == {
        "provider": "Backblaze B2",
        "storage_usd": 0.05,
        "egress_usd": 0.1,
        "total_usd": 0.15,
    }
    assert rows["Cloudflare R2"]["egress_usd"] == 0 and rows["Cloudflare R2"]["storage_usd"] == 0.15
    assert rows["AWS S3"]["total_usd"] == pytest.approx(0.23 + 0.9)
    table = usage_table({"mewtwo": (2, 300), "fox": (1, 100)})
    assert [r["folder"] for r in table] == ["fox", "mewtwo", "total"]
    assert table[-1]["objects"] == 3 and table[-1]["bytes"] == 400


def test_demo_seeds_only_empty_folders(tmp_path):
    from sandboxes.replay_sync_demo import seed_replays

    (tmp_path / "fox").mkdir()
    (tmp_path / "fox" / "mine.slp").write_bytes(b"keep")
    written = seed_replays(tmp_path, ["mewtwo", "fox"], per_character=2)
    assert written == {"mewtwo": 2}
    rows = [
        index_row(str(p), str(tmp_path), "mewtwo", MEWTWO)
        for p in find_replays(tmp_path / "mewtwo")
    ]
    assert len(rows) == 2 and all(r["valid"] and r["has_partition_character"] for r in rows)
    assert [p.name for p in (tmp_path / "fox").iterdir()] == ["mine.slp"]
