"""What every rps asset declares alike, declared once: the pipeline spec (key prefix `rps/`,
group `rps`, owners) and the lake keys the assets share. No partitions: gameplay is a stream of
batches and training uses the whole window since a date, so there is nothing to backfill by date."""

from __future__ import annotations

from assets.common import PipelineSpec
from resources.rps.settings import TRAINING_DATA_KEY as TRAINING_DATA_KEY

SPEC = PipelineSpec("rps")

# In the lake: TRAINING_DATA_KEY (resources/rps/settings.py, where the IO manager reading it is
# bound), written by training_data, read by bot_models (and the benchmark).
# The served models, one directory per (family, alias) model: written by model_cache.
MODEL_CACHE_PREFIX = "rps/model_cache"
