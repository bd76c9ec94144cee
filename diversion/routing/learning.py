"""The learned side of routing: a scikit-learn text classifier trained from the calls dispatchers confirmed
(what the rules suggested vs what was chosen), or from a labelled file (evaluate_routing).

Features: TF-IDF (sublinear tf) over jieba words (uni- and bigrams), over jieba's search-mode parts of
words, over characters (1–3) and over the opening characters alone (a message's title); classifier: the
vote of VoteClassifier below, with probabilities calibrated on held-out folds. It trains in about a minute
on a few thousand texts on one core.

A fitted model is stored as joblib bytes: in a RoutingModel row (the one the workbench uses) or in a file
(evaluate_routing --save-model, classify_texts --model). joblib files run code when loaded: load only files
this project wrote.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
import threading
from dataclasses import dataclass, field

import joblib
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from sklearn.base import BaseEstimator, ClassifierMixin

from core.audit import audit_write
from core.errors import DomainError

from .rules import catalog_bump, last_versions

# Models stored before this module moved here (RoutingModel rows, --save-model files) were pickled with
# its old name; unpickling imports that name, so it stays an alias of this module.
sys.modules.setdefault("diversion.learning", sys.modules[__name__])

FORMAT = 1
POLICE_LABEL = "police"

_ANON_PLACE = re.compile(r"[A-Z]\d*(?=[市区县镇乡村])")
_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Fold what carries no routing signal: anonymised place codes (A7县 → 县), numbers and letter case."""
    text = _ANON_PLACE.sub("", text or "")
    return _DIGITS.sub("0", text).lower()


def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """jieba words, punctuation and spaces dropped. Module-level so a pickled model can find it."""
    return [w for w in _jieba().lcut(text) if w.strip() and not _PUNCT.fullmatch(w)]


def tokenize_parts(text: str) -> list[str]:
    """jieba's search mode: long words and their shorter words too (医疗保险 → 医疗, 保险, 医疗保险), so a
    compound never seen in training still shares its parts with ones that were."""
    return [w for w in _jieba().cut_for_search(text) if w.strip() and not _PUNCT.fullmatch(w)]


HEAD_CHARS = 25


def head(text: str) -> str:
    """The opening characters: a message's title, a call note's first clause."""
    return normalise(text)[:HEAD_CHARS]


_PUNCT = re.compile(r"[\W_]+")


