"""What the classifiers share: class labels checked and encoded, class weights."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target


def check_first_partial_fit(estimator, classes) -> None:
    """scikit-learn's rule: the first ``partial_fit`` names every class."""
    if not hasattr(estimator, "classes_") and classes is None:
        raise ValueError(
            "the first call to partial_fit needs classes=, every label the data will have (e.g. classes=np.unique(y))"
        )


def encode_labels(estimator, y, first: bool, classes=None) -> np.ndarray:
    """``y`` as the 0/1 columns of ``estimator._label_binarizer`` (one for two classes, one per
    class or label otherwise); on the first fit the binarizer and ``classes_`` are set from ``y``
    (or ``classes``), later labels must be among them."""
    check_classification_targets(y)
    if first:  # multi-label y: its columns are the labels (classes= names them, scikit-learn's rule)
        multilabel = type_of_target(y).startswith("multilabel")
        binarizer = LabelBinarizer().fit(y if classes is None or multilabel else classes)
        estimator._label_binarizer, estimator.classes_ = binarizer, binarizer.classes_
    elif classes is not None and not np.array_equal(np.unique(classes), estimator.classes_):
        raise ValueError(
            f"classes={list(classes)!r} differ from the classes of the earlier fit, {estimator.classes_.tolist()!r}"
        )
    if type_of_target(y) != "multilabel-indicator":
        unseen = np.setdiff1d(np.unique(y), estimator.classes_)
        if unseen.size:
            raise ValueError(
                f"y has labels not seen in the first fit or given as classes: {unseen.tolist()!r}; "
                f"expected labels among {estimator.classes_.tolist()!r}"
            )
    return estimator._label_binarizer.transform(y)


def weights_of_classes(estimator, y, sample_weight, *, keep: bool, classes=None, incremental: bool = False):
    """``sample_weight`` ``(n,)`` (None: ones) times each row's weight in ``estimator.class_weight``:
    None (every class 1), ``"balanced"`` (scikit-learn's ``n / (n_classes * count)``, from the
    counts of ``y``, not from ``sample_weight``, as ``SGDClassifier`` counts) or a dict
    ``{label: weight}`` (labels not named weigh 1). The classes are the fitted ones when the fit
    goes on (``keep``), else ``classes`` or those of ``y``. Call it before :func:`encode_labels`:
    it changes nothing, so a refused ``class_weight`` leaves a fitted model as it was.

    Example:
        >>> from types import SimpleNamespace
        >>> model = SimpleNamespace(class_weight="balanced")
        >>> weights_of_classes(model, np.array(["a", "a", "a", "b"]), None, keep=False).tolist()
        [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
    """
    class_weight = getattr(estimator, "class_weight", None)
    if class_weight is None:
        return sample_weight
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        raise ValueError(
            "class_weight weighs the classes of one label, and y is a label-indicator matrix (multi-label); "
            "give sample_weight instead, or class_weight=None"
        )
    y = y.ravel()
    known = estimator.classes_ if keep else np.unique(y if classes is None else np.asarray(classes))
    if isinstance(class_weight, str) and class_weight == "balanced":
        if incremental:
            raise ValueError(
                "class_weight='balanced' needs every label at once, and partial_fit sees one batch; give a dict, "
                "e.g. class_weight=dict(zip(classes, compute_class_weight('balanced', classes=classes, y=y))) "
                "from sklearn.utils.class_weight"
            )
        present = np.unique(y)
        per_class = dict(
            zip(present.tolist(), compute_class_weight("balanced", classes=present, y=y).tolist(), strict=True)
        )
    elif isinstance(class_weight, dict):
        unknown = [label for label in class_weight if label not in set(known.tolist())]
        if unknown:
            raise ValueError(
                f"class_weight names {unknown!r}, not among the classes {known.tolist()!r}; name only those"
            )
        bad = {
            label: w
            for label, w in class_weight.items()
            if not (isinstance(w, numbers.Real) and np.isfinite(w) and w >= 0)
        }
        if bad:
            raise ValueError(f"class_weight's weights must be finite numbers >= 0, got {bad!r}")
        per_class = class_weight
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got {class_weight!r}")
    weight_of_class = np.array([float(per_class.get(label, 1.0)) for label in known.tolist()])
    # a label not among the classes weighs 1 here: encode_labels refuses it next
    where = np.clip(np.searchsorted(known, y), 0, len(known) - 1)
    weights = np.where(known[where] == y, weight_of_class[where], 1.0)
    return weights if sample_weight is None else sample_weight * weights
