"""The ``random_boxes`` control: pseudo boxes moved to random places.

Same images, same number of boxes per image, same box sizes (relative to the image, shuffled
over the pool): only *where* the boxes are is lost, so AGDP on these boxes separates "detection
pretraining on the pool" from "detection pretraining on anomaly boxes".
"""
import numpy as np

from agssp.core.coco import CocoWriter


def random_boxes_like(coco: dict, seed: int = 0) -> CocoWriter:
    """A COCO writer with ``coco``'s images, each holding as many boxes as in ``coco``, of sizes
    drawn without replacement from all of ``coco``'s boxes (as fractions of their image's
    width and height), at uniformly random positions inside the image."""
    rng = np.random.default_rng(seed)
    images = {img['id']: img for img in coco['images']}
    counts = {img_id: 0 for img_id in images}
    sizes = []
    for ann in coco['annotations']:
        img = images[ann['image_id']]
        counts[ann['image_id']] += 1
        sizes.append((ann['bbox'][2] / img['width'], ann['bbox'][3] / img['height']))
    sizes = [sizes[i] for i in rng.permutation(len(sizes))]
    names = [c['name'] for c in sorted(coco['categories'], key=lambda c: c['id'])]
    writer = CocoWriter(names)
    for img_id, img in images.items():
        new_id = writer.add_image(img['file_name'], img['height'], img['width'])
        for _ in range(counts[img_id]):
            fw, fh = sizes.pop()
            w, h = max(1.0, fw * img['width']), max(1.0, fh * img['height'])
            x = rng.uniform(0, max(img['width'] - w, 0))
            y = rng.uniform(0, max(img['height'] - h, 0))
            writer.add_box(new_id, names[0], x, y, x + w, y + h)
    return writer
