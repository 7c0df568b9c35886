"""Stage configs of the pipeline: an upstream-style config, edited in Python, dumped for the run."""
import hashlib
import json
from pathlib import Path

from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]

# YOLO pipeline transforms and the key holding their output size.
_SCALE_KEYS = {'Mosaic': 'img_scale', 'YOLOv5KeepRatioResize': 'scale', 'LetterResize': 'scale',
               'mmdet.Resize': 'scale', 'Resize': 'scale'}


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


def rescale_yolo_pipelines(obj, img_scale):
    """A copy of ``obj`` (a config or part of one) with every YOLO transform sized ``img_scale``.

    Resizes, letterboxes and Mosaic get the new size; a random affine placed after Mosaic gets
    the matching border. Works through nested dicts and lists (dataloaders, hooks).
    """
    w, h = img_scale
    if isinstance(obj, (list, tuple)):
        items = [rescale_yolo_pipelines(v, img_scale) for v in obj]
        has_mosaic = any(isinstance(v, dict) and v.get('type') == 'Mosaic' for v in obj)
        if has_mosaic:
            items = [dict(v, border=(-h // 2, -w // 2))
                     if isinstance(v, dict) and v.get('type') == 'YOLOv5RandomAffine' else v
                     for v in items]
        return type(obj)(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        out = {k: rescale_yolo_pipelines(v, img_scale) for k, v in obj.items()}
        key = _SCALE_KEYS.get(out.get('type'))
        if key and key in out:
            out[key] = (w, h)
        return out
    return obj


def dump_stage_config(cfg: Config, path) -> Path:
    """Write the complete config the stage runs (self-contained, for the record and for reruns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return path
