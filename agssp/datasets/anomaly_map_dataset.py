"""(image, anomaly map, source label) samples for anomaly-map guided backbone pretraining.

The label is the image's source dataset: AGBP's auxiliary task is "which dataset is this from".
Two ways to describe the samples:

- annotation file (``ann_file``): one line per image, ``<image path> <integer label> <map path>``,
  image paths relative to ``data_prefix['img_path']``, map paths to ``data_prefix['map_path']``;
- folder mode (``ann_file=''``): the image root's first-level subfolders are the source datasets
  (label = index in sorted order, names in ``metainfo['classes']``); images are found
  recursively under each; the map root mirrors the image root (``<map root>/<source>/<image
  path>.npy``, :func:`agssp.core.anomaly_maps.map_relpath`).

Without ``data_prefix['map_path']`` the samples carry no map (the classification-only and
self-supervised-only baselines). ``heldout_fraction`` with ``split='train'`` or ``'heldout'``
keeps a deterministic part of the images, chosen by a hash of their relative path, so that the
same images are held out on every machine and in every run.
"""
import hashlib
import logging
from pathlib import Path

from mmpretrain.datasets import BaseDataset

from agssp.core.anomaly_maps import map_relpath
from agssp.core.images import list_images
from agssp.registry import PRETRAIN_DATASETS, register_into

logger = logging.getLogger('agssp')

SPLITS = ('all', 'train', 'heldout')
MISSING_MAP_POLICIES = ('error', 'skip')


def is_heldout(relpath, fraction: float, seed: int = 0) -> bool:
    """Whether an image (path relative to the image root) falls in the held-out part."""
    if fraction <= 0:
        return False
    key = f'{seed}:{Path(relpath).as_posix()}'.encode('utf-8')
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, 'big') / 2 ** 64 < fraction


def source_folders(img_root) -> list:
    """Sorted names of the first-level subfolders of ``img_root`` (the source datasets)."""
    img_root = Path(img_root)
    if not img_root.is_dir():
        raise FileNotFoundError(f'image root not found: {img_root}')
    sources = sorted(p.name for p in img_root.iterdir() if p.is_dir())
    if not sources:
        raise ValueError(f'{img_root}: folder mode needs one subfolder per source dataset, '
                         'found none')
    return sources


