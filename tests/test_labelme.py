"""labelme -> COCO: generated labelme files with every kind of bad input, and the real BSData."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from script_modules import load_script

from agssp.datasets.converters.labelme import labelme_to_coco, parse_labelme, write_polygon_masks


def _shape(label, points, kind='polygon', group_id=None):
    return dict(label=label, points=points, group_id=group_id, shape_type=kind, flags={})


def _write(folder, stem, shapes, image_path=None, size=(60, 40)):
    data = dict(version='4.5.6', flags={}, shapes=shapes, imageData=None,
                imagePath=image_path or f'../images/{stem}.jpg',
                imageWidth=size[0], imageHeight=size[1])
    (folder / f'{stem}.json').write_text(json.dumps(data))


@pytest.fixture()
def layout(tmp_path):
    images, labels = tmp_path / 'images', tmp_path / 'labels'
    images.mkdir()
    labels.mkdir()
    for stem in ('a', 'b', 'c', 'free', 'big'):
        size = (80, 40) if stem == 'big' else (60, 40)
        Image.new('RGB', size).save(images / f'{stem}.jpg')
    _write(labels, 'a', [_shape('scratch', [[10, 5], [30, 5], [20, 25]]),
                         _shape('dent', [[40, 10], [50, 20]], kind='rectangle'),
                         _shape('dent', [[1, 30], [4, 30], [2, 35]], group_id=7),
                         _shape('dent', [[8, 32], [12, 38], [9, 39]], group_id=7),
                         _shape('scratch', [[1, 1], [5, 5]], kind='line'),
                         _shape('scratch', [[1, 1], [2, 2], [3, 3]])])
    _write(labels, 'b', [_shape('scratch', [[50, 30], [70, 30], [60, 39]])])  # leaves the image
    _write(labels, 'c', [], image_path='C:\\shots\\c.jpg')
    _write(labels, 'big', [], size=(60, 40))
    _write(labels, 'ghost', [_shape('scratch', [[1, 1], [5, 1], [3, 4]])])
    (labels / 'broken.json').write_text('{"shapes": [')
    return tmp_path


def _kinds(writer):
    return sorted(s['reason'].split(':', 1)[0] for s in writer.skipped)


def test_polygons_rectangles_and_groups_become_boxes_with_polygons(layout):
    writer = labelme_to_coco(layout / 'labels', layout / 'images')
    coco = writer.to_dict()
    assert writer.categories == ['dent', 'scratch']
    assert [i['file_name'] for i in coco['images']] == ['a.jpg', 'b.jpg', 'c.jpg']
    boxes = {(a['category_id'], tuple(a['bbox'])) for a in coco['annotations']}
    assert boxes == {(2, (10.0, 5.0, 20.0, 20.0)), (1, (40.0, 10.0, 10.0, 10.0)),
                     (1, (1.0, 30.0, 11.0, 9.0))}
    grouped = next(a for a in coco['annotations'] if a['bbox'][0] == 1.0)
    assert len(grouped['segmentation']) == 2  # group_id 7: one object, two polygons
    assert _kinds(writer) == ['box outside the image', 'degenerate polygon', 'image size mismatch',
                              'malformed JSON', 'missing image for annotation',
                              'unannotated image', 'unsupported shape']
    named = {Path(s['file'].split('#')[0]).name for s in writer.skipped}
    assert named == {'a.json', 'b.json', 'big.json', 'broken.json', 'ghost.json', 'free.jpg'}


def test_unlabelled_images_are_kept_as_defect_free_only_when_asked(layout):
    writer = labelme_to_coco(layout / 'labels', layout / 'images', unlabelled='defect_free')
    names = [i['file_name'] for i in writer.images]
    assert 'free.jpg' in names and 'unannotated image' not in _kinds(writer)
    free_id = next(i['id'] for i in writer.images if i['file_name'] == 'free.jpg')
    assert not [a for a in writer.annotations if a['image_id'] == free_id]
    with pytest.raises(ValueError, match='unlabelled must be one of'):
        labelme_to_coco(layout / 'labels', layout / 'images', unlabelled='yes')


def test_given_classes_and_a_label_mapping(layout):
    writer = labelme_to_coco(layout / 'labels', layout / 'images', classes=['defect'],
                             class_map={'scratch': 'defect'})
    assert writer.categories == ['defect']
    assert len(writer.annotations) == 1
    assert _kinds(writer).count('unknown class') == 2


def test_a_bad_file_is_an_error_naming_it(layout):
    with pytest.raises(ValueError, match='broken.json: malformed JSON'):
        parse_labelme(layout / 'labels' / 'broken.json')
    with pytest.raises(FileNotFoundError, match='labelme folder not found'):
        labelme_to_coco(layout / 'nope', layout / 'images')


def test_masks_fill_the_polygons(layout, tmp_path):
    coco = labelme_to_coco(layout / 'labels', layout / 'images').to_dict()
    assert write_polygon_masks(coco, tmp_path / 'masks') == 3
    mask = cv2.imread(str(tmp_path / 'masks' / 'a.png'), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (40, 60) and mask[10, 20] == 255 and mask[0, 0] == 0
    assert not cv2.imread(str(tmp_path / 'masks' / 'c.png'), cv2.IMREAD_GRAYSCALE).any()


def test_cli_writes_the_file_and_its_exit_codes(layout, tmp_path, capsys):
    tool = load_script('tools/dataset_converters/labelme_to_coco.py')
    out = tmp_path / 'out' / 'ann.json'
    args = ['--label-dir', str(layout / 'labels'), '--img-dir', str(layout / 'images'),
            '--out', str(out)]
    assert tool.main(args + ['--unlabelled', 'defect_free']) == 0
    assert len(json.loads(out.read_text())['images']) == 4
    assert tool.main(args + ['--fail-on-skip']) == 3
    assert out.with_name('ann.skipped.json').is_file()
    assert tool.main(['--label-dir', str(tmp_path / 'nope'), '--img-dir', str(tmp_path),
                      '--out', str(out)]) == 2
    with pytest.raises(SystemExit):
        tool.parse_args(args + ['--class-map', 'scratch'])


def test_real_bsdata_labels(bsdata_root, tmp_path):
    writer = labelme_to_coco(bsdata_root / 'label', bsdata_root / 'data',
                             unlabelled='defect_free')
    summary = writer.summary()
    assert summary == dict(images=1104, images_with_boxes=394, boxes=485, skipped=0)
    assert writer.categories == ['Pitting']
    coco = writer.to_dict()
    first = next(a for a in coco['annotations'])
    image = next(i for i in coco['images'] if i['id'] == first['image_id'])
    write_polygon_masks(coco, tmp_path, file_names=[image['file_name']])
    mask = cv2.imread(str(tmp_path / Path(image['file_name']).with_suffix('.png')),
                      cv2.IMREAD_GRAYSCALE)
    x, y, w, h = first['bbox']
    ys, xs = np.nonzero(mask)
    assert abs(xs.min() - x) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1.5
    reported = labelme_to_coco(bsdata_root / 'label', bsdata_root / 'data')
    assert len(reported.images) == 394 and len(reported.skipped) == 710
