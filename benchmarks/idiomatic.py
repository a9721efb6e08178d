"""The baseline: CER-MTL trained the way a student writes it in PyTorch.

A per-sample ``Dataset`` that cuts one feature image out of a NumPy array
per ``__getitem__`` (NumPy indexing, as a tutorial does), a shuffling
``DataLoader`` with its default collation, a model of ``nn.Conv1d``,
``nn.MaxPool1d`` and three ``nn.GRU`` heads, ``torch.optim.Adam`` with its
defaults, a plainly written CCC loss, and validation through a
``DataLoader`` too. Same architecture, data, batch size and learning rate
as ``cerlib.fit``; nothing of cerlib is imported. ``benchmarks/run.py``
times it against cerlib.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Images(Dataset):
    """Frame l of a recording -> (its (P, N) feature image, its labels)."""

    def __init__(self, features, labels, n_frames=20, stride=10):
        self.features, self.labels = features, labels
        self.offsets = np.arange(-n_frames // 2 + 1, n_frames // 2 + 1) * stride
        self.index = [(r, l) for r, x in enumerate(features) for l in range(len(x))]

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        r, l = self.index[i]
        x = self.features[r]
        cols = np.clip(l + self.offsets, 0, len(x) - 1)
        return x[cols].T, self.labels[r][l]


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(25, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)
        self.out = nn.Linear(2, 1)

    def forward(self, seq):
        _, h = self.gru(seq)
        return self.out(torch.tanh(self.fc(h[-1])))


class Net(nn.Module):
    def __init__(self, n_features=63):
        super().__init__()
        self.conv = nn.Conv1d(n_features, 25, 3)
        self.pool = nn.MaxPool1d(2)
        self.heads = nn.ModuleList(Head() for _ in range(3))

    def forward(self, x):
        z = self.pool(torch.relu(self.conv(x))).transpose(1, 2)
        return torch.cat([h(z) for h in self.heads], dim=1)


def ccc_loss(y_hat, y):
    mu_p, mu_y = y_hat.mean(0), y.mean(0)
    cov = ((y_hat - mu_p) * (y - mu_y)).mean(0)
    ccc = 2 * cov / (y_hat.var(0, unbiased=False) + y.var(0, unbiased=False) + (mu_p - mu_y) ** 2 + 1e-8)
    return (1 - ccc).mean()


def train_epoch(model, optimiser, loader, valid_loader, max_batches=None):
    """One epoch and a validation pass; returns the validation CCC per task."""
    model.train()
    for b, (x, y) in enumerate(loader):
        if max_batches is not None and b == max_batches:
            break
        loss = ccc_loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    if valid_loader is None:
        return None
    model.eval()
    preds, ys = [], []
    with torch.no_grad():
        for x, y in valid_loader:
            preds.append(model(x))
            ys.append(y)
    return 1 - ccc_loss(torch.cat(preds), torch.cat(ys))


def make(train_x, train_y, valid_x, valid_y, batch_size=256, lr=5e-5, seed=0):
    torch.manual_seed(seed)
    model = Net(train_x[0].shape[1])
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(Images(train_x, train_y), batch_size=batch_size, shuffle=True)
    valid_loader = DataLoader(Images(valid_x, valid_y), batch_size=4096) if valid_x is not None else None
    return model, optimiser, loader, valid_loader