@register_into(*PRETRAIN_DATASETS)
class AnomalyMapDataset(BaseDataset):
    """mmpretrain dataset of (image, anomaly map, source label); see the module docstring.

    Args:
        ann_file: annotation file; ``''`` for folder mode.
        data_prefix: ``dict(img_path=..., map_path=...)`` (``map_path`` optional).
        num_sources: when given, the number of source datasets the model's head expects: every
            label must be below it, and folder mode must find exactly that many folders.
        exclude_suffixes: folder mode: image suffixes to ignore (e.g. ``('.png',)`` for mask
            files kept beside ``.jpg`` images).
        heldout_fraction, split, split_seed: the deterministic held-out part (see above).
        missing_maps: ``'error'`` (default) stops at init listing the missing map files;
            ``'skip'`` drops those images, logs how many and lists them in ``skipped``.
    """

    def __init__(self, ann_file: str = '', data_prefix=None, num_sources=None,
                 exclude_suffixes=(), heldout_fraction: float = 0.0, split: str = 'all',
                 split_seed: int = 0, missing_maps: str = 'error', **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if missing_maps not in MISSING_MAP_POLICIES:
            raise ValueError(f'missing_maps must be one of {MISSING_MAP_POLICIES}, '
                             f'got {missing_maps!r}')
        if not 0.0 <= heldout_fraction < 1.0:
            raise ValueError(f'heldout_fraction must be in [0, 1), got {heldout_fraction}')
        if split != 'all' and heldout_fraction <= 0:
            raise ValueError(f"split={split!r} needs heldout_fraction > 0")
        self.num_sources = num_sources
        self.exclude_suffixes = tuple(s.lower() for s in exclude_suffixes)
        self.heldout_fraction, self.split, self.split_seed = heldout_fraction, split, split_seed
        self.missing_maps = missing_maps
        self.skipped = []
        super().__init__(ann_file=ann_file, data_prefix=data_prefix or dict(img_path=''),
                         **kwargs)

    @property
    def with_maps(self) -> bool:
        return bool(self.data_prefix.get('map_path'))

    def load_data_list(self):
        samples = self._annotation_samples() if self.ann_file else self._folder_samples()
        samples = [s for s in samples if self._in_split(s[0])]
        data_list = []
        missing = []
        img_root = Path(self.data_prefix['img_path'])
        for rel_img, label, rel_map in samples:
            info = dict(img_path=str(img_root / rel_img), gt_label=label)
            if self.with_maps:
                map_path = Path(self.data_prefix['map_path']) / rel_map
                if not map_path.is_file():
                    missing.append(dict(file=str(map_path), reason='map file not found'))
                    continue
                info['map_path'] = str(map_path)
            data_list.append(info)
        self._handle_missing(missing)
        if not data_list:
            raise ValueError(f'no samples in {self._describe()} (split {self.split!r})')
        return data_list

    def _describe(self) -> str:
        return self.ann_file or f"folder {self.data_prefix['img_path']}"

    def _in_split(self, rel_img) -> bool:
        if self.split == 'all':
            return True
        heldout = is_heldout(rel_img, self.heldout_fraction, self.split_seed)
        return heldout if self.split == 'heldout' else not heldout

    def _check_label(self, label: int, where: str):
        if label < 0 or (self.num_sources is not None and label >= self.num_sources):
            raise ValueError(f'{where}: label {label} outside [0, {self.num_sources}) '
                             '(num_sources: the number of source datasets the head expects)')

    def _annotation_samples(self):
        path = Path(self.ann_file)
        if not path.is_file():
            raise FileNotFoundError(f'annotation file not found: {path}')
        samples = []
        for lineno, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            where = f'{path}:{lineno}'
            if len(fields) not in (2, 3) or (self.with_maps and len(fields) != 3):
                raise ValueError(f'{where}: expected "<image path> <integer label> <map path>", '
                                 f'got {line!r}')
            try:
                label = int(fields[1])
            except ValueError:
                raise ValueError(f'{where}: label {fields[1]!r} is not an integer') from None
            self._check_label(label, where)
            samples.append((fields[0], label, fields[2] if len(fields) == 3 else None))
        return samples

    def _folder_samples(self):
        img_root = Path(self.data_prefix['img_path'])
        sources = source_folders(img_root)
        if self.num_sources is not None and len(sources) != self.num_sources:
            raise ValueError(f'{img_root}: found {len(sources)} source folders {sources}, '
                             f'but num_sources is {self.num_sources}')
        self._metainfo['classes'] = tuple(sources)
        samples = []
        for label, source in enumerate(sources):
            images = [source / rel for rel in map(Path, list_images(img_root / source))
                      if rel.suffix.lower() not in self.exclude_suffixes]
            if not images:
                raise ValueError(f'{img_root / source}: source folder holds no images')
            samples.extend((rel.as_posix(), label, map_relpath(rel).as_posix()) for rel in images)
        return samples

    def _handle_missing(self, missing):
        if not missing:
            return
        listed = '\n  '.join(f"{m['file']}: {m['reason']}" for m in missing[:10])
        more = f'\n  ... and {len(missing) - 10} more' if len(missing) > 10 else ''
        if self.missing_maps == 'error':
            raise FileNotFoundError(f'{len(missing)} anomaly maps missing for '
                                    f'{self._describe()}:\n  {listed}{more}\n'
                                    "(generate them, or set missing_maps='skip')")
        self.skipped = missing
        logger.warning('%d images skipped (no anomaly map) in %s:\n  %s%s', len(missing),
                       self._describe(), listed, more)

    def extra_repr(self):
        return [f'Number of sources: {self.num_sources}',
                f'Split: {self.split} (held-out fraction {self.heldout_fraction})',
                f'Maps: {self.data_prefix.get("map_path") or "none"}',
                f'Skipped (no map): {len(self.skipped)}']
