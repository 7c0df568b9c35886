"""A fine-tuned detector on images: COCO-style predictions JSON and drawn images.

Every shipped detector family (mmyolo's YOLOv8, mmdet's Faster R-CNN and DINO) goes through
mmdet's ``init_detector`` / ``inference_detector``: they build the model in the config's own
``default_scope`` (``mmyolo`` for the YOLO configs), so one call serves both libraries. Images
are decoded here, not in the test pipeline, so a file that cannot be used is skipped, counted
and listed with its reason instead of stopping the run.
"""
import glob
import os
import warnings
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from mmdet.apis import inference_detector, init_detector
from mmdet.structures import DetDataSample
from mmdet.utils.misc import IMG_EXTENSIONS
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar

from agssp.core.coco import CocoWriter
from agssp.core.fileio import atomic_write_json
from agssp.visualization.boxes import save_png

PREDICTIONS_FILE = 'predictions.json'
DRAWN_DIR = 'drawn'


def _is_image_name(path) -> bool:
    return Path(path).suffix.lower() in IMG_EXTENSIONS


def collect_inputs(source):
    """``(root, files)`` of an image file, a folder (searched recursively for image file
    names) or a glob pattern; ``root`` is the folder the files' names are relative to."""
    path = Path(source)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob('*') if p.is_file() and _is_image_name(p))
    elif glob.has_magic(str(source)):
        files = sorted(Path(p) for p in glob.glob(str(source), recursive=True)
                       if Path(p).is_file() and _is_image_name(p))
    else:
        raise FileNotFoundError(f'input not found: {source} (an image, a folder or a glob)')
    if not files:
        raise FileNotFoundError(f'no image files ({", ".join(IMG_EXTENSIONS)}) in {source}')
    root = path if path.is_dir() else Path(os.path.commonpath([p.parent.resolve()
                                                               for p in files]))
    return root, files


def read_image(path):
    """``(BGR image, None)``, or ``(None, reason)`` when the file cannot be used."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return None, f'cannot be read ({err.strerror or err})'
    if not data:
        return None, 'empty file'
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        return None, 'not a decodable image'
    return image, None


def _head_num_classes(model_cfg):
    """The class count the config's detector head predicts."""
    if 'roi_head' in model_cfg:
        return model_cfg.roi_head.bbox_head.num_classes
    head = model_cfg.bbox_head
    return head.head_module.num_classes if 'head_module' in head else head.num_classes


def class_names(cfg, checkpoint_meta, checkpoint) -> list:
    """The checkpoint's class names (its ``dataset_meta``), else the config's test dataset's;
    their count must be the head's."""
    classes = (checkpoint_meta.get('dataset_meta') or {}).get('classes')
    if classes is None:
        classes = cfg.test_dataloader.dataset.get('metainfo', {}).get('classes')
    if not classes:
        raise ValueError(f'{checkpoint}: no class names in its meta and none in the config\'s '
                         'test_dataloader.dataset.metainfo')
    expected = _head_num_classes(cfg.model)
    if len(classes) != expected:
        raise ValueError(f'{checkpoint}: {len(classes)} class names {list(classes)} but the '
                         f'config\'s head predicts {expected} classes')
    return list(classes)


def load_detector(config, checkpoint, device='cpu'):
    """The config's detector with the checkpoint's weights (all keys must match) in eval mode;
    ``model.dataset_meta`` holds its class names."""
    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not Path(path).is_file():
            raise FileNotFoundError(f'{what} file not found: {path}')
    cfg = Config.fromfile(str(config))
    with warnings.catch_warnings(record=True) as caught:
        model = init_detector(cfg, None, palette='random', device=device)
    for warning in caught:  # the COCO-classes default is replaced below
        if 'checkpoint is None' not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    try:
        loaded = load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True,
                                 logger='silent')
    except RuntimeError as err:
        raise ValueError(f'{checkpoint} does not fit the detector of {config}: {err}') from err
    model.dataset_meta = dict(classes=class_names(cfg, loaded.get('meta', {}), checkpoint),
                              palette='random')
    return model


def kept_predictions(pred_instances, score_thr):
    """The predictions written and drawn: score at least ``score_thr``."""
    return pred_instances[pred_instances.scores >= score_thr]


def drawn_name(rel, taken) -> Path:
    """``rel`` as a PNG name, made unique when two inputs differ only in their suffix."""
    name = rel.with_suffix('.png')
    if name in taken:
        name = rel.with_name(f'{rel.stem}_{rel.suffix.lstrip(".")}.png')
    taken.add(name)
    return name


def _visualizer(dataset_meta):
    visualizer = DetLocalVisualizer.get_instance('agssp_inference')
    visualizer.dataset_meta = dataset_meta
    return visualizer


def _draw(visualizer, image, predictions):
    """The BGR image with the predictions' boxes, class names and scores."""
    visualizer.add_datasample('prediction', image[:, :, ::-1],
                              DetDataSample(pred_instances=predictions), draw_gt=False,
                              pred_score_thr=-np.inf)
    return np.ascontiguousarray(visualizer.get_image()[:, :, ::-1])


def run_inference(config, checkpoint, source, out_dir, score_thr=0.3, device='cpu',
                  progress=True) -> dict:
    """Detect on every image of ``source``; write ``<out_dir>/predictions.json`` and the drawn
    images under ``<out_dir>/drawn/``. Returns the JSON's summary.

    The JSON is a COCO file (images, annotations with ``score`` and ``category_name``,
    categories with 1-based ids) plus the run's settings, the skipped files with their reasons
    and a summary (each skipped file is also logged). Boxes of zero width or height are left
    out.
    """
    root, files = collect_inputs(source)
    out_dir = Path(out_dir)
    model = load_detector(config, checkpoint, device)
    classes = model.dataset_meta['classes']
    writer = CocoWriter(classes)
    visualizer = _visualizer(model.dataset_meta)
    taken = set()
    bar = ProgressBar(len(files)) if progress else None
    for path in files:
        image, reason = read_image(path)
        if image is None:
            writer.skip(path, reason)
        else:
            rel = path.resolve().relative_to(root.resolve())
            predictions = kept_predictions(
                inference_detector(model, image).pred_instances.cpu(), score_thr)
            drawn = drawn_name(rel, taken)
            save_png(out_dir / DRAWN_DIR / drawn, _draw(visualizer, image, predictions))
            image_id = writer.add_image(rel.as_posix(), *image.shape[:2],
                                        drawn=(Path(DRAWN_DIR) / drawn).as_posix())
            for box, score, label in zip(predictions.bboxes.tolist(),
                                         predictions.scores.tolist(),
                                         predictions.labels.tolist()):
                if box[2] > box[0] and box[3] > box[1]:
                    writer.add_box(image_id, classes[label], *box, score=score,
                                   category_name=classes[label])
        if bar:
            bar.update()
    summary = dict(writer.summary(), skipped_by_reason=dict(
        Counter(s['reason'] for s in writer.skipped)))
    result = dict(writer.to_dict(), config=str(config), checkpoint=str(checkpoint),
                  input=str(source), input_root=str(root), score_thr=float(score_thr),
                  skipped=writer.skipped, summary=summary)
    atomic_write_json(out_dir / PREDICTIONS_FILE, result, indent=1)
    return dict(summary, predictions=str(out_dir / PREDICTIONS_FILE),
                drawn=str(out_dir / DRAWN_DIR))
