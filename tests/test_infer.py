"""tools/infer.py's logic on every shipped detector family: each AGSSP fine-tuning config at a
tiny image size, an untrained checkpoint, two generated images and one corrupt file."""
import json
import shlex
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from detector_helpers import REPO, build_detector, tiny_config

from agssp.inference import collect_inputs, read_image, run_inference

pytestmark = pytest.mark.integration

torch.set_num_threads(1)

# config -> image size (DINO's 100 queries need more encoder tokens than 64 px gives)
FAMILIES = {
    'yolo/yolov8_s_cspdarknet_agssp.py': 64,
    'yolo/yolov8_s_resnet50_agssp.py': 64,
    'yolo/yolov8_s_swin-b-w6_agssp.py': 64,
    'yolo/yolov8_s_swin-b-w7_agssp.py': 64,
    'faster_rcnn/faster-rcnn_swin-b-w6_fpn_agssp.py': 64,
    'dino/dino-4scale_swin-b-w6_agssp.py': 128,
}


def _write_inputs(folder, size):
    """Two images (one grey, one colour, of different sizes) and a corrupt ``.jpg``."""
    rng = np.random.default_rng(0)
    (folder / 'sub').mkdir(parents=True)
    cv2.imwrite(str(folder / 'a.png'), rng.integers(0, 255, (size, size), dtype=np.uint8))
    cv2.imwrite(str(folder / 'sub' / 'b.jpg'),
                rng.integers(0, 255, (size // 2, size + 8, 3), dtype=np.uint8))
    (folder / 'broken.jpg').write_bytes(b'not an image')
    (folder / 'notes.txt').write_text('not an image name, not an input')
    return {'a.png': (size, size), 'sub/b.jpg': (size // 2, size + 8)}


def _untrained_detector(rel, size, tmp_path):
    """The config at ``size`` px dumped to a file, and a checkpoint of its untrained detector
    with the class names in its meta, as mmengine's CheckpointHook saves them."""
    cfg = tiny_config(f'finetune/{rel}', size=size)
    config = tmp_path / 'config.py'
    cfg.dump(str(config))
    model = build_detector(cfg)
    classes = list(cfg.test_dataloader.dataset.metainfo.classes)
    checkpoint = tmp_path / 'untrained.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=classes))),
               checkpoint)
    return config, checkpoint, classes


@pytest.mark.parametrize('rel', sorted(FAMILIES), ids=lambda r: r.split('/')[1][:-3])
def test_every_detector_family_writes_coco_predictions_and_drawn_images(rel, tmp_path, caplog):
    size = FAMILIES[rel]
    config, checkpoint, classes = _untrained_detector(rel, size, tmp_path)
    shapes = _write_inputs(tmp_path / 'images', size)
    out = tmp_path / 'out'

    summary = run_inference(config, checkpoint, tmp_path / 'images', out, score_thr=0.0,
                            progress=False)

    result = json.loads((out / 'predictions.json').read_text())
    assert summary['images'] == 2 and summary['skipped'] == 1
    assert result['summary']['skipped_by_reason'] == {'not a decodable image': 1}
    assert 'broken.jpg: not a decodable image' in caplog.text
    assert result['skipped'] == [dict(file=str(tmp_path / 'images' / 'broken.jpg'),
                                      reason='not a decodable image')]
    assert [c['name'] for c in result['categories']] == classes
    assert [c['id'] for c in result['categories']] == list(range(1, len(classes) + 1))
    images = {img['file_name']: img for img in result['images']}
    assert set(images) == set(shapes)
    for name, (height, width) in shapes.items():
        assert (images[name]['height'], images[name]['width']) == (height, width)
        drawn = cv2.imread(str(out / images[name]['drawn']))
        assert drawn is not None and drawn.shape[:2] == (height, width)
    anns = result['annotations']
    assert anns, 'an untrained detector at score_thr 0 still scores some boxes'
    assert summary['boxes'] == len(anns)
    shape_of = {img['id']: shapes[img['file_name']] for img in result['images']}
    for ann in anns:
        x, y, w, h = ann['bbox']
        height, width = shape_of[ann['image_id']]
        assert w > 0 and h > 0 and -1 <= x and -1 <= y and x + w <= width + 1 \
            and y + h <= height + 1, (ann, width, height)
        assert result['categories'][ann['category_id'] - 1]['name'] == ann['category_name']
        assert 0.0 <= ann['score'] <= 1.0


def test_score_threshold_keeps_only_higher_scores_and_the_cli_runs(tmp_path):
    config, checkpoint, _ = _untrained_detector('yolo/yolov8_s_cspdarknet_agssp.py', 64,
                                                tmp_path)
    _write_inputs(tmp_path / 'images', 64)
    all_scores = run_inference(config, checkpoint, tmp_path / 'images', tmp_path / 'all', 0.0,
                               progress=False)
    scores = sorted(a['score'] for a in json.loads(
        (tmp_path / 'all' / 'predictions.json').read_text())['annotations'])
    threshold = scores[len(scores) // 2]
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'infer.py'), str(config), str(checkpoint),
         str(tmp_path / 'images' / '*.png'), '--out-dir', str(tmp_path / 'cli'),
         '--score-thr', str(threshold)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / 'cli' / 'predictions.json').read_text())
    assert [img['file_name'] for img in result['images']] == ['a.png']  # the glob's matches
    kept = [a['score'] for a in result['annotations']]
    assert kept and min(kept) >= threshold
    on_a = [a['score'] for a in json.loads((tmp_path / 'all' / 'predictions.json').read_text())[
        'annotations'] if a['image_id'] == 1 and a['score'] >= threshold]
    assert sorted(kept) == pytest.approx(sorted(on_a), abs=1e-5)
    assert all_scores['boxes'] > len(kept)
    assert (tmp_path / 'cli' / 'drawn' / 'a.png').is_file()
    assert 'predictions:' in proc.stdout


def test_inputs_and_bad_files(tmp_path):
    _write_inputs(tmp_path, 32)
    root, files = collect_inputs(tmp_path)
    assert root == tmp_path
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ['a.png', 'broken.jpg',
                                                                    'sub/b.jpg']
    root, files = collect_inputs(str(tmp_path / '**' / '*.jpg'))
    assert root == tmp_path and len(files) == 2
    assert collect_inputs(tmp_path / 'sub' / 'b.jpg') == (tmp_path / 'sub',
                                                         [tmp_path / 'sub' / 'b.jpg'])
    (tmp_path / 'empty.png').write_bytes(b'')
    assert read_image(tmp_path / 'empty.png') == (None, 'empty file')
    assert read_image(tmp_path / 'broken.jpg') == (None, 'not a decodable image')
    assert read_image(tmp_path / 'a.png')[0].shape == (32, 32, 3)
    with pytest.raises(FileNotFoundError, match='no_such_folder'):
        collect_inputs(tmp_path / 'no_such_folder')
    with pytest.raises(FileNotFoundError, match='no image files'):
        collect_inputs(str(tmp_path / '*.bmp'))


def test_a_checkpoint_of_another_detector_is_refused(tmp_path):
    config, _, _ = _untrained_detector('yolo/yolov8_s_cspdarknet_agssp.py', 64, tmp_path)
    other = tmp_path / 'other'
    other.mkdir()
    _, checkpoint, _ = _untrained_detector('yolo/yolov8_s_resnet50_agssp.py', 64, other)
    _write_inputs(tmp_path / 'images', 64)
    with pytest.raises(ValueError, match='does not fit the detector'):
        run_inference(config, checkpoint, tmp_path / 'images', tmp_path / 'out',
                      progress=False)


def test_the_pipeline_reports_command_runs_its_best_model_by_validation(tmp_path):
    from mmengine.config import Config

    from agssp.pipeline.agssp_pipeline import AgsspPipeline
    from agssp.pipeline.report import infer_command

    pipeline = AgsspPipeline(Config.fromfile(str(REPO / 'configs' / 'pipeline' / 'demo.py')),
                             tmp_path / 'work')
    runs = {}  # validation picks agssp_seed0; the test figures (overall) would pick scratch
    for name, val_map50, test_map50 in (('scratch_seed0', 0.1, 0.3), ('agssp_seed0', 0.2, 0.1)):
        run_dir = pipeline.stage_dir('finetune') / name
        log = run_dir / '20261202_000000' / 'vis_data' / 'scalars.json'
        log.parent.mkdir(parents=True)
        log.write_text(json.dumps({'step': 1, 'coco/bbox_mAP_50': val_map50}) + '\n')
        config, checkpoint, _ = _untrained_detector('yolo/yolov8_s_cspdarknet_agssp.py', 64,
                                                    run_dir)
        config.rename(run_dir / 'config.py')
        runs[name] = dict(checkpoint=str(checkpoint), overall=dict(mAP50=test_map50, mAP=0.0))
    _write_inputs(tmp_path / 'val', 64)

    info = dict(val_ann='val.json', val_img_dir=str(tmp_path / 'unused'), test_ann='test.json',
                test_img_dir=str(tmp_path / 'val'))  # the command runs on the test images
    name, command = infer_command(pipeline, runs, info, 0.0)

    assert name == 'agssp_seed0' and 'agssp_seed0/untrained.pth' in command
    proc = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / 'work' / 'infer_agssp_seed0' / 'predictions.json')
                        .read_text())
    assert len(result['images']) == 2 and len(result['skipped']) == 1
