"""Seeded train/val splits of a COCO file and labelled-fraction subsets, stratified by class.

Stratification: every image belongs to one stratum, its rarest category (fewest images in the
file being split; ties go to the lower category id) or the background stratum when it has no
boxes. Each stratum is shuffled with the seed and cut at ``round(n * fraction)`` (halves round
up). Image and annotation ids and the category list are kept unchanged in every output file.
"""
import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path

from agssp.core.fileio import atomic_write_json

BACKGROUND = None


def load_coco(path) -> dict:
    """Read a COCO detection file and check that its annotations point at its images."""
    path = Path(path)
    try:
        coco = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable JSON file ({exc})') from exc
    missing = [k for k in ('images', 'annotations', 'categories') if k not in coco]
    if missing:
        raise ValueError(f'{path}: not a COCO detection file, missing keys {missing}')
    image_ids = [img['id'] for img in coco['images']]
    if len(set(image_ids)) != len(image_ids):
        raise ValueError(f'{path}: duplicate image ids')
    orphans = {a['image_id'] for a in coco['annotations']} - set(image_ids)
    if orphans:
        raise ValueError(f'{path}: annotations refer to unknown image ids {sorted(orphans)[:10]}')
    return coco


def subset(coco, image_ids) -> dict:
    """The images in ``image_ids`` with their annotations; every other key is kept as is."""
    keep = set(image_ids)
    out = {k: v for k, v in coco.items() if k not in ('images', 'annotations')}
    out['images'] = [img for img in coco['images'] if img['id'] in keep]
    out['annotations'] = [a for a in coco['annotations'] if a['image_id'] in keep]
    return out


def _categories_per_image(coco):
    cats = defaultdict(set)
    for ann in coco['annotations']:
        cats[ann['image_id']].add(ann['category_id'])
    return cats


def image_strata(coco) -> dict:
    """``image_id -> category_id`` of the image's rarest category, or ``BACKGROUND`` (None)."""
    cats = _categories_per_image(coco)
    images_per_cat = Counter(c for cs in cats.values() for c in cs)
    return {img['id']: min(cats[img['id']], key=lambda c: (images_per_cat[c], c))
            if cats[img['id']] else BACKGROUND for img in coco['images']}


def _round_half_up(x):
    return int(math.floor(x + 0.5))


def _shuffled_strata(coco, seed):
    """Strata in a fixed order (categories by id, background last), each shuffled by ``seed``."""
    groups = defaultdict(list)
    for image_id, stratum in image_strata(coco).items():
        groups[stratum].append(image_id)
    rng = random.Random(seed)
    ordered = sorted(groups, key=lambda s: (s is BACKGROUND, s or 0))
    shuffled = {}
    for stratum in ordered:
        ids = sorted(groups[stratum])
        rng.shuffle(ids)
        shuffled[stratum] = ids
    return shuffled


def _check_fraction(name, value, low_open, high_open):
    ok = (value > 0 if low_open else value >= 0) and (value < 1 if high_open else value <= 1)
    if not ok:
        raise ValueError(f'{name} must be in {"(" if low_open else "["}0, 1'
                         f'{")" if high_open else "]"}, got {value}')


def split_train_val(coco, val_fraction, seed=0):
    """``(train, val)`` COCO dicts; each stratum gives ``round(n * val_fraction)`` images to val,
    but always leaves at least one in train."""
    _check_fraction('val_fraction', val_fraction, low_open=False, high_open=True)
    val_ids = []
    for ids in _shuffled_strata(coco, seed).values():
        val_ids += ids[:min(_round_half_up(len(ids) * val_fraction), len(ids) - 1)]
    val_set = set(val_ids)
    train_ids = [img['id'] for img in coco['images'] if img['id'] not in val_set]
    return subset(coco, train_ids), subset(coco, val_ids)


