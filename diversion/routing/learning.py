"""The learned side of routing: a scikit-learn text classifier trained from the calls dispatchers confirmed
(what the rules suggested vs what was chosen), or from a labelled file (evaluate_routing).

Three kinds: a department model (kind "category": sub-category or police, from confirmed calls; or kind
"family": department family, from a labelled file) and the keep-or-divert model (kind "keep": police or
not). Features: TF-IDF (sublinear tf) over characters (1–3) and over the opening characters alone (a
message's title), each vectoriser keeping its most frequent n-grams (KIND_PARAMS); jieba word features on
request only (params words=True: jieba's dictionary costs a worker some 70 MB). Classifier: the vote of
vote.VoteClassifier, with probabilities calibrated on held-out folds. It trains in well under a minute on a
few thousand texts on one core.

A trained pipeline is compiled (compact.py) into numpy arrays and a few lines of prediction, so that a
worker loading it imports neither scikit-learn nor joblib. It is stored as a zlib-compressed pickle: in a
RoutingModel row (the ones suggestions use) or in a file (evaluate_routing --save-model, classify_texts
--model). Pickles run code when loaded: load only files this project wrote.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import sys
import threading
import zlib
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_write
from core.errors import DomainError

from .compact import _softmax
from .rules import catalog_bump, last_versions

# Models stored before this module moved here (RoutingModel rows, --save-model files) were pickled with
# its old name; unpickling imports that name, so it stays an alias of this module.
sys.modules.setdefault("diversion.learning", sys.modules[__name__])

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

    from .vote import VoteClassifier

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
        """MAGIC, then the zlib-compressed pickle of the model (its pipeline compiled: compact.py). Read
        back with the C unpickler, no scikit-learn or joblib needed."""
        payload = {"format": FORMAT, "kind": self.kind, "labels": self.labels, "pipeline": self.pipeline,
                   "version": self.version, "training_size": self.training_size, "metrics": self.metrics,
                   "params": self.params}
        return MAGIC + zlib.compress(pickle.dumps(payload, protocol=5), 6)

    @classmethod
    def loads(cls, data: bytes, *, version: int | None = None) -> TrainedModel:
        return cls.of(_unpickle(data), version=version)

    @classmethod
    def of(cls, stored: dict, *, version: int | None = None) -> TrainedModel:
        if "pipeline" not in stored:
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


# Version 2: the compiled pipeline in a zlib-compressed pickle. Version 1 (joblib, a scikit-learn pipeline
# and the vote before it was stored small) is refused with a message: retrain.
FORMAT = 2
MAGIC = b"FENLIU-ROUTING-MODEL-2\n"


def _unpickle(data: bytes):
    if data.startswith(MAGIC):
        try:
            stored = pickle.loads(zlib.decompress(data[len(MAGIC):]))
        except (zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
                ValueError) as exc:  # not ours, damaged, or naming classes this version no longer has
            raise DomainError(_("This is not a routing model file."), code="bad_model_file") from exc
        if isinstance(stored, dict) and stored.get("format") == FORMAT:
            return stored
    elif data[:2] in (b"x\x9c", b"x\x01", b"x\xda", b"x^") or data[:1] == b"\x80":
        raise DomainError(_("This model was stored by an earlier version of Fenliu; train it again "
                            "(train_routing_model, or evaluate_routing --save-model)."), code="old_model_file")
    raise DomainError(_("This is not a routing model file."), code="bad_model_file")


def save_models(path, department: TrainedModel | None, keep: TrainedModel | None) -> None:
    """One file with a department model and a keep-or-divert model (evaluate_routing --save-model)."""
    payload = {"format": FORMAT, "models": {"department": department and department.dumps(),
                                            "keep": keep and keep.dumps()}}
    with open(path, "wb") as fh:
        fh.write(MAGIC + zlib.compress(pickle.dumps(payload, protocol=5), 1))


def load_models(path) -> tuple[TrainedModel | None, TrainedModel | None]:
    """(department model, keep-or-divert model) from a file of save_models or of one TrainedModel."""
    with open(path, "rb") as fh:
        stored = _unpickle(fh.read())
    if "models" in stored:
        models = stored["models"]
        return tuple(TrainedModel.loads(models[k]) if models.get(k) else None for k in ("department", "keep"))
    model = TrainedModel.of(stored)
    return (None, model) if model.kind == KEEP else (model, None)


def fit(texts: list[str], labels: list[str], *, kind: str, params: dict | None = None) -> TrainedModel:
    """Train build_pipeline's pipeline and compile it (compact.py): what is stored and predicts."""
    from .compact import compile_pipeline

    pipeline, used = build_pipeline(params, kind=kind)
    pipeline.fit(list(texts), list(labels))
    pipeline = compile_pipeline(pipeline)
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
    model = train_scored([p[0] for p in pairs], [p[1] for p in pairs], kind=RoutingModel.Kind.CATEGORY,
                         folds=folds, params=params)
    rules_hits = [p[2] is True or (p[2] == POLICE_LABEL and p[1] == POLICE_LABEL) for p in pairs]
    model.metrics["rules_accuracy"] = sum(rules_hits) / len(rules_hits)
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
    return store_model(train_scored(texts, labels, kind=KEEP, folds=folds, params=params), actor=actor,
                       activate=activate)


def train_scored(texts: list[str], labels: list[str], *, kind: str, folds: int = 5,
                 params: dict | None = None) -> TrainedModel:
    """A model trained on all the texts, with the figures of a stratified cross-validation (as many folds as
    the smallest label allows, at least two) as its metrics."""
    smallest = min(labels.count(label) for label in set(labels))
    evaluation = cross_validate(texts, labels, folds=max(2, min(folds, smallest)), params=params, kind=kind)
    evaluation.pop("predicted")
    model = fit(texts, labels, kind=kind, params=params)
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
                try:
                    model = TrainedModel.loads(data, version=row.version)
                except DomainError as exc:  # stored by an earlier version: suggestions go on without it
                    logging.getLogger(__name__).error("routing model v%s: %s", row.version, exc)
            else:
                logging.getLogger(__name__).error("routing model v%s: checksum mismatch, not used", row.version)
        _loaded[role] = (wanted, model)
        return model
