"""The pipeline's first stage: where the unlabelled pool and the labelled splits come from.

A data source returns one description (saved as ``01_data/data.json``) that every later stage
reads: the pool folder (first-level subfolders = source datasets), its optional masks and true
boxes (to score maps and pseudo boxes), the labelled train file(s) per seed, the validation file
(for choices such as the best checkpoint) and the test file (evaluated, never chosen on).

``coco`` is the generic source (the user's folders and COCO files); ``neu_det`` and ``bsdata``
are presets that convert a public dataset and hand it to the same :func:`assemble_data`.
"""
import json
import logging
import os
import random
import re
import shutil
from collections import defaultdict
from pathlib import Path

import cv2

from agssp.core.coco import CocoWriter, coco_xyxy
from agssp.core.fileio import atomic_write_json
from agssp.core.images import list_images
from agssp.datasets.converters.masks import mask_to_boxes
from agssp.datasets.converters.split import (fraction_tag, labelled_subset, load_coco,
                                             split_by_group, split_train_val, subset)

logger = logging.getLogger(__name__)


def masks_to_defect_boxes(img_dir, mask_dir, out_file) -> Path:
    """Single-class ground-truth boxes of a folder from its mirrored masks (one per component)."""
    writer = CocoWriter(['defect'])
    for rel in list_images(img_dir):
        mask = cv2.imread(str(Path(mask_dir) / rel.with_suffix('.png')), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            writer.skip(Path(mask_dir) / rel.with_suffix('.png'), 'mask missing or unreadable')
            continue
        image_id = writer.add_image(rel.as_posix(), *mask.shape[:2])
        for box in mask_to_boxes(mask):
            writer.add_box(image_id, 'defect', *box.tolist())
    return writer.dump(out_file)


def prepare_demo(data_cfg: dict, out: Path) -> dict:
    """Generate (or reuse) the embedded demo data; describe it for the later stages."""
    from agssp.demo import generate_demo_dataset
    root = Path(data_cfg['root'])
    params = {k: v for k, v in data_cfg.items() if k not in ('type', 'root')}
    meta = generate_demo_dataset(root, **params)
    unlabelled = root / 'unlabelled' / 'images'
    gt_boxes = masks_to_defect_boxes(unlabelled, root / 'unlabelled' / 'masks',
                                     out / 'unlabelled_gt_boxes.json')
    return dict(
        unlabelled_dir=str(unlabelled.resolve()),
        unlabelled_mask_dir=str((root / 'unlabelled' / 'masks').resolve()),
        unlabelled_boxes=str(gt_boxes.resolve()),
        sources=sorted(p.name for p in unlabelled.iterdir() if p.is_dir()),
        train_ann=str((root / 'labelled' / 'annotations' / 'train.json').resolve()),
        val_ann=str((root / 'labelled' / 'annotations' / 'val.json').resolve()),
        train_img_dir=str((root / 'labelled' / 'train' / 'images').resolve()) + '/',
        val_img_dir=str((root / 'labelled' / 'val' / 'images').resolve()) + '/',
        classes=list(meta['classes']),
        num_unlabelled=meta['num_unlabelled'], num_train=meta['num_train'],
        num_val=meta['num_val'], exclude_suffixes=[],
        test_ann=str((root / 'labelled' / 'annotations' / 'val.json').resolve()),
        test_img_dir=str((root / 'labelled' / 'val' / 'images').resolve()) + '/',
        num_test=meta['num_val'])


def _require_dir(path, what) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f'{what} not found: {path} (see ../shared/data/README.md, or '
                                f'point the pipeline config\'s data section at your copy)')
    return path.resolve()


