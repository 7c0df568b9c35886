"""Shared fixtures: the real datasets under ../shared/data, skipped with a message when absent."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'


def _dataset(name):
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f'real dataset {name!r} not found at {path} '
                    '(place the shared data folder beside the repository to run this test)')
    return path


@pytest.fixture(scope='session')
def neu_det_root():
    """NEU-DET (VOC boxes) from ../shared/data/neu-det."""
    return _dataset('neu-det')


@pytest.fixture(scope='session')
def magnetic_tile_root():
    """Magnetic Tile (pixel masks) from ../shared/data/magnetic-tile."""
    return _dataset('magnetic-tile')


@pytest.fixture(scope='session')
def bsdata_root():
    """BSData (labelme polygons, image_data.json) from ../shared/data/bsdata."""
    return _dataset('bsdata')


def _manager_classes(cls):
    yield cls
    for sub in cls.__subclasses__():
        yield from _manager_classes(sub)


@pytest.fixture(autouse=True)
def fresh_mmengine_instances():
    """mmengine keeps one visualizer, logger and message hub per name and process: a Runner of
    one test would write through another's, into a folder removed when that test passed."""
    yield
    from mmengine.logging import MMLogger
    from mmengine.utils import ManagerMixin
    for cls in _manager_classes(ManagerMixin):
        for instance in cls._instance_dict.values():
            if isinstance(instance, MMLogger):
                for handler in instance.handlers:
                    handler.close()
        cls._instance_dict.clear()


REAL_DATA_FIXTURES = ('neu_det_root', 'magnetic_tile_root', 'bsdata_root')


def pytest_collection_modifyitems(config, items):
    """A test that reads a real dataset (through the fixtures above) is an integration test."""
    for item in items:
        if set(REAL_DATA_FIXTURES) & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.integration)
