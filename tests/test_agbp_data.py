"""AGBP data: the (image, map, source label) dataset, map loading, joint transforms, packing."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from agbp_helpers import write_tiny_agbp_data
from mmcv.transforms import RandomFlip
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, TRANSFORMS

import agssp.datasets  # noqa: F401  (registration)
import agssp.models  # noqa: F401  (registration)
from agssp.core.anomaly_maps import AnomalyMapError
from agssp.datasets.anomaly_map_dataset import is_heldout
from agssp.datasets.transforms import stack_anomaly_maps
from agssp.datasets.transforms.loading import LoadAnomalyMap


def _dataset(**kwargs):
    return DATASETS.build(dict(type='AnomalyMapDataset', **kwargs))


@pytest.fixture()
def tiny(tmp_path):
    img_root, map_root = write_tiny_agbp_data(tmp_path, sources=('b_source', 'a_source'),
                                              per_source=3)
    return img_root, map_root


def test_folder_mode_labels_are_source_folders_and_maps_mirror_images(tiny):
    img_root, map_root = tiny
    ds = _dataset(data_prefix=dict(img_path=str(img_root), map_path=str(map_root)),
                  num_sources=2)
    assert ds.metainfo['classes'] == ('a_source', 'b_source')
    assert len(ds) == 6
    for info in (ds.get_data_info(i) for i in range(len(ds))):
        rel = Path(info['img_path']).relative_to(img_root)
        assert info['gt_label'] == ('a_source', 'b_source').index(rel.parts[0])
        assert Path(info['map_path']) == map_root / rel.with_suffix('.npy')


def test_folder_mode_without_map_root_and_with_excluded_suffixes(tiny, tmp_path):
    img_root, _ = tiny
    cv2.imwrite(str(img_root / 'a_source' / 'sub' / 'img0.png'), np.zeros((4, 4), np.uint8))
    ds = _dataset(data_prefix=dict(img_path=str(img_root)), exclude_suffixes=('.PNG', ))
    assert len(ds) == 6 and 'map_path' not in ds.get_data_info(0)
    assert len(_dataset(data_prefix=dict(img_path=str(img_root)))) == 7


def test_folder_mode_errors_name_the_problem(tiny, tmp_path):
    img_root, map_root = tiny
    with pytest.raises(ValueError, match='num_sources is 3'):
        _dataset(data_prefix=dict(img_path=str(img_root)), num_sources=3)
    missing = map_root / 'a_source' / 'sub' / 'img1.npy'
    missing.unlink()
    with pytest.raises(FileNotFoundError, match=str(missing)):
        _dataset(data_prefix=dict(img_path=str(img_root), map_path=str(map_root)))
    ds = _dataset(data_prefix=dict(img_path=str(img_root), map_path=str(map_root)),
                  missing_maps='skip')
    assert len(ds) == 5 and ds.skipped == [dict(file=str(missing), reason='map file not found')]
    (tmp_path / 'empty' / 'only_source').mkdir(parents=True)
    with pytest.raises(ValueError, match='holds no images'):
        _dataset(data_prefix=dict(img_path=str(tmp_path / 'empty')))


def test_annotation_file_mode(tiny, tmp_path):
    img_root, map_root = tiny
    ann = tmp_path / 'train.txt'
    ann.write_text('a_source/sub/img0.jpg 1 a_source/sub/img0.npy\n\n'
                   'b_source/sub/img2.jpg 0 b_source/sub/img2.npy\n')
    ds = _dataset(ann_file=str(ann), num_sources=2,
                  data_prefix=dict(img_path=str(img_root), map_path=str(map_root)))
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [1, 0]
    assert ds.get_data_info(1)['map_path'] == str(map_root / 'b_source/sub/img2.npy')
    for text, match in (('a_source/sub/img0.jpg 1\n', r'train.txt:1: expected'),
                        ('a_source/sub/img0.jpg x m.npy\n', r'train.txt:1: label'),
                        ('a_source/sub/img0.jpg 5 m.npy\n', r'outside \[0, 2\)')):
        ann.write_text(text)
        with pytest.raises(ValueError, match=match):
            _dataset(ann_file=str(ann), num_sources=2,
                     data_prefix=dict(img_path=str(img_root), map_path=str(map_root)))


def test_heldout_split_is_deterministic_and_disjoint(tiny):
    img_root, _ = tiny
    def img_paths(**kwargs):
        ds = _dataset(data_prefix=dict(img_path=str(img_root)), **kwargs)
        return {ds.get_data_info(i)['img_path'] for i in range(len(ds))}

    paths = {s: img_paths(split=s, heldout_fraction=0.4) for s in ('train', 'heldout')}
    every = img_paths()
    assert paths['train'] | paths['heldout'] == every
    assert not paths['train'] & paths['heldout'] and paths['heldout']
    assert is_heldout('x/y.jpg', 0.3) == is_heldout(Path('x') / 'y.jpg', 0.3)
    with pytest.raises(ValueError, match='heldout_fraction > 0'):
        _dataset(split='train', data_prefix=dict(img_path=str(img_root)))


@pytest.mark.parametrize('content, reason', [
    (np.zeros((2, 3, 4), np.float32), 'expected a non-empty 2-D map'),
    (np.array([[1.0, np.nan]], np.float32), 'NaN or inf'),
    (np.array([{'a': 1}], dtype=object), 'not a readable .npy'),
])
def test_load_anomaly_map_rejects_bad_maps_naming_the_file(tmp_path, content, reason):
    path = tmp_path / 'bad.npy'
    np.save(path, content, allow_pickle=True)
    results = dict(img=np.zeros((8, 8, 3), np.uint8), map_path=str(path))
    with pytest.raises(AnomalyMapError, match=reason) as err:
        LoadAnomalyMap()(results)
    assert str(path) in str(err.value)


def test_load_anomaly_map_resizes_to_the_image_and_needs_the_image_first(tmp_path):
    path = tmp_path / 'm.npy'
    np.save(path, np.arange(12, dtype=np.float16).reshape(3, 4))
    results = LoadAnomalyMap()(dict(img=np.zeros((30, 40, 3), np.uint8), map_path=str(path)))
    assert results['gt_seg_map'].shape == (30, 40) and results['gt_seg_map'].dtype == np.float32
    assert results['anomaly_map_shape'] == (3, 4) and 'gt_seg_map' in results['seg_fields']
    with pytest.raises(KeyError, match='after LoadImageFromFile'):
        LoadAnomalyMap()(dict(map_path=str(path)))


def _marked_pair(hw=(90, 120), at=(20, 85)):
    """An image and a map, each dark with one bright 5x5 square at the same place."""
    img = np.full((*hw, 3), 30, np.uint8)
    amap = np.zeros(hw, np.float32)
    y, x = at
    img[y - 2:y + 3, x - 2:x + 3] = 255
    amap[y - 2:y + 3, x - 2:x + 3] = 1.0
    return img, amap


def _peak(array):
    array = array if array.ndim == 2 else array.astype(np.float32).mean(axis=2)
    weights = np.clip(array - array.max() / 2, 0, None)
    ys, xs = np.indices(array.shape)
    return np.array([(ys * weights).sum(), (xs * weights).sum()]) / weights.sum()


@pytest.mark.parametrize('seed', range(6))
def test_joint_geometric_transforms_keep_the_marked_pixel_in_the_same_place(seed):
    np.random.seed(seed)
    pipeline = [TRANSFORMS.build(dict(type='RandomResizedCropWithMap', scale=64,
                                      crop_ratio_range=(0.3, 1.0))),
                RandomFlip(prob=0.5, direction=['horizontal', 'vertical']),
                TRANSFORMS.build(dict(type='mmseg.PhotoMetricDistortion'))]
    for _ in range(20):  # until the crop keeps the mark
        img, amap = _marked_pair()
        results = dict(img=img, gt_seg_map=amap, img_shape=img.shape[:2])
        for t in pipeline:
            results = t(results)
        if results['gt_seg_map'].max() > 0.5:
            break
    assert results['img'].shape[:2] == results['gt_seg_map'].shape == (64, 64)
    assert results['gt_seg_map'].max() > 0.5, 'the mark was never kept'
    np.testing.assert_allclose(_peak(results['img']), _peak(results['gt_seg_map']), atol=1.0)


def test_multiview_keeps_the_map_of_the_first_view():
    init_default_scope('mmpretrain')  # the views' transforms are built in the config's scope
    np.random.seed(0)
    view = [dict(type='RandomResizedCropWithMap', scale=48, crop_ratio_range=(0.5, 1.0)),
            dict(type='RandomFlip', prob=0.5)]
    t = TRANSFORMS.build(dict(type='MultiViewWithMap', num_views=[1, 1], transforms=[view, view]))
    for _ in range(10):
        img, amap = _marked_pair()
        results = t(dict(img=img, gt_seg_map=amap))
        if results['gt_seg_map'].max() > 0.5:
            break
    assert len(results['img']) == 2
    np.testing.assert_allclose(_peak(results['img'][0]), _peak(results['gt_seg_map']), atol=1.0)


def test_pack_anomaly_inputs_and_stacking(tiny):
    img_root, map_root = tiny
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnomalyMap'),
                dict(type='RandomResizedCropWithMap', scale=32), dict(type='PackAnomalyInputs')]
    ds = _dataset(data_prefix=dict(img_path=str(img_root), map_path=str(map_root)),
                  pipeline=pipeline)
    samples = [ds[i]['data_samples'] for i in range(2)]
    assert samples[0].anomaly_map.shape == (1, 32, 32)
    assert stack_anomaly_maps(samples).shape == (2, 1, 32, 32)
    samples[1].set_field(samples[1].anomaly_map[:, :16], 'anomaly_map')
    with pytest.raises(ValueError, match='differ in size'):
        stack_anomaly_maps(samples)