def _link(src: Path, dst: Path):
    """A symbolic link ``dst -> src`` (the pool never copies the datasets)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    os.symlink(src, dst)


def _real(path) -> str:
    return os.path.realpath(path)


# ---- the shared assembly: labelled splits, pool of links, pool truth ---------------------------

def _category_names(coco):
    return [c['name'] for c in sorted(coco['categories'], key=lambda c: c['id'])]


def _image_paths(coco, img_dir):
    return {_real(Path(img_dir) / img['file_name']) for img in coco['images']}


def labelled_splits(labelled, out: Path, data_cfg: dict, val=None) -> dict:
    """Write ``train.json``, the per-seed labelled subsets and ``val.json``.

    ``val`` given: it is the validation set. Otherwise ``data.val_from`` says where it comes from:
    ``'labelled'`` (default): a seeded, stratified ``val_fraction`` of ``labelled``, taken before
    the labelled subsets; ``'unused'``: a stratified ``val_fraction`` of the training images no
    seed's subset uses (a simulation of a small labelled set cut from a fully labelled one).
    ``labelled_fraction`` (None = all) and ``labelled_seeds`` pick the subsets.
    """
    val_from = data_cfg.get('val_from', 'labelled')
    if val_from not in ('labelled', 'unused'):
        raise ValueError(f"data.val_from must be 'labelled' or 'unused', got {val_from!r}")
    fraction = data_cfg.get('labelled_fraction')
    seeds = list(data_cfg.get('labelled_seeds', [0]))
    val_fraction, split_seed = data_cfg.get('val_fraction', 0.2), data_cfg.get('split_seed', 0)
    train = labelled
    if val is None and val_from == 'labelled':
        train, val = split_train_val(labelled, val_fraction, split_seed)
    train_file = atomic_write_json(out / 'train.json', train).resolve()
    train_anns, num_train, used = {}, {}, set()
    for seed in seeds:
        if fraction is None:
            chosen, path = train, train_file
        else:
            chosen = labelled_subset(train, fraction, seed)
            path = atomic_write_json(out / f'train_{fraction_tag(fraction)}_seed{seed}.json',
                                     chosen).resolve()
        train_anns[str(seed)], num_train[str(seed)] = str(path), len(chosen['images'])
        used |= {img['id'] for img in chosen['images']}
    if val is None:
        rest = [img['id'] for img in train['images'] if img['id'] not in used]
        if not rest:
            raise ValueError("data.val_from='unused' needs a labelled_fraction below 1: every "
                             'training image is in a labelled subset')
        _, val = split_train_val(subset(train, rest), val_fraction, split_seed)
    val_file = atomic_write_json(out / 'val.json', val).resolve()
    first = str(seeds[0])
    return dict(train_ann=train_anns[first], train_anns=train_anns, num_train=num_train[first],
                num_train_per_seed=num_train, val_ann=str(val_file),
                num_val=len(val['images']))


def link_pool(out: Path, members: dict) -> Path:
    """``out/pool/<source>/<rel>`` links for ``members = {source: [(image path, rel), ...]}``;
    the folder is rebuilt each time (it holds links only)."""
    pool = out / 'pool'
    if pool.exists():
        shutil.rmtree(pool)
    for source, images in members.items():
        if not images:
            raise ValueError(f'unlabelled source {source!r} has no images')
        for path, rel in images:
            _link(Path(path), pool / source / rel)
    return pool


def pool_truth(out: Path, pool: Path, truths) -> Path:
    """Single-class true boxes of the pool images that ``truths = [(coco, img_dir), ...]``
    cover, in the truths' image order, named by their pool path (``unlabelled_gt_boxes.json``).
    Segmentation polygons are kept where the truth has them."""
    pool_rel = {_real(pool / rel): rel.as_posix() for rel in list_images(pool)}
    gt = CocoWriter(['defect'])
    for coco, img_dir in truths:
        anns = defaultdict(list)
        for ann in coco['annotations']:
            anns[ann['image_id']].append(ann)
        for image in coco['images']:
            rel = pool_rel.pop(_real(Path(img_dir) / image['file_name']), None)
            if rel is None:
                continue
            image_id = gt.add_image(rel, image['height'], image['width'])
            for ann in anns[image['id']]:
                extra = {'segmentation': ann['segmentation']} if ann.get('segmentation') else {}
                gt.add_box(image_id, 'defect', *coco_xyxy(ann['bbox']), **extra)
    return gt.dump(out / 'unlabelled_gt_boxes.json').resolve()


def assemble_data(out: Path, data_cfg: dict, *, labelled, test, img_dirs: dict, members: dict,
                  truths=(), val=None, mask_dir=None, **extra) -> dict:
    """The description every source returns: splits written, pool linked, truth of the pool.

    ``img_dirs`` maps ``train``/``val``/``test`` to the folder each file's ``file_name`` is
    relative to. A test image never enters the pool or the labelled sets (an error if it is in
    the labelled sets; dropped from the pool, counted in ``pool_dropped_test``).
    """
    names = _category_names(labelled)
    for what, coco in (('test', test), ('validation', val)):
        if coco is not None and _category_names(coco) != names:
            raise ValueError(f'the {what} file\'s categories {_category_names(coco)} differ '
                             f'from the labelled file\'s {names}')
    test_paths = _image_paths(test, img_dirs['test'])
    for what, coco, key in (('labelled', labelled, 'train'), ('validation', val, 'val')):
        shared = sorted(_image_paths(coco, img_dirs[key]) & test_paths) if coco else []
        if shared:
            raise ValueError(f'{len(shared)} test image(s) are also in the {what} file, '
                             f'e.g. {shared[0]}')
    splits = labelled_splits(labelled, out, data_cfg, val)
    kept = {s: [(p, r) for p, r in imgs if _real(p) not in test_paths]
            for s, imgs in members.items()}
    dropped = sum(len(v) for v in members.values()) - sum(len(v) for v in kept.values())
    pool = link_pool(out, kept)
    test_file = atomic_write_json(out / 'test.json', test).resolve()
    gt_boxes = pool_truth(out, pool, truths) if truths else None
    if gt_boxes is None and mask_dir is not None:
        gt_boxes = masks_to_defect_boxes(pool, mask_dir, out / 'unlabelled_gt_boxes.json')
    return dict(
        unlabelled_dir=str(pool.resolve()),
        unlabelled_mask_dir=str(Path(mask_dir).resolve()) if mask_dir else None,
        unlabelled_boxes=str(gt_boxes) if gt_boxes else None, sources=sorted(kept),
        **splits, test_ann=str(test_file), num_test=len(test['images']),
        train_img_dir=str(img_dirs['train']) + '/', val_img_dir=str(img_dirs['val']) + '/',
        test_img_dir=str(img_dirs['test']) + '/', classes=names,
        num_unlabelled=len(list_images(pool)), pool_dropped_test=dropped, exclude_suffixes=[],
        **extra)


# ---- the generic source: the user's folders and COCO files -------------------------------------

def _named_folders(spec, what) -> dict:
    """``[folder, ...]`` (named by folder name) or ``{name: folder}`` -> ``{name: Path}``."""
    if isinstance(spec, (str, Path)):
        spec = [spec]
    if isinstance(spec, dict):
        named = {str(k): v for k, v in spec.items()}
    else:
        named = {}
        for folder in spec:
            name = Path(folder).resolve().name
            if name in named:
                raise ValueError(f'two {what} folders are both named {name!r}; give '
                                 f'{{name: folder}} instead of a list')
            named[name] = folder
    return {name: _require_dir(folder, f'{what} folder {name!r}') for name, folder in
            named.items()}


def unlabelled_sources(data_cfg: dict) -> tuple:
    """``({source: [(image path, rel), ...]}, mask_dir or None)`` of ``data.unlabelled``.

    ``sources='folders'`` (default): each folder is one source; ``'subfolders'``: the one folder
    given holds one source per first-level subfolder. ``unlabelled_masks`` (same shape as
    ``unlabelled``) gives mask folders mirroring the image folders (``x.jpg`` -> ``x.png``);
    they are used only when every source has one. ``exclude_suffixes`` keeps files such as
    masks stored beside the images out of the pool.
    """
    mode = data_cfg.get('sources', 'folders')
    folders = _named_folders(data_cfg['unlabelled'], 'unlabelled')
    masks = _named_folders(data_cfg['unlabelled_masks'], 'unlabelled mask') \
        if data_cfg.get('unlabelled_masks') else {}
    if mode == 'subfolders':
        if len(folders) != 1:
            raise ValueError(f"sources='subfolders' takes one unlabelled folder, got "
                             f'{len(folders)}')
        (_, root), = folders.items()
        mask_root = next(iter(masks.values()), None)
        loose = [p for p in root.iterdir() if p.is_file()
                 and p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')]
        if loose:
            raise ValueError(f"{root}: sources='subfolders' but {len(loose)} image(s) lie "
                             f'directly in it (e.g. {loose[0].name}); move them into a subfolder')
        folders = {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}
        masks = {name: mask_root / name for name in folders} if mask_root else {}
    elif mode != 'folders':
        raise ValueError(f"data.sources must be 'folders' or 'subfolders', got {mode!r}")
    excluded = {s.lower() for s in data_cfg.get('exclude_suffixes', ())}
    members = {name: [(folder / rel, rel) for rel in list_images(folder)
                      if rel.suffix.lower() not in excluded]
               for name, folder in folders.items()}
    return members, masks if masks and set(masks) == set(folders) else None


def _pool_masks(out: Path, members: dict, masks: dict) -> Path:
    """``out/pool_masks`` mirroring the pool with links to each source's masks."""
    mask_dir = out / 'pool_masks'
    if mask_dir.exists():
        shutil.rmtree(mask_dir)
    for source, images in members.items():
        for _, rel in images:
            mask = masks[source] / rel.with_suffix('.png')
            if mask.is_file():
                _link(mask, mask_dir / source / rel.with_suffix('.png'))
    return mask_dir


