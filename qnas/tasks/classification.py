"""Classification tasks on datasets that ship offline with scikit-learn.

Arrays stay in raw feature units: the model standardizes with `feature_mean`/`feature_std`
(computed on the training split only), so an exported model takes raw features as they come.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from qnas.errors import TaskError
from qnas.tasks.base import Task, check_float, check_int, check_seed

MIN_ROWS_PER_CLASS = 5
"""A stratified 60/20/20 split puts at least one row of every class in each split from 5 rows on."""

STD_FLOOR = 1e-8


class ClassificationTask(Task):
    """Stratified train/val/test splits of one dataset; the objective is validation accuracy."""

    kind = "classification"
    metric = "accuracy"
    direction = "maximize"

    def __init__(
        self,
        name: str,
        params: dict[str, Any],
        splits: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        feature_names: Sequence[str],
        class_names: Sequence[str],
    ) -> None:
        super().__init__(name, params)
        x_train, y_train, x_val, y_val, x_test, y_test = splits
        self.x_train = np.ascontiguousarray(x_train, dtype=np.float32)
        self.x_val = np.ascontiguousarray(x_val, dtype=np.float32)
        self.x_test = np.ascontiguousarray(x_test, dtype=np.float32)
        self.y_train = np.ascontiguousarray(y_train, dtype=np.int64)
        self.y_val = np.ascontiguousarray(y_val, dtype=np.int64)
        self.y_test = np.ascontiguousarray(y_test, dtype=np.int64)
        self.feature_names = [str(f) for f in feature_names]
        self.class_names = [str(c) for c in class_names]
        self.n_features = self.x_train.shape[1]
        self.n_classes = len(self.class_names)
        if len(self.feature_names) != self.n_features:
            raise TaskError(f"{name}: {len(self.feature_names)} feature names for {self.n_features} feature columns.")
        train64 = self.x_train.astype(np.float64)
        self.feature_mean = train64.mean(axis=0).astype(np.float32)
        self.feature_std = np.maximum(train64.std(axis=0), STD_FLOOR).astype(np.float32)

    def describe(self) -> str:
        sizes = f"{len(self.y_train)}/{len(self.y_val)}/{len(self.y_test)}"
        return f"{self.name}: {self.n_features} features, {self.n_classes} classes, {sizes} train/val/test"


def stratified_split(
    x: np.ndarray, y: np.ndarray, seed: int, class_names: Sequence[str], what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split 60/20/20 train/val/test, keeping class proportions in every split.

    `y` holds class indices into `class_names`; `what` names the data in error messages.
    """
    counts = np.bincount(y, minlength=len(class_names))
    if len(class_names) < 2:
        raise TaskError(
            f"{what} has only {len(class_names)} class ({list(class_names)}); classification needs at least 2 classes."
        )
    smallest = int(np.argmin(counts))
    if counts[smallest] < MIN_ROWS_PER_CLASS:
        rows = "1 row" if counts[smallest] == 1 else f"{counts[smallest]} rows"
        raise TaskError(
            f"{what}: class {class_names[smallest]!r} has {rows}, but a stratified 60/20/20 "
            f"train/val/test split needs at least {MIN_ROWS_PER_CLASS} rows per class. "
            "Add rows for that class, or drop or merge it with another class."
        )
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=seed
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def _from_arrays(
    name: str, params: dict[str, Any], x: np.ndarray, y: np.ndarray, feature_names: Sequence[str],
    class_names: Sequence[str],
) -> ClassificationTask:
    splits = stratified_split(x, y.astype(np.int64), params["seed"], class_names, name)
    return ClassificationTask(name, params, splits, feature_names, class_names)


def build_moons(*, n_samples: int = 500, noise: float = 0.2, seed: int = 0) -> ClassificationTask:
    """Two interleaving half circles (class 0 is the upper moon)."""
    params = {
        "n_samples": check_int("moons", "n_samples", n_samples, 2 * MIN_ROWS_PER_CLASS, 1_000_000),
        "noise": check_float("moons", "noise", noise, 0.0, 10.0),
        "seed": check_seed("moons", seed),
    }
    x, y = datasets.make_moons(n_samples=params["n_samples"], noise=params["noise"], random_state=params["seed"])
    return _from_arrays("moons", params, x, y, ["x1", "x2"], ["upper", "lower"])


def build_circles(
    *, n_samples: int = 500, noise: float = 0.1, factor: float = 0.5, seed: int = 0
) -> ClassificationTask:
    """Two concentric circles; `factor` is the inner radius relative to the outer one."""
    params = {
        "n_samples": check_int("circles", "n_samples", n_samples, 2 * MIN_ROWS_PER_CLASS, 1_000_000),
        "noise": check_float("circles", "noise", noise, 0.0, 10.0),
        "factor": check_float("circles", "factor", factor, 0.0, 0.999),
        "seed": check_seed("circles", seed),
    }
    x, y = datasets.make_circles(
        n_samples=params["n_samples"], noise=params["noise"], factor=params["factor"], random_state=params["seed"]
    )
    return _from_arrays("circles", params, x, y, ["x1", "x2"], ["outer", "inner"])


def _bundled(name: str, loader: Any, seed: int) -> ClassificationTask:
    params = {"seed": check_seed(name, seed)}
    bunch = loader()
    return _from_arrays(name, params, bunch.data, bunch.target, list(bunch.feature_names), list(bunch.target_names))


def build_iris(*, seed: int = 0) -> ClassificationTask:
    return _bundled("iris", datasets.load_iris, seed)


def build_breast_cancer(*, seed: int = 0) -> ClassificationTask:
    return _bundled("breast_cancer", datasets.load_breast_cancer, seed)


def build_wine(*, seed: int = 0) -> ClassificationTask:
    return _bundled("wine", datasets.load_wine, seed)


def build_digits(*, n_components: int = 8, seed: int = 0) -> ClassificationTask:
    """8x8 digit images reduced to `n_components` principal components.

    PCA is fitted on the training split only, so validation and test rows never leak into
    the features the model sees.
    """
    params = {
        "n_components": check_int("digits", "n_components", n_components, 1, 64),
        "seed": check_seed("digits", seed),
    }
    bunch = datasets.load_digits()
    class_names = [str(c) for c in bunch.target_names]
    x_train, y_train, x_val, y_val, x_test, y_test = stratified_split(
        bunch.data, bunch.target.astype(np.int64), params["seed"], class_names, "digits"
    )
    pca = PCA(n_components=params["n_components"], svd_solver="full").fit(x_train)
    splits = (pca.transform(x_train), y_train, pca.transform(x_val), y_val, pca.transform(x_test), y_test)
    feature_names = [f"pc{i + 1}" for i in range(params["n_components"])]
    return ClassificationTask("digits", params, splits, feature_names, class_names)
