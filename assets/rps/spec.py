"""What every rps asset declares alike, declared once: the pipeline spec (key prefix `rps/`,
group `rps`, owners) and the lake keys the assets share. No partitions: gameplay is a stream of
batches and training uses the whole window since a date, so there is nothing to backfill by date."""

from __future__ import annotations

from assets.common import PipelineSpec

SPEC = PipelineSpec("rps")

# In the lake: written by training_data, read by bot_models (and the benchmark).
TRAINING_DATA_KEY = "rps/training_data/training_data.parquet"
# The served models, one directory per (family, alias) model: written by model_cache.
MODEL_CACHE_PREFIX = "rps/model_cache"