def _coco_file(data_cfg, key, required=True):
    if not data_cfg.get(key):
        if required:
            raise KeyError(f'data.{key} is required for the coco data source')
        return None
    path = Path(data_cfg[key])
    if not path.is_file():
        raise FileNotFoundError(f'data.{key}: file not found: {path}')
    return load_coco(path)


def prepare_coco(data_cfg: dict, out: Path) -> dict:
    """The user's data: unlabelled folders, a labelled COCO file + image folder, an optional
    validation file, a test file; see ``configs/pipeline/my_data_example.py``."""
    img_dirs = dict(train=_require_dir(data_cfg['train_img_dir'], 'labelled image folder'))
    for split in ('val', 'test'):
        key = f'{split}_img_dir'
        img_dirs[split] = _require_dir(data_cfg[key], f'{split} image folder') \
            if data_cfg.get(key) else img_dirs['train']
    labelled, test = _coco_file(data_cfg, 'train_ann'), _coco_file(data_cfg, 'test_ann')
    val = _coco_file(data_cfg, 'val_ann', required=False)
    members, masks = unlabelled_sources(data_cfg)
    mask_dir = _pool_masks(out, members, masks) if masks else None
    truths = [(load_coco(t['ann_file']), _require_dir(t['img_dir'], 'pool truth image folder'))
              for t in data_cfg.get('unlabelled_boxes', ())]
    return assemble_data(out, data_cfg, labelled=labelled, test=test, val=val,
                         img_dirs=img_dirs, members=members, truths=truths, mask_dir=mask_dir)


