"""The live explorer of notebook 08, and a loss playground (ipywidgets).

:class:`Explorer` puts the knobs the paper turns on one panel — the number of
frames per feature image N and their stride t (Table IV), the loss (Tables
I-II), the modalities (Tables I-II), MTL against one STL per task (Table III),
the normalisation — and trains with :func:`cerlib.training.fit` in a
background thread, so the notebook stays responsive. After every epoch the
learning curve and a Figure-2-style trace of a test recording are redrawn;
Stop ends the run after the current epoch and keeps the best weights. Finished
runs collect in a table beside the paper's number for the same cell.

:class:`LossPlayground` distorts a fixed reference by a scale, an offset, a lag
and noise and shows MSE, PCC and CCC with their gradients at once.

Both are thin: every button calls a plain method (``train``, ``stop``,
``update``) that a script or a test can call too, and the explorer trains only
what ``fit`` trains. Figures are rendered to PNG with matplotlib and shown in
``ipywidgets.Image`` widgets, which need no plotting backend in the browser.
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .data import load_corpus
from .examples import data_folder
from .losses import ccc_loss, mse_loss, pcc_loss
from .models import CERMTL
from .paper import tables
from .plots import plot_history, plot_traces
from .training import History, evaluate, fit, predict, seed_everything

__all__ = ["Explorer", "LossPlayground", "default_corpus_path", "paper_ccc"]

_RENDER_LOCK = threading.Lock()  # pyplot's figure registry is shared by all threads


def _png(fig, dpi: int = 72) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (so no notebook
    backend ever shows it a second time)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def default_corpus_path() -> Path:
    """Where :class:`Explorer` looks when given no corpus: ``$CERLIB_DATA/creativeit``
    if that variable is set, else the example corpus (:func:`cerlib.example_data`),
    found wherever cerlib is installed.

    Examples
    --------
    >>> default_corpus_path().name
    'creativeit'
    """
    return data_folder(os.environ.get("CERLIB_DATA")) / "creativeit"


def paper_ccc(dataset: str, setting: str, loss: str, model: str, n_frames: int) -> tuple[str | None, dict]:
    """The paper's test CCC per task for one cell of its grid, if it reports one.

    Parameters
    ----------
    dataset : "creativeit" or "recola"
    setting : "multimodal", "speech", "motion" or "face"
    loss : "ccc", "pcc" or "mse"
    model : "CER-MTL" or "CER-STL"
    n_frames : N

    Returns
    -------
    (table, {task: ccc}) from the first of Tables I-V that holds the cell,
    or (None, {}) when none does.

    Examples
    --------
    >>> paper_ccc("creativeit", "speech", "pcc", "CER-MTL", 20)
    ('I', {'activation': 0.32, 'valence': 0.13, 'dominance': 0.18})
    >>> paper_ccc("recola", "multimodal", "ccc", "CER-MTL", 40)
    ('IV', {'activation': 0.74, 'valence': 0.35})
    >>> paper_ccc("creativeit", "speech", "ccc", "CER-STL", 20)
    (None, {})
    """
    t = tables()
    t = t[(t.table != "VI") & (t.dataset == dataset) & (t.setting == setting) & (t.loss == loss)
          & (t.model == model) & (t.n_frames == n_frames)]
    if t.empty:
        return None, {}
    first = t.table.iloc[0]
    rows = t[t.table == first]
    return first, {task: float(c) for task, c in zip(rows.task, rows.ccc)}


def _setting_name(modalities: tuple[str, ...], all_modalities: tuple[str, ...]) -> str:
    return "multimodal" if tuple(modalities) == tuple(all_modalities) else "+".join(modalities)


#: The explorer's slider ranges: (min, max) of N (even), stride t, epochs and the learning rate.
EXPLORER_RANGES = {"n_frames": (4, 60), "stride": (1, 20), "epochs": (1, 100), "lr": (1e-5, 1e-2)}


def _check_explorer_arguments(corpus, folds, *, n_frames, stride, loss, modalities, mtl, normalise, epochs, lr,
                              fold, frames_per_epoch, batch_size, trace_frames) -> None:
    """Every constructor argument in its widget's range: a slider would clamp it and a toggle refuse it with
    ipywidgets' bare 'Invalid selection', so a ValueError names the argument and what it allows."""
    def whole(name, value, low, high=None):
        ok = not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= low and (
            high is None or value <= high)
        if not ok:
            allowed = f"{low}..{high}" if high is not None else f">= {low}"
            raise ValueError(f"Explorer: {name} must be a whole number in {allowed}, got {value!r}")

    def choice(name, value, options):
        if not any(value == o and type(value) is type(o) for o in options):
            raise ValueError(f"Explorer: {name} must be one of {list(options)}, got {value!r}")

    low, high = EXPLORER_RANGES["n_frames"]
    whole("n_frames", n_frames, low, high)
    if n_frames % 2:
        raise ValueError(f"Explorer: n_frames must be even (images hold frames -N/2+1 .. N/2), got {n_frames}; "
                         f"allowed: {low}, {low + 2}, ..., {high}")
    whole("stride", stride, *EXPLORER_RANGES["stride"])
    whole("epochs", epochs, *EXPLORER_RANGES["epochs"])
    low, high = EXPLORER_RANGES["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not low <= lr <= high:
        raise ValueError(f"Explorer: lr must be a learning rate in {low:g}..{high:g} (the slider's range), "
                         f"got {lr!r}")
    choice("loss", loss, ("ccc", "pcc", "mse"))
    choice("modalities", modalities, ("multimodal", *corpus.modalities))
    choice("mtl", mtl, (True, False))
    choice("normalise", normalise, ("global", "speaker"))
    whole("fold", fold, 0, len(folds) - 1)
    whole("frames_per_epoch", frames_per_epoch, 2)
    whole("batch_size", batch_size, 2)
    whole("trace_frames", trace_frames, 1)


class Explorer:
    """Turn a knob of the paper, train, and watch the model respond.

    Parameters
    ----------
    corpus : Corpus, path, or None
        A loaded :class:`cerlib.data.Corpus` or a folder for
        :func:`cerlib.load_corpus`; default :func:`default_corpus_path`.
    n_frames, stride, loss, modalities, mtl, normalise, epochs, lr, fold :
        Initial widget values. ``modalities`` is "multimodal" or one modality
        name; ``mtl`` True trains one CER-MTL, False one CER-STL per task;
        ``normalise`` "global" (training statistics) or "speaker". Each must
        lie in its widget's range (``EXPLORER_RANGES``; ``n_frames`` even):
        anything else is a ValueError naming the argument.
    frames_per_epoch : int
        Random frames drawn per epoch (small, so an epoch takes a fraction of
        a second on a CPU).
    batch_size, seed, device :
        Passed to :func:`cerlib.training.fit`; ``seed`` also seeds the
        initial weights, so two runs differ only by the knobs.
    trace_frames : int
        Frames of the test recording drawn in the trace (the paper: 256).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The panel; displaying the explorer displays it.
    controls : dict of str to widget
        ``n_frames``, ``stride``, ``loss``, ``modalities``, ``mtl``,
        ``normalise``, ``epochs``, ``lr``, ``fold``, ``overlay``, ``train``,
        ``stop``.
    curve, trace : ipywidgets.Image
        PNG of the learning curve and of the test trace, redrawn every epoch.
    table : ipywidgets.HTML
        The comparison table of finished runs (also :meth:`results`).
    runs : list of dict
        One entry per finished run: its settings, ``models``, ``histories``,
        test CCCs and the paper's numbers.
    live : list of dict
        The history rows of the run in progress (of its current model, for STL).

    Examples
    --------
    >>> from cerlib import example_data
    >>> ex = Explorer(example_data("recola"), epochs=1, frames_per_epoch=512)
    >>> ex.controls["n_frames"].value = 40
    >>> thread = ex.train(block=True)          # returns the finished training thread
    >>> ex.results()[["n_frames", "ccc_activation"]].shape     # one finished run: N and its activation CCC
    (1, 2)
    """

    def __init__(self, corpus=None, *, n_frames: int = 20, stride: int = 10, loss: str = "ccc",
                 modalities: str = "multimodal", mtl: bool = True, normalise: str = "global",
                 epochs: int = 5, lr: float = 1e-3, fold: int = 0, frames_per_epoch: int = 2048,
                 batch_size: int = 256, seed: int = 0, device=None, trace_frames: int = 256):
        if corpus is None:
            corpus = default_corpus_path()
        self.corpus = corpus if hasattr(corpus, "folds") else load_corpus(corpus)
        self.folds = self.corpus.folds()
        self.fps = float(self.corpus.fps)
        _check_explorer_arguments(self.corpus, self.folds, n_frames=n_frames, stride=stride, loss=loss,
                                  modalities=modalities, mtl=mtl, normalise=normalise, epochs=epochs, lr=lr,
                                  fold=fold, frames_per_epoch=frames_per_epoch, batch_size=batch_size,
                                  trace_frames=trace_frames)
        self.frames_per_epoch, self.batch_size = int(frames_per_epoch), int(batch_size)
        self.seed, self.device, self.trace_frames = int(seed), device, int(trace_frames)
        self.runs: list[dict] = []
        self.live: list[dict] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        mods = tuple(self.corpus.modalities)
        modality_options = [(" + ".join(mods), "multimodal")] + [(m, m) for m in mods]
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        c = self.controls = {
            "n_frames": w.IntSlider(value=n_frames, min=4, max=60, step=2, description="N (frames per image)",
                                    **slider),
            "stride": w.IntSlider(value=stride, min=1, max=20, step=1, description="stride t (frames)", **slider),
            "loss": w.ToggleButtons(options=[("CCC", "ccc"), ("PCC", "pcc"), ("MSE", "mse")], value=loss,
                                    description="loss"),
            "modalities": w.ToggleButtons(options=modality_options, value=modalities, description="modality"),
            "mtl": w.ToggleButtons(options=[("MTL (one network)", True), ("STL (one per task)", False)],
                                   value=mtl, description="tasks"),
            "normalise": w.ToggleButtons(options=[("global", "global"), ("per speaker", "speaker")],
                                         value=normalise, description="z-score"),
            "epochs": w.IntSlider(value=epochs, min=1, max=100, description="epochs", **slider),
            "lr": w.FloatLogSlider(value=lr, base=10, min=-5, max=-2, step=0.25, description="learning rate",
                                   readout_format=".1e", **slider),
            "fold": w.Dropdown(options=[(f.name, i) for i, f in enumerate(self.folds)], value=fold,
                               description="test fold"),
            # indent=False and an automatic width: the label is never cut to "overlay finished runs on th..."
            "overlay": w.Checkbox(value=True, description="overlay finished runs on the trace", indent=False,
                                  layout=w.Layout(width="auto")),
            "train": w.Button(description="Train", button_style="success", icon="play"),
            "stop": w.Button(description="Stop", button_style="danger", icon="stop", disabled=True),
        }
        self.extent = w.HTML()
        self.status = w.HTML("Ready: set the knobs and press Train.")
        # Images scale down to the notebook's width and never past their own size; the rows below wrap
        # instead of running off the right edge (1400 px with the file browser open leaves ~1000 px).
        self.curve = w.Image(format="png", layout=w.Layout(width="auto", max_width="100%", height="auto"))
        self.trace = w.Image(format="png", layout=w.Layout(width="auto", max_width="100%", height="auto"))
        self.table = w.HTML()
        for name in ("n_frames", "stride"):
            c[name].observe(lambda _change: self._show_extent(), names="value")
        c["overlay"].observe(lambda _change: self._draw_trace(), names="value")
        c["fold"].observe(lambda _change: self._draw_trace(), names="value")
        c["train"].on_click(lambda _button: self.train())
        c["stop"].on_click(lambda _button: self.stop())
        self._show_extent()
        self._draw_trace()
        self._draw_table()
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        self.widget = w.VBox([
            w.HBox([c["n_frames"], c["stride"], self.extent], layout=wrap),
            c["loss"], c["modalities"], c["mtl"], c["normalise"],
            w.HBox([c["epochs"], c["lr"], c["fold"]], layout=wrap),
            w.HBox([c["train"], c["stop"], c["overlay"]], layout=wrap),
            self.status,
            w.HBox([self.curve, self.trace], layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            self.table,
        ])

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return (f"Explorer({self.corpus.name}: {len(self.corpus.recordings)} recordings at {self.fps:g} fps, "
                f"{len(self.runs)} finished runs; run the notebook to use the controls)")

    @property
    def extent_s(self) -> float:
        """Temporal extent of one feature image, N * t / fps seconds (Section II.C)."""
        return self.controls["n_frames"].value * self.controls["stride"].value / self.fps

    def _show_extent(self) -> None:
        n, t = self.controls["n_frames"].value, self.controls["stride"].value
        self.extent.value = f"extent N&middot;t = {n * t} frames = <b>{self.extent_s:.2f} s</b> at {self.fps:g} fps"

    # ------------------------------------------------------------------ the knobs, read once per run
    def config(self) -> dict:
        """The settings the next run will use, read from the widgets."""
        c = self.controls
        mods = tuple(self.corpus.modalities) if c["modalities"].value == "multimodal" else (c["modalities"].value,)
        mtl = bool(c["mtl"].value)
        cfg = {
            "dataset": self.corpus.name, "setting": _setting_name(mods, tuple(self.corpus.modalities)),
            "modalities": mods, "loss": c["loss"].value, "model": "CER-MTL" if mtl else "CER-STL",
            "n_frames": int(c["n_frames"].value), "stride": int(c["stride"].value),
            "normalise": c["normalise"].value, "epochs": int(c["epochs"].value), "lr": float(c["lr"].value),
            "fold": self.folds[c["fold"].value].name,
        }
        return cfg

    def _fold(self):
        return self.folds[self.controls["fold"].value]

    def _trace_recording(self):
        return self._fold().test[0]

    # ------------------------------------------------------------------ training
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def train(self, block: bool = False) -> threading.Thread | None:
        """Start a run with the current settings (the Train button).

        Parameters
        ----------
        block : bool
            Wait until the run has finished (scripts and tests); by default
            training runs in a background thread and this returns at once.

        Returns
        -------
        The training thread, or None when a run is already going.
        """
        if self.running:
            self.status.value = "A run is already going: press Stop first."
            return None
        self._stop.clear()
        self.error = None
        self.live = []
        cfg = self.config()
        self._set_busy(True)
        self.status.value = f"Training {cfg['model']} with {cfg['loss'].upper()} loss on {cfg['setting']}..."
        self._thread = threading.Thread(target=self._run, args=(cfg,), name="cerlib-explorer", daemon=True)
        self._thread.start()
        if block:
            self.wait()
        return self._thread

    def stop(self) -> None:
        """Stop the run after the current epoch; the best weights so far are kept (the Stop button)."""
        self._stop.set()
        if self.running:
            self.status.value = "Stopping after this epoch..."

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run in progress; re-raise its error, if it failed."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise RuntimeError(f"the explorer's training run failed: {self.error!r}") from self.error

    def _set_busy(self, busy: bool) -> None:
        self.controls["train"].disabled = busy
        self.controls["stop"].disabled = not busy

    def _run(self, cfg: dict) -> None:
        fold, rec = self._fold(), self._trace_recording()
        tasks = tuple(self.corpus.tasks)
        groups = [tasks] if cfg["model"] == "CER-MTL" else [(t,) for t in tasks]
        n_features = fold.train[0].inputs(cfg["modalities"]).shape[1]
        run = dict(cfg, run=len(self.runs) + 1, models=[], histories=[], trace_recording=rec.name)
        prediction = np.full((rec.n_frames, len(tasks)), np.nan, np.float32)
        scores: dict[str, float] = {}
        try:
            for k, group in enumerate(groups):
                seed_everything(self.seed)
                model = CERMTL(n_features=n_features, n_frames=cfg["n_frames"], tasks=group)
                columns = [tasks.index(t) for t in group]
                self.live = []
                label = f"{cfg['model']} {'+'.join(group) if len(groups) > 1 else ''}".strip()

                def on_epoch(row, model, columns=columns, label=label):
                    self.live.append(dict(row))
                    prediction[:, columns] = predict(model, rec, modalities=cfg["modalities"])
                    self._draw_live(cfg, label, group, prediction)
                    return self._stop.is_set()

                history = fit(model, fold.train, fold.valid, modalities=cfg["modalities"], loss=cfg["loss"],
                              epochs=cfg["epochs"], lr=cfg["lr"], stride=cfg["stride"],
                              normalise=cfg["normalise"], frames_per_epoch=self.frames_per_epoch,
                              batch_size=self.batch_size, device=self.device, seed=self.seed, progress=False,
                              on_epoch=on_epoch)
                run["models"].append(model)
                run["histories"].append(history)
                prediction[:, columns] = predict(model, rec, modalities=cfg["modalities"])  # the best weights
                test = evaluate(model, fold.test, modalities=cfg["modalities"], loss=cfg["loss"])
                scores.update({t: test[f"ccc_{t}"] for t in group})
                if self._stop.is_set():
                    break
            run["stopped"] = self._stop.is_set()
            run["epochs_run"] = sum(len(h.epochs) for h in run["histories"])
            run["best_epoch"] = [h.best_epoch for h in run["histories"]]
            run["prediction"] = prediction.copy()
            run["test_ccc"] = scores
            run["paper_table"], run["paper_ccc"] = (
                paper_ccc(cfg["dataset"], cfg["setting"], cfg["loss"], cfg["model"], cfg["n_frames"])
                if cfg["stride"] == 10 else (None, {}))
            self.runs.append(run)
            self._draw_trace()
            self._draw_table()
            what = "stopped" if run["stopped"] else "finished"
            self.status.value = (f"Run {run['run']} {what} after {run['epochs_run']} epochs; test CCC "
                                 + ", ".join(f"{t} {c:.2f}" for t, c in scores.items()))
        except BaseException as error:  # shown in the panel, re-raised by wait()
            self.error = error
            self.status.value = f"<span style='color:red'>Training failed: {error!r}</span>"
        finally:
            self._set_busy(False)

    # ------------------------------------------------------------------ drawing
    def _draw_live(self, cfg, label, group, prediction) -> None:
        history = History(tasks=tuple(group), loss=cfg["loss"], device="", epochs=list(self.live))
        history.best_epoch = max(self.live, key=lambda r: r.get("valid_mean_ccc", -np.inf))["epoch"]
        with _RENDER_LOCK:
            fig = plot_history(history, title=f"{label}: epoch {len(self.live)}")
            self.curve.value = _png(fig)
        self._draw_trace(live=(f"now: {cfg['loss']}", prediction))

    def _draw_trace(self, live=None) -> None:
        """Figure 2 for the first test recording of the chosen fold: the
        reference, the run in progress and (with overlay) finished runs."""
        rec = self._trace_recording()
        predictions: dict[str, np.ndarray] = {}
        if self.controls["overlay"].value or live is None:
            shown = self.runs if self.controls["overlay"].value else self.runs[-1:]
            for run in shown:
                if run["trace_recording"] == rec.name:
                    predictions[f"#{run['run']} {run['loss']} N={run['n_frames']}"] = run["prediction"]
        if live is not None:
            predictions[live[0]] = np.nan_to_num(live[1])
        with _RENDER_LOCK:
            # plot_traces's own height per task: squeezed smaller, the y labels of neighbouring rows overlap
            fig = plot_traces(rec.labels, predictions, rec.tasks, fps=rec.fps,
                              length=min(self.trace_frames, rec.n_frames),
                              title=f"test recording {rec.name} ({self._fold().name})")
            self.trace.value = _png(fig)

    def results(self):
        """The finished runs as a DataFrame: settings, test CCC per task and,
        where the paper has the cell, its number (``paper_<task>``)."""
        rows = []
        for run in self.runs:
            row = {k: run[k] for k in ("run", "dataset", "setting", "loss", "model", "n_frames", "stride",
                                       "normalise", "epochs_run", "stopped")}
            row.update({f"ccc_{t}": c for t, c in run["test_ccc"].items()})
            row["paper_table"] = run["paper_table"]
            row.update({f"paper_{t}": c for t, c in run["paper_ccc"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def _draw_table(self) -> None:
        df = self.results()
        self.table.value = ("<i>Finished runs appear here, with the paper's number where it has the cell.</i>"
                            if df.empty else df.to_html(index=False, float_format="{:.2f}".format, na_rep=""))


class LossPlayground:
    """Distort a reference and watch MSE, PCC and CCC — and their gradients — respond.

    The prediction is ``scale * reference(t - lag) + offset + noise * e(t)``
    with a fixed noise draw ``e``. The gradients are those of the *losses*
    (MSE, 1 - PCC, 1 - CCC, from :mod:`cerlib.losses`) with respect to scale
    and offset, i.e. the direction training would push.

    Parameters
    ----------
    reference : array (T,), optional
        Default: a slowly varying seeded trace of 512 frames.
    scale, offset, lag, noise : initial slider values
    seed : seeds the default reference and the noise draw

    Attributes
    ----------
    controls : dict of str to widget (``scale``, ``offset``, ``lag``, ``noise``)
    values : dict
        ``mse``, ``pcc``, ``ccc`` and ``d<loss>/dscale``, ``d<loss>/doffset``
        for each loss, after the last :meth:`update`.
    widget : ipywidgets.VBox

    Examples
    --------
    >>> pg = LossPlayground()
    >>> round(pg.values["ccc"], 6), round(pg.values["pcc"], 6)
    (1.0, 1.0)
    >>> pg.controls["scale"].value = 0.5        # PCC ignores scale, CCC does not
    >>> round(pg.values["pcc"], 6), pg.values["ccc"] < 1
    (1.0, True)
    """

    def __init__(self, reference=None, *, scale: float = 1.0, offset: float = 0.0, lag: int = 0,
                 noise: float = 0.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        if reference is None:
            walk = np.cumsum(rng.normal(size=512 + 60))
            reference = np.convolve(walk - walk.mean(), np.ones(60) / 60, mode="valid")[:512]
            reference = reference / reference.std()
        self.reference = np.asarray(reference, dtype=np.float64).reshape(-1)
        if self.reference.size < 3:
            raise ValueError(f"reference must hold at least 3 frames, got {self.reference.size}")
        self._noise = rng.normal(size=self.reference.size)
        slider = dict(continuous_update=True, style={"description_width": "initial"})
        self.controls = {
            "scale": w.FloatSlider(value=scale, min=-1.0, max=2.0, step=0.05, description="scale", **slider),
            "offset": w.FloatSlider(value=offset, min=-2.0, max=2.0, step=0.05, description="offset", **slider),
            "lag": w.IntSlider(value=lag, min=-60, max=60, description="lag (frames)", **slider),
            "noise": w.FloatSlider(value=noise, min=0.0, max=2.0, step=0.05, description="noise", **slider),
        }
        self.numbers = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(width="720px"))
        for control in self.controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.values: dict[str, float] = {}
        self.update()
        self.widget = w.VBox([w.HBox([w.VBox(list(self.controls.values())), self.numbers]), self.image])

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return "LossPlayground(" + ", ".join(f"{k}={v:.3g}" for k, v in self.values.items()
                                             if k in ("mse", "pcc", "ccc")) + ")"

    def prediction(self) -> np.ndarray:
        """The distorted prediction (T,) for the current slider values."""
        c = self.controls
        return c["scale"].value * self._shifted() + c["offset"].value + c["noise"].value * self._noise

    def _shifted(self) -> np.ndarray:
        """The reference delayed by ``lag`` frames, holding the edge instead of wrapping around."""
        lag = int(self.controls["lag"].value)
        shifted = np.roll(self.reference, lag)
        if lag > 0:
            shifted[:lag] = self.reference[0]
        elif lag < 0:
            shifted[lag:] = self.reference[-1]
        return shifted

    def update(self) -> dict:
        """Recompute the losses and gradients and redraw; returns :attr:`values`."""
        c, values = self.controls, {}
        y, shifted = torch.as_tensor(self.reference), torch.as_tensor(self._shifted())
        noise = float(c["noise"].value) * torch.as_tensor(self._noise)
        for name, loss in (("mse", mse_loss), ("pcc", pcc_loss), ("ccc", ccc_loss)):
            scale = torch.tensor(float(c["scale"].value), dtype=torch.float64, requires_grad=True)
            offset = torch.tensor(float(c["offset"].value), dtype=torch.float64, requires_grad=True)
            value = loss(scale * shifted + offset + noise, y)
            value.backward()
            value = float(value.detach())
            values[name] = value if name == "mse" else 1.0 - value
            values[f"d{name}/dscale"] = float(scale.grad)
            values[f"d{name}/doffset"] = float(offset.grad)
        self.values = values
        self._draw()
        return values

    def _draw(self) -> None:
        v = self.values
        rows = "".join(
            f"<tr><td>{label}</td><td>{v[name]:.3f}</td><td>{v[f'd{name}/dscale']:+.3f}</td>"
            f"<td>{v[f'd{name}/doffset']:+.3f}</td></tr>"
            for name, label in (("mse", "MSE"), ("pcc", "PCC"), ("ccc", "CCC")))
        self.numbers.value = ("<table><tr><th></th><th>value</th><th>d loss / d scale</th>"
                              f"<th>d loss / d offset</th></tr>{rows}</table>"
                              "<small>loss = MSE, 1 - PCC, 1 - CCC; training moves against the gradient</small>")
        with _RENDER_LOCK:
            fig, ax = plt.subplots(figsize=(9, 2.6), constrained_layout=True)
            ax.plot(self.reference, color="k", lw=2, label="reference")
            ax.plot(self.prediction(), color="tab:blue", lw=1.2, label="prediction")
            ax.set(xlabel="frame", ylabel="value",
                   title=f"MSE {v['mse']:.2f}   PCC {v['pcc']:.2f}   CCC {v['ccc']:.2f}")
            ax.legend(fontsize=8, loc="upper right")
            self.image.value = _png(fig)
