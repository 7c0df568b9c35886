"""The generic ``coco`` data source on generated folders, and its presets on the real data:
NEU-DET byte-identical to the previous implementation, BSData keeping wear sequences whole."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_modules import load_script

from agssp.pipeline.data_sources import bsdata_groups, prepare_data

REPO = Path(__file__).resolve().parents[1]


def _image(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 24, 3), value, np.uint8)).save(path)


def _coco(path, names, classes=('dent', 'scratch')):
    images, anns = [], []
    for i, name in enumerate(names, start=1):
        images.append(dict(id=i, file_name=name, height=16, width=24))
        anns.append(dict(id=i, image_id=i, category_id=1 + i % 2, bbox=[2, 2, 6, 6], area=36,
                         iscrowd=0))
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=i, name=n) for i, n in enumerate(classes, start=1)])))
    return path


@pytest.fixture()
def user_data(tmp_path):
    """A user's layout: labelled images, two unlabelled folders (one holding a test image)."""
    labelled = [f'lab/{i}.png' for i in range(20)]
    test = [f'test/{i}.png' for i in range(4)]
    for name in labelled + test:
        _image(tmp_path / 'images' / name)
    for i in range(5):
        _image(tmp_path / 'line_a' / f'a{i}.jpg', 10)
        _image(tmp_path / 'line_b' / 'sub' / f'b{i}.jpg', 20)
        (tmp_path / 'masks_a').mkdir(exist_ok=True)
        Image.fromarray(np.zeros((16, 24), np.uint8)).save(tmp_path / 'masks_a' / f'a{i}.png')
    Path(tmp_path / 'line_a' / 'test0.png').symlink_to(tmp_path / 'images' / test[0])
    _coco(tmp_path / 'labelled.json', labelled)
    _coco(tmp_path / 'test.json', test)
    return tmp_path


def _cfg(root, **kw):
    return dict(dict(type='coco', unlabelled=[str(root / 'line_a'), str(root / 'line_b')],
                     train_ann=str(root / 'labelled.json'), train_img_dir=str(root / 'images'),
                     test_ann=str(root / 'test.json'), val_fraction=0.2, split_seed=0), **kw)


def _names(ann):
    return {img['file_name'] for img in json.loads(Path(ann).read_text())['images']}


def test_coco_source_splits_links_and_keeps_the_test_set_out(user_data, tmp_path):
    info = prepare_data(_cfg(user_data, labelled_fraction=0.5, labelled_seeds=[0, 1]),
                        tmp_path / 'out')
    assert info['sources'] == ['line_a', 'line_b']
    assert info['num_unlabelled'] == 10 and info['pool_dropped_test'] == 1
    assert (info['num_val'], info['num_test']) == (4, 4)
    val, train = _names(info['val_ann']), _names(Path(info['val_ann']).with_name('train.json'))
    assert len(train) == 16 and not train & val
    for seed in ('0', '1'):
        chosen = _names(info['train_anns'][seed])
        assert len(chosen) == info['num_train_per_seed'][seed] == 8 and chosen <= train
    assert _names(info['train_anns']['0']) != _names(info['train_anns']['1'])
    assert _names(info['test_ann']) == {f'test/{i}.png' for i in range(4)}
    assert info['classes'] == ['dent', 'scratch'] and info['unlabelled_boxes'] is None
    again = prepare_data(_cfg(user_data, labelled_fraction=0.5, labelled_seeds=[0, 1]),
                         tmp_path / 'again')
    assert Path(again['train_anns']['1']).read_bytes() == \
        Path(info['train_anns']['1']).read_bytes()


