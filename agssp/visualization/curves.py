"""Training curves from mmengine's logs (:mod:`agssp.core.training_logs`), drawn as PNG."""
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def series(records, key, x_key='step'):
    """(x, y) of every record holding ``key``; a resumed run overwrites repeated steps."""
    points = {}
    for rec in records:
        if key in rec and x_key in rec:
            points[rec[x_key]] = rec[key]
    xs = sorted(points)
    return xs, [points[x] for x in xs]


def _save(fig, out_png) -> Path:
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def plot_curves(curves: dict, title, xlabel, ylabel, out_png) -> Path:
    """One figure with a line per ``label -> (x, y)``; saved as PNG."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=110)
    for label, (xs, ys) in curves.items():
        if xs:
            ax.plot(xs, ys, marker='o' if len(xs) < 30 else None, ms=3, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if any(xs for xs, _ in curves.values()):
        ax.legend(fontsize=8)
    return _save(fig, out_png)


def plot_bars(groups: dict, title, ylabel, out_png) -> Path:
    """Grouped bars: ``label -> {series: (mean, sd)}`` (one group per label, error bars = sd)."""
    labels = list(groups)
    names = list(dict.fromkeys(n for values in groups.values() for n in values))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(labels) + 2), 3.4), dpi=110)
    for i, name in enumerate(names):
        means = [groups[label].get(name, (0.0, 0.0))[0] for label in labels]
        sds = [groups[label].get(name, (0.0, 0.0))[1] for label in labels]
        ax.bar([x + (i - (len(names) - 1) / 2) * width for x in range(len(labels))], means,
               width, yerr=sds, capsize=3, label=name)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out_png)
