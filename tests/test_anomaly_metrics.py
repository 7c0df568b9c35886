"""Anomaly-map metrics on inputs with known answers, and the evaluation tool end to end."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from script_modules import load_script
from sklearn.metrics import average_precision_score, roc_auc_score

from agssp.core.anomaly_maps import resize_map
from agssp.core.fileio import atomic_save_npy
from agssp.evaluation.anomaly_metrics import (AnomalyMetricAccumulator, format_table, mask_regions,
                                              pixel_metrics)

METRICS = ('image_auroc', 'pixel_auroc', 'pixel_ap', 'aupro')


def toy_masks(count=6, size=32, seed=0):
    """Masks of `count` images; odd ones hold two defect regions."""
    rng = np.random.default_rng(seed)
    masks = []
    for i in range(count):
        mask = np.zeros((size, size), bool)
        if i % 2:
            y, x = rng.integers(2, size // 2, 2)
            mask[y:y + 4, x:x + 6] = True
            mask[size - 8:size - 3, size - 9:size - 2] = True
        masks.append(mask)
    return masks


def brute_force_aupro(maps, masks, max_fpr=0.3):
    """AUPRO by its definition: a threshold loop, regions one by one."""
    regions, negatives = [], []
    for amap, mask in zip(maps, masks):
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        regions += [amap[labels == k] for k in range(1, count)]
        negatives.append(amap[~mask])
    negatives = np.concatenate(negatives)
    thresholds = np.unique(np.concatenate([negatives, *regions]))[::-1]
    fpr = [0.0] + [float(np.mean(negatives >= t)) for t in thresholds]
    pro = [0.0] + [float(np.mean([np.mean(r >= t) for r in regions])) for t in thresholds]
    fpr, pro = np.array(fpr), np.array(pro)
    inside = fpr <= max_fpr
    x = np.r_[fpr[inside], max_fpr]
    y = np.r_[pro[inside], np.interp(max_fpr, fpr, pro)]
    return np.trapz(y, x) / max_fpr


def test_perfect_map_scores_one_and_inverted_scores_zero():
    masks = toy_masks()
    perfect, inverted = AnomalyMetricAccumulator(), AnomalyMetricAccumulator()
    for i, mask in enumerate(masks):
        amap = mask.astype(np.float32)
        perfect.add(amap, mask, f'im{i}', cls=f'c{i % 3}')
        inverted.add(1 - amap, mask, f'im{i}', cls=f'c{i % 3}', score=-float(amap.max()))
    good, bad = perfect.compute(), inverted.compute()
    for rows in (good['per_class'].values(), [good['overall'], good['mean_over_classes']]):
        for row in rows:
            assert [row[m] for m in METRICS] == [1.0, 1.0, 1.0, 1.0]
    for m in ('image_auroc', 'pixel_auroc', 'aupro'):
        assert bad['overall'][m] == 0.0
    assert bad['overall']['pixel_ap'] < 0.2
    assert bad['settings']['image_score'] == 'given'
    assert good['settings']['image_score'] == 'map max'
    assert 'overall' in format_table(good) and 'c2' in format_table(good)


def test_pixel_metrics_match_scikit_learn_with_ties_and_weights():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 30, 4000).astype(np.float32)
    labels = rng.random(4000) < 0.2
    scores[labels] += 5
    weights = rng.uniform(0.5, 4, 4000)
    got = pixel_metrics(scores, labels, weights)
    assert got['pixel_auroc'] == pytest.approx(roc_auc_score(labels, scores,
                                                             sample_weight=weights), abs=1e-9)
    assert got['pixel_ap'] == pytest.approx(average_precision_score(labels, scores,
                                                                    sample_weight=weights),
                                            abs=1e-9)


def test_aupro_equals_its_definition():
    rng = np.random.default_rng(2)
    masks = toy_masks(8, seed=2)
    maps = [np.round(m * rng.uniform(0.2, 1.0) + rng.random(m.shape), 2).astype(np.float32)
            for m in masks]
    acc = AnomalyMetricAccumulator(max_pixels=None)
    for i, (amap, mask) in enumerate(zip(maps, masks)):
        acc.add(amap, mask, f'im{i}')
    assert acc.compute()['overall']['aupro'] == pytest.approx(brute_force_aupro(maps, masks),
                                                              abs=1e-9)


def test_aupro_known_value():
    """Region A fully hit, half of region B, no false positives: PRO 0.75 at FPR 0, 1 at 1."""
    mask = np.zeros((20, 20), bool)
    mask[2:6, 2:6] = True
    mask[10:18, 10:14] = True
    amap = np.zeros((20, 20), np.float32)
    amap[2:6, 2:6] = 1
    amap[10:14, 10:14] = 1
    acc = AnomalyMetricAccumulator(max_pixels=None)
    acc.add(amap, mask, 'one')
    # trapezoid from (0, 0.75) to (0.3, 0.825), divided by 0.3
    assert acc.compute()['overall']['aupro'] == pytest.approx(0.7875)
    assert mask_regions(mask)[0] == 2


def test_subsampling_is_deterministic_and_close_to_exact():
    rng = np.random.default_rng(3)
    masks = toy_masks(10, size=96, seed=3)
    maps = [m * 0.5 + rng.random(m.shape).astype(np.float32) for m in masks]
    results = []
    for max_pixels, order in ((None, 1), (300, 1), (300, -1)):
        acc = AnomalyMetricAccumulator(max_pixels=max_pixels)
        for i in list(range(len(masks)))[::order]:
            acc.add(maps[i], masks[i], f'im{i}')
        results.append(acc.compute())
    exact, sampled, reversed_order = (r['overall'] for r in results)
    for m in METRICS:
        assert sampled[m] == reversed_order[m]
        assert sampled[m] == pytest.approx(exact[m], abs=0.03)
    assert results[1]['settings']['subsampled_images'] == 10
    assert results[0]['settings']['subsampled_images'] == 0


def test_normal_class_joins_every_other_class():
    masks = toy_masks(6)
    acc = AnomalyMetricAccumulator(normal_class='Free')
    for i, mask in enumerate(masks):
        cls = 'Free' if not mask.any() else ('A' if i < 3 else 'B')
        acc.add(mask * 1.0, mask, f'im{i}', cls=cls)
    res = acc.compute()
    assert list(res['per_class']) == ['A', 'B']
    assert res['per_class']['A']['images'] == 1 + 3 and res['per_class']['A']['image_auroc'] == 1


def test_resize_map_is_bilinear_to_the_given_size():
    amap = np.array([[0, 1], [2, 3]], np.float16)
    big = resize_map(amap, (4, 6))
    assert big.shape == (4, 6) and big.dtype == np.float32
    assert big.min() == 0 and big.max() == 3 and 0 < big[1, 2] < 3
    assert resize_map(np.full((3, 3), 7.0), (5, 2)).tolist() == [[7.0, 7.0]] * 5


def run_tool(*argv):
    tool = load_script('tools/eval_anomaly_maps.py')
    return tool.main([str(a) for a in argv] + ['--no-progress'])


def write_mask_layout(root, maps_root, names):
    """Magnetic-Tile layout (x.jpg + x.png) and perfect maps (the mask at half size)."""
    rng = np.random.default_rng(4)
    for rel, has_defect in names:
        image = rng.integers(0, 255, (40, 60), np.uint8)
        mask = np.zeros((40, 60), np.uint8)
        if has_defect:
            mask[10:20, 20:35] = 255
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), image)
        cv2.imwrite(str((root / rel).with_suffix('.png')), mask)
        small = cv2.resize((mask > 127).astype(np.float32), (30, 20), interpolation=cv2.INTER_AREA)
        atomic_save_npy((maps_root / rel).with_suffix('.npy'), small.astype(np.float16))


def test_eval_tool_writes_table_json_and_overlays(tmp_path, capsys):
    images, maps, out = tmp_path / 'images', tmp_path / 'maps', tmp_path / 'eval'
    names = [(f'MT_Crack/Imgs/c{i}.jpg', True) for i in range(3)] + \
            [(f'MT_Free/Imgs/f{i}.jpg', False) for i in range(3)]
    write_mask_layout(images, maps, names)
    assert run_tool('--maps', maps, '--img-dir', images, '--masks', 'magnetic-tile',
                    '--out-dir', out, '--overlays-per-class', 2) == 0
    report = json.loads((out / 'metrics.json').read_text())
    assert list(report['per_class']) == ['MT_Crack']
    assert report['overall']['image_auroc'] == 1.0 and report['overall']['aupro'] > 0.95
    assert report['not_evaluated'] == []
    pngs = sorted(p.relative_to(out / 'overlays').as_posix() for p in out.rglob('*.png'))
    assert pngs == ['MT_Crack/Imgs/c0.png', 'MT_Crack/Imgs/c2.png', 'MT_Free/Imgs/f0.png',
                    'MT_Free/Imgs/f2.png']
    overlay = cv2.imread(str(out / 'overlays' / pngs[0]))
    assert overlay.shape[1] == 3 * 60 + 2 * 4
    assert 'MT_Crack' in capsys.readouterr().out

    (maps / 'MT_Free' / 'Imgs' / 'f1.npy').unlink()
    (maps / 'MT_Crack' / 'Imgs' / 'c1.npy').write_bytes(b'garbage')
    assert run_tool('--maps', maps, '--img-dir', images, '--masks', 'magnetic-tile',
                    '--out-dir', out) == 1
    report = json.loads((out / 'metrics.json').read_text())
    reasons = {p['image']: p['reason'] for p in report['not_evaluated']}
    assert set(reasons) == {'MT_Crack/Imgs/c1.jpg', 'MT_Free/Imgs/f1.jpg'}
    assert 'not a readable .npy' in reasons['MT_Crack/Imgs/c1.jpg']
    assert 'map file not found' in reasons['MT_Free/Imgs/f1.jpg']
    assert report['overall']['images'] == 4
    assert run_tool('--maps', maps, '--img-dir', images, '--masks', 'magnetic-tile',
                    '--out-dir', out, '--allow-missing') == 0


def test_masks_as_maps_score_one_on_real_magnetic_tile(magnetic_tile_root, tmp_path):
    images, maps = tmp_path / 'images', tmp_path / 'maps'
    acc_names = []
    for cls in ('MT_Crack', 'MT_Free'):
        for jpg in sorted((magnetic_tile_root / cls / 'Imgs').glob('*.jpg'))[:3]:
            rel = Path(cls) / jpg.name
            (images / rel).parent.mkdir(parents=True, exist_ok=True)
            (images / rel).symlink_to(jpg)
            (images / rel).with_suffix('.png').symlink_to(jpg.with_suffix('.png'))
            mask = cv2.imread(str(jpg.with_suffix('.png')), cv2.IMREAD_GRAYSCALE) > 127
            atomic_save_npy(maps / rel.with_suffix('.npy'), mask.astype(np.float16))
            acc_names.append(rel)
    out = tmp_path / 'eval'
    assert run_tool('--maps', maps, '--img-dir', images, '--masks', 'magnetic-tile',
                    '--out-dir', out, '--overlays-per-class', 1) == 0
    overall = json.loads((out / 'metrics.json').read_text())['overall']
    assert [overall[m] for m in METRICS] == [1.0, 1.0, 1.0, 1.0]
    assert overall['images'] == len(acc_names) == 6
