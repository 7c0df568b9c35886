"""Pseudo boxes: the rule, the thresholds, bad inputs, and masks-as-maps on real Magnetic Tile."""
import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from script_modules import load_benchmark, load_script

from agssp.anomaly.baseline_maps import write_baseline_maps
from agssp.evaluation.box_quality import match_boxes, pseudo_box_quality, rates_text
from agssp.pseudo_boxes.export import (THRESHOLD_CACHE_NAME, export_pseudo_boxes_coco,
                                       list_image_relpaths, resolve_threshold)
from agssp.pseudo_boxes.rule import box_cfg_with_defaults, map_to_boxes, min_region_area
from agssp.pseudo_boxes.thresholds import (image_threshold, otsu_threshold,
                                           threshold_cfg_with_defaults)

MT_DEFECT_CLASSES = ('MT_Blowhole', 'MT_Break', 'MT_Crack', 'MT_Fray', 'MT_Uneven')


def _map_with_blocks(hw, blocks):
    """A zero map with rectangles ``(y1, y2, x1, x2, value)`` painted in."""
    amap = np.zeros(hw, np.float32)
    for y1, y2, x1, x2, value in blocks:
        amap[y1:y2, x1:x2] = value
    return amap


# --- the rule ---------------------------------------------------------------------------------

def test_min_region_area_rule():
    assert min_region_area(300, 400) == 12
    assert min_region_area(200, 200) == 10  # the floor
    assert min_region_area(99, 1000) == 10


def test_boxes_scores_and_min_area():
    # 300x400 image: regions below 12 pixels are dropped.
    amap = _map_with_blocks((300, 400), [(10, 40, 20, 60, 0.6),   # 30x40 block
                                         (100, 102, 100, 106, 0.9),  # 12 px: kept
                                         (200, 201, 200, 211, 1.0)])  # 11 px: dropped
    amap[25, 30] = 0.8  # the block's maximum
    boxes, scores = map_to_boxes(amap, (300, 400), threshold=0.5)
    np.testing.assert_array_equal(boxes, [[100, 100, 106, 102], [20, 10, 60, 40]])
    np.testing.assert_allclose(scores, [0.9, 0.8])
    assert boxes.dtype == np.float32 and scores.dtype == np.float32


def test_region_area_counts_holes():
    # A ring of 4x4 with a 2x2 hole has 12 pixels, 16 inside its contour: kept at min area 16.
    amap = _map_with_blocks((100, 100), [(10, 14, 10, 14, 1.0), (11, 13, 11, 13, 0.0)])
    boxes, _ = map_to_boxes(amap, (100, 100), 0.5, min_area_floor=16)
    np.testing.assert_array_equal(boxes, [[10, 10, 14, 14]])
    boxes, _ = map_to_boxes(amap, (100, 100), 0.5, min_area_floor=17)
    assert boxes.shape == (0, 4)


def test_top_k_keeps_best_scores():
    blocks = [(10, 15, 20 * i, 20 * i + 5, 0.5 + 0.02 * i) for i in range(15)]
    boxes, scores = map_to_boxes(_map_with_blocks((100, 400), blocks), (100, 400), 0.4)
    assert len(boxes) == 10
    np.testing.assert_allclose(scores, sorted((0.5 + 0.02 * i for i in range(5, 15)),
                                              reverse=True), rtol=1e-6)


def _interleaved_combs():
    """Two separate regions whose bounding boxes overlap with IoU 0.91."""
    amap = np.zeros((100, 100), np.float32)
    amap[0:3, :] = 0.9
    amap[97:100, :] = 0.7
    for x in range(0, 100, 10):
        amap[0:95, x:x + 3] = 0.9
        amap[4:100, x + 5:x + 8] = 0.7
    return amap


