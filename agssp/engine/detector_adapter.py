"""One way to set a detector config's data, image size, schedule, batch and initialisation.

Every shipped detector family (YOLOv8 of mmyolo, Faster R-CNN and DINO of mmdet) keeps these
settings in different keys; :func:`adapt` writes them all into a loaded config, so that
``tools/train.py`` / ``tools/test.py`` options and the pipeline edit configs the same way and the
dumped config shows what a run used.
"""
import bisect
import copy
from pathlib import Path

from mmengine.config import Config
from mmengine.runner.utils import calc_dynamic_intervals

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASET_BASES = REPO_ROOT / 'configs' / '_base_' / 'datasets'

# Detector type (config model.type without scope) -> family.
FAMILIES = {'YOLODetector': 'yolo', 'FasterRCNN': 'faster_rcnn', 'DINO': 'dino'}
SPLITS = ('train', 'val', 'test')

# YOLO pipeline transforms and the key holding their output size.
_YOLO_SCALE_KEYS = {'Mosaic': 'img_scale', 'YOLOv5KeepRatioResize': 'scale',
                    'LetterResize': 'scale', 'mmdet.Resize': 'scale', 'Resize': 'scale'}
# mmdet transform keys holding (w, h) sizes (``scales``: a list of them).
_MMDET_SIZE_KEYS = ('scale', 'scales', 'crop_size')


def detector_family(cfg) -> str:
    """'yolo', 'faster_rcnn' or 'dino', from ``cfg.model.type``; a clear error otherwise."""
    model_type = str(cfg.model.get('type', '')).split('.')[-1]
    if model_type not in FAMILIES:
        raise ValueError(f'{cfg.filename}: detector type {model_type!r} has no adapter '
                         f'(known: {", ".join(FAMILIES)})')
    return FAMILIES[model_type]


