"""Running pipeline stages in order: each in its own folder, skipped once complete.

A stage is complete when its folder holds ``stage_done.json`` recording the stage's settings;
a stage whose settings changed, or that follows a stage that ran again, runs again from an empty
folder. A run killed mid-way resumes at the stage it was in, in that stage's folder (training
stages also resume from their last checkpoint), when nothing before it changed.
"""
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List

from agssp.fileio import atomic_write_json

DONE_FILE = 'stage_done.json'
STARTED_FILE = 'stage_started.json'


@dataclass
class Stage:
    """One step of the pipeline: ``run(stage_dir)`` does the work and returns a summary dict."""
    name: str
    settings: dict
    run: Callable[[Path], dict]


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _recorded_settings(path: Path):
    try:
        return json.loads(path.read_text()).get('settings') if path.is_file() else None
    except json.JSONDecodeError:
        return None


def stage_is_done(stage_dir: Path, settings: dict) -> bool:
    """True when the folder records a completed run with these settings."""
    return _recorded_settings(Path(stage_dir) / DONE_FILE) == _jsonable(settings)


def _prepare_stage_dir(stage_dir: Path, settings: dict, upstream_changed: bool) -> bool:
    """Keep the folder of an interrupted run with the same inputs (returns True), else empty it."""
    resumable = (not upstream_changed
                 and _recorded_settings(stage_dir / STARTED_FILE) == _jsonable(settings))
    if not resumable and stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(stage_dir / STARTED_FILE, dict(settings=_jsonable(settings)), indent=1)
    return resumable


def run_stages(stages: List[Stage], work_dir, log=print) -> Dict[str, dict]:
    """Run (or skip) every stage; returns each stage's summary, printing one line per stage."""
    work_dir = Path(work_dir)
    summaries, upstream_changed, start = {}, False, time.time()
    for index, stage in enumerate(stages, 1):
        stage_dir = work_dir / f'{index:02d}_{stage.name}'
        prefix = f'[stage {index}/{len(stages)} {stage.name}]'
        if not upstream_changed and stage_is_done(stage_dir, stage.settings):
            summaries[stage.name] = json.loads((stage_dir / DONE_FILE).read_text())['summary']
            log(f'{prefix} complete, skipped ({stage_dir})')
            continue
        resumed = _prepare_stage_dir(stage_dir, stage.settings, upstream_changed)
        upstream_changed = True
        log(f'{prefix} {"resuming" if resumed else "running"} in {stage_dir}')
        t0 = time.time()
        summary = stage.run(stage_dir) or {}
        elapsed = time.time() - t0
        summary = dict(summary, elapsed_s=round(elapsed, 1))
        atomic_write_json(stage_dir / DONE_FILE,
                          dict(settings=_jsonable(stage.settings), summary=_jsonable(summary)),
                          indent=1)
        summaries[stage.name] = _jsonable(summary)
        log(f'{prefix} done in {elapsed / 60:.1f} min (total {(time.time() - start) / 60:.1f} min)')
    return summaries
