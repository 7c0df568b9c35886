"""The anomaly-map generator: outputs, corrupt images, resume after a kill, 2-process sharding."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anomaly_toy_model  # noqa: F401  (registers ToyLocalContrastMap)
import cv2
import numpy as np
import pytest
import torch
from script_modules import load_script

import agssp.anomaly  # noqa: F401  (registration)
from agssp.anomaly.build import build_anomaly_model, reference_paths
from agssp.anomaly.manifest import JOURNAL_DIR
from agssp.anomaly.writer import MapFolderMismatch, generate_anomaly_maps, rank_share, select_images
from agssp.core.anomaly_maps import load_anomaly_map

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / 'tools' / 'generate_anomaly_maps.py'
GOOD = [f'{cls}/{i:02d}.jpg' for cls in ('crack', 'free') for i in range(7)]
CORRUPT = {'crack/text.jpg': b'this is not an image\n', 'crack/empty.png': b''}


@pytest.fixture()
def img_dir(tmp_path):
    """14 small images in two class folders, a text file and an empty file named as images,
    a truncated JPEG and a mask PNG (left out by the suffix filter)."""
    root = tmp_path / 'images'
    rng = np.random.default_rng(0)
    for rel in GOOD:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 255, (40 + len(rel), 48, 3), dtype=np.uint8)
        cv2.imwrite(str(root / rel), img)
    for rel, data in CORRUPT.items():
        (root / rel).write_bytes(data)
    data = (root / GOOD[0]).read_bytes()
    (root / 'crack' / 'truncated.jpg').write_bytes(data[:len(data) // 2])
    cv2.imwrite(str(root / 'crack' / '00.png'), np.zeros((8, 8), np.uint8))
    return root


def write_config(path, sleep_per_batch=0.0, **extra):
    lines = ["custom_imports = dict(imports=['anomaly_toy_model'])",
             f"model = dict(type='ToyLocalContrastMap', sleep_per_batch={sleep_per_batch})",
             'batch_size = 2', 'num_workers = 0']
    lines += [f'{k} = {v!r}' for k, v in extra.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


def subprocess_env():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO / 'tests'), str(REPO)]))
    return env


def run_tool(cfg, img_dir, out_dir, *extra):
    """The generator tool in this process (an uninterrupted, single-process run)."""
    tool = load_script('tools/generate_anomaly_maps.py')
    return tool.main([str(cfg), '--img-dir', str(img_dir), '--out-dir', str(out_dir),
                      '--suffixes', '.jpg', '--no-progress', *extra])


def map_set(out_dir):
    """Relative path -> map contents of every map in a folder."""
    return {p.relative_to(out_dir).as_posix(): np.load(p)
            for p in sorted(Path(out_dir).rglob('*.npy'))}


def assert_same_maps(a, b):
    maps_a, maps_b = map_set(a), map_set(b)
    assert sorted(maps_a) == sorted(maps_b)
    for rel in maps_a:
        np.testing.assert_array_equal(maps_a[rel], maps_b[rel], err_msg=rel)


def manifest(out_dir):
    return json.loads((Path(out_dir) / 'manifest.json').read_text())


def outcome(out_dir):
    """What a run produced, without timings: written images and skipped (image, reason)."""
    m = manifest(out_dir)
    return ([w['image'] for w in m['written']],
            [(s['image'], s['reason']) for s in m['skipped']], m['missing'])


def test_maps_written_and_corrupt_images_reported(img_dir, tmp_path):
    out = tmp_path / 'maps'
    model = build_anomaly_model(dict(model=dict(type='ToyLocalContrastMap')))
    result = generate_anomaly_maps(model, img_dir, out, batch_size=4, num_workers=2,
                                   suffixes=('.jpg',), progress=False)
    written, skipped, missing = outcome(out)
    assert result['counts'] == dict(images=16, written=14, skipped=2, missing=0)
    assert written == GOOD and missing == []
    assert [s[0] for s in skipped] == ['crack/text.jpg', 'crack/truncated.jpg']
    assert all('cannot decode image' in reason for _, reason in skipped)
    for entry in result['written']:
        arr = np.load(out / entry['map'])
        assert arr.dtype == np.float16 and arr.shape == (8, 8)
        assert entry['map_hw'] == [8, 8] and entry['image_hw'][1] == 48
        assert entry['score'] == pytest.approx(float(load_anomaly_map(out / entry['map']).max()),
                                               rel=1e-2)


def test_every_suffix_by_default_and_shares_disjoint(img_dir):
    images = select_images(img_dir)
    assert 'crack/00.png' in images and 'crack/empty.png' in images
    assert select_images(img_dir, ['.JPG']) == sorted(GOOD + ['crack/text.jpg',
                                                             'crack/truncated.jpg'])
    shares = [rank_share(images, r, 3) for r in range(3)]
    assert sorted(sum(shares, [])) == sorted(images)
    assert sum(len(s) for s in shares) == len(images)


@pytest.mark.integration
def test_resume_after_kill_matches_uninterrupted_run(img_dir, tmp_path):
    reference = tmp_path / 'reference'
    assert run_tool(write_config(tmp_path / 'fast.py'), img_dir, reference) == 0

    out = tmp_path / 'killed'
    cfg = write_config(tmp_path / 'slow.py', sleep_per_batch=0.4)
    cmd = [sys.executable, str(TOOL), str(cfg), '--img-dir', str(img_dir), '--out-dir',
           str(out), '--suffixes', '.jpg', '--no-progress']
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while len(list(out.rglob('*.npy'))) < 4:
            assert proc.poll() is None, 'the run ended before it could be killed'
            assert time.time() < deadline, 'the run wrote no maps within 60 s'
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*.npy')}
    assert 4 <= len(before) < len(GOOD) and not (out / 'manifest.json').exists()
    leftover = out / 'free' / '.06.npy.abc123.tmp'   # as a write cut short by the kill leaves
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b'half')

    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not leftover.exists()
    assert {p: p.stat().st_mtime_ns for p in before} == before, 'done maps were redone'
    assert manifest(out)['run']['written'] == len(GOOD) - len(before)
    assert manifest(out)['run']['already_present'] == len(before)
    assert_same_maps(out, reference)
    assert outcome(out) == outcome(reference)


@pytest.mark.integration
def test_two_processes_give_the_same_set_as_one(img_dir, tmp_path):
    cfg = write_config(tmp_path / 'cfg.py')
    one = tmp_path / 'one'
    assert run_tool(cfg, img_dir, one) == 0
    two = tmp_path / 'two'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node',
           '2', str(TOOL), str(cfg), '--img-dir', str(img_dir), '--out-dir', str(two),
           '--suffixes', '.jpg', '--launcher', 'pytorch', '--no-progress']
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_same_maps(two, one)
    assert outcome(two) == outcome(one)
    assert manifest(two)['run']['ranks'] == 2
    per_rank = []
    for rank in (0, 1):
        lines = (two / JOURNAL_DIR / f'rank{rank}.jsonl').read_text().splitlines()
        per_rank.append({json.loads(line)['image'] for line in lines})
    assert per_rank[0] and per_rank[1] and not per_rank[0] & per_rank[1], 'duplicate work'
    assert len(per_rank[0] | per_rank[1]) == len(GOOD) + 2


def test_other_settings_refused_and_done_folder_left_alone(img_dir, tmp_path):
    out = tmp_path / 'maps'
    model = build_anomaly_model(dict(model=dict(type='ToyLocalContrastMap')))
    generate_anomaly_maps(model, img_dir, out, num_workers=0, settings=dict(a=1),
                          suffixes=('.jpg',), progress=False)
    again = generate_anomaly_maps(model, img_dir, out, num_workers=0, settings=dict(a=1),
                                  suffixes=('.jpg',), progress=False)
    assert again['run']['written'] == 0 and again['counts']['written'] == len(GOOD)
    with pytest.raises(MapFolderMismatch, match='other settings'):
        generate_anomaly_maps(model, img_dir, out, num_workers=0, settings=dict(a=2),
                              suffixes=('.jpg',), progress=False)
    with pytest.raises(MapFolderMismatch):
        generate_anomaly_maps(model, img_dir, out, num_workers=0, settings=dict(a=1),
                              dtype='float32', suffixes=('.jpg',), progress=False)


def test_build_loads_checkpoint_and_fits_references(img_dir, tmp_path):
    ckpt = tmp_path / 'toy.pth'
    torch.save(dict(state_dict=dict(scale=torch.tensor(2.0))), ckpt)
    model = build_anomaly_model(dict(model=dict(type='ToyLocalContrastMap'), checkpoint=ckpt,
                                     reference_dir=img_dir / 'free', reference_images=3))
    assert float(model.scale) == 2.0 and model.reference_mean is not None
    paths = reference_paths(img_dir / 'free', 3)
    assert [p.name for p in paths] == ['00.jpg', '03.jpg', '06.jpg']
    with pytest.raises(ValueError, match='holds only'):
        reference_paths(img_dir / 'free', 99)


def test_reference_suffixes_leave_masks_beside_the_images_out(img_dir, tmp_path):
    free = tmp_path / 'free'
    free.mkdir()
    for i in range(3):
        (free / f'{i:02d}.jpg').write_bytes((img_dir / 'free' / f'{i:02d}.jpg').read_bytes())
        cv2.imwrite(str(free / f'{i:02d}.png'), np.zeros((8, 8), np.uint8))  # a mask
    assert len(reference_paths(free)) == 6  # every image suffix: the masks too
    assert [p.name for p in reference_paths(free, suffixes=['.JPG'])] == [
        '00.jpg', '01.jpg', '02.jpg']
    model = build_anomaly_model(dict(model=dict(type='ToyLocalContrastMap'), reference_dir=free,
                                     reference_suffixes=['.jpg']))
    assert model.reference_mean is not None
    with pytest.raises(ValueError, match='reference_dir is not'):
        build_anomaly_model(dict(model=dict(type='ToyLocalContrastMap'),
                                 reference_suffixes=['.jpg']))
