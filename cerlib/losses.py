"""Training losses in torch: CCC, PCC, MSE and the paper's multi-task sum.

Why a correlation loss, why MSE-trained outputs come out flat, why PCC cannot
teach level or scale, and why correlation losses need large batches: notebook
``05_losses`` (Sections 1-6), with the numbers.

What the code needs:

* **Prediction first**, target second, like ``torch.nn.functional.mse_loss``.
* **Per task, over the batch** (dimension 0): ``(B,)`` -> scalar, ``(B, M)`` ->
  ``(M,)``. Nothing is averaged over tasks here; :func:`multitask_loss` weights
  and sums them, the paper's ``J = sum_m alpha_m L_m`` (Section II.D).
* **Population statistics** (``1/B``), as :mod:`cerlib.metrics` and AVEC, so
  ``ccc_loss(p, y) == 1 - cerlib.metrics.ccc(y, p)`` up to float32 rounding
  (notebook 05, Section 7, compares the sample convention).
* **eps** (:data:`EPS`, 1e-8) in each denominator, under each square root for
  PCC (``sqrt`` has an infinite slope at 0): constant predictions, constant
  targets and batches of 1 or 2 give finite losses and gradients. For a flat
  prediction the PCC gradient is then of order ``1 / sqrt(eps)``; Adam rescales
  it, plain SGD would not (notebook 05, Section 3).
* **A batch of one** gives loss exactly 1 and gradient exactly 0 (no variance,
  so no correlation) instead of raising, so that a remainder batch
  (``N % B == 1``) cannot crash a run. An empty batch raises ``ValueError``.
  A batch whose targets are all equal teaches nothing either; ``fit``
  shuffles frames across recordings.

Reference: Lin (1989), "A concordance correlation coefficient to evaluate
reproducibility", Biometrics 45(1).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["ccc_loss", "pcc_loss", "mse_loss", "multitask_loss", "get_loss", "LOSSES", "EPS"]

EPS = 1e-8
"""Default constant added to the denominators of the correlation losses."""


def _check_pair(y_hat: torch.Tensor, y: torch.Tensor, name: str):
    if not isinstance(y_hat, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{name} takes torch tensors (prediction, target), got "
            f"{type(y_hat).__name__} and {type(y).__name__}"
        )
    if not y_hat.is_floating_point():
        raise TypeError(f"{name}: the prediction must be a floating-point tensor, got {y_hat.dtype}")
    if y_hat.shape != y.shape:
        raise ValueError(
            f"{name}: prediction and target must have the same shape, got "
            f"y_hat {tuple(y_hat.shape)} and y {tuple(y.shape)}"
        )
    if y_hat.ndim not in (1, 2):
        raise ValueError(
            f"{name} expects (B,) or (B, M) tensors (batch first), got shape {tuple(y_hat.shape)}"
        )
    if y_hat.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(y_hat.shape)})")
    if y.dtype != y_hat.dtype:
        y = y.to(y_hat.dtype)
    return y_hat, y


def _check_finite_target(y: torch.Tensor, name: str) -> None:
    """A NaN target would make the loss NaN and training stop with 'diverged': name it instead."""
    bad = ~torch.isfinite(y)
    if bool(bad.any()):
        where = "" if y.ndim == 1 else f" in column(s) {sorted(set(bad.nonzero()[:, 1].tolist()))}"
        raise ValueError(f"{name}: the target holds {int(bad.sum())} NaN or infinite value(s){where} "
                         f"(first at row {int(bad.nonzero()[0, 0])}); CCC is undefined with missing labels: "
                         "drop or interpolate those frames first")


def _moments(y_hat: torch.Tensor, y: torch.Tensor):
    if y_hat.dtype in (torch.float16, torch.bfloat16):  # 1e-8 and small variances vanish in half precision
        y_hat, y = y_hat.float(), y.float()
    mu_p = y_hat.mean(dim=0)
    mu_y = y.mean(dim=0)
    a = y_hat - mu_p
    b = y - mu_y
    var_p = (a * a).mean(dim=0)
    var_y = (b * b).mean(dim=0)
    cov = (a * b).mean(dim=0)
    return mu_p, mu_y, var_p, var_y, cov


def ccc_loss(y_hat: torch.Tensor, y: torch.Tensor, *, eps: float = EPS, check_target: bool = True) -> torch.Tensor:
    r"""CCC loss, ``1 - CCC`` over the batch, per task.

    .. math::

        L = 1 - \frac{2\,\sigma_{\hat y y}}
                     {\sigma_{\hat y}^2 + \sigma_y^2 + (\mu_{\hat y} - \mu_y)^2 + \epsilon}

    with population (``1/B``) statistics over dimension 0.

    Parameters
    ----------
    y_hat : torch.Tensor, shape (B,) or (B, M)
        Predictions (first, as in ``torch.nn.functional``).
    y : torch.Tensor, same shape
        Targets; cast to ``y_hat``'s dtype.
    eps : float, default 1e-8
        Added to the denominator so that a constant prediction and a
        constant target (0/0) give a finite loss and gradient.
    check_target : bool, default True
        Refuse a NaN or infinite target by name. The check reads a value back
        from the device (on a GPU, a wait for every batch); training checks
        its labels once before the first step and passes False.

    Returns
    -------
    torch.Tensor
        A scalar for ``(B,)`` input, shape ``(M,)`` for ``(B, M)``. Values in
        ``[0, 2]``: 0 is perfect agreement, 1 no correlation, 2 perfect
        anti-agreement.

    Raises
    ------
    ValueError
        If the target holds NaN or infinite values (missing labels): the loss
        would be NaN with no word of why.

    Notes
    -----
    Constant predictions give loss 1 with a gradient that points toward the
    target's shape (so a fresh model can leave the flat start); constant
    targets, and a batch of one, give loss 1 and zero gradient. Why this
    loss, and not MSE, matches the metric: notebook 05, Sections 1 and 4.

    Examples
    --------
    >>> import torch
    >>> from cerlib.losses import ccc_loss
    >>> y = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    >>> round(ccc_loss(y, y).item(), 6)
    0.0
    >>> round(ccc_loss(torch.zeros(4), y).item(), 6)    # flat prediction
    1.0
    >>> ccc_loss(torch.stack([y, -y], 1), torch.stack([y, y], 1)).shape  # per task
    torch.Size([2])
    """
    y_hat, y = _check_pair(y_hat, y, "ccc_loss")
    if check_target:
        _check_finite_target(y, "ccc_loss")
    mu_p, mu_y, var_p, var_y, cov = _moments(y_hat, y)
    ccc = 2.0 * cov / (var_p + var_y + (mu_p - mu_y) ** 2 + eps)
    return 1.0 - ccc


def pcc_loss(y_hat: torch.Tensor, y: torch.Tensor, *, eps: float = EPS) -> torch.Tensor:
    r"""PCC loss, ``1 - PCC`` over the batch, per task.

    .. math::

        L = 1 - \frac{\sigma_{\hat y y}}
                     {\sqrt{\sigma_{\hat y}^2 + \epsilon}\,\sqrt{\sigma_y^2 + \epsilon}}

    Parameters
    ----------
    y_hat : torch.Tensor, shape (B,) or (B, M)
        Predictions.
    y : torch.Tensor, same shape
        Targets; cast to ``y_hat``'s dtype.
    eps : float, default 1e-8
        Added under each square root: ``sqrt`` has an infinite slope at 0,
        so without it a constant prediction would give a NaN gradient.

    Returns
    -------
    torch.Tensor
        A scalar for ``(B,)`` input, shape ``(M,)`` for ``(B, M)``, in
        ``[0, 2]``.

    Notes
    -----
    PCC ignores the level and the scale of the prediction, so this loss
    cannot teach the model either (notebook 05, Sections 2 and 5). With the eps,
    predictions whose variance is far below ``eps`` are seen as less
    correlated than they are, which only matters at the very start of
    training.

    Examples
    --------
    >>> import torch
    >>> from cerlib.losses import pcc_loss
    >>> y = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    >>> round(pcc_loss(3 * y + 5, y).item(), 6)   # blind to scale and level
    0.0
    """
    y_hat, y = _check_pair(y_hat, y, "pcc_loss")
    _, _, var_p, var_y, cov = _moments(y_hat, y)
    pcc = cov / (torch.sqrt(var_p + eps) * torch.sqrt(var_y + eps))
    return 1.0 - pcc


def mse_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the batch, per task (the paper's baseline).

    Parameters
    ----------
    y_hat : torch.Tensor, shape (B,) or (B, M)
        Predictions.
    y : torch.Tensor, same shape
        Targets; cast to ``y_hat``'s dtype.

    Returns
    -------
    torch.Tensor
        ``mean_b (y_hat - y)**2``: a scalar for ``(B,)``, shape ``(M,)`` for
        ``(B, M)``. Unlike ``torch.nn.functional.mse_loss`` it does not
        average over tasks, so that :func:`multitask_loss` can weight them.

    Notes
    -----
    MSE can be lowered by shrinking predictions toward the mean, which is
    why MSE-trained models come out flat (notebook 05, Section 4).

    Examples
    --------
    >>> import torch
    >>> from cerlib.losses import mse_loss
    >>> y = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    >>> mse_loss(torch.zeros(4), y).item()     # flat at the mean: MSE = var(y)
    1.0
    >>> mse_loss(y + 1, y).item()              # right shape, wrong level
    1.0
    """
    y_hat, y = _check_pair(y_hat, y, "mse_loss")
    return ((y_hat - y) ** 2).mean(dim=0)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "ccc": ccc_loss,
    "pcc": pcc_loss,
    "mse": mse_loss,
}
"""The named losses: ``"ccc"``, ``"pcc"``, ``"mse"``."""


