"""PNG figures of AGBP alignment: activation maps next to anomaly maps, and the loss curve."""
from pathlib import Path

import cv2
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    span = float(x.max() - x.min())
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def save_activation_figure(path, before: list, after: list, stages, dpi: int = 60):
    """One row per held-out image: image, anomaly map, then each stage's activation map before
    and after training (upsampled to the image, min-max scaled), titled with its cosine."""
    rows = min(len(before), len(after))
    cols = 2 + 2 * len(stages)
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 1.7 * rows), squeeze=False)
    for r in range(rows):
        image = before[r]['image'][..., ::-1]
        hw = image.shape[:2]
        panels = [(image, 'image', None), (_unit(before[r]['anomaly_map']), 'anomaly map', 'jet')]
        for label, example in (('before', before[r]), ('after', after[r])):
            for s, (act, cos) in enumerate(zip(example['activations'], example['cosines'])):
                act = cv2.resize(_unit(act), (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
                panels.append((act, f'{label} out{stages[s]}\ncos {cos:.3f}', 'jet'))
        for c, (img, title, cmap) in enumerate(panels):
            ax = axes[r][c]
            scale = {} if cmap is None else dict(cmap=cmap, vmin=0, vmax=1)
            ax.imshow(img, **scale)
            ax.set_title(title, fontsize=7)
            ax.axis('off')
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def save_loss_curve(path, records: list, keys=('loss_distill', 'loss_cls'), dpi: int = 80):
    """The training losses (and distillation cosines, right axis) against the iteration."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for key in keys:
        points = [(r['step'], r[key]) for r in records if key in r]
        if points:
            ax.plot(*zip(*points), label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    handles, labels = ax.get_legend_handles_labels()
    cos_keys = sorted({k for r in records for k in r if k.startswith('distill_cos')})
    if cos_keys:
        ax2 = ax.twinx()
        for key in cos_keys:
            points = [(r['step'], r[key]) for r in records if key in r]
            ax2.plot(*zip(*points), linestyle='--', label=key)
        ax2.set_ylabel('cosine (training batch)')
        more_handles, more_labels = ax2.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    fig.legend(handles, labels, loc='upper center', ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
