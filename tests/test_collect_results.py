"""tools/collect_results.py: the paper-style table from work dirs laid out as mmengine lays them."""
import csv
import json

import pytest
from detector_helpers import CONFIGS
from mmengine.config import Config
from script_modules import load_script

from agssp.engine import adapt
from agssp.evaluation.results_table import describe_run

NEU = ('crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale', 'scratches')


def _validation(epoch, map50, map_, classes=NEU):
    record = {f'coco/{c}_precision': round(map_ + 0.01 * i, 3) for i, c in enumerate(classes)}
    record.update({'coco/bbox_mAP': map_, 'coco/bbox_mAP_50': map50, 'coco/bbox_mAP_75': 0.1,
                   'data_time': 0.01, 'time': 0.1, 'step': epoch})
    return record


def _run(root, rel, dataset, records, monkeypatch, stamp='20250101_000000'):
    """A work dir as mmengine writes it: <stamp>/vis_data/{config.py, scalars.json}."""
    cfg = adapt(Config.fromfile(str(CONFIGS / rel)), dataset=dataset)
    work_dir = root / (CONFIGS / rel).stem / dataset
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    Config(cfg.to_dict(), format_python_code=False).dump(str(vis / 'config.py'))
    train = {'loss': 1.0, 'lr': 0.01, 'epoch': 1, 'iter': 1, 'step': 1}
    (vis / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in [train, *records]) + '\n')
    return work_dir


def test_table_from_work_dirs(tmp_path, monkeypatch, capsys):
    root = tmp_path / 'work_dirs'
    yolo = 'finetune/yolo/yolov8_s_cspdarknet_{}.py'
    _run(root, yolo.format('agssp'), 'neu_det',
         [_validation(10, 0.70, 0.40), _validation(20, 0.75, 0.35), _validation(30, 0.72, 0.45)],
         monkeypatch)
    _run(root, yolo.format('baseline'), 'neu_det', [_validation(10, 0.60, 0.30)], monkeypatch)
    _run(root, yolo.format('agbp'), 'neu_det', [_validation(10, 0.65, 0.33)], monkeypatch)
    _run(root, 'finetune/dino/dino-4scale_swin-b-w6_agssp.py', 'magnetic_tile',
         [_validation(10, 0.5, 0.2, classes=('Blowhole', 'Crack'))], monkeypatch)
    _run(root, yolo.format('baseline'), 'gc10_det', [], monkeypatch)  # no validation yet
    out = tmp_path / 'results.md'

    assert load_script('tools/collect_results.py').main([str(root), '--out', str(out)]) == 0

    assert 'skipped' in capsys.readouterr().err
    lines = out.read_text().splitlines()
    rows = [line for line in lines[2:] if line.startswith('| ') and 'work_dirs' in line]
    # by dataset, then scratch / AGBP / AGSSP; the best mAP@0.5 and the mAP of that epoch
    assert [r.split(' | ')[2] for r in rows] == ['AGSSP', 'scratch', 'AGBP', 'AGSSP']
    assert rows[0].startswith('| Swin-B (window 6) | DINO (4 scales) | AGSSP | magnetic_tile')
    assert rows[3].startswith('| CSPDarknet | YOLOv8-s | AGSSP | neu_det | 75.0 | 35.0 | 20 |')
    table = list(csv.DictReader(out.with_suffix('.csv').open()))
    assert len(table) == 4
    assert float(table[3]['mAP@0.5']) == 0.75 and float(table[3]['AP inclusion']) == 0.36
    assert table[0]['AP inclusion'] == '' and float(table[0]['AP Crack']) == 0.21
    assert out.with_suffix('.png').stat().st_size > 0


def test_no_result_and_missing_dir_exit_codes(tmp_path, capsys):
    main = load_script('tools/collect_results.py').main
    (tmp_path / 'empty').mkdir()
    assert main([str(tmp_path / 'empty'), '--out', str(tmp_path / 'r.md')]) == 1
    assert main([str(tmp_path / 'nowhere'), '--out', str(tmp_path / 'r.md')]) == 2
    assert 'work dir not found' in capsys.readouterr().err
    assert not (tmp_path / 'r.md').exists()


@pytest.mark.parametrize('init_cfg, load_from, expected', [
    (None, None, 'scratch'),
    (dict(type='Pretrained', checkpoint='ckpts/resnet50_in1k.pth'), None,
     'baseline: resnet50_in1k.pth'),
])
def test_baseline_is_named_after_its_backbone_weights(init_cfg, load_from, expected):
    cfg = Config.fromfile(str(CONFIGS / 'finetune/yolo/yolov8_s_resnet50_baseline.py'))
    cfg.model.backbone.init_cfg = init_cfg
    cfg.load_from = load_from
    row = describe_run(cfg)
    assert row == dict(backbone='ResNet-50', detector='YOLOv8-s', pretraining=expected,
                       dataset='neu_det')


def test_a_config_without_run_info_is_described_from_its_model():
    row = describe_run(Config.fromfile(str(CONFIGS / 'finetune/yolo/yolov8_s_cspdarknet_demo.py')))
    assert row['detector'] == 'YOLODetector' and row['backbone'] == 'YOLOv8CSPDarknet'
    assert row['pretraining'] == 'scratch' and row['dataset'] == 'demo'