def build_pipeline(params: dict | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    """The features and the vote; `params` are min_df and VoteClassifier's own. Returns the pipeline and
    every parameter it uses (stored with the model)."""
    params = dict(params or {})
    min_df = params.pop("min_df", 2)
    classifier = VoteClassifier(**params)
    tfidf = {"sublinear_tf": True, "token_pattern": None}
    features = FeatureUnion([
        ("words", TfidfVectorizer(tokenizer=tokenize, preprocessor=normalise, ngram_range=(1, 2), min_df=min_df,
                                  **tfidf)),
        ("parts", TfidfVectorizer(tokenizer=tokenize_parts, preprocessor=normalise, min_df=min_df, **tfidf)),
        ("chars", TfidfVectorizer(analyzer="char", preprocessor=normalise, ngram_range=(1, 3), min_df=min_df,
                                  **tfidf)),
        ("head", TfidfVectorizer(analyzer="char", preprocessor=head, ngram_range=(1, 3), **tfidf)),
    ])
    return Pipeline([("features", features), ("classifier", classifier)]), {"min_df": min_df,
                                                                             **classifier.get_params()}


def _standardise(scores):
    """Per row: mean 0, spread 1, so voters on different scales count alike."""
    return (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _class_scores(clf, X):
    """A linear model's decision scores as one column per class, also for two classes."""
    d = clf.decision_function(X)
    return np.column_stack([-d, d]) if d.ndim == 1 else d


class VoteClassifier(ClassifierMixin, BaseEstimator):
    """Three voters over one TF-IDF matrix: a linear SVM; an NB-SVM (per class, a linear SVM over the
    features scaled by that class's log-count ratio, which lets the words peculiar to a class speak louder);
    and the `neighbours` most similar training texts (cosine), weighted by similarity, for the repeat
    messages about one place or one policy that a linear model averages away. Each voter's scores are
    standardised per text and summed (neighbours at `neighbour_weight`). On held-out folds of the training
    data (`calibration_folds`; 0, or fewer texts in a class than folds: neither) one offset per class is
    fitted for macro-F1 (`tune_bias`) and one temperature, so that probabilities, a softmax of the vote,
    make a confidence threshold mean what it says.

    On the dev messages (5-fold): SVM alone macro-F1 0.910, with the NB-SVM 0.911, with the neighbours
    0.916, with the offsets 0.919. Written out because this vote is not one of scikit-learn's."""

    def __init__(self, svm_c=1.0, nb_c=0.5, nb_alpha=1.0, neighbours=10, neighbour_weight=0.5, calibration_folds=3,
                 tune_bias=True):
        self.svm_c = svm_c
        self.nb_c = nb_c
        self.nb_alpha = nb_alpha
        self.neighbours = neighbours
        self.neighbour_weight = neighbour_weight
        self.calibration_folds = calibration_folds
        self.tune_bias = tune_bias

    def fit(self, X, y):
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold

        y = np.asarray(y, dtype=object)
        self._fit_voters(X, y)
        self.temperature_ = 1.0
        folds = self.calibration_folds
        if folds < 2 or min(np.unique(y, return_counts=True)[1]) < folds:
            return self
        scores = np.zeros((len(y), len(self.classes_)))
        for train, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
            part = clone(self).set_params(calibration_folds=0)._fit_voters(X[train], y[train])
            scores[held] = part.decision_function(X[held])
        truth = np.searchsorted(self.classes_, y)
        if self.tune_bias:
            self.bias_ = _fit_bias(scores, truth)
        self.temperature_ = _fit_temperature(scores + self.bias_, truth)
        return self

    def _fit_voters(self, X, y):
        from sklearn.svm import LinearSVC

        self.classes_ = np.unique(y)
        self.bias_ = np.zeros(len(self.classes_))
        self.svm_ = LinearSVC(C=self.svm_c, class_weight="balanced", random_state=0).fit(X, y)
        binary = X.copy()
        binary.data[:] = 1
        self.nb_ = []
        for c in self.classes_:
            inside = y == c
            pos = np.asarray(binary[inside].sum(axis=0)).ravel() + self.nb_alpha
            neg = np.asarray(binary[~inside].sum(axis=0)).ravel() + self.nb_alpha
            ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
            svm = LinearSVC(C=self.nb_c, class_weight="balanced", random_state=0).fit(X.multiply(ratio).tocsr(), inside)
            self.nb_.append((ratio, svm))
        # Stored transposed, in the layout the product wants: transposing per prediction costs 40 ms.
        self.train_t_ = X.T.tocsr()
        self.train_labels_ = np.searchsorted(self.classes_, y)
        return self

    def decision_function(self, X):
        X = X.tocsr()
        total = _standardise(_class_scores(self.svm_, X))
        total += _standardise(np.column_stack([svm.decision_function(X.multiply(r).tocsr()) for r, svm in self.nb_]))
        if self.neighbours and self.neighbour_weight:
            total += self.neighbour_weight * _standardise(self._neighbour_votes(X))
        return total + self.bias_

    def _neighbour_votes(self, X, chunk=256):
        k = min(self.neighbours, self.train_t_.shape[1])
        votes = np.zeros((X.shape[0], len(self.classes_)))
        for begin in range(0, X.shape[0], chunk):
            sims = (X[begin:begin + chunk] @ self.train_t_).toarray()
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            rows = np.arange(sims.shape[0])[:, None]
            np.add.at(votes[begin:begin + chunk], (rows, self.train_labels_[nearest]), sims[rows, nearest])
        return votes

    def predict_proba(self, X):
        return _softmax(self.decision_function(X) * self.temperature_)

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def _macro_f1(truth, predicted, n: int) -> float:
    confusion = np.bincount(truth * n + predicted, minlength=n * n).reshape(n, n)
    hits = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    return float(np.mean(np.divide(2 * hits, denominator, out=np.zeros(n), where=denominator > 0)))


BIAS_STEPS = np.linspace(-2.0, 2.0, 81)


def _fit_bias(scores, truth, rounds: int = 3):
    """One offset per class, added to the vote, that maximises macro-F1 on held-out scores (coordinate
    ascent over a small grid). The vote favours the large classes; macro-F1 weighs every class alike, and
    a department with few cases should not lose them to the busy one next door."""
    n = scores.shape[1]
    bias = np.zeros(n)
    best = _macro_f1(truth, scores.argmax(axis=1), n)
    for _round in range(rounds):
        improved = False
        for c in range(n):
            for step in BIAS_STEPS:
                trial = bias.copy()
                trial[c] = step
                f1 = _macro_f1(truth, (scores + trial).argmax(axis=1), n)
                if f1 > best + 1e-9:
                    best, bias, improved = f1, trial, True
        if not improved:
            break
    return bias


def _fit_temperature(scores, truth) -> float:
    """The temperature that makes softmax(scores · t) the most likely explanation of the held-out truth."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(truth))

    def loss(t):
        return -np.log(_softmax(scores * t)[rows, truth] + 1e-12).mean()

    return float(minimize_scalar(loss, bounds=(0.01, 50.0), method="bounded").x)


@dataclass
class TrainedModel:
    kind: str
    labels: list[str]
    pipeline: object
    version: int | None = None
    training_size: int = 0
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def predict_proba_dicts(self, texts: list[str]) -> list[dict[str, float]]:
        probs = self.pipeline.predict_proba(list(texts))
        classes = [str(c) for c in self.pipeline.classes_]
        return [dict(zip(classes, row.tolist(), strict=True)) for row in probs]

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        probs = self.pipeline.predict_proba(list(texts))
        classes = np.asarray(self.pipeline.classes_)
        best = probs.argmax(axis=1)
        return [(str(classes[i]), float(row[i])) for i, row in zip(best, probs, strict=True)]

    # --- storage ------------------------------------------------------------------------------------
    def dumps(self) -> bytes:
        import sklearn

        buffer = io.BytesIO()
        joblib.dump({"format": FORMAT, "kind": self.kind, "labels": self.labels, "pipeline": self.pipeline,
                     "version": self.version, "training_size": self.training_size, "metrics": self.metrics,
                     "params": self.params, "sklearn": sklearn.__version__}, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes, *, version: int | None = None) -> TrainedModel:
        stored = joblib.load(io.BytesIO(data))
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise DomainError(_("This is not a routing model file."), code="bad_model_file")
        return cls(kind=stored["kind"], labels=stored["labels"], pipeline=stored["pipeline"],
                   version=version if version is not None else stored.get("version"),
                   training_size=stored.get("training_size", 0), metrics=stored.get("metrics", {}),
                   params=stored.get("params", {}))

    def save(self, path) -> None:
        with open(path, "wb") as fh:
            fh.write(self.dumps())

    @classmethod
    def load(cls, path) -> TrainedModel:
        with open(path, "rb") as fh:
            return cls.loads(fh.read())


def fit(texts: list[str], labels: list[str], *, kind: str, params: dict | None = None) -> TrainedModel:
    pipeline, used = build_pipeline(params)
    pipeline.fit(list(texts), list(labels))
    return TrainedModel(kind=kind, labels=sorted({str(x) for x in labels}), pipeline=pipeline,
                        training_size=len(texts), params=used)


def cross_validate(texts: list[str], labels: list[str], *, folds: int = 5, params: dict | None = None,
                   seed: int = 0, predict=None, kind: str = "category") -> dict:
    """Stratified k-fold: every text is predicted by a model that did not see it. `predict(model, texts)`
    turns a fold's model into labels (default: the model's own top label). Returns the figures and the
    out-of-fold predictions."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels, dtype=object)
    predicted = np.empty(len(y), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        model = fit([texts[i] for i in train_idx], list(y[train_idx]), kind=kind, params=params)
        fold_texts = [texts[i] for i in test_idx]
        if predict is None:
            predicted[test_idx] = [label for label, _p in model.predict(fold_texts)]
        else:
            predicted[test_idx] = predict(model, fold_texts)
    return {**scores(list(y), list(predicted)), "folds": folds, "predicted": list(predicted)}


def scores(truth: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    per_label = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return {
        "n": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "f1": {label: float(v) for label, v in zip(labels, per_label, strict=True)},
    }


# --- Training from the centre's own confirmed calls ------------------------------------------------------

def confirmed_calls_dataset():
    """(texts, labels, rules_agreed) from every call a dispatcher classified: the label is "police" for a
    call kept with the police, else the chosen sub-category's code."""
    from incidents.models import Call

    rows = (Call.objects.filter(classified_at__isnull=False)
            .filter(is_police__isnull=False)
            .values_list("content", "is_police", "category__code", "suggested_police", "suggested_category__code"))
    texts, labels, agreed = [], [], []
    for content, is_police, code, suggested_police, suggested_code in rows.iterator(chunk_size=2000):
        if is_police:
            label = POLICE_LABEL
        elif code:
            label = code
        else:
            continue
        texts.append(content)
        labels.append(label)
        agreed.append(POLICE_LABEL if suggested_police else (suggested_code or "") == label)
    return texts, labels, agreed


def routing_model_train(*, actor=None, activate: bool = True, folds: int = 5, params: dict | None = None):
    """Train a model from the confirmed calls, score it by cross-validation, store it as the next
    RoutingModel version and (by default) make it the one suggestions use. Labels with fewer than
    ROUTING_MODEL_MIN_PER_LABEL calls are left out (the rules still cover them)."""
    from diversion.models import RoutingModel

    texts, labels, agreed = confirmed_calls_dataset()
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keep = {label for label, n in counts.items() if n >= settings.ROUTING_MODEL_MIN_PER_LABEL}
    pairs = [(t, y, a) for t, y, a in zip(texts, labels, agreed, strict=True) if y in keep]
    if len(pairs) < settings.ROUTING_MODEL_MIN_CALLS or len(keep) < 2:
        raise DomainError(
            _("Not enough confirmed calls to train a model: %(n)s calls in %(k)s labels with at least %(m)s each "
              "(need %(need)s calls and two labels).") % {
                "n": len(pairs), "k": len(keep), "m": settings.ROUTING_MODEL_MIN_PER_LABEL,
                "need": settings.ROUTING_MODEL_MIN_CALLS},
            code="not_enough_training_data")
    texts = [p[0] for p in pairs]
    labels = [p[1] for p in pairs]
    n_folds = max(2, min(folds, min(counts[label] for label in keep)))
    evaluation = cross_validate(texts, labels, folds=n_folds, params=params)
    evaluation.pop("predicted")
    rules_hits = [p[2] is True or (p[2] == POLICE_LABEL and p[1] == POLICE_LABEL) for p in pairs]
    evaluation["rules_accuracy"] = sum(rules_hits) / len(rules_hits)
    model = fit(texts, labels, kind=RoutingModel.Kind.CATEGORY, params=params)
    model.metrics = evaluation

    with transaction.atomic():
        # The version is taken under a lock on the current highest row, so two trainings get two versions.
        last = RoutingModel.objects.select_for_update().order_by("-version").first()
        version = (last.version if last else 0) + 1
        model.version = version
        blob = model.dumps()
        row = RoutingModel.objects.create(
            version=version, kind=RoutingModel.Kind.CATEGORY, trained_by=actor if getattr(
                actor, "is_authenticated", False) else None,
            training_size=len(texts), labels=model.labels, metrics=evaluation, params=model.params,
            blob=blob, sha256=hashlib.sha256(blob).hexdigest(), active=False,
        )
        audit_write(actor=actor, action="routing_model_trained", obj=row,
                    data={"version": version, "training_size": len(texts), "macro_f1": evaluation["macro_f1"],
                          "accuracy": evaluation["accuracy"], "activate": activate})
        if activate:
            row = routing_model_activate(actor=actor, version=version)
    return row


def routing_model_activate(*, actor=None, version: int):
    """Make one stored model the one suggestions use; every process loads it at its next version check."""
    from diversion.models import RoutingModel

    with transaction.atomic():
        row = RoutingModel.objects.select_for_update().get(version=version)
        RoutingModel.objects.filter(active=True).exclude(pk=row.pk).update(active=False)
        if not row.active:
            row.active = True
            row.save(update_fields=["active"])
        catalog_bump("model")
        audit_write(actor=actor, action="routing_model_activated", obj=row, data={"version": version})
    _forget()
    return row


def next_version() -> int:
    from diversion.models import RoutingModel

    return (RoutingModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1


# --- The active model, cached per process --------------------------------------------------------------
_lock = threading.Lock()
_loaded_for: int | None = None
_loaded: TrainedModel | None = None


def _forget() -> None:
    global _loaded_for, _loaded
    with _lock:
        _loaded_for, _loaded = None, None


def active_model() -> TrainedModel | None:
    """The active stored model (kind "category"), reloaded when its version counter moved on. Call after
    routing.current_rules(), which asks the database for both counters in one query."""
    global _loaded_for, _loaded
    wanted = last_versions.get("model", 0)
    if _loaded_for is not None and _loaded_for == wanted:
        return _loaded
    with _lock:
        from diversion.models import RoutingModel

        row = (RoutingModel.objects.filter(active=True, kind=RoutingModel.Kind.CATEGORY)
               .only("version", "blob", "sha256").first())
        model = None
        if row is not None:
            data = bytes(row.blob)
            if hashlib.sha256(data).hexdigest() == row.sha256:
                model = TrainedModel.loads(data, version=row.version)
            else:
                logging.getLogger(__name__).error("routing model v%s: checksum mismatch, not used", row.version)
        _loaded, _loaded_for = model, wanted
        return model
