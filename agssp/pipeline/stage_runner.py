"""Running pipeline stages in order: each in its own folder, skipped once complete.

A stage is complete when its folder holds ``stage_done.json`` recording the stage's settings and
the run of every stage it reads (``deps``; default: every earlier stage). It runs again, from an
empty folder, when its settings changed or one of those stages was redone; the log says which.
A run killed mid-way resumes at the stage it was in, in that stage's folder (training stages
also resume from their last checkpoint), when its settings and inputs are the same. A stage with
``keep_folder`` manages what it keeps itself (the fine-tuning runs: one result per run).
"""
import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from agssp.core.fileio import atomic_write_json

DONE_FILE = 'stage_done.json'
STARTED_FILE = 'stage_started.json'


@dataclass
class Stage:
    """One step of the pipeline: ``run(stage_dir)`` does the work and returns a summary dict.

    ``deps``: names of the earlier stages whose results it reads (None: all earlier stages).
    """
    name: str
    settings: dict
    run: Callable[[Path], dict]
    deps: Optional[Sequence[str]] = None
    keep_folder: bool = False


def jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _record(path: Path):
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def run_id(stage_dir) -> Optional[str]:
    """The id of the completed run in ``stage_dir`` (None when it has none)."""
    record = _record(Path(stage_dir) / DONE_FILE)
    return record.get('run_id') if record else None


def stage_is_done(stage_dir: Path, settings: dict, inputs: Optional[dict] = None) -> bool:
    """True when the folder records a completed run with these settings (and inputs)."""
    record = _record(Path(stage_dir) / DONE_FILE)
    return (record is not None and record.get('settings') == jsonable(settings)
            and (inputs is None or record.get('inputs') == inputs))


def why_rerun(record, settings: dict, inputs: dict) -> str:
    """Why a stage runs: first run, which settings changed, or which input stage was redone."""
    if record is None:
        return 'first run'
    old = record.get('settings') or {}
    new = jsonable(settings)
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        return 'settings changed: ' + ', '.join(changed)
    redone = sorted(k for k in inputs if (record.get('inputs') or {}).get(k) != inputs[k])
    if redone:
        return 'redone upstream: ' + ', '.join(redone)
    return 'inputs changed'


def _prepare_stage_dir(stage_dir: Path, started: dict, keep: bool) -> bool:
    """Keep the folder of an interrupted run with the same inputs (returns True), else empty it."""
    resumable = _record(stage_dir / STARTED_FILE) == started
    if not resumable and not keep and stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(stage_dir / STARTED_FILE, started, indent=1)
    return resumable


def run_stages(stages: List[Stage], work_dir, log=print) -> Dict[str, dict]:
    """Run (or skip) every stage; returns each stage's summary, printing one line per stage."""
    work_dir = Path(work_dir)
    summaries, run_ids, start = {}, {}, time.time()
    for index, stage in enumerate(stages, 1):
        stage_dir = work_dir / f'{index:02d}_{stage.name}'
        prefix = f'[stage {index}/{len(stages)} {stage.name}]'
        deps = list(run_ids) if stage.deps is None else list(stage.deps)
        unknown = [d for d in deps if d not in run_ids]
        if unknown:
            raise ValueError(f'stage {stage.name} reads {unknown}, which do not run before it')
        inputs = {d: run_ids[d] for d in deps}
        record = _record(stage_dir / DONE_FILE)
        if stage_is_done(stage_dir, stage.settings, inputs):
            summaries[stage.name], run_ids[stage.name] = record['summary'], record['run_id']
            log(f'{prefix} complete, skipped ({stage_dir})')
            continue
        started = dict(settings=jsonable(stage.settings), inputs=inputs)
        resumed = _prepare_stage_dir(stage_dir, started, stage.keep_folder)
        log(f'{prefix} {"resuming" if resumed else "running"} in {stage_dir} '
            f'({why_rerun(record, stage.settings, inputs)})')
        t0 = time.time()
        summary = stage.run(stage_dir) or {}
        elapsed = time.time() - t0
        summary = dict(summary, elapsed_s=round(elapsed, 1))
        run_ids[stage.name] = uuid.uuid4().hex
        atomic_write_json(stage_dir / DONE_FILE,
                          dict(started, summary=jsonable(summary), run_id=run_ids[stage.name]),
                          indent=1)
        summaries[stage.name] = jsonable(summary)
        log(f'{prefix} done in {elapsed / 60:.1f} min (total {(time.time() - start) / 60:.1f} min)')
    return summaries