# ---- presets -----------------------------------------------------------------------------------

def _convert_neu_det(root: Path, out: Path) -> dict:
    """All of NEU-DET (both folder pairs) as one COCO file, skips listed beside it."""
    from agssp.datasets.converters.voc import voc_to_coco
    writer = voc_to_coco([(root / 'ANNOTATIONS', root / 'IMAGES'),
                          (root / 'Validation_Annotations', root / 'Validation_Images')],
                         data_root=root)
    if writer.skipped:
        logger.warning('NEU-DET conversion skipped %d input(s), listed in %s',
                       len(writer.skipped), out / 'neu_det_all.skipped.json')
    return load_coco(writer.dump(out / 'neu_det_all.json'))


def prepare_neu_det(data_cfg: dict, out: Path) -> dict:
    """Real NEU-DET: a fixed, stratified ``test_fraction`` test split (seed ``split_seed``), a
    seeded, stratified labelled fraction of the rest per seed, validation from the training
    images no subset uses; the pool links NEU-DET's training images (never a test one) and
    Magnetic Tile's images (not its masks), one subfolder per source dataset.
    """
    root = _require_dir(data_cfg['neu_det_root'], 'NEU-DET folder')
    folders = {'neu_det': root}
    if data_cfg.get('magnetic_tile_root'):
        folders['magnetic_tile'] = _require_dir(data_cfg['magnetic_tile_root'],
                                                'Magnetic Tile folder')
    coco = _convert_neu_det(root, out)
    train, test = split_train_val(coco, data_cfg.get('test_fraction', 0.2),
                                  data_cfg.get('split_seed', 0))
    members, _ = unlabelled_sources(dict(unlabelled=folders, exclude_suffixes=['.png']))
    cfg = dict(dict(labelled_fraction=0.1, val_from='unused', val_fraction=0.25), **data_cfg)
    return assemble_data(out, cfg, labelled=train, test=test, members=members,
                         img_dirs=dict(train=root, val=root, test=root), truths=[(coco, root)])


def bsdata_groups(images) -> dict:
    """``filename -> group``: the wear sequence (``wear_dev``) of an image, else its source
    photo (the name before ``_crop_<n>``), so that near-copies share one group."""
    return {img['filename']: ('wear', tuple(img['wear_dev'])) if img['wear_dev'] else
            ('photo', re.sub(r'_crop_\d+\.\w+$', '', img['filename'])) for img in images}


