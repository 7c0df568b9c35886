"""The embedded demo data: deterministic, exact masks and boxes, valid COCO."""
import json

import cv2
import numpy as np

from agssp.demo import DEFECT_CLASSES, generate_demo_dataset, render_surface
from agssp.demo.dataset import render_sample
from agssp.demo.defects import DEFECT_PAINTERS


def test_same_seed_same_image_and_other_seed_differs():
    a, da, _ = render_sample(3, 'train', 7, 64, 0.0)
    b, db, _ = render_sample(3, 'train', 7, 64, 0.0)
    c, _, _ = render_sample(4, 'train', 7, 64, 0.0)
    assert np.array_equal(a, b) and len(da) == len(db)
    assert not np.array_equal(a, c)


def test_defects_change_the_pixels_under_their_mask():
    rng = np.random.default_rng(0)
    for name in DEFECT_CLASSES:
        sample_rng = np.random.default_rng([11, DEFECT_CLASSES.index(name)])
        clean = render_surface(sample_rng, 128, 'cast')
        painted, mask = DEFECT_PAINTERS[name](rng, clean.copy())
        assert mask.any(), name
        diff = np.abs(painted - clean)
        assert diff[mask > 0].mean() > 5 * max(diff[mask == 0].mean(), 0.1), name


def test_dataset_layout_boxes_and_resume(tmp_path):
    meta = generate_demo_dataset(tmp_path, num_unlabelled=6, num_train=5, num_val=4, size=96,
                                 seed=1)
    assert meta['classes'] == list(DEFECT_CLASSES)
    kinds = sorted(p.name for p in (tmp_path / 'unlabelled' / 'images').iterdir())
    assert kinds == ['brushed', 'cast', 'rolled']  # one source folder per surface kind
    assert len(list((tmp_path / 'unlabelled' / 'images').rglob('*.png'))) == 6
    coco = json.loads((tmp_path / 'labelled' / 'annotations' / 'train.json').read_text())
    assert len(coco['images']) == 5
    assert [c['name'] for c in coco['categories']] == list(DEFECT_CLASSES)
    for ann in coco['annotations']:
        image = coco['images'][ann['image_id'] - 1]
        mask = cv2.imread(str(tmp_path / 'labelled' / 'train' / 'masks' / image['file_name']), 0)
        x, y, w, h = (int(v) for v in ann['bbox'])
        assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 96 and w > 0 and h > 0
        assert mask[y:y + h, x:x + w].max() == 255  # the box holds its defect
    stamp = (tmp_path / 'meta.json').stat().st_mtime_ns
    generate_demo_dataset(tmp_path, num_unlabelled=6, num_train=5, num_val=4, size=96, seed=1)
    assert (tmp_path / 'meta.json').stat().st_mtime_ns == stamp  # complete set: nothing redone
