"""The paper's reported numbers, shipped with the package as data.

``tables()`` returns Tables I-VI as one tidy DataFrame with the columns
``table, dataset, setting, loss, model, n_frames, task, ccc`` (the same columns
as cerlib's own results, so the two can be joined and drawn side by side);
``parameters()`` returns Table V's parameter counts.

Examples
--------
>>> t = tables()
>>> float(t.query("table == 'I' and setting == 'multimodal' and loss == 'ccc' and task == 'activation'").ccc.iloc[0])
0.38
>>> int(parameters().set_index("model").loc["CER-MTL", "parameters"])
5615
"""
from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["tables", "parameters", "TABLE_COLUMNS"]

TABLE_COLUMNS = ("table", "dataset", "setting", "loss", "model", "n_frames", "task", "ccc")


def _read(name: str):
    with resources.files("cerlib").joinpath("paperdata", name).open("r") as handle:
        return pd.read_csv(handle)


def tables(table: str | None = None):
    """The paper's results; ``table`` ("I" .. "VI") selects one table.

    Returns
    -------
    pandas.DataFrame with columns :data:`TABLE_COLUMNS`; ``n_frames`` is a
    nullable integer (empty for Table VI's published systems), ``loss`` is
    empty where the paper does not say.

    Examples
    --------
    >>> tables("IV").query("dataset == 'recola' and task == 'activation'")[["n_frames", "ccc"]].values.tolist()
    [[20, 0.66], [40, 0.74], [60, 0.79]]
    """
    df = _read("tables.csv")
    df["n_frames"] = df["n_frames"].astype("Int64")
    if table is not None:
        if table not in set(df["table"]):
            raise ValueError(f"table must be one of {sorted(set(df['table']))}, got {table!r}")
        df = df[df["table"] == table].reset_index(drop=True)
    return df


def parameters():
    """Table V's parameter counts: columns table, dataset, model, n_frames, parameters.

    Examples
    --------
    >>> parameters()["parameters"].tolist()
    [240643, 5615]
    """
    return _read("params.csv")
