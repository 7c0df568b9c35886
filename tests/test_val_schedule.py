"""benchmarks/val_schedule.py: mmengine's validation-epoch rule, the save_best pick, and the
table on a run folder written by hand (no training)."""
import json
from pathlib import Path

from script_modules import load_benchmark

from agssp.engine.detector_adapter import validation_epochs


def _bench():
    return load_benchmark('val_schedule')


def test_validation_epochs_follow_the_epoch_loop():
    # mmengine decides the interval after an epoch from epoch + 1: the tail starts one early
    # (the NEU-DET run at 157a040 validated exactly these epochs)
    assert validation_epochs(dict(max_epochs=50, val_interval=10, dynamic_intervals=[(45, 1)])) \
        == [10, 20, 30, 40, 44, 45, 46, 47, 48, 49, 50]
    tail = validation_epochs(dict(max_epochs=80, val_interval=10, dynamic_intervals=[(75, 1)]))
    assert tail == [10, 20, 30, 40, 50, 60, 70, 74, 75, 76, 77, 78, 79, 80]
    assert validation_epochs(dict(max_epochs=24, val_interval=5)) == [5, 10, 15, 20, 24]
    assert validation_epochs(dict(max_epochs=6, val_interval=2, val_begin=3)) == [4, 6]


def test_best_epoch_keeps_the_first_of_ties():
    bench = _bench()
    assert bench.best_epoch({2: 0.1, 4: 0.3, 6: 0.3}, [2, 4, 6]) == 4
    assert bench.best_epoch({2: 0.1, 4: 0.3, 6: 0.3}, [2, 6]) == 6


def _write_run(run_dir: Path, scores: dict, ann_file: Path, finished=True):
    run_dir.mkdir(parents=True)
    (run_dir / 'config.py').write_text(
        "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=5,\n"
        "                 dynamic_intervals=[(8, 1)])\n"
        f"val_dataloader = dict(batch_size=2, dataset=dict(ann_file={str(ann_file)!r}))\n")
    log = run_dir / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    lines = []
    for epoch in range(1, 11):
        for it in (5, 10):
            lines.append(dict(loss=1.0, time=1.0, epoch=epoch, iter=(epoch - 1) * 10 + it,
                              step=(epoch - 1) * 10 + it))
        if epoch in scores:
            lines.append({'coco/bbox_mAP_50': scores[epoch], 'time': 0.5, 'step': epoch})
    (log / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    if finished:
        (run_dir / 'result.json').write_text('{}')


def test_table_on_hand_written_runs(tmp_path, capsys):
    ann = tmp_path / 'val.json'
    ann.write_text(json.dumps(dict(images=[dict(id=i) for i in range(4)])))
    stage = tmp_path / 'finetune'
    # validated epochs of max 10, interval 5, tail from milestone 8: 5, 7, 8, 9, 10
    _write_run(stage / 'a_seed0', {5: 0.2, 7: 0.5, 8: 0.4, 9: 0.3, 10: 0.45}, ann)
    _write_run(stage / 'a_seed1', {5: 0.2, 7: 0.1, 8: 0.3, 9: 0.3, 10: 0.6}, ann)
    _write_run(stage / 'a_seed2', {5: 0.2}, ann, finished=False)
    assert _bench().main([str(stage), '--schedules', '5,1', '5,5', '2,2']) == 0
    out = capsys.readouterr().out
    assert 'left out, not finished: a_seed2' in out
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]]
            for line in out.splitlines() if line.startswith('| ') and ',' in line.split('|')[1]}
    assert rows['5,1'][:4] == ['5', '2', '0', '+0.0000 +- 0.0000']
    # every 5th epoch: 5 and 10; seed 0 loses 0.05 (0.45 instead of 0.5), seed 1 keeps 10
    assert rows['5,5'][:4] == ['2', '2', '1', '-0.0250 +- 0.0250']
    # 10 epochs of 10 iterations of 1 s; 5 validations of two batches of 0.5 s: 5 / (100 + 5)
    assert rows['5,1'][4] == f'{5 / 105:.3f} +- 0.0000'
    assert 'not judged' in out.split('| 2,2 |')[1].splitlines()[0]
