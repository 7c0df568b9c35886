"""The record of a map-generation run: per-rank journals, merged into ``manifest.json``.

While maps are written, every rank appends one JSON line per image to its own journal
(``<out>/.manifest_parts/rank<r>.jsonl``): ``{"image", "map", "image_hw", "map_hw", "score"}``
for a map (the line is written before the map file is saved) or ``{"image", "skipped"}`` with
the reason. Journals survive a killed run, so a resumed run still knows about maps written
before the kill; a line torn by the kill is ignored (its map was never saved). After all ranks
finish, rank 0 merges journals and the folder's content into ``manifest.json`` (atomically):
an image is *written* when its map file exists, *skipped* when the latest attempt failed, and
*missing* otherwise.
"""
import json
import logging
import os
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from agssp.core.anomaly_maps import map_relpath
from agssp.core.fileio import atomic_write_json

logger = logging.getLogger('agssp')

JOURNAL_DIR = '.manifest_parts'
MANIFEST_NAME = 'manifest.json'


class RankJournal:
    """Append-only JSON-lines record of one rank's written and skipped images."""

    def __init__(self, out_dir, rank: int):
        self.path = Path(out_dir) / JOURNAL_DIR / f'rank{rank}.jsonl'
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, 'a', encoding='utf-8')
        self.written = 0
        self.skipped = 0

    def _append(self, entry: dict) -> None:
        entry['t'] = time.time()
        self._file.write(json.dumps(entry) + '\n')
        self._file.flush()

    def map_written(self, image, image_hw, map_hw, score: Optional[float]) -> None:
        self.written += 1
        self._append(dict(image=str(image), map=str(map_relpath(image)),
                          image_hw=[int(v) for v in image_hw], map_hw=[int(v) for v in map_hw],
                          score=None if score is None else float(score)))

    def image_skipped(self, image, reason: str) -> None:
        self.skipped += 1
        logger.warning('skipped %s: %s', image, reason)
        self._append(dict(image=str(image), skipped=str(reason)))

    def close(self) -> None:
        self._file.close()


def read_journals(out_dir) -> Dict[str, Dict[str, dict]]:
    """Latest ``written`` and latest ``skipped`` entry per image over every rank's journal."""
    latest = dict(written={}, skipped={})
    for path in sorted((Path(out_dir) / JOURNAL_DIR).glob('rank*.jsonl')):
        with open(path, encoding='utf-8') as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a killed run: its map was never saved
                kind = 'skipped' if 'skipped' in entry else 'written'
                old = latest[kind].get(entry.get('image'))
                if old is None or entry.get('t', 0) >= old.get('t', 0):
                    latest[kind][entry.get('image')] = entry
    return latest


def merge_manifest(out_dir, images: Iterable, existing_maps: Iterable[str], info: dict,
                   run: dict) -> dict:
    """Write ``manifest.json`` for ``images`` from the journals and the maps on disk."""
    out_dir = Path(out_dir)
    existing = set(existing_maps)
    latest = read_journals(out_dir)
    written: List[dict] = []
    skipped: List[dict] = []
    missing: List[str] = []
    for image in map(str, images):
        if str(map_relpath(image)) in existing:
            entry = latest['written'].get(image, dict(image=image, map=str(map_relpath(image))))
            written.append({k: v for k, v in entry.items() if k != 't'})
        elif image in latest['skipped']:
            skipped.append(dict(image=image, reason=latest['skipped'][image]['skipped']))
        else:
            missing.append(image)
    manifest = dict(
        counts=dict(images=len(written) + len(skipped) + len(missing), written=len(written),
                    skipped=len(skipped), missing=len(missing)),
        **info, run=run, written=written, skipped=skipped, missing=missing)
    atomic_write_json(out_dir / MANIFEST_NAME, manifest, indent=1)
    return manifest


def scan_map_folder(out_dir):
    """Map files present (relative paths, posix) and leftover temporary files of killed writes."""
    maps, leftovers = [], []
    out_dir = Path(out_dir)
    for root, dirs, files in os.walk(out_dir):
        dirs[:] = [d for d in dirs if d != JOURNAL_DIR]
        for name in files:
            if name.endswith('.tmp'):
                leftovers.append(Path(root) / name)
            elif name.endswith('.npy'):
                path = Path(root) / name
                if path.stat().st_size > 0:
                    maps.append(path.relative_to(out_dir).as_posix())
    return maps, leftovers
