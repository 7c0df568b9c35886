"""benchmarks/map_generalisation.py: a rerun reads finished rows back, sizes are checked (no
training)."""
import json

import pytest
from script_modules import load_benchmark


def _bench():
    return load_benchmark('map_generalisation')


def test_a_finished_row_is_read_back_only_for_the_same_sizes(tmp_path):
    bench = _bench()
    path = tmp_path / 'default' / 'row.json'
    run = dict(max_images=None, iterations=None)
    assert bench.saved_row(path, run, lambda: dict(pixel_auroc=0.8, image_auroc=float('nan'))) \
        == dict(pixel_auroc=0.8, image_auroc=pytest.approx(float('nan'), nan_ok=True))
    assert json.loads(path.read_text())['run'] == run

    def fail():
        raise AssertionError('a finished row was computed again')

    assert bench.saved_row(path, dict(run), fail)['pixel_auroc'] == 0.8
    reduced = dict(max_images=120, iterations=50)
    assert bench.saved_row(path, reduced, lambda: dict(pixel_auroc=0.6)) == dict(pixel_auroc=0.6)
    assert json.loads(path.read_text()) == dict(run=reduced, row=dict(pixel_auroc=0.6))


@pytest.mark.parametrize('flag', ['--max-images', '--iterations'])
def test_sizes_below_one_are_refused(flag, capsys):
    with pytest.raises(SystemExit):
        _bench().parse_args([flag, '0'])
    assert 'must be >= 1, got 0' in capsys.readouterr().err
