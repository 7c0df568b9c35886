"""Checkpoints saved by an mmengine Runner load back under torch's default safe loading."""
import pickle

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import agssp  # noqa: F401  (applies agssp.compat)
from agssp.compat import _history_buffer_getattr


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x, mode='loss'):
        out = self.linear(torch.stack(x) if isinstance(x, list) else x)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else [out]


class _Points(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(x=torch.full((2,), float(i)))


def _train(work_dir, max_epochs, resume=False):
    runner = Runner(
        model=_TinyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Points(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        resume=resume, default_scope='mmengine')
    runner.train()
    return runner


def test_runner_checkpoint_loads_with_default_safe_loading(tmp_path):
    _train(tmp_path, max_epochs=1)
    ckpt = torch.load(tmp_path / 'epoch_1.pth')  # torch's default: weights_only=True
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(ckpt)
    assert 'train/loss' in ckpt['message_hub']['log_scalars']


def test_runner_resumes_from_its_checkpoint(tmp_path):
    _train(tmp_path, max_epochs=1)
    runner = _train(tmp_path, max_epochs=2, resume=True)
    assert runner.epoch == 2
    assert (tmp_path / 'epoch_2.pth').is_file()


def test_other_globals_stay_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'f': print}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_getattr_stand_in_only_resolves_history_buffer_statistics():
    with pytest.raises(AttributeError, match='refused'):
        _history_buffer_getattr(torch, 'load')