def bsdata_test_split(images, test_sequences=3, seed=0) -> tuple:
    """``(test filenames, held-out filenames)`` of BSData's ``image_data.json`` images.

    Images outside any wear sequence keep the official ``train_test_split`` (it never splits a
    photo's crops). The official split puts test images in 14 of the 15 wear sequences beside
    their near-copies, so for sequences it is replaced: ``test_sequences`` whole sequences
    holding labelled images, drawn with ``seed``, are test. Their labelled images are the test
    set; their unlabelled ones are held out of everything (near-copies of test images).
    """
    groups = bsdata_groups(images)
    by_group = defaultdict(list)
    for img in images:
        by_group[groups[img['filename']]].append(img)
    sequences = sorted(g for g, imgs in by_group.items()
                       if g[0] == 'wear' and any(i['annotations'] for i in imgs))
    if not 0 <= test_sequences < len(sequences):
        raise ValueError(f'test_sequences must be in [0, {len(sequences) - 1}], got '
                         f'{test_sequences}')
    rng = random.Random(seed)
    rng.shuffle(sequences)
    test_groups = set(sequences[:test_sequences])
    test, held_out = set(), set()
    for img in images:
        in_test_group = groups[img['filename']] in test_groups
        if img['annotations'] and (in_test_group or (groups[img['filename']][0] == 'photo' and
                                                      img['train_test_split'] == 'test')):
            test.add(img['filename'])
        elif in_test_group:
            held_out.add(img['filename'])
    return test, held_out


def prepare_bsdata(data_cfg: dict, out: Path) -> dict:
    """Real BSData (labelme): test split by :func:`bsdata_test_split`, labelled set = the other
    labelled images, validation = ``val_fraction`` of them in whole groups (wear sequences and
    photos, :func:`bsdata_groups`; near-copies never straddle train and validation), per-seed
    fractions of the rest as for ``coco``, pool = every image not held out, one source per BSD
    type, the unannotated ones as probably defect-free; masks and boxes of the pool from the
    polygons (empty for the unannotated images).
    """
    from agssp.datasets.converters.labelme import labelme_to_coco, write_polygon_masks
    root = _require_dir(data_cfg['root'], 'BSData folder')
    meta_file = root / 'image_data.json'
    try:
        images = json.loads(meta_file.read_text())['images']
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f'{meta_file}: not a readable BSData image list ({exc})') from exc
    writer = labelme_to_coco(root / 'label', root / 'data', data_root=root,
                             unlabelled='defect_free')
    if writer.skipped:
        logger.warning('BSData conversion skipped %d input(s), listed in %s',
                       len(writer.skipped), out / 'bsdata_all.skipped.json')
    coco = load_coco(writer.dump(out / 'bsdata_all.json'))
    test_names, held_out = bsdata_test_split(images, data_cfg.get('test_sequences', 3),
                                             data_cfg.get('split_seed', 0))
    labelled_names = {img['filename'] for img in images if img['annotations']}
    id_of = {Path(img['file_name']).name: img['id'] for img in coco['images']}
    test = subset(coco, [id_of[n] for n in sorted(test_names)])
    labelled = subset(coco, [id_of[n] for n in sorted(labelled_names - test_names)])
    if data_cfg.get('val_from', 'labelled') != 'labelled':
        raise ValueError("data.val_from must be 'labelled' for bsdata: its validation set is "
                         'whole wear sequences and photos of the labelled images')
    groups = bsdata_groups(images)
    labelled, val = split_by_group(
        labelled, {img['file_name']: groups[Path(img['file_name']).name]
                   for img in labelled['images']},
        data_cfg.get('val_fraction', 0.2), data_cfg.get('split_seed', 0))
    members = defaultdict(list)
    for img in sorted(images, key=lambda i: i['filename']):
        if img['filename'] not in test_names | held_out:
            members[f'bsd_type{img["type"]}'].append((root / 'data' / img['filename'],
                                                       Path(img['filename'])))
    info = assemble_data(out, data_cfg, labelled=labelled, test=test, val=val,
                         members=dict(members), img_dirs=dict(train=root, val=root, test=root),
                         truths=[(coco, root)],
                         pool_held_out=len(held_out),
                         pool_probably_defect_free=sum(len(v) for v in members.values()) -
                         len(labelled['images']) - len(val['images']))
    mask_dir = out / 'pool_masks'
    if mask_dir.exists():
        shutil.rmtree(mask_dir)
    write_polygon_masks(load_coco(info['unlabelled_boxes']), mask_dir)
    info['unlabelled_mask_dir'] = str(mask_dir.resolve())
    return info


DATA_SOURCES = {'demo': prepare_demo, 'coco': prepare_coco, 'neu_det': prepare_neu_det,
                'bsdata': prepare_bsdata}


def prepare_data(data_cfg: dict, out) -> dict:
    """Run the data source named by ``data_cfg['type']``; returns the description the stages use."""
    kind = data_cfg.get('type')
    if kind not in DATA_SOURCES:
        raise KeyError(f'unknown data type {kind!r}; known: {sorted(DATA_SOURCES)}')
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return DATA_SOURCES[kind](data_cfg, out)
