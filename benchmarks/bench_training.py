"""Speed and memory figures quoted in the README and docstrings.

    python benchmarks/bench_training.py            # prints a Markdown table
    python benchmarks/bench_training.py --json out.json

Measures, on whatever machine runs it (the table names it):
- one CER-MTL training step (batch 256, 63 x 20 images, CCC loss) with 1 and 2
  CPU threads, idle and with another process busy on one core, and on the GPU
  when there is one;
- feature extraction: 10 minutes of 16 kHz audio to MFCC-39 at 60 fps;
- framing memory: one hour at N = 60 (peak allocation vs a full copy);
- one epoch over CreativeIT-sized data (40 x 3.5 min at 60 fps = 504,000 frames)
  extrapolated from the measured step time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc

import numpy as np
import torch

from cerlib import CERMTL, feature_images, speech_features
from cerlib.losses import multitask_loss
from cerlib.training import describe_device, pick_device


def step_ms(device: torch.device, threads: int | None, repeats: int = 30) -> float:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = CERMTL().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-5)
    x = torch.randn(256, 63, 20, device=device)
    y = torch.randn(256, 3, device=device)

    def step():
        loss = multitask_loss(model(x), y, loss="ccc")
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    for _ in range(5):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats * 1000


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def step_ms_loaded(threads: int) -> float:
    """The same step while another process keeps one core busy, as a notebook
    kernel shares a laptop with a browser, or a CI runner with its own work."""
    import multiprocessing as mp

    busy = mp.get_context("spawn").Process(target=_spin, args=(time.time() + 30,))
    busy.start()
    try:
        time.sleep(0.5)
        return step_ms(torch.device("cpu"), threads)
    finally:
        busy.terminate()
        busy.join()


def feature_seconds(minutes: float = 10.0, sr: int = 16000) -> float:
    wave = np.random.default_rng(0).normal(scale=0.1, size=int(minutes * 60 * sr)).astype(np.float32)
    speech_features(wave[: sr], sr)  # warm up numba / librosa
    start = time.perf_counter()
    speech_features(wave, sr)
    return time.perf_counter() - start


def framing_peak_mib() -> tuple[float, float]:
    x = np.zeros((60 * 3600, 63), np.float32)
    tracemalloc.start()
    images = feature_images(x, 60, 10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full = images.shape[0] * images.shape[1] * images.shape[2] * 4
    return peak / 2**20, full / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    threads_available = torch.get_num_threads()
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "device": describe_device(pick_device()),
        "torch": torch.__version__,
        "cpu step ms (1 thread)": step_ms(torch.device("cpu"), 1),
        "cpu step ms (2 threads)": step_ms(torch.device("cpu"), min(2, max(threads_available, 1))),
    }
    results["cpu step ms (1 thread, other core busy)"] = step_ms_loaded(1)
    results["cpu step ms (2 threads, other core busy)"] = step_ms_loaded(2)
    if torch.cuda.is_available():
        results["cuda step ms"] = step_ms(torch.device("cuda"), None)
    torch.set_num_threads(1)
    best = min(v for k, v in results.items() if k.endswith("ms") or "ms (" in k)
    results["epoch s, CreativeIT size (504,000 frames), best device"] = best * 504_000 / 256 / 1000
    results["features s for 10 min of 16 kHz audio"] = feature_seconds()
    peak, full = framing_peak_mib()
    results["framing 1 h at N=60: peak MiB"] = peak
    results["framing 1 h at N=60: a full copy would be MiB"] = full
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    print("| measure | value |\n| --- | --- |")
    for key, value in results.items():
        print(f"| {key} | {value:.2f} |" if isinstance(value, float) else f"| {key} | {value} |")


if __name__ == "__main__":
    main()
