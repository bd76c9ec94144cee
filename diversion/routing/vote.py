"""The vote behind the learned routing models (learning.build_pipeline): scikit-learn's estimator
interface, so that it trains inside a Pipeline and clones for cross-validation. Imported only to train;
a trained vote runs as compact.Vote, without scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .compact import Vote, _softmax
from .learning import _fit_bias, _fit_temperature


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
        """The vote's scores: the same arithmetic as the compiled model (compact.Vote), over these arrays."""
        return Vote(self).decision_function(X.tocsr())

    def predict_proba(self, X):
        return _softmax(self.decision_function(X) * self.temperature_)

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]
