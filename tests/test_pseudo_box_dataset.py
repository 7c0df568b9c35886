"""PseudoBoxDataset: the same boxes as the export, in mmyolo and mmdet pipelines, bad inputs."""
import os.path as osp

import cv2
import mmyolo
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from agssp.anomaly.baseline_maps import write_baseline_maps
from agssp.pseudo_boxes.dataset import PseudoBoxDataset
from agssp.pseudo_boxes.export import export_pseudo_boxes_coco, list_image_relpaths

YOLOV8_CONFIG = osp.join(osp.dirname(mmyolo.__file__), '.mim', 'configs', 'yolov8',
                         'yolov8_s_syncbn_fast_8xb16-500e_coco.py')


@pytest.fixture(scope='module')
def mt_subset(magnetic_tile_root, tmp_path_factory):
    """A few real Magnetic Tile images (linked) with local-contrast maps beside them."""
    root = tmp_path_factory.mktemp('mt_subset')
    rels = list_image_relpaths(magnetic_tile_root, exclude_suffixes=('.png',))
    subset = []
    for cls in ('MT_Blowhole', 'MT_Break', 'MT_Crack', 'MT_Fray', 'MT_Uneven', 'MT_Free'):
        subset += [r for r in rels if r.parts[0] == cls][:3]
    for rel in subset:
        (root / 'img' / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / 'img' / rel).symlink_to(magnetic_tile_root / rel)
    assert write_baseline_maps(magnetic_tile_root, root / 'maps', subset, 'local_contrast') == []
    return root


def _boxes_by_file(coco):
    names = {img['id']: img['file_name'] for img in coco['images']}
    out = {name: [] for name in names.values()}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        out[names[ann['image_id']]].append([x, y, x + w, y + h])
    return out


def test_dataset_gives_the_export_boxes(mt_subset):
    summary, writer = export_pseudo_boxes_coco(mt_subset / 'img', mt_subset / 'maps',
                                               mt_subset / 'ann.json', workers=1)
    assert summary['boxes'] > 0 and summary['skipped'] == 0
    ds = PseudoBoxDataset(img_dir='img', map_dir='maps', data_root=str(mt_subset), workers=2,
                          test_mode=True)
    assert ds.threshold['from_cache']  # computed once by the export, cached beside the maps
    assert ds.threshold['by_source'] == pytest.approx(summary['threshold']['by_source'])
    assert ds.metainfo['classes'] == ('defect',)
    expected = _boxes_by_file(writer.to_dict())
    assert len(ds) == len(expected) == 18
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rel = osp.relpath(info['img_path'], mt_subset / 'img')
        got = [inst['bbox'] for inst in info['instances']]
        np.testing.assert_allclose(np.reshape(got, (-1, 4)),
                                   np.reshape(expected[rel], (-1, 4)))
        assert all(inst['bbox_label'] == 0 and inst['ignore_flag'] == 0
                   for inst in info['instances'])


def test_dataset_in_mmyolo_yolov8_training_pipeline(mt_subset):
    from mmyolo.registry import DATASETS
    pipeline = Config.fromfile(YOLOV8_CONFIG).train_pipeline
    # Albu needs the optional albumentations package; everything else is the stock pipeline.
    pipeline = [t for t in pipeline if t['type'] != 'mmdet.Albu']
    with DefaultScope.overwrite_default_scope('mmyolo'):
        ds = DATASETS.build(dict(type='PseudoBoxDataset', data_root=str(mt_subset),
                                 img_dir='img', map_dir='maps', pipeline=pipeline,
                                 filter_cfg=dict(filter_empty_gt=True)))
        assert len(ds) > 0 and all(ds.get_data_info(i)['instances'] for i in range(len(ds)))
        for i in range(2):
            item = ds[i]
            assert tuple(item['inputs'].shape) == (3, 640, 640)
            assert set(item['data_samples'].gt_instances.labels.tolist()) <= {0}


def test_dataset_in_mmdet_pipeline(mt_subset):
    from mmdet.registry import DATASETS
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='Resize', scale=(256, 256), keep_ratio=False),
                dict(type='PackDetInputs')]
    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(dict(type='PseudoBoxDataset', data_root=str(mt_subset),
                                 img_dir='img', map_dir='maps', pipeline=pipeline))
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            if info['instances']:
                break
        item = ds[i]
    sx, sy = 256 / info['width'], 256 / info['height']
    expected = np.array([inst['bbox'] for inst in info['instances']]) * [sx, sy, sx, sy]
    np.testing.assert_allclose(item['data_samples'].gt_instances.bboxes.tensor.numpy(),
                               expected, rtol=1e-4)
    assert tuple(item['inputs'].shape) == (3, 256, 256)


def test_dataset_lists_bad_inputs_and_filters_empty(tmp_path):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'maps').mkdir()
    for name in ('a', 'b', 'c'):
        cv2.imwrite(str(tmp_path / 'img' / f'{name}.jpg'), np.zeros((40, 40), np.uint8))
    amap = np.zeros((40, 40), np.float32)
    amap[5:15, 5:20] = 1.0
    np.save(tmp_path / 'maps' / 'a.npy', amap)
    np.save(tmp_path / 'maps' / 'b.npy', np.zeros((40, 40), np.float32))
    kwargs = dict(img_dir=str(tmp_path / 'img'), map_dir=str(tmp_path / 'maps'),
                  threshold=dict(type='absolute', value=0.5))
    ds = PseudoBoxDataset(**kwargs, test_mode=True)
    assert len(ds) == 2
    assert [osp.basename(s['file']) for s in ds.skipped] == ['c.npy']
    assert 'not found' in ds.skipped[0]['reason']
    train = PseudoBoxDataset(**kwargs, filter_cfg=dict(filter_empty_gt=True))
    assert len(train) == 1 and train.get_data_info(0)['instances'][0]['bbox'] == [5, 5, 20, 15]
