"""YOLO txt labels -> COCO.

Each label file mirrors an image path (``<label_dir>/<image relpath>.txt``) and holds one box per
line: ``class_index cx cy w h``, centre and size normalised by the image width/height.
An image without a label file is a defect-free (background) image, kept without boxes.
"""
from pathlib import Path

from agssp.core.coco import CocoWriter, checked_box
from agssp.core.images import ImageIndex, ImageReadError, read_image_size


def read_class_names(path):
    """Class names from a text file, one per line (blank lines ignored), in class-index order."""
    names = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if not names:
        raise ValueError(f'{path}: no class names')
    if len(set(names)) != len(names):
        raise ValueError(f'{path}: duplicate class names: {names}')
    return names


def yolo_box_to_xyxy(cx, cy, w, h, width, height):
    """Normalised centre/size -> pixel ``xyxy`` in an image of ``width`` x ``height``."""
    return ((cx - w / 2) * width, (cy - h / 2) * height,
            (cx + w / 2) * width, (cy + h / 2) * height)


def parse_yolo_line(line, num_classes):
    """``(class_index, cx, cy, w, h)`` of one label line; ``ValueError`` says what is wrong."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f'malformed label line: expected 5 values, got {len(fields)}: {line!r}')
    try:
        class_index = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        raise ValueError(f'malformed label line: not numbers: {line!r}') from None
    if not 0 <= class_index < num_classes:
        raise ValueError(f'unknown class: index {class_index} not in 0..{num_classes - 1}')
    return (class_index, *values)


def yolo_to_coco(img_dir, label_dir, classes, progress=None) -> CocoWriter:
    """Convert YOLO labels to a COCO writer (call ``.dump(out)`` on it).

    Args:
        img_dir: image folder (searched recursively); COCO ``file_name`` values are relative
            to it.
        label_dir: label folder mirroring ``img_dir``.
        classes: class names in class-index order (category id = index + 1).
        progress: optional wrapper for an iterable (e.g. ``tqdm``) to show progress.

    Listed skips: an unreadable image or label file (its image is left out), a label file
    without image, and per line: a malformed line, an unknown class index, a degenerate box or
    a box outside the image.
    """
    img_dir, label_dir = Path(img_dir), Path(label_dir)
    if not label_dir.is_dir():
        raise FileNotFoundError(f'label folder not found: {label_dir}')
    writer = CocoWriter(classes)
    relpaths = ImageIndex(img_dir).relpaths
    image_stems = {rel.with_suffix('') for rel in relpaths}
    for label_path in sorted(label_dir.rglob('*.txt')):
        if label_path.relative_to(label_dir).with_suffix('') not in image_stems:
            writer.skip(label_path, 'missing image: no image has this label file\'s stem')

    for rel in (progress(relpaths) if progress else relpaths):
        try:
            height, width = read_image_size(img_dir / rel)
        except ImageReadError as exc:
            writer.skip(img_dir / rel, exc.reason)
            continue
        label_path = label_dir / rel.with_suffix('.txt')
        try:
            lines = label_path.read_text().splitlines() if label_path.is_file() else []
        except (OSError, UnicodeDecodeError) as exc:
            writer.skip(label_path, f'unreadable label file: {exc}; its image is left out')
            continue
        image_id = writer.add_image(rel, height, width)
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                class_index, cx, cy, w, h = parse_yolo_line(line, len(classes))
                box = checked_box(*yolo_box_to_xyxy(cx, cy, w, h, width, height), width, height)
            except ValueError as exc:  # includes BoxError
                writer.skip(f'{label_path}:{lineno}', str(exc))
                continue
            writer.add_box(image_id, classes[class_index], *box)
    return writer
