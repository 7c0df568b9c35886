"""The Magnetic Tile protocol for weights-free anomaly maps: which images train, which test.

Clean: training images are a seeded 70% of ``MT_Free``; the test set is the other 30% plus
every image of the five defect classes. Contaminated: the training pool also holds a seeded half
(rounded down) of each defect class, and only the other half of each class is tested. Masks are
``x.png`` beside ``x.jpg``; ``MT_Free`` images have none (defect-free).

:func:`write_split_folders` turns a split into files the generic tools read: ``train.txt``
(paths relative to the dataset root, for ``tools/train_anomaly_model.py --list``) and a
``test/`` folder of links to the test images and their masks, laid out like the dataset (for
``tools/generate_anomaly_maps.py`` and ``tools/eval_anomaly_maps.py --masks magnetic-tile``).
"""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

from agssp.core.fileio import atomic_write_bytes

NORMAL_CLASS = 'MT_Free'
DEFECT_CLASSES = ('MT_Blowhole', 'MT_Break', 'MT_Crack', 'MT_Fray', 'MT_Uneven')
TRAIN_FRACTION = 0.7


@dataclass(frozen=True)
class TestImage:
    """A test image, its mask (None: defect-free) and class, paths relative to the root."""
    image: str
    mask: Optional[str]
    cls: str


@dataclass(frozen=True)
class MagneticTileSplit:
    root: str
    train: List[str]
    test: List[TestImage]
    seed: int
    contaminated: bool


def _class_images(root: Path, cls: str) -> List[str]:
    folder = root / cls
    if not folder.is_dir():
        raise FileNotFoundError(f'Magnetic Tile class folder not found: {folder}')
    images = sorted(p.relative_to(root).as_posix() for p in folder.rglob('*.jpg'))
    if not images:
        raise FileNotFoundError(f'no .jpg images in {folder}')
    return images


def magnetic_tile_protocol(root, seed: int = 0, contaminated: bool = False) -> MagneticTileSplit:
    """The train list and test list of the protocol (see the module docstring)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    free = _class_images(root, NORMAL_CLASS)
    order = rng.permutation(len(free))
    n_train = int(round(TRAIN_FRACTION * len(free)))
    train = [free[i] for i in sorted(order[:n_train])]
    test = [TestImage(free[i], None, NORMAL_CLASS) for i in sorted(order[n_train:])]
    for cls in DEFECT_CLASSES:
        images = _class_images(root, cls)
        for rel in images:
            if not (root / rel).with_suffix('.png').is_file():
                raise FileNotFoundError(f'mask not found for {root / rel} (expected .png beside)')
        if contaminated:
            order = rng.permutation(len(images))
            half = len(images) // 2
            train += [images[i] for i in sorted(order[:half])]
            tested = [images[i] for i in sorted(order[half:])]
        else:
            tested = images
        test += [TestImage(rel, str(Path(rel).with_suffix('.png').as_posix()), cls)
                 for rel in tested]
    return MagneticTileSplit(str(root), train, test, int(seed), bool(contaminated))


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        os.symlink(src.resolve(), dst)
    except OSError:          # file systems without symbolic links
        shutil.copyfile(src, dst)


def write_split_folders(split: MagneticTileSplit, out_dir) -> dict:
    """Write ``train.txt`` and the ``test/`` link folder; returns their paths."""
    out_dir, root = Path(out_dir), Path(split.root)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_list = out_dir / 'train.txt'
    atomic_write_bytes(train_list, ('\n'.join(split.train) + '\n').encode('utf-8'))
    test_dir = out_dir / 'test'
    if test_dir.exists():
        shutil.rmtree(test_dir)
    for item in split.test:
        _link(root / item.image, test_dir / item.image)
        if item.mask:
            _link(root / item.mask, test_dir / item.mask)
    return dict(train_list=train_list, test_dir=test_dir)
