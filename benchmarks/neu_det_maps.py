"""SynthSeg maps on NEU-DET, trained on NEU-DET alone (no defect-free image exists there).

    python benchmarks/neu_det_maps.py        # trains into work_dirs/synthseg_neu if needed

Trains ``configs/anomaly/synthseg_neu.py`` on ``IMAGES/`` (1770 unlabelled images; the labels
are not used) unless ``<work-dir>/synthseg.pth`` exists, then draws the maps of held-out
``Validation_Images/`` (two per class) with their ground-truth boxes in green into
``docs/figures/synthseg_neu_det_maps.png``: per image, the image and the map over it, one colour
scale for all (lowest value to the 99th percentile of the maxima). Also prints, per class, the
fraction of map mass inside the boxes against the boxes' area fraction (a rough check that the
maps point at defects, not a metric of the issue).
"""
import argparse
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import agssp.anomaly  # noqa: E402,F401  (registration)
from agssp.anomaly.build import build_anomaly_model  # noqa: E402
from agssp.anomaly.image_input import load_model_input  # noqa: E402
from agssp.anomaly.synthseg.trainer import MODEL_FILE, train_from_config  # noqa: E402
from agssp.anomaly.writer import select_images  # noqa: E402
from agssp.core.anomaly_maps import resize_map  # noqa: E402
from agssp.core.fileio import atomic_write_bytes  # noqa: E402
from agssp.datasets.converters.voc import parse_voc_xml  # noqa: E402
from agssp.engine import load_config  # noqa: E402

DATA = REPO.parent / 'shared' / 'data' / 'neu-det'
PANEL = 128
TITLE = 16


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/anomaly/synthseg_neu.py')
    parser.add_argument('--data', default=str(DATA), help='NEU-DET root')
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'synthseg_neu'))
    parser.add_argument('--out', default=str(REPO / 'docs' / 'figures' /
                                             'synthseg_neu_det_maps.png'))
    parser.add_argument('--per-class', type=int, default=2)
    parser.add_argument('--retrain', action='store_true',
                        help='train from scratch even if a model or training state exists')
    return parser.parse_args(argv)


def boxes_of(xml_path):
    """(class name, [x0, y0, x1, y1] boxes) of a VOC file, 0-based continuous coordinates."""
    ann = parse_voc_xml(xml_path)
    return [(o.name, (o.xmin - 1, o.ymin - 1, o.xmax, o.ymax)) for o in ann.objects]


def panel_pair(image_bgr, amap, boxes, value_range, title):
    """Image with boxes | map over the image with boxes, each PANEL x PANEL, titled."""
    h, w = image_bgr.shape[:2]
    low, high = value_range
    scaled = (resize_map(amap, (h, w)) - low) / max(high - low, 1e-12)
    heat = cv2.applyColorMap((np.clip(scaled, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = cv2.addWeighted(image_bgr, 0.45, heat, 0.55, 0)
    panels = []
    for picture in (image_bgr.copy(), blended):
        for _, (x0, y0, x1, y1) in boxes:
            cv2.rectangle(picture, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), (0, 255, 0), 2)
        panels.append(cv2.resize(picture, (PANEL, PANEL), interpolation=cv2.INTER_AREA))
    pair = np.hstack([panels[0], np.full((PANEL, 2, 3), 255, np.uint8), panels[1]])
    strip = np.zeros((TITLE, pair.shape[1], 3), np.uint8)
    cv2.putText(strip, title, (3, TITLE - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)
    return np.vstack([strip, pair])


def grid(cells, columns, gap=6):
    """Cells (equal shapes) laid out ``columns`` per row with white gaps."""
    cells = cells + [np.full_like(cells[0], 255)] * (-len(cells) % columns)
    rows = []
    for i in range(0, len(cells), columns):
        row = cells[i]
        for cell in cells[i + 1:i + columns]:
            row = np.hstack([row, np.full((row.shape[0], gap, 3), 255, np.uint8), cell])
        rows.append(row)
    out = rows[0]
    for row in rows[1:]:
        out = np.vstack([out, np.full((gap, out.shape[1], 3), 255, np.uint8), row])
    return out


def palette_png(bgr: np.ndarray) -> bytes:
    """PNG bytes of a BGR picture reduced to a 256-colour palette (about 3x smaller)."""
    buf = io.BytesIO()
    Image.fromarray(bgr[..., ::-1]).quantize(colors=256).save(buf, format='PNG', optimize=True)
    return buf.getvalue()


def main(argv=None) -> int:
    args = parse_args(argv)
    data, work = Path(args.data), Path(args.work_dir)
    if not data.is_dir():
        print(f'error: NEU-DET not found at {data}', file=sys.stderr)
        return 1
    cfg = load_config(args.config)
    if args.retrain or not (work / MODEL_FILE).is_file():
        paths = [data / 'IMAGES' / rel for rel in select_images(data / 'IMAGES', ('.jpg',))]
        log = train_from_config(cfg, paths, work, resume=not args.retrain)
        print(f'trained on {log["images"]} NEU-DET images in {log["total_seconds"] / 60:.1f} '
              f'min ({log["cpu_seconds"] / 60:.1f} CPU-min)')
    model = build_anomaly_model(dict(model=cfg.model, checkpoint=str(work / MODEL_FILE)))
    by_class = {}
    for rel in select_images(data / 'Validation_Images', ('.jpg',)):
        by_class.setdefault(rel.rsplit('_', 1)[0], []).append(rel)
    rows, maps, check = [], [], {}
    for cls in sorted(by_class):
        for rel in by_class[cls][:args.per_class]:
            path = data / 'Validation_Images' / rel
            with torch.no_grad():
                amap = model(load_model_input(path, model.input_size)[None])['anomaly_map'][0]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            boxes = boxes_of(data / 'Validation_Annotations' / (Path(rel).stem + '.xml'))
            maps.append((cls, image, amap.numpy(), boxes))
    low = min(float(m.min()) for _, _, m, _ in maps)
    high = float(np.percentile([m.max() for _, _, m, _ in maps], 99))
    for cls, image, amap, boxes in maps:
        rows.append(panel_pair(image, amap, boxes, (low, high), cls))
        inside = np.zeros(image.shape[:2], bool)
        for _, (x0, y0, x1, y1) in boxes:
            inside[int(y0):int(y1), int(x0):int(x1)] = True
        mass = np.clip(resize_map(amap, image.shape[:2]) - low, 0, None)
        check.setdefault(cls, []).append((mass[inside].sum() / max(mass.sum(), 1e-9),
                                          inside.mean()))
    figure = grid(rows, columns=4)
    png = palette_png(figure)
    atomic_write_bytes(args.out, png)
    print(f'figure: {args.out} ({len(png) // 1024} KB)')
    for cls, values in check.items():
        share, area = np.mean(values, axis=0)
        print(f'{cls:16s} map mass inside boxes {share:.2f} (boxes cover {area:.2f} of the image)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
