"""The dataset-level pseudo-box threshold: per source vs pooled, the offset's unit, the cache."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from script_modules import load_script

from agssp.anomaly.writer import generate_anomaly_maps
from agssp.pseudo_boxes.export import (THRESHOLD_CACHE_NAME, export_pseudo_boxes_coco,
                                       resolve_threshold)
from agssp.pseudo_boxes.thresholds import MapExtrema, map_source, mean_max_thresholds

REPO = Path(__file__).resolve().parents[1]


def _write(map_dir, maps):
    for rel, amap in maps.items():
        (map_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(map_dir / rel, amap.astype(np.float32))


def _blob_maps(rng, source, count, level, spread, bias=0.0):
    """``count`` maps of a source: noise plus one bright square each, values ``bias`` +
    ``spread`` * (noise around ``level``)."""
    maps = {}
    for i in range(count):
        amap = rng.normal(level, 0.05, (24, 24))
        y, x = rng.integers(2, 16, 2)
        amap[y:y + 6, x:x + 6] += rng.uniform(0.2, 0.5)
        maps[f'{source}/img{i:02d}.npy'] = bias + spread * amap
    return maps


def _images_for(img_dir, maps):
    for rel in maps:
        path = img_dir / Path(rel).with_suffix('.png')
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((48, 48), np.uint8))


def _boxes(coco):
    names = {im['id']: im['file_name'] for im in coco['images']}
    out = {name: [] for name in names.values()}
    for ann in coco['annotations']:
        out[names[ann['image_id']]].append(ann['bbox'])
    return out


def test_map_source_is_the_first_level_folder():
    assert map_source('neu_det/IMAGES/a.npy') == 'neu_det'
    assert map_source(Path('magnetic_tile/a.npy')) == 'magnetic_tile'
    assert map_source('a.npy') == '.'


def test_unit_maps_give_the_reference_threshold_per_source_and_pooled():
    rng = np.random.default_rng(0)
    extrema = MapExtrema()
    maxima = {'a': [], 'b': []}
    for source, level in (('a', 0.3), ('b', 0.6)):
        for i in range(5):
            amap = np.clip(rng.normal(level, 0.1, (8, 8)), 0, 1)
            extrema.add(f'{source}/{i}.npy', amap)
            maxima[source].append(float(amap.max()))
    rule = mean_max_thresholds(extrema)  # the default: per source, scale='auto'
    assert rule['scale'] == 'unit'
    for source in ('a', 'b'):
        assert rule['by_source'][source] == np.mean(maxima[source]) - 0.1
    assert rule['by_source']['a'] < rule['by_source']['b']
    pooled = mean_max_thresholds(extrema, group='pool')
    assert set(pooled['by_source'].values()) == {np.mean(maxima['a'] + maxima['b']) - 0.1}
    assert list(pooled['groups']) == ['pool'] and pooled['groups']['pool']['n_maps'] == 10


def test_kead_zero_shot_maps_give_mean_max_minus_0_1(tmp_path):
    from agssp.anomaly.kead import KeAD
    torch.manual_seed(0)
    tiny = dict(embed_dim=32,
                vision_cfg=dict(image_size=64, layers=12, width=64, patch_size=16, head_width=16),
                text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))
    model = KeAD('neu_det', random_init=True, model_overrides=tiny, input_size=(64, 64),
                 k_shot=0)
    rng = np.random.default_rng(0)
    for source in ('neu_det', 'magnetic_tile'):
        for i in range(3):
            (tmp_path / 'img' / source).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / 'img' / source / f'{i}.png'),
                        rng.integers(0, 255, (64, 64, 3), np.uint8))
    generate_anomaly_maps(model, tmp_path / 'img', tmp_path / 'maps', num_workers=0,
                          dtype='float32', progress=False)
    plan = resolve_threshold(tmp_path / 'maps')
    assert plan['scale'] == 'unit'
    for source in ('neu_det', 'magnetic_tile'):
        files = sorted((tmp_path / 'maps' / source).glob('*.npy'))
        maxima = [float(np.load(p).max()) for p in files]
        assert len(maxima) == 3
        assert plan['by_source'][source] == pytest.approx(np.mean(maxima) - 0.1, abs=1e-12)


def test_per_source_thresholds_differ_pooled_is_one(tmp_path):
    rng = np.random.default_rng(1)
    maps = {**_blob_maps(rng, 'neu_det', 6, 0.2, 1.0),
            **_blob_maps(rng, 'magnetic_tile', 6, 0.5, 1.0)}
    _write(tmp_path / 'maps', maps)
    _images_for(tmp_path / 'img', maps)
    per_source = resolve_threshold(tmp_path / 'maps', dict(type='mean_max', scale='unit'))
    pooled = resolve_threshold(tmp_path / 'maps', dict(type='mean_max', group='pool',
                                                       scale='unit'))
    by_source = per_source['by_source']
    assert per_source['value'] is None
    assert by_source['neu_det'] < by_source['magnetic_tile'] - 0.2
    assert pooled['value'] == pytest.approx(np.mean([m.max() for m in maps.values()]) - 0.1)
    assert set(pooled['by_source'].values()) == {pooled['value']}

    s_summary, s_writer = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'maps',
                                                   tmp_path / 'source.json',
                                                   dict(type='mean_max', scale='unit'))
    p_summary, p_writer = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'maps',
                                                   tmp_path / 'pool.json',
                                                   dict(type='mean_max', group='pool',
                                                        scale='unit'))
    thresholds = {im['file_name']: im['threshold'] for im in s_writer.to_dict()['images']}
    for name, value in thresholds.items():
        assert value == pytest.approx(by_source[map_source(name)])
    assert [im['threshold'] for im in p_writer.to_dict()['images']] == pytest.approx(
        [pooled['value']] * len(maps))
    # The pooled threshold sits above the dim source's own: that source loses boxes.
    assert p_summary['boxes'] != s_summary['boxes']


def test_affine_change_of_the_maps_gives_the_same_boxes(tmp_path):
    rng = np.random.default_rng(2)
    # SynthSeg-like: robust z-scores, negative and unbounded, two sources on other ranges.
    maps = {**_blob_maps(rng, 'a', 5, 0.0, 4.0, bias=-1.0),
            **_blob_maps(rng, 'b', 5, 0.0, 9.0, bias=2.0)}
    _images_for(tmp_path / 'img', maps)
    results = {}
    for name, (scale, shift) in {'raw': (1.0, 0.0), 'affine': (4.0, 7.0)}.items():
        _write(tmp_path / name, {rel: scale * m + shift for rel, m in maps.items()})
        for group in ('source', 'pool'):
            summary, writer = export_pseudo_boxes_coco(
                tmp_path / 'img', tmp_path / name, tmp_path / f'{name}_{group}.json',
                dict(type='mean_max', group=group))
            assert summary['threshold']['scale'] == 'spread'
            results[name, group] = _boxes(writer.to_dict()), summary['threshold']['by_source']
    for group in ('source', 'pool'):
        (raw_boxes, raw_t), (aff_boxes, aff_t) = results['raw', group], results['affine', group]
        assert sum(map(len, raw_boxes.values())) > 0
        assert raw_boxes == aff_boxes
        for source in raw_t:
            assert aff_t[source] == pytest.approx(4.0 * raw_t[source] + 7.0, rel=1e-5)
    # Unit maps forced onto the spread scale are invariant too.
    unit = {rel: (m + 1.0) / 40.0 for rel, m in maps.items()}
    _write(tmp_path / 'unit', unit)
    _write(tmp_path / 'unit_x3', {rel: 3.0 * m for rel, m in unit.items()})
    spread = dict(type='mean_max', scale='spread')
    _, w1 = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'unit', tmp_path / 'u.json',
                                     spread)
    _, w3 = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'unit_x3', tmp_path / 'u3.json',
                                     spread)
    assert _boxes(w1.to_dict()) == _boxes(w3.to_dict()) == results['raw', 'source'][0]


def test_the_cache_serves_every_mode_with_its_own_value(tmp_path):
    rng = np.random.default_rng(3)
    maps = {**_blob_maps(rng, 'a', 4, 0.2, 1.0), **_blob_maps(rng, 'b', 4, 0.5, 3.0)}
    _write(tmp_path, maps)
    modes = [dict(type='mean_max', group=g, scale=s, offset=o) for g in ('source', 'pool')
             for s in ('auto', 'unit', 'spread') for o in (-0.1, -0.2)]
    fresh = {json.dumps(m): resolve_threshold(tmp_path, m, use_cache=False) for m in modes}
    assert not (tmp_path / THRESHOLD_CACHE_NAME).exists()
    first = resolve_threshold(tmp_path, modes[0])
    assert not first['from_cache']
    values = set()
    for mode in modes:
        plan = resolve_threshold(tmp_path, mode)
        assert plan['from_cache']
        expected = fresh[json.dumps(mode)]
        assert plan['by_source'] == pytest.approx(expected['by_source'])
        assert plan['scale'] == expected['scale']
        values.add(tuple(round(v, 9) for v in plan['by_source'].values()))
    assert len(values) == len(modes) - 4  # auto is spread here (maps beyond [0, 1])


def test_a_source_without_usable_maps_skips_its_images(tmp_path):
    rng = np.random.default_rng(4)
    maps = _blob_maps(rng, 'good', 3, 0.2, 1.0)
    maps['bad/x.npy'] = np.full((4, 4), np.nan)
    _write(tmp_path / 'maps', maps)
    _images_for(tmp_path / 'img', maps)
    summary, _ = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'maps',
                                          tmp_path / 'ann.json')
    assert summary['images'] == 3 and summary['skipped'] == 1
    assert "source 'bad' has no usable map" in summary['skipped_inputs'][0]['reason']


def test_threshold_options_are_checked():
    with pytest.raises(ValueError, match='group'):
        resolve_threshold('.', dict(type='mean_max', group='dataset'))
    with pytest.raises(ValueError, match='scale'):
        resolve_threshold('.', dict(type='mean_max', scale='minmax'))


@pytest.mark.integration
def test_export_cli_pooled_option(tmp_path):
    rng = np.random.default_rng(5)
    maps = {**_blob_maps(rng, 'a', 3, 0.2, 1.0), **_blob_maps(rng, 'b', 3, 0.5, 1.0)}
    _write(tmp_path / 'maps', maps)
    _images_for(tmp_path / 'img', maps)
    for group in ('source', 'pool'):
        out = subprocess.run(
            [sys.executable, str(REPO / 'tools' / 'anomaly_maps_to_coco.py'), '--maps',
             str(tmp_path / 'maps'), '--img-dir', str(tmp_path / 'img'), '--out',
             str(tmp_path / f'{group}.json'), '--group', group], capture_output=True, text=True,
            cwd=REPO, timeout=120)
        assert out.returncode == 0, out.stderr
        summary = json.loads((tmp_path / f'{group}.summary.json').read_text())
        assert summary['threshold']['cfg']['group'] == group
        assert len(set(summary['threshold']['by_source'].values())) == (2 if group == 'source'
                                                                        else 1)


def test_eval_tool_by_source(tmp_path, capsys):
    tool = load_script('tools/eval_pseudo_boxes.py')
    rng = np.random.default_rng(6)
    maps = {**_blob_maps(rng, 'a', 3, 0.2, 1.0), **_blob_maps(rng, 'b', 3, 0.5, 1.0)}
    _write(tmp_path / 'maps', maps)
    _images_for(tmp_path / 'img', maps)
    _, writer = export_pseudo_boxes_coco(tmp_path / 'img', tmp_path / 'maps', tmp_path / 'p.json')
    pred = writer.to_dict()
    gt = dict(pred, annotations=[a for a in pred['annotations']
                                 if not pred['images'][a['image_id'] - 1]['file_name']
                                 .startswith('b/')])
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    assert tool.main(['--gt', str(tmp_path / 'gt.json'), '--pred', str(tmp_path / 'p.json'),
                      '--by-source']) == 0
    result = json.loads((tmp_path / 'p.quality.json').read_text())
    assert result['by_source']['a']['recall'] == result['by_source']['a']['precision'] == 1.0
    assert result['by_source']['b']['gt'] == 0 and result['by_source']['b']['precision'] == 0.0
    assert 'source a: recall  1.000' in capsys.readouterr().out


def test_pipeline_stage_records_the_full_threshold_and_quality_per_source(tmp_path):
    from mmengine.config import Config

    from agssp.pipeline.agssp_pipeline import AgsspPipeline
    pipeline = AgsspPipeline(Config(dict(pseudo_boxes=dict(
        threshold=dict(type='mean_max', offset=-0.1), workers=1, num_drawn=2))), tmp_path)
    settings = pipeline.pseudo_box_settings()
    assert settings['threshold'] == dict(type='mean_max', offset=-0.1, group='source',
                                         scale='auto')
    rng = np.random.default_rng(7)
    maps = {**_blob_maps(rng, 'a', 3, 0.2, 1.0), **_blob_maps(rng, 'b', 3, 0.5, 1.0)}
    _write(pipeline.maps_dir, maps)
    _images_for(tmp_path / 'pool', maps)
    _, writer = export_pseudo_boxes_coco(tmp_path / 'pool', pipeline.maps_dir,
                                         tmp_path / 'truth.json')
    pipeline.stage_dir('data').mkdir(parents=True)
    (pipeline.stage_dir('data') / 'data.json').write_text(json.dumps(dict(
        unlabelled_dir=str(tmp_path / 'pool'), unlabelled_boxes=str(tmp_path / 'truth.json'))))
    out = pipeline.stage_dir('pseudo_boxes')
    out.mkdir(parents=True)
    result = pipeline.run_pseudo_boxes(out)
    assert set(result['threshold']['by_source']) == {'a', 'b'}
    assert set(result['quality_by_source']) == {'a', 'b'}
    assert all(q['recall'] == 1.0 for q in result['quality_by_source'].values())
