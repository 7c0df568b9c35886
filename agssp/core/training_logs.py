"""mmengine's training logs: the records of ``<work_dir>/<timestamp>/vis_data/scalars.json``."""
import json
from pathlib import Path

from agssp.core.errors import InputFileError


class TrainingLogError(InputFileError):
    """A ``scalars.json`` line that is not JSON; names the file and the line."""


def scalars_files(work_dir) -> list:
    """The ``scalars.json`` of every timestamp folder of a Runner work dir, oldest first (a
    resumed run has several)."""
    return sorted(Path(work_dir).glob('*/vis_data/scalars.json'))


def read_scalars_file(path) -> list:
    """The records of one ``scalars.json`` (one JSON object per line)."""
    records = []
    for n, line in enumerate(Path(path).read_text(encoding='utf-8').splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise TrainingLogError(f'{path}:{n}', f'not JSON ({exc})') from exc
    return records


def read_scalars(work_dir) -> list:
    """Every logged record of a Runner work dir, oldest run first (resumed runs included)."""
    return [record for path in scalars_files(work_dir) for record in read_scalars_file(path)]
