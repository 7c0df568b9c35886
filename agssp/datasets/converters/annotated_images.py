"""Pairing annotation files (VOC XML, labelme JSON) with their images: one rule, listed skips."""
from pathlib import Path

from agssp.core.errors import InputFileError
from agssp.core.images import ImageReadError, read_image_size


def read_annotated_images(jobs, parse, find_image, data_root, kind, progress=None):
    """Parse each annotation file, find its image, and check that their sizes agree.

    Args:
        jobs: ``(annotation file, image folder, ImageIndex of that folder)`` triples.
        parse: ``parse(path)`` -> the parsed annotation, with ``size`` (``(w, h)`` or None);
            raises an :class:`~agssp.core.errors.InputFileError` for an unusable file.
        find_image: ``find_image(index, parsed)`` -> the image path relative to its folder;
            raises ``LookupError`` when there is none (or several).
        data_root: image paths in the records are relative to it.
        kind: how messages name the annotation file ('XML', 'labelme file').
        progress: optional wrapper for an iterable (e.g. ``tqdm``).

    Returns ``(records, skips, used)``: ``(parsed, image path under data_root, height, width)``
    per usable pair; ``(path, reason)`` per unusable file (malformed, missing, ambiguous or
    unreadable image, size mismatch, image annotated twice); ``{image path: annotation file}``.
    """
    records, skips, used = [], [], {}
    for ann_path, img_dir, index in (progress(jobs) if progress else jobs):
        try:
            parsed = parse(ann_path)
            rel = find_image(index, parsed)
        except InputFileError as exc:
            skips.append((ann_path, exc.reason))
            continue
        except LookupError as exc:
            skips.append((ann_path, f'missing image for annotation: {exc}'))
            continue
        image_path = Path(img_dir) / rel
        if image_path in used:
            skips.append((ann_path, f'duplicate annotation: image {image_path} is already '
                                    f'annotated by {used[image_path]}'))
            continue
        used[image_path] = ann_path
        try:
            height, width = read_image_size(image_path)
        except ImageReadError as exc:
            skips.append((image_path, exc.reason))
            continue
        if parsed.size is not None and tuple(parsed.size) != (width, height):
            skips.append((ann_path, f'image size mismatch: {kind} says {parsed.size[0]}x'
                                    f'{parsed.size[1]}, {image_path} is {width}x{height} (w x h)'))
            continue
        records.append((parsed, image_path.relative_to(data_root), height, width))
    return records, skips, used