def split_by_group(coco, group_of, val_fraction, seed=0):
    """``(train, val)`` COCO dicts that never split a group: ``group_of`` maps an image's
    ``file_name`` to its group (e.g. near-copies of one part). Groups, sorted then shuffled by
    ``seed``, go to val whole wherever they still fit in ``round(n * val_fraction)`` images
    (first fit; the smallest group when none fits); train keeps at least one image. Not
    stratified by class."""
    _check_fraction('val_fraction', val_fraction, low_open=True, high_open=True)
    members = defaultdict(list)
    for img in coco['images']:
        if img['file_name'] not in group_of:
            raise KeyError(f"image {img['file_name']!r} has no group")
        members[group_of[img['file_name']]].append(img['id'])
    if len(members) < 2:
        raise ValueError(f'a split by group needs two groups, got {len(members)}')
    order = sorted(members, key=repr)
    random.Random(seed).shuffle(order)
    target = min(_round_half_up(len(coco['images']) * val_fraction), len(coco['images']) - 1)
    val_ids = []
    for group in order:
        if len(val_ids) + len(members[group]) <= target:
            val_ids += members[group]
    if not val_ids:
        val_ids = list(min(members.values(), key=len))
    val_set = set(val_ids)
    train_ids = [img['id'] for img in coco['images'] if img['id'] not in val_set]
    return subset(coco, train_ids), subset(coco, val_ids)


def labelled_subset(coco, fraction, seed=0) -> dict:
    """About ``fraction`` of the images, stratified; every category with images keeps one.

    Each category stratum gives ``max(1, round(n * fraction))`` images, the background stratum
    ``round(n * fraction)``. A category still missing then (all its images sit in rarer
    categories' strata) gets the first image holding it in a seeded order. With one seed, the
    subsets for growing fractions are nested except for those added images.
    """
    _check_fraction('fraction', fraction, low_open=True, high_open=False)
    chosen = []
    for stratum, ids in _shuffled_strata(coco, seed).items():
        k = _round_half_up(len(ids) * fraction)
        chosen += ids[:k if stratum is BACKGROUND else max(k, 1)]
    cats = _categories_per_image(coco)
    present = set().union(*(cats.get(i, set()) for i in chosen))
    order = sorted(cats)
    random.Random(seed).shuffle(order)
    for cat in sorted(set().union(*cats.values())):
        if cat not in present:
            image_id = next(i for i in order if cat in cats[i])
            chosen.append(image_id)
            present |= cats[image_id]
    return subset(coco, chosen)


def fraction_tag(fraction) -> str:
    """``0.1 -> '10pct'``, ``0.025 -> '2.5pct'`` (the labelled-subset file name suffix)."""
    return f'{fraction * 100:g}pct'


def coco_counts(coco) -> dict:
    """Images, boxes, and images per category name, for printing a split."""
    names = {c['id']: c['name'] for c in coco['categories']}
    per_cat = Counter(names[c] for cs in _categories_per_image(coco).values() for c in cs)
    return dict(images=len(coco['images']), boxes=len(coco['annotations']),
                images_per_category={n: per_cat.get(n, 0) for n in names.values()})


def write_splits(ann_file, out_dir, val_fraction=0.2, labelled_fractions=(0.1,), seed=0) -> dict:
    """Write ``train.json``, ``val.json`` (when ``val_fraction > 0``) and
    ``train_<pct>pct.json`` per labelled fraction into ``out_dir``, each atomically.

    Returns ``{file path: coco_counts(...)}``. The same inputs and seed give identical files.
    """
    coco = load_coco(ann_file)
    for fraction in labelled_fractions:
        _check_fraction('labelled fraction', fraction, low_open=True, high_open=False)
    train, val = split_train_val(coco, val_fraction, seed)
    outputs = {'train.json': train}
    if val_fraction > 0:
        outputs['val.json'] = val
    for fraction in labelled_fractions:
        outputs[f'train_{fraction_tag(fraction)}.json'] = labelled_subset(train, fraction, seed)
    out_dir = Path(out_dir)
    return {atomic_write_json(out_dir / name, data): coco_counts(data)
            for name, data in outputs.items()}
