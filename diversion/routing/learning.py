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
NON_POLICE_LABEL = "non_police"
KEEP = "keep"

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


# Per kind, what build_pipeline uses unless told otherwise. The department-family model is trained on long
# citizen messages: characters (1–3) and the opening characters, no word segmentation (jieba's dictionary
# alone costs a worker some 150 MB). The keep-or-divert model reads short call notes: the same features.
# `max_features` keeps each vectoriser's most frequent n-grams only: what makes the stored models small.
KIND_PARAMS = {
    "family": {"words": False, "max_features": 40_000},
    "category": {"words": False, "max_features": 40_000},
    "keep": {"words": False, "max_features": 20_000, "tune_bias": False},
}


def build_pipeline(params: dict | None = None, *, kind: str = "category"):
    """The features and the vote; `params` are min_df, words (jieba word features too), max_features (per
    vectoriser), char_ngrams (the longest character n-gram) and VoteClassifier's own, over KIND_PARAMS[kind].
    Returns the pipeline and every parameter it uses (stored with the model)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    params = {**KIND_PARAMS.get(kind, {}), **(params or {})}
    min_df = params.pop("min_df", 2)
    words = params.pop("words", False)
    max_features = params.pop("max_features", None)
    longest = params.pop("char_ngrams", 3)
    classifier = VoteClassifier(**params)
    tfidf = {"sublinear_tf": True, "token_pattern": None, "dtype": np.float32, "max_features": max_features}
    parts = []
    if words:
        parts += [
            ("words", TfidfVectorizer(tokenizer=tokenize, preprocessor=normalise, ngram_range=(1, 2), min_df=min_df,
                                      **tfidf)),
            ("parts", TfidfVectorizer(tokenizer=tokenize_parts, preprocessor=normalise, min_df=min_df, **tfidf)),
        ]
    parts += [
        ("chars", TfidfVectorizer(analyzer="char", preprocessor=normalise, ngram_range=(1, longest), min_df=min_df,
                                  **tfidf)),
        ("head", TfidfVectorizer(analyzer="char", preprocessor=head, ngram_range=(1, 3), **tfidf)),
    ]
    used = {"min_df": min_df, "words": words, "max_features": max_features, "char_ngrams": longest,
            **classifier.get_params()}
    return Pipeline([("features", FeatureUnion(parts)), ("classifier", classifier)]), used


def _standardise(scores):
    """Per row: mean 0, spread 1, so voters on different scales count alike."""
    return (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _linear_scores(coef, intercept, X):
    """Scores of stored (n_classes or 1) × n_features weights, one column per class, also for two classes."""
    d = np.asarray(X @ coef.T) + intercept
    return np.column_stack([-d[:, 0], d[:, 0]]) if d.shape[1] == 1 else d


class VoteClassifier(ClassifierMixin, BaseEstimator):
    """Two voters over one TF-IDF matrix, and optionally a third: a linear SVM; an NB-SVM (per class, a
    linear SVM over the features scaled by that class's log-count ratio, which lets the words peculiar to a
    class speak louder); and (`neighbours` > 0) the most similar training texts (cosine), weighted by
    similarity. Each voter's scores are standardised per text and summed (neighbours at `neighbour_weight`).
    On held-out folds of the training data (`calibration_folds`; 0, or fewer texts in a class than folds:
    neither) one offset per class is fitted for macro-F1 (`tune_bias`) and one temperature, so that
    probabilities, a softmax of the vote, make a confidence threshold mean what it says.

    Stored small: the weights as float32, the NB-SVM's ratio folded into its weights (one row per class),
    and no training matrix unless neighbours vote. On the dev messages (5-fold) with jieba words and
    neighbours the vote reached macro-F1 0.919 at 46 MB; the character features alone without neighbours
    lose about 0.01 of it (see evaluate_routing). Written out because this vote is not one of scikit-learn's."""

    def __init__(self, svm_c=1.0, nb_c=0.5, nb_alpha=1.0, neighbours=0, neighbour_weight=0.5, calibration_folds=3,
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
        svm = LinearSVC(C=self.svm_c, class_weight="balanced", random_state=0).fit(X, y)
        self.svm_coef_ = svm.coef_.astype(np.float32)
        self.svm_intercept_ = svm.intercept_.astype(np.float32)
        binary = X.copy()
        binary.data[:] = 1
        # Two classes: one NB-SVM for the second class (the first's scores are its negation).
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        coefs, intercepts = [], []
        for c in targets:
            inside = y == c
            pos = np.asarray(binary[inside].sum(axis=0)).ravel() + self.nb_alpha
            neg = np.asarray(binary[~inside].sum(axis=0)).ravel() + self.nb_alpha
            ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
            nb = LinearSVC(C=self.nb_c, class_weight="balanced", random_state=0).fit(X.multiply(ratio).tocsr(), inside)
            coefs.append(nb.coef_[0] * ratio)
            intercepts.append(nb.intercept_[0])
        self.nb_coef_ = np.vstack(coefs).astype(np.float32)
        self.nb_intercept_ = np.asarray(intercepts, dtype=np.float32)
        # Two classes: the scores (-d, d) of one text standardise to (-1, 1) whatever d is, so each voter is
        # scaled by its spread over the training texts instead, and a probability keeps its margin.
        self.scales_ = (float(np.std(X @ self.svm_coef_.T)) + 1e-9, float(np.std(X @ self.nb_coef_.T)) + 1e-9)
        self.train_t_ = None
        if self.neighbours and self.neighbour_weight:
            # Stored transposed, in the layout prediction wants: transposing per prediction costs 40 ms.
            self.train_t_ = X.T.tocsr()
            self.train_labels_ = np.searchsorted(self.classes_, y)
        return self

    def decision_function(self, X):
        X = X.tocsr()
        svm = _linear_scores(self.svm_coef_, self.svm_intercept_, X)
        nb = _linear_scores(self.nb_coef_, self.nb_intercept_, X)
        if len(self.classes_) == 2:
            total = svm / self.scales_[0] + nb / self.scales_[1]
        else:
            total = _standardise(svm) + _standardise(nb)
        if self.train_t_ is not None:
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

    def police_probabilities(self, texts: list[str]) -> list[float]:
        """A keep-or-divert model's probability that each text is a police matter."""
        probs = self.pipeline.predict_proba(list(texts))
        column = list(self.pipeline.classes_).index(POLICE_LABEL)
        return [float(p) for p in probs[:, column]]

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


def save_models(path, department: TrainedModel | None, keep: TrainedModel | None) -> None:
    """One file with a department model and a keep-or-divert model (evaluate_routing --save-model)."""
    with open(path, "wb") as fh:
        joblib.dump({"format": FORMAT, "models": {"department": department and department.dumps(),
                                                   "keep": keep and keep.dumps()}}, fh)


def load_models(path) -> tuple[TrainedModel | None, TrainedModel | None]:
    """(department model, keep-or-divert model) from a file of save_models or of one TrainedModel."""
    with open(path, "rb") as fh:
        data = fh.read()
    stored = joblib.load(io.BytesIO(data))
    if isinstance(stored, dict) and stored.get("format") == FORMAT and "models" in stored:
        models = stored["models"]
        return tuple(TrainedModel.loads(models[k]) if models.get(k) else None for k in ("department", "keep"))
    model = TrainedModel.loads(data)
    return (None, model) if model.kind == KEEP else (model, None)


def fit(texts: list[str], labels: list[str], *, kind: str, params: dict | None = None) -> TrainedModel:
    pipeline, used = build_pipeline(params, kind=kind)
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


def confirmed_decisions_dataset():
    """(texts, labels) for the keep-or-divert model: every call a dispatcher kept with the police ("police")
    or diverted ("non_police")."""
    from incidents.models import Call

    rows = (Call.objects.filter(classified_at__isnull=False, is_police__isnull=False)
            .values_list("content", "is_police"))
    texts, labels = [], []
    for content, is_police in rows.iterator(chunk_size=2000):
        if content:
            texts.append(content)
            labels.append(POLICE_LABEL if is_police else NON_POLICE_LABEL)
    return texts, labels


def _not_enough(have: str, need: str) -> DomainError:
    return DomainError(_("Not enough confirmed calls to train a model: %(have)s; it needs %(need)s. The active "
                         "model stays.") % {"have": have, "need": need}, code="not_enough_training_data")


def routing_model_train(*, actor=None, activate: bool = True, folds: int = 5, params: dict | None = None):
    """Train a department model (sub-category or police) from the confirmed calls, score it by
    cross-validation, store it as the next RoutingModel version and (by default) make it the one suggestions
    use. Labels with fewer than ROUTING_MODEL_MIN_PER_LABEL calls are left out (the rules still cover them)."""
    from diversion.models import RoutingModel

    texts, labels, agreed = confirmed_calls_dataset()
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    keep = {label for label, n in counts.items() if n >= settings.ROUTING_MODEL_MIN_PER_LABEL}
    pairs = [(t, y, a) for t, y, a in zip(texts, labels, agreed, strict=True) if y in keep]
    if len(pairs) < settings.ROUTING_MODEL_MIN_CALLS or len(keep) < 2:
        raise _not_enough(
            _("%(n)s calls in %(k)s labels with at least %(m)s each") % {
                "n": len(pairs), "k": len(keep), "m": settings.ROUTING_MODEL_MIN_PER_LABEL},
            _("%(need)s calls and two labels") % {"need": settings.ROUTING_MODEL_MIN_CALLS})
    texts = [p[0] for p in pairs]
    labels = [p[1] for p in pairs]
    n_folds = max(2, min(folds, min(counts[label] for label in keep)))
    evaluation = cross_validate(texts, labels, folds=n_folds, params=params)
    evaluation.pop("predicted")
    rules_hits = [p[2] is True or (p[2] == POLICE_LABEL and p[1] == POLICE_LABEL) for p in pairs]
    evaluation["rules_accuracy"] = sum(rules_hits) / len(rules_hits)
    model = fit(texts, labels, kind=RoutingModel.Kind.CATEGORY, params=params)
    model.metrics = evaluation
    return store_model(model, actor=actor, activate=activate)


def keep_model_train(*, actor=None, activate: bool = True, folds: int = 5, params: dict | None = None):
    """Train the keep-or-divert model from the calls dispatchers kept or diverted, as routing_model_train
    does the department model. Needs ROUTING_MODEL_MIN_CALLS calls, ROUTING_MODEL_MIN_PER_LABEL of each."""
    texts, labels = confirmed_decisions_dataset()
    police = labels.count(POLICE_LABEL)
    least = min(police, len(labels) - police)
    if len(labels) < settings.ROUTING_MODEL_MIN_CALLS or least < settings.ROUTING_MODEL_MIN_PER_LABEL:
        raise _not_enough(
            _("%(n)s decided calls, %(p)s kept with the police and %(d)s diverted") % {
                "n": len(labels), "p": police, "d": len(labels) - police},
            _("%(need)s calls and %(m)s of each") % {"need": settings.ROUTING_MODEL_MIN_CALLS,
                                                    "m": settings.ROUTING_MODEL_MIN_PER_LABEL})
    return store_model(train_keep(texts, labels, folds=folds, params=params), actor=actor, activate=activate)


def train_keep(texts: list[str], labels: list[str], *, folds: int = 5, params: dict | None = None) -> TrainedModel:
    """A keep-or-divert model with its cross-validated figures."""
    counts = [labels.count(POLICE_LABEL), len(labels) - labels.count(POLICE_LABEL)]
    evaluation = cross_validate(texts, labels, folds=max(2, min(folds, *counts)), params=params, kind=KEEP)
    evaluation.pop("predicted")
    model = fit(texts, labels, kind=KEEP, params=params)
    model.metrics = evaluation
    return model


def store_model(model: TrainedModel, *, actor=None, activate: bool = True):
    """Store a fitted model as the next RoutingModel version (audited) and, by default, activate it. The
    models before it stay, for a rollback (routing_model_activate)."""
    from diversion.models import RoutingModel

    with transaction.atomic():
        # The version is taken under a lock on the current highest row, so two trainings get two versions.
        last = RoutingModel.objects.select_for_update().order_by("-version").first()
        version = (last.version if last else 0) + 1
        model.version = version
        blob = model.dumps()
        row = RoutingModel.objects.create(
            version=version, kind=model.kind,
            trained_by=actor if getattr(actor, "is_authenticated", False) else None,
            training_size=model.training_size, labels=model.labels, metrics=model.metrics, params=model.params,
            blob=blob, sha256=hashlib.sha256(blob).hexdigest(), active=False,
        )
        audit_write(actor=actor, action="routing_model_trained", obj=row,
                    data={"version": version, "kind": model.kind, "training_size": model.training_size,
                          "macro_f1": model.metrics.get("macro_f1"), "accuracy": model.metrics.get("accuracy"),
                          "activate": activate})
        if activate:
            row = routing_model_activate(actor=actor, version=version)
    return row


def routing_model_activate(*, actor=None, version: int):
    """Make one stored model the one suggestions use in its role (department, or keep-or-divert), in place of
    the one active before; every process loads it at its next version check."""
    from diversion.models import RoutingModel

    with transaction.atomic():
        row = RoutingModel.objects.select_for_update().get(version=version)
        same_role = (RoutingModel.objects.filter(kind=KEEP) if row.kind == KEEP
                     else RoutingModel.objects.filter(kind__in=RoutingModel.DEPARTMENT_KINDS))
        same_role.filter(active=True).exclude(pk=row.pk).update(active=False)
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


# --- The active models, cached per process --------------------------------------------------------------
_lock = threading.Lock()
# role ("department" or "keep") -> (the model version counter it was loaded for, the model or None)
_loaded: dict[str, tuple[int, TrainedModel | None]] = {}


def _forget() -> None:
    with _lock:
        _loaded.clear()


def active_model() -> TrainedModel | None:
    """The active department model (kind category or family), reloaded when the model version counter moved
    on. Call after routing.current_rules(), which asks the database for the counters in one query."""
    from diversion.models import RoutingModel

    return _active("department", RoutingModel.DEPARTMENT_KINDS)


def active_keep_model() -> TrainedModel | None:
    """The active keep-or-divert model, as active_model."""
    return _active(KEEP, (KEEP,))


def _active(role: str, kinds) -> TrainedModel | None:
    wanted = last_versions.get("model", 0)
    loaded = _loaded.get(role)
    if loaded is not None and loaded[0] == wanted:
        return loaded[1]
    with _lock:
        from diversion.models import RoutingModel

        row = (RoutingModel.objects.filter(active=True, kind__in=kinds)
               .only("version", "blob", "sha256").first())
        model = None
        if row is not None:
            data = bytes(row.blob)
            if hashlib.sha256(data).hexdigest() == row.sha256:
                model = TrainedModel.loads(data, version=row.version)
            else:
                logging.getLogger(__name__).error("routing model v%s: checksum mismatch, not used", row.version)
        _loaded[role] = (wanted, model)
        return model
