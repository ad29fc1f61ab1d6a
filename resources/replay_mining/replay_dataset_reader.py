"""`ReplayDataset`: the seed's reader of daily replay files, over this project's data.

The seed's training code loaded days with `ReplayDataset(start_date, end_date | dates,
base_path, filters)` and read items `{observation, action, agent_id, episode_id, timestep}`;
`merge_datasets()` joined several. This class keeps that constructor and that item shape over
the files `replay_mining/agent_observations` publishes (`datasets/agent_observations/
agent_observations_YYYYMMDD.parquet` under the lake root, local or `s3://`), read with pyarrow
with the filters pushed down to the files (row groups whose statistics exclude them are not
read). The README's migration note maps the seed's columns to these.

- `len(ds)`, `ds[i]`: the PyTorch map-style `Dataset` protocol (a `DataLoader` takes it as is;
  torch is not needed). Random access holds the selected rows in memory, as the seed did.
- items: `observation` is a `(tokens, 3)` uint8 array (location, feature id, value), the
  simulator's encoding; `action` the executed action id.
- `ds.batches(batch_size)`: the iterable protocol for a trainer, streamed file by file, one row
  group at a time: observations padded to `(batch, tokens, 3)` with the simulator's empty token
  (`0xFF`), as `Simulation._c_sim.observations()` gives them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from resources.lake_tables import lake_key
from resources.replay_mining.settings import OBSERVATIONS_KEY

EMPTY_TOKEN = 0xFF
COLUMNS = ["episode_id", "agent_id", "step", "observation", "action_id", "action_name", "reward"]


def observations_path(day: dt.date) -> str:
    return lake_key(OBSERVATIONS_KEY, day.isoformat())


class ReplayDataset:
    """Rows of what each agent observed and the action it took, for a range or list of days.

    `filters` maps a column to a value (equality), a list/tuple/set (one of them), or, as
    `min_<column>` / `max_<column>`, a bound (`{"agent_id": 0, "min_step": 1}`). Only rows with
    an observation are read (`obs_source = 'rebuilt'`; step 0 and absent agents have none).
    """

    def __init__(
        self,
        start_date: str | dt.date | None = None,
        end_date: str | dt.date | None = None,
        dates: Sequence[str | dt.date] | None = None,
        base_path: str = "data/lake",
        filters: Mapping[str, Any] | None = None,
        filesystem: pafs.FileSystem | None = None,
        _table: pa.Table | None = None,
    ):
        self.base_path = base_path
        self.filters = dict(filters or {})
        self.dates = _days(start_date, end_date, dates) if _table is None else []
        if filesystem is None:
            filesystem, root = pafs.FileSystem.from_uri(_absolute(base_path))
        else:
            root = base_path.removeprefix("s3://")
        self.filesystem, self.root = filesystem, root.rstrip("/")
        self._table = _table

    # --- what it reads ---------------------------------------------------------------------

    def files(self) -> list[str]:
        """The days' files that exist (a day not yet materialized is left out, not an error)."""
        paths = [f"{self.root}/{observations_path(day)}" for day in self.dates]
        infos = self.filesystem.get_file_info(paths)
        return [info.path for info in infos if info.type == pafs.FileType.File]

    def _expression(self) -> pc.Expression:
        expression = pc.field("obs_source") == "rebuilt"
        for key, value in self.filters.items():
            if key.startswith(("min_", "max_")) and key[4:] in COLUMNS:
                column = pc.field(key[4:])
                expression &= (column >= value) if key.startswith("min_") else (column <= value)
            elif isinstance(value, list | tuple | set | frozenset):
                expression &= pc.field(key).isin(list(value))
            else:
                expression &= pc.field(key) == value
        return expression

    def _dataset(self, paths: list[str]) -> pads.Dataset:
        return pads.dataset(paths, format="parquet", filesystem=self.filesystem)

    @property
    def table(self) -> pa.Table:
        """The selected rows (read once, then kept)."""
        if self._table is None:
            paths = self.files()
            if not paths:
                self._table = pa.table({c: pa.array([], pa.null()) for c in COLUMNS})
            else:
                self._table = self._dataset(paths).to_table(
                    columns=COLUMNS, filter=self._expression()
                )
        return self._table

    # --- the map-style protocol ------------------------------------------------------------

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, index: int) -> dict:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} rows")
        row = self.table.slice(index, 1)
        tokens = row.column("observation")[0].as_py() or b""
        return {
            "observation": np.frombuffer(tokens, dtype=np.uint8).reshape(-1, 3),
            "action": row.column("action_id")[0].as_py(),
            "agent_id": row.column("agent_id")[0].as_py(),
            "episode_id": row.column("episode_id")[0].as_py(),
            "timestep": row.column("step")[0].as_py(),
        }

    def __iter__(self) -> Iterator[dict]:
        for index in range(len(self)):
            yield self[index]

    # --- the iterable protocol, for a trainer ----------------------------------------------

    def batches(self, batch_size: int = 256, tokens: int | None = None) -> Iterator[dict]:
        """Batches of `batch_size` rows: `observation` a `(batch, tokens, 3)` uint8 array
        (padded with 0xFF; `tokens` defaults to the batch's longest), `action`, `agent_id`,
        `timestep` int arrays, `episode_id` a list. Streamed: memory holds one row group."""
        if self._table is not None:
            sources: Iterable[pa.RecordBatch] = self._table.to_batches(batch_size)
        else:
            paths = self.files()
            sources = (
                self._dataset(paths).to_batches(
                    columns=COLUMNS, filter=self._expression(), batch_size=batch_size
                )
                if paths
                else ()
            )
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in sources:
            pending.append(batch)
            rows += batch.num_rows
            while rows >= batch_size:
                table = pa.Table.from_batches(pending)
                yield _batch(table.slice(0, batch_size), tokens)
                rest = table.slice(batch_size)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield _batch(pa.Table.from_batches(pending), tokens)