def test_nms_suppresses_overlapping_boxes():
    amap = _interleaved_combs()
    boxes, scores = map_to_boxes(amap, (100, 100), 0.5, nms_iou=1.0)
    assert len(boxes) == 2
    boxes, scores = map_to_boxes(amap, (100, 100), 0.5)  # paper: NMS at 0.8
    np.testing.assert_array_equal(boxes, [[0, 0, 100, 95]])
    np.testing.assert_allclose(scores, [0.9])


def test_map_is_resized_to_the_image():
    amap = _map_with_blocks((50, 50), [(10, 20, 10, 20, 1.0)])
    boxes, _ = map_to_boxes(amap, (100, 100), 0.5)
    assert len(boxes) == 1
    np.testing.assert_allclose(boxes[0], [20, 20, 40, 40], atol=1)


def test_empty_map_gives_no_boxes():
    boxes, scores = map_to_boxes(np.zeros((30, 30)), (60, 60), 0.5)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


# --- the options for defects the reference cuts badly ------------------------------------------

def _reference_map_to_boxes(anomaly_map, image_hw, threshold, min_area_divisor=100,
                            min_area_floor=10, top_k=10, nms_iou=0.8):
    """The reference rule as it stood before the options (commit 413047c), the oracle."""
    import torch
    from torchvision.ops import nms

    from agssp.core.anomaly_maps import resize_map
    height, width = int(image_hw[0]), int(image_hw[1])
    amap = resize_map(anomaly_map, (height, width))
    binary = (amap > threshold).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = max((height // min_area_divisor) * (width // min_area_divisor), min_area_floor)
    boxes, scores = [], []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w * h < min_area:
            continue
        inside = np.zeros((h, w), np.uint8)
        cv2.drawContours(inside, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
        inside = inside.astype(bool)
        if int(inside.sum()) < min_area:
            continue
        boxes.append((x, y, x + w, y + h))
        scores.append(amap[y:y + h, x:x + w][inside].max())
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    boxes, scores = np.asarray(boxes, np.float32), np.asarray(scores, np.float32)
    order = np.argsort(-scores, kind='stable')[:top_k]
    boxes, scores = boxes[order], scores[order]
    keep = np.sort(nms(torch.from_numpy(boxes), torch.from_numpy(scores), nms_iou).numpy())
    return boxes[keep], scores[keep]


@pytest.mark.parametrize('seed', range(6))
def test_default_options_reproduce_the_reference_boxes(seed):
    rng = np.random.default_rng(seed)
    hw = [(120, 160), (460, 1130), (200, 200)][seed % 3]
    amap = cv2.GaussianBlur(rng.random((hw[0] // 4, hw[1] // 4)).astype(np.float32), (0, 0),
                            1 + seed % 2)
    threshold = float(np.quantile(amap, 0.8))
    expected = _reference_map_to_boxes(amap, hw, threshold)
    assert len(expected[0]) > 1
    for got in (map_to_boxes(amap, hw, threshold),
                map_to_boxes(amap, hw, threshold, **box_cfg_with_defaults())):
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def _fragmented_crack():
    """A 400x400 map with one crack (rows 100-110, columns 50-350) cut into 5 fragments by
    4-pixel gaps, and a separate spot far away."""
    blocks = [(100, 110, x, x + 56, 0.8) for x in range(50, 350, 60)]
    return _map_with_blocks((400, 400), blocks + [(300, 330, 300, 330, 0.9)])


@pytest.mark.parametrize('option', [dict(merge_gap=0.1), dict(close_frac=0.02)])
def test_fragments_of_one_defect_give_one_box(option):
    amap = _fragmented_crack()
    boxes, _ = map_to_boxes(amap, (400, 400), 0.5)
    assert len(boxes) == 6  # the reference: one box per fragment
    boxes, scores = map_to_boxes(amap, (400, 400), 0.5, **option)
    np.testing.assert_array_equal(boxes, [[300, 300, 330, 330], [50, 100, 346, 110]])
    np.testing.assert_allclose(scores, [0.9, 0.8])


def test_merged_fragments_are_kept_by_their_summed_area():
    # Three 4x4 pits 3 pixels apart (16 px each) at min area 40: dropped alone, kept merged.
    amap = _map_with_blocks((200, 200), [(50, 54, x, x + 4, 1.0) for x in (50, 57, 64)])
    assert len(map_to_boxes(amap, (200, 200), 0.5, min_area_floor=40)[0]) == 0
    boxes, _ = map_to_boxes(amap, (200, 200), 0.5, min_area_floor=40, merge_gap=1.0)
    np.testing.assert_array_equal(boxes, [[50, 50, 68, 54]])


def test_far_apart_defects_stay_separate():
    amap = _map_with_blocks((400, 400), [(10, 40, 10, 40, 0.9), (200, 230, 200, 230, 0.8)])
    boxes, _ = map_to_boxes(amap, (400, 400), 0.5, merge_gap=0.5, close_frac=0.02)
    np.testing.assert_array_equal(boxes, [[10, 10, 40, 40], [200, 200, 230, 230]])


@pytest.mark.parametrize('option', [dict(), dict(close_frac=0.02), dict(merge_gap=0.1)])
def test_a_ring_gives_one_filled_box(option):
    # A 60x60 ring, 4 pixels thick, with a blob inside its hole: one box, the hole filled (the
    # blob is inside the region and gives its score).
    amap = _map_with_blocks((300, 300), [(100, 160, 100, 160, 0.8), (104, 156, 104, 156, 0.0),
                                         (125, 135, 125, 135, 0.9)])
    boxes, scores = map_to_boxes(amap, (300, 300), 0.5, **option)
    np.testing.assert_array_equal(boxes, [[100, 100, 160, 160]])
    np.testing.assert_allclose(scores, [0.9])


def test_specks_below_the_relative_minimum_are_dropped():
    # BSData-sized image: the reference keeps regions of 44 px, 1e-4 of the image is 52 px.
    hw = (460, 1130)
    amap = _map_with_blocks(hw, [(10, 17, 10, 17, 0.9),        # 7x7 speck (49 px)
                                 (100, 107, 500, 507, 0.9),    # another
                                 (300, 310, 800, 810, 0.7)])   # a 10x10 pit (100 px)
    assert min_region_area(*hw) == 44 and min_region_area(*hw, frac=1e-4) == 52
    assert len(map_to_boxes(amap, hw, 0.5)[0]) == 3
    boxes, _ = map_to_boxes(amap, hw, 0.5, min_area_frac=1e-4)
    np.testing.assert_array_equal(boxes, [[800, 300, 810, 310]])


def _cored_halo():
    """A 300x300 map: a dim 60x60 halo (0.4) around a bright 10x10 core (0.9), and a dim
    40x40 blob (0.4) without a core; background 0."""
    return _map_with_blocks((300, 300), [(50, 110, 50, 110, 0.4), (75, 85, 75, 85, 0.9),
                                         (200, 240, 200, 240, 0.4)])


def test_grown_regions_take_a_defect_to_its_extent():
    amap = _cored_halo()
    boxes, _ = map_to_boxes(amap, (300, 300), 0.5)
    np.testing.assert_array_equal(boxes, [[75, 75, 85, 85]])  # the reference: the core only
    # low = 0.5 - 0.5 * (0.5 - median 0) = 0.25: the halo joins its core; the coreless blob
    # stays out
    boxes, scores = map_to_boxes(amap, (300, 300), 0.5, grow_frac=0.5)
    np.testing.assert_array_equal(boxes, [[50, 50, 110, 110]])
    np.testing.assert_allclose(scores, [0.9])
    # low = 0.45: above the halo, so nothing grows
    np.testing.assert_array_equal(map_to_boxes(amap, (300, 300), 0.5, grow_frac=0.1)[0],
                                  [[75, 75, 85, 85]])
    np.testing.assert_array_equal(map_to_boxes(amap, (300, 300), 0.5, grow_frac=0.0)[0],
                                  [[75, 75, 85, 85]])


def test_grown_regions_follow_an_affine_change_of_the_map():
    amap = _cored_halo()
    plain, _ = map_to_boxes(amap, (300, 300), 0.5, grow_frac=0.5)
    scaled, _ = map_to_boxes(3.0 * amap - 2.0, (300, 300), 3.0 * 0.5 - 2.0, grow_frac=0.5)
    np.testing.assert_array_equal(plain, scaled)


def test_box_option_errors():
    amap = _map_with_blocks((100, 100), [(10, 20, 10, 20, 1.0)])
    with pytest.raises(ValueError, match='close_frac'):
        map_to_boxes(amap, (100, 100), 0.5, close_frac=-0.1)
    with pytest.raises(ValueError, match='merge_gap'):
        map_to_boxes(amap, (100, 100), 0.5, merge_gap=-1)
    with pytest.raises(ValueError, match='min_area_frac'):
        map_to_boxes(amap, (100, 100), 0.5, min_area_frac=1.5)
    with pytest.raises(ValueError, match='grow_frac'):
        map_to_boxes(amap, (100, 100), 0.5, grow_frac=1.5)
    with pytest.raises(KeyError, match='unknown pseudo-box options'):
        box_cfg_with_defaults(dict(fill=True))


# --- thresholds -------------------------------------------------------------------------------

def _write_maps(map_dir, maps):
    for name, amap in maps.items():
        (map_dir / name).parent.mkdir(parents=True, exist_ok=True)
        np.save(map_dir / name, amap)


def test_streaming_mean_max_equals_in_memory_and_is_cached(tmp_path):
    rng = np.random.default_rng(0)
    maps = {f'sub/m{i}.npy': rng.random((8 + i, 10 + 2 * i)).astype(np.float16) * (i + 1)
            for i in range(7)}
    _write_maps(tmp_path, maps)
    expected = np.mean([m.astype(np.float32).max() for m in maps.values()]) - 0.1

    pooled = dict(type='mean_max', offset=-0.1, group='pool', scale='unit')
    first = resolve_threshold(tmp_path, pooled)
    assert first['value'] == pytest.approx(expected, rel=1e-6)
    assert not first['from_cache'] and first['n_maps'] == 7
    assert (tmp_path / THRESHOLD_CACHE_NAME).is_file()

    second = resolve_threshold(tmp_path, dict(pooled, offset=-0.2))
    assert second['from_cache'] and second['value'] == pytest.approx(expected - 0.1, rel=1e-6)

    maps['sub/m0.npy'] = np.full((8, 10), 100, np.float16)  # a changed map set
    _write_maps(tmp_path, {'sub/m0.npy': maps['sub/m0.npy']})
    os.utime(tmp_path / 'sub/m0.npy', ns=(1, 1))
    third = resolve_threshold(tmp_path, pooled)
    assert not third['from_cache']
    assert third['value'] == pytest.approx(
        np.mean([m.astype(np.float32).max() for m in maps.values()]) - 0.1, rel=1e-6)


def test_mean_max_leaves_out_bad_maps_and_lists_them(tmp_path):
    _write_maps(tmp_path, {'a.npy': np.ones((4, 4)), 'b.npy': np.full((4, 4), np.nan),
                           'c.npy': np.zeros((2, 3, 4))})
    plan = resolve_threshold(tmp_path, use_cache=False)
    assert plan['by_source'] == {'.': pytest.approx(0.9)}
    assert plan['n_maps'] == 1 and plan['n_failed'] == 2
    assert {Path(f['file']).name for f in plan['failed']} == {'b.npy', 'c.npy'}


def _brute_force_otsu(amap, steps=2000):
    """The threshold that maximises the between-class variance, by trying many."""
    best, best_t = -1.0, None
    for t in np.linspace(amap.min(), amap.max(), steps)[1:-1]:
        fg = amap > t
        w1 = fg.mean()
        score = w1 * (1 - w1) * (amap[fg].mean() - amap[~fg].mean()) ** 2
        if score > best:
            best, best_t = score, t
    return best_t


def test_per_image_thresholds():
    rng = np.random.default_rng(1)
    amap = rng.normal(0.2, 0.02, (64, 64)).astype(np.float32)
    amap[20:30, 20:30] = rng.normal(0.8, 0.02, (10, 10))
    t = otsu_threshold(amap)
    level = (amap.max() - amap.min()) / 255
    assert abs(t - _brute_force_otsu(amap)) <= 2 * level
    np.testing.assert_array_equal(amap > t, amap > 0.5)
    assert otsu_threshold(np.full((5, 5), 0.3)) == pytest.approx(0.3)
    assert not (np.full((5, 5), 0.3) > otsu_threshold(np.full((5, 5), 0.3))).any()

    assert image_threshold(amap, dict(type='quantile', q=0.9)) == pytest.approx(
        np.quantile(amap, 0.9))
    assert image_threshold(amap, dict(type='absolute', value=0.42)) == 0.42
    assert image_threshold(amap, dict(type='otsu')) == pytest.approx(t)
    assert image_threshold(amap, None, dataset_value=0.33) == 0.33
    with pytest.raises(ValueError, match='dataset-level'):
        image_threshold(amap, dict(type='mean_max'))


def test_threshold_config_errors():
    assert threshold_cfg_with_defaults(None) == dict(type='mean_max', offset=-0.1,
                                                     group='source', scale='auto')
    with pytest.raises(ValueError, match='unknown threshold type'):
        threshold_cfg_with_defaults(dict(type='median'))
    with pytest.raises(ValueError, match='needs a value'):
        threshold_cfg_with_defaults(dict(type='absolute'))
    with pytest.raises(KeyError, match='unknown options'):
        threshold_cfg_with_defaults(dict(type='otsu', q=0.5))


# --- bad inputs and the export tool -------------------------------------------------------------

def test_bad_inputs_are_skipped_listed_and_coco_stays_valid(tmp_path, caplog):
    img_dir, map_dir = tmp_path / 'img', tmp_path / 'maps'
    img_dir.mkdir()
    for name in ('good', 'no_map', 'nan_map', 'cube_map', 'pickled_map', 'broken_img'):
        cv2.imwrite(str(img_dir / f'{name}.jpg'), np.full((120, 160), 128, np.uint8))
    (img_dir / 'broken_img.jpg').write_bytes(b'not a jpeg at all')
    good = _map_with_blocks((60, 80), [(10, 20, 10, 30, 1.0)])
    _write_maps(map_dir, {'good.npy': good, 'nan_map.npy': np.full((60, 80), np.inf),
                          'cube_map.npy': np.zeros((3, 60, 80)), 'broken_img.npy': good})
    np.save(map_dir / 'pickled_map.npy', np.array([{'a': 1}], dtype=object), allow_pickle=True)

    out = tmp_path / 'out' / 'ann.json'
    with caplog.at_level(logging.WARNING, logger='agssp'):
        summary, _ = export_pseudo_boxes_coco(img_dir, map_dir, out,
                                              dict(type='absolute', value=0.5), workers=2)
    assert summary['images'] == 1 and summary['boxes'] == 1 and summary['skipped'] == 5
    reasons = {Path(s['file']).stem: s['reason'] for s in summary['skipped_inputs']}
    assert set(reasons) == {'no_map', 'nan_map', 'cube_map', 'pickled_map', 'broken_img'}
    assert 'not found' in reasons['no_map'] and 'NaN or inf' in reasons['nan_map']
    assert '2-D' in reasons['cube_map'] and 'unreadable image' in reasons['broken_img']
    assert 'nan_map' in caplog.text and 'broken_img' in caplog.text
    coco = COCO(str(out))
    assert len(coco.getImgIds()) == 1 and len(coco.getAnnIds()) == 1
    np.testing.assert_allclose(coco.loadAnns(coco.getAnnIds())[0]['bbox'], [20, 20, 40, 20])
    assert len(json.loads(out.with_name('ann.skipped.json').read_text())) == 5
    assert json.loads(out.with_name('ann.summary.json').read_text())['skipped'] == 5


def test_export_cli_keeps_empty_images_and_draws(tmp_path, capsys):
    img_dir, map_dir = tmp_path / 'img', tmp_path / 'maps'
    img_dir.mkdir()
    for i in range(4):
        cv2.imwrite(str(img_dir / f'{i}.png'), np.zeros((50, 50), np.uint8))
        blocks = [(5, 15, 5, 25, 1.0 + i)] if i % 2 else []
        _write_maps(map_dir, {f'{i}.npy': _map_with_blocks((50, 50), blocks)})
    out = tmp_path / 'ann.json'
    tool = load_script('tools/anomaly_maps_to_coco.py')
    assert tool.main(['--maps', str(map_dir), '--img-dir', str(img_dir), '--out', str(out),
                      '--draw', '2']) == 0
    coco = json.loads(out.read_text())
    assert len(coco['images']) == 4 and len(coco['annotations']) == 2
    assert coco['categories'] == [dict(id=1, name='defect')]
    assert len(list((tmp_path / 'ann_drawings').glob('*.png'))) == 2
    assert '"images_with_boxes": 2' in capsys.readouterr().out



@pytest.mark.parametrize('flags, boxes', [([], 6), (['--merge-gap', '0.1'], 2),
                                          (['--close-frac', '0.02'], 2)])
def test_export_cli_passes_the_box_rule_options(tmp_path, flags, boxes):
    img_dir, map_dir = tmp_path / 'img', tmp_path / 'maps'
    img_dir.mkdir()
    cv2.imwrite(str(img_dir / 'crack.png'), np.zeros((400, 400), np.uint8))
    _write_maps(map_dir, {'crack.npy': _fragmented_crack()})
    out = tmp_path / 'ann.json'
    tool = load_script('tools/anomaly_maps_to_coco.py')
    assert tool.main(['--maps', str(map_dir), '--img-dir', str(img_dir), '--out', str(out),
                      '--threshold', 'absolute', '--value', '0.5', *flags]) == 0
    assert len(json.loads(out.read_text())['annotations']) == boxes

def test_export_cli_passes_grow_frac(tmp_path):
    img_dir, map_dir = tmp_path / 'img', tmp_path / 'maps'
    img_dir.mkdir()
    cv2.imwrite(str(img_dir / 'halo.png'), np.zeros((300, 300), np.uint8))
    _write_maps(map_dir, {'halo.npy': _cored_halo()})
    tool = load_script('tools/anomaly_maps_to_coco.py')
    widths = []
    for flags in ([], ['--grow-frac', '0.5']):
        out = tmp_path / f'ann{len(flags)}.json'
        assert tool.main(['--maps', str(map_dir), '--img-dir', str(img_dir), '--out', str(out),
                          '--threshold', 'absolute', '--value', '0.5', *flags]) == 0
        widths += [a['bbox'][2] for a in json.loads(out.read_text())['annotations']]
    assert widths == [10, 60]


def test_box_options_benchmark_scores_a_pipeline_dir(tmp_path, capsys):
    work = tmp_path / 'pipeline'
    pool, maps = work / '01_data' / 'pool', work / '03_anomaly_maps' / 'maps'
    (pool / 'src').mkdir(parents=True)
    cv2.imwrite(str(pool / 'src' / 'halo.png'), np.zeros((300, 300), np.uint8))
    _write_maps(maps, {'src/halo.npy': _cored_halo()})
    truth = dict(images=[dict(id=1, file_name='src/halo.png', height=300, width=300)],
                 annotations=[dict(id=1, image_id=1, category_id=1, bbox=[50, 50, 60, 60],
                                   area=3600, iscrowd=0)],
                 categories=[dict(id=1, name='defect')])
    (work / '01_data' / 'truth.json').write_text(json.dumps(truth))
    (work / '01_data' / 'data.json').write_text(json.dumps(dict(
        unlabelled_dir=str(pool), unlabelled_boxes=str(work / '01_data' / 'truth.json'))))
    (work / '05_pseudo_boxes').mkdir()
    (work / '05_pseudo_boxes' / 'stage_done.json').write_text(json.dumps(dict(
        settings=dict(threshold=dict(type='absolute', value=0.5)))))
    bench = load_benchmark('pseudo_box_options')
    assert bench.main([str(work), '--workers', '1', '--variants', '', 'grow_frac=0.5']) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('| reference') or line.startswith('| grow_frac')]
    # the core alone misses the halo's true box; grown, it is found
    assert rows[0].split(' | ')[2] == '0.000 / 0.000'
    assert rows[1].split(' | ')[2] == '1.000 / 1.000'
    with pytest.raises(SystemExit, match='unknown pseudo-box options'):
        bench.parse_variant('grow=1')
    assert bench.parse_variant('top_k=5,min_area_frac=1e-3,merge_gap=None') == dict(
        top_k=5, min_area_frac=1e-3, merge_gap=None)
    assert isinstance(bench.parse_variant('min_area_divisor=50')['min_area_divisor'], int)
    with pytest.raises(SystemExit, match='not key='):
        bench.parse_variant('grow_frac=half')


# --- box quality ------------------------------------------------------------------------------

def test_rates_text_shows_a_dash_where_nothing_divides():
    assert rates_text(dict(recall=0.25, precision=None)) == '0.250 / -'


def test_greedy_matching_is_one_to_one_by_score():
    gt = [[0, 0, 10, 10]]
    pred = [[0, 0, 10, 11], [0, 0, 10, 10]]
    gt_hit, pred_hit = match_boxes(gt, pred, [0.9, 0.5])
    assert gt_hit.tolist() == [True] and pred_hit.tolist() == [True, False]


def test_pseudo_box_quality_by_size():
    def coco(images, boxes):
        return dict(images=[dict(id=i + 1, file_name=f'd/{n}') for i, n in enumerate(images)],
                    annotations=[dict(id=k + 1, image_id=i, bbox=b, score=0.5)
                                 for k, (i, b) in enumerate(boxes)])
    gt = coco(['a.jpg', 'b.jpg', 'free.jpg'],
              [(1, [0, 0, 10, 10]), (1, [50, 50, 100, 100]), (2, [0, 0, 200, 200])])
    pred = coco(['a.jpg', 'b.jpg', 'free.jpg'],
                [(1, [0, 0, 10, 10]), (2, [0, 0, 100, 100]), (3, [0, 0, 5, 5])])
    r = pseudo_box_quality(gt, pred)
    assert r['overall']['recall'] == pytest.approx(1 / 3)
    assert r['overall']['precision'] == pytest.approx(1 / 3)
    assert r['by_size']['small']['recall'] == 1.0
    assert r['by_size']['medium']['recall'] is None  # no medium ground truth
    assert r['by_size']['large']['recall'] == 0.0 and r['by_size']['large']['gt'] == 2
    assert r['by_size']['small']['precision'] == 0.5
    assert r['image_level'] == dict(defect_images=2, defect_images_with_boxes=2,
                                    free_images=1, free_images_with_boxes=1)


def test_pseudo_box_quality_at_iou_05_and_03():
    # A loose box (IoU 0.4 with its defect) counts at 0.3 only; an exact one at both.
    gt = dict(images=[dict(id=1, file_name='a.jpg')],
              annotations=[dict(id=1, image_id=1, bbox=[0, 0, 100, 100]),
                           dict(id=2, image_id=1, bbox=[300, 300, 10, 10])])
    pred = dict(images=[dict(id=1, file_name='a.jpg')],
                annotations=[dict(id=1, image_id=1, bbox=[0, 0, 100, 40], score=0.9),
                             dict(id=2, image_id=1, bbox=[300, 300, 10, 10], score=0.8)])
    r = pseudo_box_quality(gt, pred)
    assert sorted(r['by_iou']) == ['0.3', '0.5']
    assert r['overall'] == r['by_iou']['0.5']['overall']
    assert r['by_size'] == r['by_iou']['0.5']['by_size']
    assert r['by_iou']['0.5']['overall']['recall'] == 0.5
    assert r['by_iou']['0.3']['overall']['recall'] == 1.0
    assert r['by_iou']['0.3']['overall']['precision'] == 1.0
    assert r['by_iou']['0.5']['by_size']['large']['recall'] == 0.0
    assert r['by_iou']['0.3']['by_size']['large']['recall'] == 1.0
    assert r['by_iou']['0.5']['by_size']['small']['recall'] == 1.0
    r = pseudo_box_quality(gt, pred, iou_threshold=0.35, iou_thresholds=(0.3,))
    assert sorted(r['by_iou']) == ['0.3', '0.35'] and r['overall']['recall'] == 1.0


# --- real data: Magnetic Tile masks as maps give back their own boxes --------------------------

def _mt_subset(root):
    rels = list_image_relpaths(root, exclude_suffixes=('.png',))
    subset = []
    for cls in MT_DEFECT_CLASSES:
        subset += [r for r in rels if r.parts[0] == cls][:10]
    return subset + [r for r in rels if r.parts[0] == 'MT_Free'][:20]


def _component_boxes(mask_path):
    """Boxes of the 8-connected mask components above the min-area rule (independent of agssp)."""
    mask = (cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
    h, w = mask.shape
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_area = max((h // 100) * (w // 100), 10)
    return sorted((float(x), float(y), float(x + bw), float(y + bh))
                  for x, y, bw, bh, area in stats[1:] if area >= min_area)


def test_magnetic_tile_masks_as_maps_give_back_their_boxes(magnetic_tile_root, tmp_path):
    subset = _mt_subset(magnetic_tile_root)
    img_dir, map_dir = tmp_path / 'img', tmp_path / 'maps'
    for rel in subset:
        (img_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (img_dir / rel).symlink_to(magnetic_tile_root / rel)
    assert write_baseline_maps(magnetic_tile_root, map_dir, subset, 'mask') == []
    out = tmp_path / 'ann.json'
    summary, writer = export_pseudo_boxes_coco(img_dir, map_dir, out,
                                               dict(type='absolute', value=0.5), workers=2)
    assert summary['images'] == len(subset) and summary['skipped'] == 0

    boxes_by_file = {img['file_name']: [] for img in writer.images}
    names = {img['id']: img['file_name'] for img in writer.images}
    for ann in writer.annotations:
        x, y, w, h = ann['bbox']
        boxes_by_file[names[ann['image_id']]].append((x, y, x + w, y + h))
    n_defect_with_regions = 0
    for rel in subset:
        expected = _component_boxes((magnetic_tile_root / rel).with_suffix('.png'))
        got = sorted(boxes_by_file[rel.as_posix()])
        assert got == expected, rel
        if rel.parts[0] == 'MT_Free':
            assert got == [], rel
        elif expected:  # some masks are empty or hold only sub-min-area specks
            n_defect_with_regions += 1
            assert got, rel
    assert n_defect_with_regions >= 45
    gt = dict(images=writer.images,
              annotations=[dict(id=a['id'], image_id=a['image_id'], bbox=a['bbox'])
                           for a in writer.annotations])
    quality = pseudo_box_quality(gt, writer.to_dict())
    assert quality['overall']['recall'] == 1.0 and quality['overall']['precision'] == 1.0
