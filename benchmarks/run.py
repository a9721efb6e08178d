"""Speed and memory figures of cerlib, in one table.

    python benchmarks/run.py            # a few minutes on a CPU
    python benchmarks/run.py --quick    # a smoke run (smaller data, fewer rounds)
    python benchmarks/run.py --out benchmarks/results/<machine>.md

Rows: MFCC-39 real-time factor against librosa; framing memory for an hour
at N = 60; CPU training windows/s, one full epoch with validation on one
thread, for cerlib's ``fit`` (one model), ``fit_group`` (9 members), nine
``fit`` calls in a row (measured, not extrapolated) and the idiomatic PyTorch
script of ``benchmarks/idiomatic.py`` (a per-sample Dataset, a DataLoader,
three nn.GRU heads, torch.optim.Adam) on the same data, with their ratios
(process CPU time, the variants interleaved round by round, median over
rounds, so the machine's load affects all alike; the load average is
printed); ATen calls per training step (per model for a group), a stand-in
for GPU kernel launches; ``predict`` on a 3.5-minute recording; a warm
``load_corpus``; GPU rows when CUDA is present.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import idiomatic  # noqa: E402
from bench_training import framing_peak_mib  # noqa: E402

from cerlib import CERMTL, fit, predict, speech_features  # noqa: E402
from cerlib.engine import AtenCalls  # noqa: E402
from cerlib.grouped import fit_group  # noqa: E402
from cerlib.training import Example, describe_device  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def synthetic(n_rec: int, T: int, seed: int, P: int = 63):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n_rec):
        x = rng.normal(size=(T, P)).astype(np.float32)
        kernel = np.ones(60) / 60
        y = np.stack([np.convolve(x[:, j], kernel, mode="same") for j in range(3)], 1).astype(np.float32)
        xs.append(x)
        ys.append(y)
    return xs, ys


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_timed(fn) -> float:
    """Process CPU time of ``fn()``: what the work costs, whatever else the machine runs."""
    start = time.process_time()
    fn()
    return time.process_time() - start


_VIEWS = {"detach", "t", "view", "_unsafe_view", "expand", "transpose", "permute", "unsqueeze", "squeeze", "split",
          "unsafe_split", "split_with_sizes", "unsafe_split_with_sizes", "unbind", "select", "slice", "as_strided",
          "alias", "reshape", "_reshape_alias", "lift_fresh", "empty", "empty_like", "is_same_size"}


def aten_ops(fn) -> tuple[int, int]:
    """(all ATen calls, calls that compute) while ``fn()`` runs, forward, backward and optimiser alike.

    Counted below autograd (a dispatch mode), so each call is one kernel, or one
    launch on a GPU: views and metadata (detach, t, view, split, ...) launch
    nothing and are left out of the second figure.
    """
    with AtenCalls() as count:
        fn()
    total = sum(count.counts.values())
    return total, total - sum(n for name, n in count.counts.items() if name in _VIEWS)


def mfcc_rows(seconds: float, sr: int = 16000) -> dict:
    import librosa

    wave = np.random.default_rng(0).normal(scale=0.1, size=int(seconds * sr)).astype(np.float32)
    speech_features(wave[:sr], sr)
    hop = sr // 100  # librosa needs a whole-sample hop: 100 fps, more frames than cerlib's 60

    def lib():
        m = librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=13, n_fft=512, hop_length=hop, win_length=400,
                                 window="hamming", n_mels=26, htk=True, fmax=8000)
        d = librosa.feature.delta(m, width=5, mode="nearest")
        librosa.feature.delta(d, width=5, mode="nearest")

    lib()
    ours, theirs, ours100 = [], [], []
    for _ in range(3):
        ours.append(timed(lambda: speech_features(wave, sr)))
        ours100.append(timed(lambda: speech_features(wave, sr, fps=100.0)))
        theirs.append(timed(lib))
    o, o100, t = statistics.median(ours), statistics.median(ours100), statistics.median(theirs)
    return {
        f"MFCC-39, {seconds:g} s of 16 kHz audio: cerlib at 60 fps, x real time": seconds / o,
        "MFCC-39: cerlib at 100 fps, x real time": seconds / o100,
        "MFCC-39: librosa mfcc + 2 deltas at 100 fps, x real time": seconds / t,
        "MFCC-39 speed ratio cerlib / librosa, both 100 fps": t / o100,
    }


def framing_rows() -> dict:
    peak, full = framing_peak_mib()
    return {"framing 1 h at N=60: peak MiB": peak, "framing 1 h at N=60: a full copy, MiB": full}


def training_rows(n_rec: int, T: int, rounds: int, members: int, device: str = "cpu") -> dict:
    """One epoch with validation, on one thread, in process CPU time, the variants interleaved round by round."""
    train_x, train_y = synthetic(n_rec, T, 1)
    valid_x, valid_y = synthetic(max(1, n_rec // 4), T, 2)
    train = [Example(x, y) for x, y in zip(train_x, train_y)]
    valid = [Example(x, y) for x, y in zip(valid_x, valid_y)]
    n = n_rec * T
    torch.manual_seed(0)
    template = CERMTL()
    group_templates = []
    for s in range(members):
        torch.manual_seed(s)
        group_templates.append(CERMTL())
    kw = dict(epochs=1, progress=False, device=device, cpu_threads=1)
    times = {"idiomatic": [], "fit": [], "group": [], "nine": []}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for r in range(rounds):
            model, opt, loader, vloader = idiomatic.make(train_x, train_y, valid_x, valid_y, seed=r)
            times["idiomatic"].append(cpu_timed(lambda: idiomatic.train_epoch(model, opt, loader, vloader)))
            times["fit"].append(cpu_timed(lambda: fit(copy.deepcopy(template), train, valid, seed=r, **kw)))
            models = [copy.deepcopy(m) for m in group_templates]
            times["group"].append(cpu_timed(lambda: fit_group(models, train, valid, seed=r, **kw)))
            models = [copy.deepcopy(m) for m in group_templates]
            times["nine"].append(cpu_timed(lambda: [fit(m, train, valid, seed=r, **kw) for m in models]))
    finally:
        torch.set_num_threads(threads)
    med = {k: statistics.median(v) for k, v in times.items()}
    spread = {k: (min(v), max(v)) for k, v in times.items()}
    base = n / med["idiomatic"]
    single = n / med["fit"]
    grouped = members * n / med["group"]
    in_a_row = members * n / med["nine"]
    return {
        f"training data: {n:,} windows/epoch, validation {len(valid_x) * T:,}; {rounds} rounds interleaved, "
        "median of process CPU time, 1 thread": "",
        "idiomatic PyTorch script (benchmarks/idiomatic.py), windows/s": base,
        "cerlib fit, one CER-MTL, windows/s": single,
        f"cerlib fit_group, {members} members, model-windows/s": grouped,
        f"cerlib, {members} fits in a row (measured), model-windows/s": in_a_row,
        "ratio fit / idiomatic": single / base,
        f"ratio fit_group({members}) per model / idiomatic": grouped / base,
        f"ratio fit_group({members}) / {members} fits in a row": grouped / in_a_row,
        f"ratio {members} fits in a row / {members} x one fit (1.00: no warm-up or cache effects)": in_a_row / single,
        f"epoch CPU seconds min-max: idiomatic / fit / group / {members} fits": " / ".join(
            f"{a:.2f}-{b:.2f}" for a, b in (spread[k] for k in ("idiomatic", "fit", "group", "nine"))),
    }


def ops_rows(members: int, steps: int = 8) -> dict:
    """ATen calls per training step, a stand-in for kernel launches on a GPU: one epoch of ``steps`` batches,
    no validation, divided by ``steps`` (the epoch's own few calls included)."""
    train_x, train_y = synthetic(2, 2000, 3)
    train = [Example(x, y) for x, y in zip(train_x, train_y)]
    kw = dict(epochs=1, progress=False, device="cpu", frames_per_epoch=256 * steps, normalise=None)
    rows = {}
    torch.manual_seed(0)
    fit(CERMTL(), train, **kw)  # warm-up: first calls build caches
    total, work = aten_ops(lambda: fit(CERMTL(), train, **kw))
    rows["ATen calls per step, fit (one model): all / computing"] = f"{total / steps:,.0f} / {work / steps:,.0f}"
    models = [CERMTL() for _ in range(members)]
    total, work = aten_ops(lambda: fit_group(models, train, **kw))
    rows[f"ATen calls per step and model, fit_group({members}): all / computing"] = \
        f"{total / steps / members:,.0f} / {work / steps / members:,.0f}"
    model, opt, loader, _ = idiomatic.make(train_x, train_y, None, None)
    idiomatic.train_epoch(model, opt, loader, None, max_batches=1)
    total, work = aten_ops(lambda: idiomatic.train_epoch(model, opt, loader, None, max_batches=steps))
    rows["ATen calls per step, idiomatic script: all / computing"] = f"{total / steps:,.0f} / {work / steps:,.0f}"
    return rows


def predict_rows(rounds: int) -> dict:
    T = int(3.5 * 60 * 60)
    x = np.random.default_rng(3).normal(size=(T, 63)).astype(np.float32)
    torch.manual_seed(0)
    model = CERMTL().eval()
    predict(model, x)
    frames = statistics.median(timed(lambda: predict(model, x)) for _ in range(rounds))
    return {"predict, 3.5 min recording (12,600 frames), windows/s (1 thread)": T / frames}


def corpus_rows() -> dict:
    from cerlib import load_corpus

    with tempfile.TemporaryDirectory() as cache:
        load_corpus(ROOT / "data_stubs" / "creativeit", cache_dir=cache, progress=False)
        warm = statistics.median(
            timed(lambda: load_corpus(ROOT / "data_stubs" / "creativeit", cache_dir=cache, progress=False))
            for _ in range(3))
    return {"load_corpus, CreativeIT stub, warm cache, s": warm}


def gpu_rows(windows: int, members: int) -> dict:
    if not torch.cuda.is_available():
        return {}
    T = 12_600
    n_rec = max(1, windows // T)
    train_x, train_y = synthetic(n_rec, T, 1)
    valid_x, valid_y = synthetic(max(1, n_rec // 8), T, 2)
    train = [Example(x, y) for x, y in zip(train_x, train_y)]
    valid = [Example(x, y) for x, y in zip(valid_x, valid_y)]
    kw = dict(epochs=2, progress=False, device="cuda")
    torch.manual_seed(0)
    h = fit(CERMTL(), train, valid, **kw)
    models = [CERMTL() for _ in range(members)]
    hg = fit_group(models, train, valid, **kw)
    return {
        "GPU": torch.cuda.get_device_name(),
        f"GPU fit epoch s, {n_rec * T:,} windows (2nd epoch, with validation)": h.epochs[-1]["seconds"],
        f"GPU fit_group({members}) epoch s (2nd epoch)": hg[0].epochs[-1]["seconds"],
        f"GPU fit_group({members}) model-windows/s": members * n_rec * T / hg[0].epochs[-1]["seconds"],
    }


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds (a smoke run)")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--members", type=int, default=9)
    parser.add_argument("--gpu-windows", type=int, default=504_000)
    parser.add_argument("--skip", default="",
                        help="comma-separated sections to skip: mfcc,framing,train,ops,predict,corpus,gpu")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    quick = args.quick
    rows: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "device": describe_device(),
        "load average at start (1, 5, 15 min)": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    if "mfcc" not in skip:
        rows.update(mfcc_rows(20.0 if quick else 120.0))
    if "framing" not in skip:
        rows.update(framing_rows())
    if "train" not in skip:
        rows.update(training_rows(4 if quick else 8, 1500 if quick else 4000, 2 if quick else 5, args.members))
    if "ops" not in skip:
        rows.update(ops_rows(args.members))
    if "predict" not in skip:
        rows.update(predict_rows(2 if quick else 5))
    if "corpus" not in skip:
        rows.update(corpus_rows())
    if "gpu" not in skip:
        rows.update(gpu_rows(args.gpu_windows, args.members))
    rows["load average at end (1, 5, 15 min)"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = ["| measure | value |", "| --- | --- |"]
    for key, value in rows.items():
        lines.append(f"| {key} | {value:,.2f} |" if isinstance(value, float) else f"| {key} | {value} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(f"`python benchmarks/run.py {' '.join(argv or sys.argv[1:])}`\n\n{table}\n")
    return table


if __name__ == "__main__":
    main()