def merge_datasets(*datasets: ReplayDataset | Sequence[ReplayDataset]) -> ReplayDataset:
    """One dataset of the rows of several, in their order (as the seed's `merge_datasets`)."""
    flat = [d for item in datasets for d in (item if isinstance(item, list | tuple) else [item])]
    if not flat:
        raise ValueError("merge_datasets needs at least one dataset")
    table = pa.concat_tables([d.table for d in flat if len(d)] or [flat[0].table])
    return ReplayDataset(base_path=flat[0].base_path, filesystem=flat[0].filesystem, _table=table)


def _batch(table: pa.Table, tokens: int | None) -> dict:
    observations = table.column("observation").combine_chunks()
    offsets = np.frombuffer(observations.buffers()[1], np.int32)
    offsets = offsets[observations.offset : observations.offset + len(observations) + 1]
    data = observations.buffers()[2]
    flat = (
        np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]] if data else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets) // 3
    width = int(tokens if tokens is not None else lengths.max(initial=0))
    out = np.full((len(lengths), width, 3), EMPTY_TOKEN, dtype=np.uint8)
    row = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = position < width
    out[row[keep], position[keep]] = flat.reshape(-1, 3)[keep]
    return {
        "observation": out,
        "action": table.column("action_id").to_numpy(),
        "agent_id": table.column("agent_id").to_numpy(),
        "timestep": table.column("step").to_numpy(),
        "episode_id": table.column("episode_id").to_pylist(),
    }


def _days(start, end, dates) -> list[dt.date]:
    if dates is not None:
        if start is not None or end is not None:
            raise ValueError("give either dates or start_date/end_date, not both")
        return [_date(d) for d in dates]
    if start is None:
        raise ValueError("give start_date (and end_date, default the same day) or dates")
    first, last = _date(start), _date(end if end is not None else start)
    if last < first:
        raise ValueError(f"end_date {last} is before start_date {first}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _absolute(path: str) -> str:
    return path if "://" in path else Path(path).resolve().as_uri()
