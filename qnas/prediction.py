"""Batch prediction from an exported classifier on a CSV file.

Columns are matched by name, not position, so a CSV with the target, an id column or columns in a
different order still feeds the model the features it was trained on. Bad data stops the run with
the column and row to fix; silently predicting on NaN would give confident nonsense.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnas.errors import ExportError, TaskError, did_you_mean

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def predict(
    export_dir: str | os.PathLike[str],
    data_csv: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    device: Any = None,
    readout_mitigation: bool | None = None,
    remeasure_readout: bool = False,
) -> Path:
    """Predict every row of `data_csv` with the model in `export_dir`; write `out_csv` and return it.

    The output has one row per input row: `row` (the input row index), `predicted` (class name)
    and `p_<class>` (softmax probability) for each class. `device`, `readout_mitigation` and
    `remeasure_readout` are as for `qnas.load`: on a noisy device the export's stored readout
    calibration corrects the circuit's readout unless mitigation is turned off.
    """
    import numpy as np
    import pandas as pd
    import torch

    from qnas.export import classifier_logits, load

    out = Path(out_csv)
    if not out.parent.is_dir():
        raise TaskError(f"output folder {out.parent} does not exist; create it or choose another output path.")
    model = load(export_dir, device=device, readout_mitigation=readout_mitigation, remeasure_readout=remeasure_readout)
    if model.kind != "classifier":
        raise ExportError(
            f"predict needs a classifier export, but {export_dir} holds a {model.kind!r} model, which takes no "
            f"input data. Load it with qnas.load({str(export_dir)!r}) and call the module to get its output."
        )
    frame = _read_csv(Path(data_csv))
    features = _feature_matrix(frame, model.feature_names, Path(data_csv))
    probabilities = torch.softmax(classifier_logits(model, features), dim=1).numpy()

    class_names = model.class_names
    labels = np.asarray(class_names, dtype=object)[probabilities.argmax(axis=1)]
    result = pd.DataFrame({"row": frame.index, "predicted": labels})
    for i, name in enumerate(class_names):
        result[f"p_{name}"] = probabilities[:, i]
    result.to_csv(out, index=False)
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise TaskError(f"data file {path} does not exist; pass the path of a CSV file with a header row.")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path} is not a readable CSV file ({exc}); give a CSV with a header row.") from exc
    if frame.empty:
        raise TaskError(f"{path} has no data rows; give at least one row below the header.")
    return frame.rename(columns=str)


def _feature_matrix(frame: pd.DataFrame, feature_names: list[str], path: Path) -> np.ndarray:
    """The model's feature columns, in its order, as float32; errors name the column and row."""
    import numpy as np
    import pandas as pd

    columns = list(frame.columns)
    missing = [name for name in feature_names if name not in columns]
    if missing:
        hints = "".join(did_you_mean(name, columns) for name in missing)
        raise TaskError(
            f"{path} lacks the feature column(s) {missing} the model needs; it has {columns}. The model reads "
            f"{feature_names} by name (extra columns are ignored).{hints}"
        )
    matrix = np.empty((len(frame), len(feature_names)), dtype=np.float32)
    for j, name in enumerate(feature_names):
        column = frame[name]
        values = pd.to_numeric(column, errors="coerce")
        text = values.isna() & column.notna()
        if text.any():
            row = text.idxmax()
            raise TaskError(
                f"{path} column {name!r} holds the non-numeric value {column.loc[row]!r} at row {row} "
                f"({int(text.sum())} such value(s)); feature columns must hold numbers."
            )
        numbers = values.to_numpy(dtype=np.float64)
        finite = np.isfinite(numbers)
        if not finite.all():
            raise TaskError(
                f"{path} column {name!r} has {int((~finite).sum())} missing or infinite value(s), the first at row "
                f"{frame.index[finite.argmin()]}; fill or drop those rows before predicting."
            )
        matrix[:, j] = numbers
    return matrix
