"""Stage configs of the pipeline: an upstream-style config, edited in Python, dumped for the run."""
import hashlib
import json
from pathlib import Path

from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_stage_config(path, overrides=None) -> Config:
    """Read a config (relative paths from the repository root) and merge dotted overrides."""
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(str(path))
    if overrides:
        cfg.merge_from_dict(dict(overrides))
    return cfg


def config_digest(path, overrides=None) -> str:
    """A digest of the resolved config (its file, every base it inherits, the overrides): the
    part of a stage's settings that changes when a recipe file is edited."""
    cfg = load_stage_config(path, overrides)
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def dump_stage_config(cfg: Config, path) -> Path:
    """Write the complete config the stage runs (self-contained, for the record and for reruns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return path
