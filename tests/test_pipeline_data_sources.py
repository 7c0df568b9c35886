"""The pipeline's NEU-DET data source: a fixed held-out split, seeded labelled subsets, a pool of
links that never holds a held-out image."""
import json
from pathlib import Path

import pytest

from agssp.pipeline.data_sources import prepare_data


@pytest.fixture(scope='module')
def neu_det_info(neu_det_root, magnetic_tile_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('neu_data')
    return prepare_data(dict(type='neu_det', neu_det_root=str(neu_det_root),
                             magnetic_tile_root=str(magnetic_tile_root), test_fraction=0.2,
                             labelled_fraction=0.1, labelled_seeds=[0, 1]), out)


def _files(ann):
    return {img['file_name'] for img in json.loads(Path(ann).read_text())['images']}


def test_held_out_images_stay_out_of_the_pool_and_the_labelled_sets(neu_det_info):
    info = neu_det_info
    val = _files(info['test_ann'])
    pool = Path(info['unlabelled_dir'])
    neu_pool = {p.relative_to(pool / 'neu_det').as_posix()
                for p in (pool / 'neu_det').rglob('*.jpg')}
    assert info['num_test'] == len(val) == 360
    assert len(neu_pool) == 1800 - 360 and not (neu_pool & val)
    for ann in info['train_anns'].values():
        assert not (_files(ann) & val) and _files(ann) <= neu_pool
    assert info['sources'] == ['magnetic_tile', 'neu_det']
    assert not list(pool.rglob('*.png'))  # Magnetic Tile's masks are not pool images
    assert info['num_unlabelled'] == 1440 + 1344


def test_labelled_subsets_are_a_stratified_tenth_and_differ_by_seed(neu_det_info):
    subsets = [json.loads(Path(a).read_text()) for a in neu_det_info['train_anns'].values()]
    for coco in subsets:
        assert len(coco['images']) == 144
        labelled_classes = {a['category_id'] for a in coco['annotations']}
        assert len(labelled_classes) == 6
    assert {i['file_name'] for i in subsets[0]['images']} != \
        {i['file_name'] for i in subsets[1]['images']}
    assert neu_det_info['classes'][0] == 'crazing' and len(neu_det_info['classes']) == 6


def test_pool_ground_truth_boxes_are_single_class_and_mirror_the_pool(neu_det_info):
    gt = json.loads(Path(neu_det_info['unlabelled_boxes']).read_text())
    assert [c['name'] for c in gt['categories']] == ['defect']
    assert len(gt['images']) == 1440
    pool = Path(neu_det_info['unlabelled_dir'])
    assert all((pool / img['file_name']).is_file() for img in gt['images'])


def test_a_missing_dataset_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='NEU-DET folder not found'):
        prepare_data(dict(type='neu_det', neu_det_root=str(tmp_path / 'nope')), tmp_path)
