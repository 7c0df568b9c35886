"""Pascal VOC XML boxes -> COCO.

Coordinates: VOC ``xmin..xmax`` / ``ymin..ymax`` are 1-based pixel indices, both ends inclusive.
The box covering those pixels has the 0-based continuous extent ``[xmin - 1, xmax]`` (COCO
convention), so its width is ``xmax - xmin + 1`` and ``xmin=1, xmax=W`` spans the whole image.
(mmdet's own ``XMLDataset`` subtracts 1 from all four values instead, i.e. one pixel narrower.)
Every box keeps its ``<difficult>`` flag as an extra ``difficult`` field (0/1); none is dropped.
"""
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from agssp.core.coco import BoxError, CocoWriter, checked_box
from agssp.core.errors import InputFileError
from agssp.core.images import ImageIndex
from agssp.datasets.converters.annotated_images import read_annotated_images


class VocFormatError(InputFileError):
    """An XML file that is not a usable VOC annotation; the message names the file."""


@dataclass
class VocObject:
    """One ``<object>``; ``index`` is its 1-based position in the XML file."""
    index: int
    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: int = 0


@dataclass
class VocAnnotation:
    """One parsed XML file. ``size`` is ``(width, height)`` or None when the XML gives none."""
    xml_path: Path
    filename: str
    size: Optional[Tuple[int, int]]
    objects: List[VocObject] = field(default_factory=list)
    object_errors: List[Tuple[int, str]] = field(default_factory=list)


def voc_box_to_xyxy(xmin, ymin, xmax, ymax):
    """VOC 1-based inclusive pixel indices -> COCO continuous ``xyxy`` (see module docstring)."""
    return float(xmin) - 1.0, float(ymin) - 1.0, float(xmax), float(ymax)


def _text(elem, tag):
    child = elem.find(tag)
    return None if child is None or child.text is None or not child.text.strip() \
        else child.text.strip()


def _parse_object(index, obj):
    name = _text(obj, 'name')
    if name is None:
        raise ValueError('object without <name>')
    bndbox = obj.find('bndbox')
    if bndbox is None:
        raise ValueError(f'object {name!r} without <bndbox>')
    coords = []
    for tag in ('xmin', 'ymin', 'xmax', 'ymax'):
        value = _text(bndbox, tag)
        try:
            coords.append(float(value))
        except (TypeError, ValueError):
            raise ValueError(f'object {name!r}: <{tag}> is {value!r}, not a number') from None
    difficult = _text(obj, 'difficult') or '0'
    if difficult not in ('0', '1'):
        raise ValueError(f'object {name!r}: <difficult> is {difficult!r}, not 0 or 1')
    return VocObject(index, name, *coords, difficult=int(difficult))


def _parse_size(root, path):
    size = root.find('size')
    if size is None:
        return None
    values = [_text(size, 'width'), _text(size, 'height')]
    if any(v is None for v in values):
        return None
    try:
        width, height = (int(float(v)) for v in values)
    except ValueError:
        raise VocFormatError(path, f'malformed XML: <size> is not numeric: {values}') from None
    return (width, height) if width > 0 and height > 0 else None


def parse_voc_xml(path) -> VocAnnotation:
    """Parse one VOC XML file; a bad object is recorded in ``object_errors``, not raised.

    ``filename`` falls back to the XML file's stem when ``<filename>`` is absent. Raises
    :class:`VocFormatError` when the file is not well-formed XML or not a VOC ``<annotation>``.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise VocFormatError(path, f'malformed XML: {exc}') from exc
    except OSError as exc:
        raise VocFormatError(path, f'unreadable XML: {exc}') from exc
    if root.tag != 'annotation':
        raise VocFormatError(path, f'malformed XML: root element is <{root.tag}>, not <annotation>')
    ann = VocAnnotation(path, _text(root, 'filename') or path.stem, _parse_size(root, path))
    for index, obj in enumerate(root.findall('object'), start=1):
        try:
            ann.objects.append(_parse_object(index, obj))
        except ValueError as exc:
            ann.object_errors.append((index, str(exc)))
    return ann


def _object_path(xml_path, index):
    return f'{xml_path}#object{index}'


def voc_to_coco(dir_pairs, data_root=None, classes=None, progress=None) -> CocoWriter:
    """Convert VOC annotations to a COCO writer (call ``.dump(out)`` on it).

    Args:
        dir_pairs: ``[(ann_dir, img_dir), ...]``; each XML is matched to an image of its pair's
            image folder by ``<filename>``, or by stem when the suffix is missing or differs.
        data_root: folder the COCO ``file_name`` values are relative to; defaults to the common
            parent of the image folders (the folder itself for a single pair).
        classes: category names in id order; default: every name found, sorted. With given
            classes, an object of another class is a listed skip.
        progress: optional wrapper for an iterable (e.g. ``tqdm``) to show progress.

    Listed skips (``writer.skipped``): malformed XML, missing/ambiguous/unreadable image, image
    size differing from the XML's ``<size>`` (the image and its boxes), an image annotated twice,
    an image without an XML, and per box: malformed object, unknown class, degenerate box, box
    outside the image. An image whose boxes were all skipped is kept without boxes.
    """
    dir_pairs = [(Path(a), Path(i)) for a, i in dir_pairs]
    if not dir_pairs:
        raise ValueError('no (ann_dir, img_dir) pairs given')
    for ann_dir, img_dir in dir_pairs:
        for folder in (ann_dir, img_dir):
            if not folder.is_dir():
                raise FileNotFoundError(f'folder not found: {folder}')
    dir_pairs = [(a, i.resolve()) for a, i in dir_pairs]
    data_root = Path(data_root).resolve() if data_root is not None else Path(
        os.path.commonpath([str(i) for _, i in dir_pairs]))
    for _, img_dir in dir_pairs:
        if not img_dir.is_relative_to(data_root):
            raise ValueError(f'image folder {img_dir} is not under data_root {data_root}')

    indexes = {img_dir: ImageIndex(img_dir) for _, img_dir in dir_pairs}
    jobs = [(xml, img_dir, indexes[img_dir]) for ann_dir, img_dir in dir_pairs
            for xml in sorted(ann_dir.glob('*.xml'))]
    records, skips, used = read_annotated_images(
        jobs, parse_voc_xml, lambda index, ann: index.resolve(ann.filename), data_root, 'XML',
        progress)

    for _, img_dir in dir_pairs:
        for rel in indexes[img_dir].relpaths:
            if img_dir / rel not in used:
                skips.append((img_dir / rel, 'unannotated image: no XML file names this image'))

    if classes is None:
        classes = sorted({obj.name for ann, *_ in records for obj in ann.objects})
    writer = CocoWriter(classes)
    for path, reason in skips:
        writer.skip(path, reason)
    known = set(classes)
    for ann, file_name, height, width in records:
        image_id = writer.add_image(file_name, height, width)
        for index, reason in ann.object_errors:
            writer.skip(_object_path(ann.xml_path, index), f'malformed object: {reason}')
        for obj in ann.objects:
            if obj.name not in known:
                writer.skip(_object_path(ann.xml_path, obj.index),
                            f'unknown class: {obj.name!r} is not one of {list(classes)}')
                continue
            try:
                box = checked_box(*voc_box_to_xyxy(obj.xmin, obj.ymin, obj.xmax, obj.ymax),
                                  width, height)
            except BoxError as exc:
                writer.skip(_object_path(ann.xml_path, obj.index), str(exc))
                continue
            writer.add_box(image_id, obj.name, *box, difficult=obj.difficult)
    return writer