def get_loss(name: str | Callable) -> Callable[..., torch.Tensor]:
    """Look a loss up by name (case-insensitive); a callable is returned as is.

    Parameters
    ----------
    name : {"ccc", "pcc", "mse"} or callable
        A name from :data:`LOSSES`, or a function ``(y_hat, y) -> loss``.

    Returns
    -------
    callable
        ``(y_hat, y) -> torch.Tensor``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the choices.

    Examples
    --------
    >>> from cerlib.losses import get_loss, ccc_loss
    >>> get_loss("CCC") is ccc_loss
    True
    """
    if callable(name):
        return name
    key = name.lower() if isinstance(name, str) else name
    try:
        return LOSSES[key]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {name!r}; choose one of {', '.join(map(repr, LOSSES))} "
            "or pass a callable (y_hat, y) -> loss"
        ) from None


def multitask_loss(
    y_hat: torch.Tensor,
    y: torch.Tensor,
    loss: str | Callable = "ccc",
    alpha: Sequence[float] | torch.Tensor | None = None,
    *,
    return_per_task: bool = False,
):
    r"""The paper's multi-task objective :math:`J = \sum_m \alpha_m L_m`.

    Parameters
    ----------
    y_hat : torch.Tensor, shape (B, M)
        Predictions, one column per task (a ``(B,)`` tensor is one task).
    y : torch.Tensor, same shape
        Targets.
    loss : {"ccc", "pcc", "mse"} or callable, default "ccc"
        The per-task loss. A callable is called once per task as
        ``loss(y_hat[:, m], y[:, m])`` and must return a scalar tensor, so
        ``torch.nn.functional.l1_loss`` works too.
    alpha : sequence of M non-negative floats, optional
        Task weights. Default ``1/M`` each (1/3 for activation, valence and
        dominance, as in the paper). They need not sum to 1. A sequence is
        checked and copied to the device on every call; a tensor already on
        ``y_hat``'s device and dtype is used as it is (no copy, no check of
        its values: a training loop checks once and passes the tensor).
    return_per_task : bool, default False
        Also return the unweighted per-task losses (for logging).

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        The scalar ``J``; with ``return_per_task``, also the ``(M,)`` losses
        ``L_m`` (still attached to the graph; ``.detach()`` them to log).

    Raises
    ------
    ValueError
        If shapes differ or are not ``(B, M)``, if ``alpha`` does not hold
        ``M`` finite non-negative numbers, if ``loss`` is an unknown name, or
        if a callable loss does not return a scalar.

    Examples
    --------
    >>> import torch
    >>> from cerlib.losses import multitask_loss, ccc_loss
    >>> y = torch.tensor([[-1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [-1.0, 1.0]])
    >>> y_hat = torch.stack([y[:, 0], torch.zeros(4)], dim=1)  # task 0 right, task 1 flat
    >>> round(multitask_loss(y_hat, y).item(), 6)               # (0 + 1) / 2
    0.5
    >>> round(multitask_loss(y_hat, y, alpha=(1.0, 0.0)).item(), 6)
    0.0
    """
    fn = get_loss(loss)
    y_hat, y = _check_pair(y_hat, y, "multitask_loss")
    if y_hat.ndim == 1:
        y_hat, y = y_hat[:, None], y[:, None]
    n_tasks = y_hat.shape[1]
    if alpha is None:
        weights = torch.full((n_tasks,), 1.0 / n_tasks, dtype=y_hat.dtype, device=y_hat.device)
    elif torch.is_tensor(alpha) and alpha.device == y_hat.device and alpha.dtype == y_hat.dtype:
        # already where the loss is computed: used as is, no host round trip (a sync on a GPU)
        if alpha.shape != (n_tasks,):
            raise ValueError(f"alpha must hold one weight per task ({n_tasks}), got shape {tuple(alpha.shape)}")
        weights = alpha
    else:
        weights = torch.as_tensor(alpha, dtype=torch.float64).detach().cpu()
        if weights.shape != (n_tasks,):
            raise ValueError(
                f"alpha must hold one weight per task ({n_tasks}), got shape {tuple(weights.shape)}"
            )
        if not torch.all(torch.isfinite(weights)) or torch.any(weights < 0):
            raise ValueError(f"alpha must be finite and non-negative, got {weights.tolist()}")
        weights = weights.to(dtype=y_hat.dtype, device=y_hat.device)
    parts = []
    for m in range(n_tasks):
        value = fn(y_hat[:, m], y[:, m])
        if not isinstance(value, torch.Tensor) or value.ndim != 0:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(
                f"loss {getattr(fn, '__name__', fn)!r} must return a scalar tensor for one task, got {shape}"
            )
        parts.append(value)
    per_task = torch.stack(parts)
    total = (weights * per_task).sum()
    if return_per_task:
        return total, per_task
    return total
