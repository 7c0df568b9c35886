"""Dataset converters: real NEU-DET / Magnetic Tile counts, and tiny synthetic bad-input cases."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from script_modules import load_script

from agssp.core.coco import BoxError, checked_box
from agssp.core.images import read_image_size, read_mask
from agssp.datasets.converters.masks import mask_to_boxes, masks_to_coco
from agssp.datasets.converters.split import (fraction_tag, image_strata, labelled_subset,
                                             split_by_group, split_train_val, write_splits)
from agssp.datasets.converters.voc import parse_voc_xml, voc_to_coco
from agssp.datasets.converters.yolo import yolo_to_coco

NEU_CLASSES = ['crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale',
               'scratches']
MT_CLASSES = ['Blowhole', 'Break', 'Crack', 'Fray', 'Uneven']


def _kinds(writer):
    return sorted(s['reason'].split(':', 1)[0] for s in writer.skipped)


# --------------------------------------------------------------------------- real data

@pytest.fixture(scope='session')
def neu_det_coco(neu_det_root):
    pairs = [(neu_det_root / 'ANNOTATIONS', neu_det_root / 'IMAGES'),
             (neu_det_root / 'Validation_Annotations', neu_det_root / 'Validation_Images')]
    return voc_to_coco(pairs)


@pytest.fixture(scope='session')
def magnetic_tile_coco(magnetic_tile_root):
    return masks_to_coco(magnetic_tile_root)


def test_neu_det_counts(neu_det_coco, neu_det_root):
    writer = neu_det_coco
    assert writer.summary() == dict(images=1800, images_with_boxes=1800, boxes=4189, skipped=0)
    assert writer.categories == NEU_CLASSES
    names = [img['file_name'] for img in writer.images]
    assert len(set(names)) == 1800
    assert all((neu_det_root / n).is_file() for n in names)
    # the XMLs whose <filename> lacks '.jpg' still resolve to their image
    assert sum(n.startswith('Validation_Images/') for n in names) == 30


def test_neu_det_box_convention(neu_det_coco, neu_det_root):
    """VOC 1-based inclusive -> COCO [xmin - 1, xmax]; every box stays inside its image."""
    ann = parse_voc_xml(neu_det_root / 'ANNOTATIONS' / 'crazing_1.xml')
    obj = ann.objects[0]
    image = next(i for i in neu_det_coco.images if i['file_name'] == 'IMAGES/crazing_1.jpg')
    box = next(a for a in neu_det_coco.annotations if a['image_id'] == image['id'])['bbox']
    assert box == [obj.xmin - 1, obj.ymin - 1, obj.xmax - obj.xmin + 1, obj.ymax - obj.ymin + 1]
    for a in neu_det_coco.annotations:
        x, y, w, h = a['bbox']
        assert x >= 0 and y >= 0 and x + w <= 200 and y + h <= 200 and w > 0 and h > 0


def test_magnetic_tile_counts(magnetic_tile_coco):
    writer = magnetic_tile_coco
    assert writer.categories == MT_CLASSES
    assert writer.summary()['images'] == 1344 and not writer.skipped
    with_boxes = {a['image_id'] for a in writer.annotations}
    free = [i for i in writer.images if i['file_name'].startswith('MT_Free/')]
    assert len(free) == 952 and not any(i['id'] in with_boxes for i in free)
    cats = {c: i for i, c in enumerate(MT_CLASSES, 1)}
    for img_id in with_boxes:
        folder = writer.images[img_id - 1]['file_name'].split('/')[0]
        labels = {a['category_id'] for a in writer.annotations if a['image_id'] == img_id}
        assert labels == {cats[folder[len('MT_'):]]}


def test_magnetic_tile_one_box_per_component(magnetic_tile_coco, magnetic_tile_root):
    """Compare with an independent count (scipy 8-connected labelling) on a few masks."""
    writer = magnetic_tile_coco
    checked = 0
    for cls in MT_CLASSES:
        images = [i for i in writer.images if i['file_name'].startswith(f'MT_{cls}/')][:3]
        for img in images:
            mask = read_mask(magnetic_tile_root / img['mask_file'])
            labels, count = ndimage.label(mask > 127, structure=np.ones((3, 3)))
            expected = sorted([s[1].start, s[0].start, s[1].stop - s[1].start,
                               s[0].stop - s[0].start] for s in ndimage.find_objects(labels))
            got = sorted(a['bbox'] for a in writer.annotations if a['image_id'] == img['id'])
            assert len(got) == count and got == expected
            checked += 1
    assert checked == 15


# --------------------------------------------------------------------------- masks -> boxes

def test_mask_to_boxes_components():
    mask = np.zeros((10, 12), np.uint8)
    mask[1, 1] = mask[2, 2] = 255      # diagonal neighbours: one 8-connected component
    mask[5:8, 6:10] = 200
    mask[9, 0] = 120                   # below the threshold
    boxes = mask_to_boxes(mask)
    assert boxes.dtype == np.float32
    assert boxes.tolist() == [[1, 1, 3, 3], [6, 5, 10, 8]]
    assert mask_to_boxes(mask, min_area=3).tolist() == [[6, 5, 10, 8]]
    assert mask_to_boxes(mask > 0).shape == (3, 4)                      # bool mask used as is
    assert mask_to_boxes(mask.astype(np.float32) / 255, threshold=0.5).shape == (2, 4)
    assert mask_to_boxes(np.zeros((4, 4))).shape == (0, 4)
    with pytest.raises(ValueError, match='2-D'):
        mask_to_boxes(np.zeros((4, 4, 3)))


def test_masks_to_coco_synthetic(tmp_path):
    for folder in ('MT_Crack/Imgs', 'MT_Free/Imgs'):
        (tmp_path / folder).mkdir(parents=True)
    img = np.full((20, 30), 90, np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:5, 3:9] = 255
    mask[10:12, 20:25] = 250
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/a.jpg'), img)
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/a.png'), mask)
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/small.jpg'), img[:10])
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/small.png'), mask)            # size mismatch
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/nomask.jpg'), img)
    cv2.imwrite(str(tmp_path / 'MT_Crack/Imgs/orphan.png'), mask)
    cv2.imwrite(str(tmp_path / 'MT_Free/Imgs/f.jpg'), img)
    cv2.imwrite(str(tmp_path / 'MT_Free/Imgs/f.png'), np.zeros_like(mask))
    writer = masks_to_coco(tmp_path)
    assert writer.categories == ['Crack']
    assert [i['file_name'] for i in writer.images] == ['MT_Crack/Imgs/a.jpg', 'MT_Free/Imgs/f.jpg']
    assert [a['bbox'] for a in writer.annotations] == [[3, 2, 6, 3], [20, 10, 5, 2]]
    assert _kinds(writer) == ['mask size mismatch', 'missing image', 'missing mask']


# --------------------------------------------------------------------------- VOC

def _voc_xml(filename, objects, size=(30, 20)):
    size_xml = '' if size is None else \
        f'<size><width>{size[0]}</width><height>{size[1]}</height><depth>1</depth></size>'
    objs = ''.join(
        f'<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin>'
        f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
        for n, b in objects)
    return f'<annotation><filename>{filename}</filename>{size_xml}{objs}</annotation>'


@pytest.fixture
def voc_dirs(tmp_path):
    ann, img = tmp_path / 'ann', tmp_path / 'img'
    ann.mkdir()
    img.mkdir()
    picture = np.full((20, 30, 3), 100, np.uint8)
    for stem in ('good', 'outside', 'mismatch', 'unannotated'):
        cv2.imwrite(str(img / f'{stem}.jpg'), picture)
    (img / 'broken.jpg').write_bytes(b'not an image at all')
    (ann / 'good.xml').write_text(_voc_xml('good', [('dent', (1, 1, 30, 20)),
                                                    ('scratch', (5, 6, 10, 12))], size=None))
    (ann / 'outside.xml').write_text(_voc_xml('outside.jpg', [('dent', (2, 2, 31, 10)),
                                                              ('dent', (8, 5, 6, 9)),
                                                              ('dent', (3, 3, 9, 9))]))
    (ann / 'mismatch.xml').write_text(_voc_xml('mismatch.jpg', [('dent', (1, 1, 5, 5))],
                                               size=(40, 20)))
    (ann / 'broken.xml').write_text(_voc_xml('broken.jpg', [('dent', (1, 1, 5, 5))]))
    (ann / 'missing.xml').write_text(_voc_xml('missing.jpg', [('dent', (1, 1, 5, 5))]))
    (ann / 'malformed.xml').write_text('<annotation><filename>good.jpg</filename><object>')
    return ann, img


def test_voc_bad_inputs_are_listed(voc_dirs):
    writer = voc_to_coco([voc_dirs])
    assert writer.categories == ['dent', 'scratch']
    assert [i['file_name'] for i in writer.images] == ['good.jpg', 'outside.jpg']
    boxes = {(a['image_id'], tuple(a['bbox'])) for a in writer.annotations}
    assert boxes == {(1, (0, 0, 30, 20)), (1, (4, 5, 6, 7)), (2, (2, 2, 7, 7))}
    assert _kinds(writer) == ['box outside the image', 'degenerate box', 'image size mismatch',
                              'malformed XML', 'missing image for annotation',
                              'unannotated image', 'unreadable image']
    skipped_files = {Path(s['file']).name for s in writer.skipped}
    assert {'outside.xml#object1', 'outside.xml#object2', 'broken.jpg'} <= skipped_files


def test_voc_given_classes_and_several_pairs(voc_dirs, tmp_path):
    ann2, img2 = tmp_path / 'ann2', tmp_path / 'img2'
    ann2.mkdir()
    img2.mkdir()
    cv2.imwrite(str(img2 / 'extra.png'), np.zeros((20, 30), np.uint8))
    (ann2 / 'extra.xml').write_text(_voc_xml('extra', [('scratch', (1, 1, 4, 4))]))
    writer = voc_to_coco([voc_dirs, (ann2, img2)], classes=['scratch'])
    assert writer.categories == ['scratch']
    assert 'img2/extra.png' in [i['file_name'] for i in writer.images]
    assert _kinds(writer).count('unknown class') == 4
    assert len(writer.annotations) == 2
    with pytest.raises(ValueError, match='not under data_root'):
        voc_to_coco([voc_dirs], data_root=ann2)


def test_voc_cli(voc_dirs, tmp_path, capsys):
    tool = load_script('tools/dataset_converters/voc_to_coco.py')
    out = tmp_path / 'out' / 'ann.json'
    argv = ['--ann-dir', str(voc_dirs[0]), '--img-dir', str(voc_dirs[1]), '--out', str(out)]
    assert tool.main(argv) == 0
    coco = json.loads(out.read_text())
    assert len(coco['images']) == 2 and len(coco['annotations']) == 3
    skipped = json.loads((out.parent / 'ann.skipped.json').read_text())
    assert len(skipped) == 7
    assert 'skipped=7' in capsys.readouterr().out
    assert tool.main(argv + ['--fail-on-skip']) == 3
    assert tool.main(['--ann-dir', str(tmp_path / 'nope'), '--img-dir', str(voc_dirs[1]),
                      '--out', str(out)]) == 2


# --------------------------------------------------------------------------- images, boxes

def test_read_image_size_honours_exif_orientation(tmp_path):
    path = tmp_path / 'rotated.jpg'
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on decode
    Image.fromarray(np.zeros((10, 30, 3), np.uint8)).save(path, exif=exif)
    assert read_image_size(path) == cv2.imread(str(path)).shape[:2] == (30, 10)


def test_checked_box_rule():
    assert checked_box(-0.001, 0, 10.001, 5, 10, 5) == (0.0, 0.0, 10.0, 5.0)
    with pytest.raises(BoxError, match='outside'):
        checked_box(-1, 0, 5, 5, 10, 5)
    with pytest.raises(BoxError, match='degenerate'):
        checked_box(3, 0, 3, 5, 10, 5)
    with pytest.raises(BoxError, match='non-finite'):
        checked_box(float('nan'), 0, 3, 5, 10, 5)


# --------------------------------------------------------------------------- YOLO

def test_yolo_to_coco(tmp_path):
    img, lab = tmp_path / 'images', tmp_path / 'labels'
    (img / 'sub').mkdir(parents=True)
    (lab / 'sub').mkdir(parents=True)
    for name in ('a.jpg', 'sub/b.png', 'background.jpg'):
        cv2.imwrite(str(img / name), np.zeros((50, 100, 3), np.uint8))
    (lab / 'a.txt').write_text('0 0.5 0.5 0.2 0.4\n\n1 0.1 0.1 0.2 0.2\n'
                               '7 0.5 0.5 0.1 0.1\n0 0.5 0.5\n0 0.95 0.5 0.2 0.2\n')
    (lab / 'sub' / 'b.txt').write_text('1 0.25 0.75 0.5 0.5\n')
    (lab / 'orphan.txt').write_text('0 0.5 0.5 0.1 0.1\n')
    writer = yolo_to_coco(img, lab, ['pit', 'scratch'])
    names = [i['file_name'] for i in writer.images]
    assert names == ['a.jpg', 'background.jpg', 'sub/b.png']
    by_image = {(names[a['image_id'] - 1], a['category_id'], tuple(np.round(a['bbox'], 6)))
                for a in writer.annotations}
    assert by_image == {('a.jpg', 1, (40, 15, 20, 20)), ('a.jpg', 2, (0, 0, 20, 10)),
                        ('sub/b.png', 2, (0, 25, 50, 25))}
    assert _kinds(writer) == ['box outside the image', 'malformed label line', 'missing image',
                              'unknown class']
    assert any(s['file'].endswith('a.txt:4') for s in writer.skipped)


# --------------------------------------------------------------------------- split

def _toy_coco():
    """30 images: 20 of class 1; class 2 only beside the rarer classes 3, 4 and 5 (so it never
    gets a stratum): [2, 3], [3], [2, 4], [4], [2, 5], [5]; then 4 without boxes."""
    images, anns = [], []
    plan = [[1]] * 20 + [[2, 3], [3], [2, 4], [4], [2, 5], [5]] + [[]] * 4
    for i, cats in enumerate(plan, 1):
        images.append(dict(id=i, file_name=f'{i}.jpg', height=10, width=10))
        for c in cats:
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=c, bbox=[0, 0, 2, 2],
                             area=4, iscrowd=0))
    cats = [dict(id=c, name=f'c{c}') for c in (1, 2, 3, 4, 5)]
    return dict(images=images, annotations=anns, categories=cats)


def _ids(coco):
    return [i['id'] for i in coco['images']]


def test_split_is_stratified_and_deterministic():
    coco = _toy_coco()
    strata = image_strata(coco)
    assert [strata[i] for i in (1, 21, 22, 23, 25, 27)] == [1, 3, 3, 4, 5, None]
    train, val = split_train_val(coco, 0.25, seed=0)
    assert sorted(_ids(train) + _ids(val)) == list(range(1, 31))
    val_strata = sorted([strata[i] for i in _ids(val)], key=str)
    assert val_strata == [1] * 5 + [3, 4, 5, None]  # halves round up, one left in train
    again, _ = split_train_val(coco, 0.25, seed=0)
    other, _ = split_train_val(coco, 0.25, seed=1)
    assert again == train and _ids(other) != _ids(train)
    assert train['categories'] == coco['categories']


def test_split_by_group_never_splits_a_group():
    coco = _toy_coco()
    # groups of 1 to 7 images (30 in all): near-copies must land on one side together
    sizes = [7, 1, 5, 3, 6, 2, 4, 2]
    group_of, start = {}, 1
    for g, n in enumerate(sizes):
        group_of.update({f'{i}.jpg': f'g{g}' for i in range(start, start + n)})
        start += n
    for seed in range(5):
        train, val = split_by_group(coco, group_of, 0.25, seed=seed)
        assert sorted(_ids(train) + _ids(val)) == list(range(1, 31))
        train_groups = {group_of[i['file_name']] for i in train['images']}
        val_groups = {group_of[i['file_name']] for i in val['images']}
        assert train_groups and val_groups and not train_groups & val_groups
        assert len(val['images']) <= 8  # round(30 * 0.25): whole groups that fit
    assert split_by_group(coco, group_of, 0.25, seed=1) == split_by_group(coco, group_of, 0.25,
                                                                          seed=1)
    # round(30 * 0.01) = 0 images: no group fits, the smallest one is taken
    _, val = split_by_group(coco, group_of, 0.01)
    assert len(val['images']) == 1
    with pytest.raises(KeyError, match='no group'):
        split_by_group(coco, {}, 0.25)
    with pytest.raises(ValueError, match='two groups'):
        split_by_group(coco, dict.fromkeys(group_of, 'one'), 0.25)


def test_labelled_subset_keeps_every_class():
    coco = _toy_coco()
    sizes = set()
    for seed in range(16):
        small = labelled_subset(coco, 0.05, seed=seed)
        assert {a['category_id'] for a in small['annotations']} == {1, 2, 3, 4, 5}
        assert {a['image_id'] for a in small['annotations']} <= set(_ids(small))
        sizes.add(len(small['images']))
    # one image per class stratum (1, 3, 4, 5); a fifth only when class 2 had to be added
    assert sizes == {4, 5}
    assert labelled_subset(coco, 0.05, seed=3) == labelled_subset(coco, 0.05, seed=3)
    half = labelled_subset(coco, 0.5, seed=0)
    assert sum(i['id'] <= 20 for i in half['images']) == 10
    assert sum(i['id'] > 26 for i in half['images']) == 2
    with pytest.raises(ValueError, match='fraction'):
        labelled_subset(coco, 0, seed=0)


def test_write_splits_and_cli(tmp_path):
    ann = tmp_path / 'all.json'
    ann.write_text(json.dumps(_toy_coco()))
    outputs = write_splits(ann, tmp_path / 'a', 0.25, (0.1, 0.025), seed=0)
    assert sorted(p.name for p in outputs) == ['train.json', 'train_10pct.json',
                                               'train_2.5pct.json', 'val.json']
    assert fraction_tag(0.1) == '10pct'
    tool = load_script('tools/dataset_converters/split_coco.py')
    argv = ['--ann', str(ann), '--out-dir', str(tmp_path / 'b'), '--val-fraction', '0.25',
            '--labelled-fraction', '0.1', '0.025', '--seed', '0']
    assert tool.main(argv) == 0
    for name in ('train.json', 'val.json', 'train_10pct.json', 'train_2.5pct.json'):
        assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' / name).read_bytes()
    train = json.loads((tmp_path / 'a' / 'train.json').read_text())
    sub = json.loads((tmp_path / 'a' / 'train_10pct.json').read_text())
    assert set(_ids(sub)) <= set(_ids(train))
    assert tool.main(argv[:-2] + ['--seed', '0', '--val-fraction', '1']) == 2