def rescale_yolo_pipelines(obj, img_scale):
    """A copy of ``obj`` (a config or part of one) with every YOLO transform sized ``img_scale``.

    Resizes, letterboxes and Mosaic get the new size; a random affine placed after Mosaic gets
    the matching border. Works through nested dicts and lists (dataloaders, hooks).
    """
    w, h = img_scale
    if isinstance(obj, (list, tuple)):
        items = [rescale_yolo_pipelines(v, img_scale) for v in obj]
        if any(isinstance(v, dict) and v.get('type') == 'Mosaic' for v in obj):
            items = [dict(v, border=(-h // 2, -w // 2))
                     if isinstance(v, dict) and v.get('type') == 'YOLOv5RandomAffine' else v
                     for v in items]
        return type(obj)(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        out = {k: rescale_yolo_pipelines(v, img_scale) for k, v in obj.items()}
        key = _YOLO_SCALE_KEYS.get(out.get('type'))
        if key and key in out:
            out[key] = (w, h)
        return out
    return obj


def _scale_size(size, factor):
    if isinstance(size, (list, tuple)) and size and isinstance(size[0], (list, tuple)):
        return [_scale_size(s, factor) for s in size]
    return tuple(int(round(v * factor)) for v in size)


def rescale_mmdet_pipelines(obj, factor):
    """A copy of ``obj`` with every mmdet transform size (scale, scales, crop_size) x ``factor``:
    multi-scale recipes (DINO's) keep their proportions."""
    if isinstance(obj, (list, tuple)):
        return [rescale_mmdet_pipelines(v, factor) for v in obj]
    if isinstance(obj, dict):
        out = {k: rescale_mmdet_pipelines(v, factor) for k, v in obj.items()}
        if 'type' in out:
            for key in _MMDET_SIZE_KEYS:
                if isinstance(out.get(key), (list, tuple)):
                    out[key] = _scale_size(out[key], factor)
        return out
    return obj


def _reference_size(cfg) -> int:
    """The width the recipe is sized for: its ``img_scale`` (set by the model bases)."""
    if not isinstance(cfg.get('img_scale'), (list, tuple)):
        raise ValueError(f'{cfg.filename}: no img_scale (w, h) to size the pipelines from')
    return cfg.img_scale[0]


def set_img_size(cfg, size) -> None:
    """Every train / val / test transform (and the pipeline a PipelineSwitchHook switches to)
    at ``size`` px (an int, or (w, h)): YOLO's exact sizes (Mosaic canvas and border included),
    mmdet's scaled from the recipe's size (keeping multi-scale ratios)."""
    w, h = (size, size) if isinstance(size, int) else tuple(size)
    keys = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks')
            if cfg.get(k) is not None]
    if detector_family(cfg) == 'yolo':
        for key in keys:
            cfg[key] = rescale_yolo_pipelines(cfg[key], (w, h))
    else:
        factor = w / _reference_size(cfg)
        for key in keys:
            cfg[key] = rescale_mmdet_pipelines(cfg[key], factor)
    cfg.img_scale = (w, h)


def set_num_classes(cfg, num_classes) -> None:
    """The number of classes in every head / assigner of the family that needs it."""
    family = detector_family(cfg)
    if family == 'yolo':
        cfg.model.bbox_head.head_module.num_classes = num_classes
        cfg.model.train_cfg.assigner.num_classes = num_classes
    elif family == 'faster_rcnn':
        cfg.model.roi_head.bbox_head.num_classes = num_classes
    else:
        cfg.model.bbox_head.num_classes = num_classes
    cfg.num_classes = num_classes


def dataset_preset(name) -> dict:
    """``finetune_data`` of ``configs/_base_/datasets/<name>.py`` (classes, image root, files)."""
    path = DATASET_BASES / f'{name}.py'
    if not path.is_file():
        known = sorted(p.stem for p in DATASET_BASES.glob('*.py')
                       if 'finetune_data' in p.read_text())
        raise ValueError(f'dataset {name!r}: no file {path} (known: {", ".join(known)})')
    data = Config.fromfile(str(path)).get('finetune_data')
    if data is None:
        raise ValueError(f'{path}: has no finetune_data (not a fine-tuning dataset)')
    return dict(data)


def set_dataset(cfg, classes, files) -> None:
    """Classes and, per split in ``files`` ({'train': (ann_file, img_prefix), ...}), the COCO
    file and image folder of its dataloader (and evaluator); heads sized to the classes."""
    classes = tuple(classes)
    for split, (ann, img) in files.items():
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r} (known: {", ".join(SPLITS)})')
        if cfg.get(f'{split}_dataloader') is None:
            continue
        loader = cfg[f'{split}_dataloader'] = copy.deepcopy(cfg[f'{split}_dataloader'])
        loader.dataset.update(data_root='', ann_file=ann, data_prefix=dict(img=img),
                              metainfo=dict(classes=classes))
        if split != 'train' and cfg.get(f'{split}_evaluator') is not None:
            cfg[f'{split}_evaluator'] = dict(cfg[f'{split}_evaluator'], ann_file=ann)
    cfg.metainfo = dict(classes=classes)
    cfg.class_names = classes
    set_num_classes(cfg, len(classes))


def _close_mosaic(cfg) -> int:
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type', '').endswith('PipelineSwitchHook'):
            return cfg.train_cfg.max_epochs - hook['switch_epoch']
    return 0


def validation_epochs(train_cfg) -> list:
    """The epochs after which an epoch-based ``train_cfg`` validates, by mmengine's
    ``EpochBasedTrainLoop`` rule (``val_interval``, ``dynamic_intervals``, ``val_begin``, and
    always the last epoch)."""
    max_epochs, begin = int(train_cfg['max_epochs']), train_cfg.get('val_begin', 1)
    milestones, intervals = calc_dynamic_intervals(train_cfg.get('val_interval', 1),
                                                   train_cfg.get('dynamic_intervals'))
    epochs = []
    for epoch in range(1, max_epochs + 1):
        interval = intervals[bisect.bisect(milestones, epoch + 1) - 1]
        if epoch >= begin and (epoch % interval == 0 or epoch == max_epochs):
            epochs.append(epoch)
    return epochs


def set_epochs(cfg, epochs, close_mosaic_epochs=None, val_interval=None,
               val_tail_interval=1) -> None:
    """``epochs`` of training: YOLO's Mosaic switch (``close_mosaic_epochs`` before the end,
    default the recipe's) and linear-decay length; mmdet's MultiStepLR milestones scaled.
    ``val_interval`` defaults to the recipe's, at most ``epochs``. YOLO validates every
    ``val_tail_interval`` epochs once Mosaic is off (1: mmyolo's schedule)."""
    old = cfg.train_cfg.max_epochs
    if close_mosaic_epochs is None:
        close_mosaic_epochs = _close_mosaic(cfg)
    close = max(0, min(close_mosaic_epochs, epochs - 1))
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = (val_interval if val_interval is not None
                                  else min(cfg.train_cfg.get('val_interval', 1), epochs))
    cfg.max_epochs = epochs
    if detector_family(cfg) == 'yolo':
        if 'dynamic_intervals' in cfg.train_cfg:
            cfg.train_cfg.dynamic_intervals = [(epochs - close, int(val_tail_interval))]
        cfg.default_hooks.param_scheduler.max_epochs = epochs
        for hook in cfg.get('custom_hooks', []):
            if hook.get('type', '').endswith('PipelineSwitchHook'):
                hook['switch_epoch'] = epochs - close
        return
    schedulers = cfg.get('param_scheduler') or []
    for sched in ([schedulers] if isinstance(schedulers, dict) else schedulers):
        if not sched.get('by_epoch', True):
            continue
        if 'milestones' in sched:
            sched['milestones'] = [max(1, round(m * epochs / old)) for m in sched['milestones']]
        if sched.get('end') == old:
            sched['end'] = epochs


def set_batch_size(cfg, batch_size, val_batch_size=None) -> None:
    """Training batch per GPU; val / test batch when given (the optimizer's nominal
    ``batch_size_per_gpu``, YOLO's weight-decay scaling, stays the recipe's)."""
    cfg.train_dataloader.batch_size = batch_size
    if val_batch_size:
        for key in ('val_dataloader', 'test_dataloader'):
            if cfg.get(key) is not None:
                cfg[key].batch_size = val_batch_size


def set_init(cfg, load_from=None, backbone=None, prefix=None) -> None:
    """The checkpoint to load (whole detector) and / or the backbone's pretrained weights."""
    if load_from is not None:
        cfg.load_from = str(load_from)
    if backbone:
        init = dict(type='Pretrained', checkpoint=str(backbone))
        if prefix:
            init['prefix'] = prefix
        cfg.model.backbone.init_cfg = init


def set_pseudo_box_file(cfg, ann_file) -> None:
    """AGDP from the COCO file ``tools/anomaly_maps_to_coco.py`` wrote (file names relative to
    the dataset's ``img_dir``) instead of thresholding the maps on the fly."""
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') != 'PseudoBoxDataset':
        raise ValueError(f'{cfg.filename}: pseudo boxes need an AGDP config (its training '
                         f'dataset is {dataset.get("type")!r}, not PseudoBoxDataset)')
    kept = {k: dataset[k] for k in ('pipeline', 'filter_cfg') if k in dataset}
    cfg.train_dataloader.dataset = dict(
        type='StrictCocoDataset', data_root='', ann_file=str(ann_file),
        data_prefix=dict(img=dataset.img_dir),
        metainfo=dict(classes=tuple(cfg.agdp_data.classes)), **kept)
    cfg.agdp_data.boxes = str(ann_file)


def data_files(cfg, dataset=None, classes=None, img_root=None, train_ann=None, val_ann=None,
               test_ann=None):
    """(classes, files per split) from a dataset preset and / or single files; None when
    nothing is asked. Unnamed splits keep the config's; the test split follows val."""
    if not any((dataset, classes, img_root, train_ann, val_ann, test_ann)):
        return None
    data = dataset_preset(dataset) if dataset else dict(cfg.get('finetune_data', {}))
    classes_given = bool(classes)  # new classes reach every split's dataset
    classes = tuple(classes or data.get('classes') or cfg.metainfo.classes)
    root = img_root or data.get('img_root')
    train_ann = train_ann or (data.get('train_ann_file') if dataset else None)
    val_ann = val_ann or (data.get('val_ann_file') if dataset else None)
    test_ann = test_ann or val_ann
    files = {}
    for split, ann in zip(SPLITS, (train_ann, val_ann, test_ann)):
        if ann or img_root or classes_given:
            files[split] = (ann or cfg[f'{split}_dataloader'].dataset.ann_file,
                            root or cfg[f'{split}_dataloader'].dataset.data_prefix.img)
    return classes, files


def adapt(cfg, dataset=None, classes=None, img_root=None, train_ann=None, val_ann=None,
          test_ann=None, img_size=None, epochs=None, batch_size=None, load_from=None,
          pseudo_boxes=None):
    """Apply the options given (None = the recipe's) to ``cfg`` in place and return it.

    ``dataset`` names a preset (``configs/_base_/datasets/<name>.py``); ``classes`` /
    ``img_root`` / ``*_ann`` replace single parts of it. The options asked for are recorded in
    ``cfg.adapter_options`` so that the dumped config says what the command changed.
    """
    asked = {k: v for k, v in dict(dataset=dataset, classes=classes, img_root=img_root,
                                   train_ann=train_ann, val_ann=val_ann, test_ann=test_ann,
                                   img_size=img_size, epochs=epochs, batch_size=batch_size,
                                   load_from=load_from, pseudo_boxes=pseudo_boxes).items()
             if v is not None}
    data = data_files(cfg, dataset, classes, img_root, train_ann, val_ann, test_ann)
    if data:
        set_dataset(cfg, *data)
        if dataset:
            old_name = cfg.get('finetune_data', {}).get('name')
            cfg.finetune_data = dataset_preset(dataset)
            if cfg.get('work_dir') and old_name and Path(cfg.work_dir).name == old_name:
                cfg.work_dir = str(Path(cfg.work_dir).parent / dataset)
    if pseudo_boxes:
        set_pseudo_box_file(cfg, pseudo_boxes)
    if img_size:
        set_img_size(cfg, img_size)
    if epochs:
        set_epochs(cfg, epochs)
    if batch_size:
        set_batch_size(cfg, batch_size)
    if load_from is not None:
        set_init(cfg, load_from=load_from)
    if asked:
        cfg.adapter_options = dict(cfg.get('adapter_options', {}), **asked)
    return cfg


def add_adapter_args(parser, training=True):
    """The adapter's command-line options (``training``: also epochs and batch size)."""
    group = parser.add_argument_group('detector settings (agssp.engine.detector_adapter)')
    group.add_argument('--dataset', help='dataset preset: configs/_base_/datasets/<NAME>.py '
                       '(classes, image root, train / val files)')
    group.add_argument('--classes', nargs='+', help='class names (default: the dataset\'s)')
    group.add_argument('--img-root', help='image folder of every split')
    group.add_argument('--train-ann', help='training COCO file')
    group.add_argument('--val-ann', help='validation COCO file (also the test split unless '
                       '--test-ann)')
    group.add_argument('--test-ann', help='test COCO file')
    group.add_argument('--img-size', type=int, help='input size in px of every transform')
    if training:
        group.add_argument('--epochs', type=int, help='training epochs (schedule scaled)')
        group.add_argument('--batch-size', type=int, help='training batch per GPU')
        group.add_argument('--load-from', help='detector checkpoint to start from')
        group.add_argument('--pseudo-boxes', help='AGDP: COCO file of pseudo boxes (from '
                           'tools/anomaly_maps_to_coco.py) instead of the maps')
    return parser


def adapt_from_args(cfg, args):
    """:func:`adapt` with the options of :func:`add_adapter_args`."""
    keys = ('dataset', 'classes', 'img_root', 'train_ann', 'val_ann', 'test_ann', 'img_size',
            'epochs', 'batch_size', 'load_from', 'pseudo_boxes')
    options = {k: getattr(args, k, None) for k in keys}
    if not any(v is not None for v in options.values()):
        return cfg
    try:
        return adapt(cfg, **options)
    except ValueError as err:
        raise SystemExit(f'error: {err}') from None
