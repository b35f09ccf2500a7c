"""Classification on a user's CSV file: every column but the target is a numeric feature.

A CSV comes from outside, so each way it can be unusable gets its own message that names the
file, the column and the fix, instead of a pandas or scikit-learn traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from qnas.errors import TaskError, did_you_mean
from qnas.tasks.base import check_seed, file_sha256
from qnas.tasks.classification import ClassificationTask, stratified_split

_USAGE = "make_task('csv', data='path/to/file.csv', target='label_column')"


def build_csv(
    *, data: str | os.PathLike[str] | None = None, target: str | None = None, seed: int = 0
) -> ClassificationTask:
    """Load `data`, predict column `target` from all other columns, split 60/20/20 stratified."""
    if data is None or target is None:
        missing = " and ".join(k for k, v in (("data", data), ("target", target)) if v is None)
        raise TaskError(f"csv task needs {missing}: call {_USAGE}.")
    if not isinstance(data, (str, os.PathLike)):
        raise TaskError(f"csv: data = {data!r} must be a file path (a string); call {_USAGE}.")
    if not isinstance(target, str):
        raise TaskError(f"csv: target = {target!r} must be a column name (a string); call {_USAGE}.")
    path = os.path.abspath(os.fspath(data))
    params = {"data": path, "target": target, "seed": check_seed("csv", seed)}
    frame = read_csv(path)
    x, y, feature_names, class_names = _features_and_labels(frame, path, target)
    splits = stratified_split(x, y, params["seed"], class_names, f"csv: target column {target!r} in {path!r}")
    task = ClassificationTask("csv", params, splits, feature_names, class_names)
    task.data_sha256 = file_sha256(path)
    return task


def read_csv(path: str) -> pd.DataFrame:
    """Read a CSV with a header row, turning every pandas failure into a TaskError."""
    file = Path(path)
    if not file.exists():
        raise TaskError(f"csv: data file {path!r} was not found. Check the path, or call {_USAGE}.")
    if not file.is_file():
        raise TaskError(f"csv: data = {path!r} is not a file (a directory?). Pass the path of a .csv file.")
    try:
        frame = pd.read_csv(file)
    except pd.errors.EmptyDataError as exc:
        raise TaskError(
            f"csv: data file {path!r} is empty. It needs a header row of column names and at least one data row."
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TaskError(
            f"csv: data file {path!r} is not a well-formed CSV ({str(exc).strip()}). "
            "Every row needs the same number of comma-separated fields as the header; "
            "check the file in a text editor or re-export it as UTF-8 CSV."
        ) from exc
    if frame.empty:
        raise TaskError(
            f"csv: data file {path!r} has a header ({list(map(str, frame.columns))}) but no data rows. Add rows."
        )
    return frame


def _features_and_labels(
    frame: pd.DataFrame, path: str, target: str
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    columns = [str(c) for c in frame.columns]
    if target not in columns:
        raise TaskError(
            f"csv: target column {target!r} is not in {path!r}; its columns are {columns}."
            f"{did_you_mean(target, columns)} Pass one of them with --target COLUMN (in Python: target=...)."
        )
    _reject_missing_cells(frame, path)
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise TaskError(
            f"csv: {path!r} has only the target column {target!r}; add at least one numeric feature column."
        )
    for column in features.columns:
        series = features[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            bad = series[pd.to_numeric(series, errors="coerce").isna()]
            raise TaskError(
                f"csv: feature column {column!r} in {path!r} is not numeric (e.g. value {bad.iloc[0]!r}). "
                "Encode it as numbers (e.g. one-hot with pandas.get_dummies, or an integer code) or drop the column."
            )
    x = features.to_numpy(dtype=np.float64)
    infinite = [str(c) for c, ok in zip(features.columns, np.isfinite(x).all(axis=0), strict=True) if not ok]
    if infinite:
        raise TaskError(
            f"csv: feature columns {infinite} in {path!r} hold infinite values; replace or drop those rows."
        )
    y, class_names = _encode_target(frame[target], path, target)
    return x.astype(np.float32), y, [str(c) for c in features.columns], class_names


def _reject_missing_cells(frame: pd.DataFrame, path: str) -> None:
    missing = frame.isna()
    per_column = missing.sum()
    if not per_column.any():
        return
    detail = ", ".join(f"{c!r} ({_rows(n)})" for c, n in per_column.items() if n)
    n_rows = int(missing.any(axis=1).sum())
    raise TaskError(
        f"csv: {path!r} has empty or NaN cells in columns {detail}; {n_rows} of {_rows(len(frame))} are affected. "
        "Drop those rows (e.g. pandas DataFrame.dropna()) or impute the missing values before loading."
    )


def _encode_target(column: pd.Series, path: str, target: str) -> tuple[np.ndarray, list[str]]:
    """Map labels (strings, ints or bools) to class indices 0..C-1 in sorted label order."""
    if pd.api.types.is_float_dtype(column) and not np.all(np.mod(column.to_numpy(), 1) == 0):
        example = column[np.mod(column.to_numpy(), 1) != 0].iloc[0]
        raise TaskError(
            f"csv: target column {target!r} in {path!r} holds non-integer numbers (e.g. {example!r}); "
            "qnas classification needs class labels. Pick a label column, or bin the values into classes."
        )
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy().astype(np.int64)  # whole numbers read as float: name classes '1', not '1.0'
    elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        values = column.to_numpy()
    else:
        values = column.astype(str).to_numpy(dtype=object)
    labels, y = np.unique(values, return_inverse=True)
    class_names = [str(label) for label in labels]
    if len(class_names) < 2:
        raise TaskError(
            f"csv: target column {target!r} in {path!r} has only one class ({class_names[0]!r}); "
            "classification needs at least 2 classes. Pick another target column or add rows of other classes."
        )
    return y.astype(np.int64), class_names


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