def test_subfolders_as_sources_a_given_val_file_and_masks(user_data, tmp_path):
    pool_root = user_data / 'pool_root'
    for name in ('line_a', 'line_b'):
        for i in range(3):
            _image(pool_root / name / f'{i}.jpg')
    _coco(user_data / 'val.json', ['lab/0.png', 'lab/1.png'])
    info = prepare_data(_cfg(user_data, unlabelled=str(pool_root), sources='subfolders',
                             val_ann=str(user_data / 'val.json')), tmp_path / 'out')
    assert info['sources'] == ['line_a', 'line_b'] and info['num_val'] == 2
    assert info['num_unlabelled'] == 6
    assert info['num_train'] == 20  # no fraction: the whole labelled file for every seed
    masked = prepare_data(_cfg(user_data, unlabelled={'a': str(user_data / 'line_a')},
                               unlabelled_masks={'a': str(user_data / 'masks_a')},
                               exclude_suffixes=['.png']), tmp_path / 'masked')
    assert masked['num_unlabelled'] == 5
    gt = json.loads(Path(masked['unlabelled_boxes']).read_text())
    assert len(gt['images']) == 5 and not gt['annotations']


def test_coco_source_errors_name_the_problem(user_data, tmp_path):
    with pytest.raises(KeyError, match='data.test_ann is required'):
        prepare_data(_cfg(user_data, test_ann=None), tmp_path / 'a')
    _coco(user_data / 'leaky.json', ['lab/0.png', 'test/1.png'])
    with pytest.raises(ValueError, match=r'1 test image\(s\) are also in the labelled file, '
                                         r'e.g. .*test/1.png'):
        prepare_data(_cfg(user_data, train_ann=str(user_data / 'leaky.json')), tmp_path / 'b')
    _coco(user_data / 'other.json', ['test/0.png'], classes=('dent', 'crack'))
    with pytest.raises(ValueError, match="test file's categories"):
        prepare_data(_cfg(user_data, test_ann=str(user_data / 'other.json')), tmp_path / 'c')
    with pytest.raises(ValueError, match='lie directly in it'):
        prepare_data(_cfg(user_data, unlabelled=str(user_data / 'line_a'),
                          sources='subfolders'), tmp_path / 'd')
    with pytest.raises(FileNotFoundError, match="unlabelled folder 'nope' not found"):
        prepare_data(_cfg(user_data, unlabelled=[str(user_data / 'nope')]), tmp_path / 'e')


# sha256 of the files the previous NEU-DET source (commit 45b0c43) wrote for seeds 0-2; its
# held-out ``val.json`` is now ``test.json``.
NEU_DET_FILES = {
    'neu_det_all.json': '6b2f95c5d86f91b328f7e8bb796da56f04121a01b4e6c378806a8089c9d556e6',
    'train.json': '43772e6b1780be6616704b73b47de66d188413c61df37c02134c49b739022d41',
    'train_10pct_seed0.json': 'd69d486750e80b2cbf85270144f92bf28ee9641c081f5f9c04655e0e0cf63de9',
    'train_10pct_seed1.json': '6d5890215a0dab274fea3f6c80f88bd916ff3772bdedfb2f7118db973a3219c8',
    'train_10pct_seed2.json': 'c69ee9a759dad881ef4fb11c5facbc362b603c39b7c7f3f60c82b4a89030afbd',
    'unlabelled_gt_boxes.json': 'ca68c66b377c51c3443f6c85c0c11d882fa3243cbbd24ce9a5986497ba1494d2',
    'test.json': 'a923e6c39debd7f8168f07fe82a035e80e7c1d3f8ade644da4befd52b53b38b8',
}


def test_neu_det_preset_writes_the_previous_split_files_byte_for_byte(
        neu_det_root, magnetic_tile_root, tmp_path):
    info = prepare_data(dict(type='neu_det', neu_det_root=str(neu_det_root),
                             magnetic_tile_root=str(magnetic_tile_root), test_fraction=0.2,
                             split_seed=0, labelled_fraction=0.1, labelled_seeds=[0, 1, 2],
                             val_from='unused', val_fraction=0.25), tmp_path)
    digests = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
               for name in NEU_DET_FILES}
    assert digests == NEU_DET_FILES
    used = set().union(*(_names(a) for a in info['train_anns'].values()))
    assert not _names(info['val_ann']) & (used | _names(info['test_ann']))
    assert info['num_val'] == 262 and info['num_unlabelled'] == 2784


def test_bsdata_preset_keeps_each_wear_sequence_on_one_side(bsdata_root, tmp_path):
    from mmengine.config import Config

    from agssp.pipeline.agssp_pipeline import AgsspPipeline
    cfg = Config.fromfile(REPO / 'configs' / 'pipeline' / 'bsdata.py')
    cfg.data.root = str(bsdata_root)
    summary = AgsspPipeline(cfg, tmp_path).run_data(tmp_path)
    info = json.loads((tmp_path / 'data.json').read_text())
    # the sizes configs/pipeline/bsdata.py states
    assert summary == dict(unlabelled=878, labelled_train=122, labelled_val=61,
                           sources=['bsd_type1', 'bsd_type2'])
    assert (info['num_test'], info['pool_held_out'], info['pool_probably_defect_free']) == \
        (90, 136, 574)
    assert len(set(info['num_train_per_seed'].values())) == 1
    images = json.loads((bsdata_root / 'image_data.json').read_text())['images']
    group = bsdata_groups(images)
    pool = {p.name for p in Path(info['unlabelled_dir']).rglob('*.jpg')}
    test = {Path(n).name for n in _names(info['test_ann'])}
    seen = {Path(n).name for n in _names(info['train_ann']) | _names(info['val_ann'])} | pool
    assert not {group[n] for n in test} & {group[n] for n in seen}
    assert not test & seen and len(test) + len(seen) + info['pool_held_out'] == 1104
    val = {Path(n).name for n in _names(info['val_ann'])}
    train = {Path(n).name for n in _names(Path(info['val_ann']).with_name('train.json'))}
    assert not {group[n] for n in val} & {group[n] for n in train}  # validation: whole groups
    official_test = {i['filename'] for i in images if i['train_test_split'] == 'test'
                     and not i['wear_dev']}
    assert official_test <= test
    assert info['sources'] == ['bsd_type1', 'bsd_type2'] and info['classes'] == ['Pitting']
    labelled_in_pool = len(_names(Path(info['val_ann']).with_name('train.json'))) + \
        info['num_val']
    assert info['pool_probably_defect_free'] == info['num_unlabelled'] - labelled_in_pool
    masks = list(Path(info['unlabelled_mask_dir']).rglob('*.png'))
    assert len(masks) == info['num_unlabelled']


def _readme_config_block():
    text = (REPO / 'README.md').read_text()
    section = text.split('### Run it on your data', 1)[1]
    return section.split('```python\n', 1)[1].split('```', 1)[0]


def test_readme_config_is_the_example_file():
    assert _readme_config_block() == \
        (REPO / 'configs' / 'pipeline' / 'my_data_example.py').read_text()


def test_readme_steps_on_bsdata_as_a_users_folder(bsdata_root, tmp_path):
    """The README's steps: labelme -> COCO, a test split, the example config with paths edited."""
    from mmengine.config import Config

    from agssp.pipeline.agssp_pipeline import AgsspPipeline
    coco_dir = tmp_path / 'coco'
    assert load_script('tools/dataset_converters/labelme_to_coco.py').main([
        '--label-dir', str(bsdata_root / 'label'), '--img-dir', str(bsdata_root / 'data'),
        '--out', str(coco_dir / 'all.json')]) == 0
    split_coco = load_script('tools/dataset_converters/split_coco.py')
    assert split_coco.main(['--ann', str(coco_dir / 'all.json'), '--out-dir', str(coco_dir),
                            '--val-fraction', '0.2', '--labelled-fraction']) == 0
    (coco_dir / 'val.json').rename(coco_dir / 'test.json')
    cfg = Config.fromfile(REPO / 'configs' / 'pipeline' / 'my_data_example.py')
    cfg.data.update(unlabelled=[str(bsdata_root / 'data')], train_ann=str(coco_dir / 'train.json'),
                    train_img_dir=str(bsdata_root / 'data'), test_ann=str(coco_dir / 'test.json'))
    summary = AgsspPipeline(cfg, tmp_path).run_data(tmp_path / 'data')
    info = json.loads((tmp_path / 'data' / 'data.json').read_text())
    assert (info['num_test'], info['pool_dropped_test']) == (79, 79)
    assert summary == dict(unlabelled=1104 - 79, labelled_train=252, labelled_val=63,
                           sources=['data'])
