"""A fitted text model in the form a worker runs it: the vocabularies, the IDF weights and the vote's
weights as numpy arrays, and the few lines that turn texts into scores with numpy and scipy.sparse. No
scikit-learn at prediction time: importing it costs a worker some 60 MB of memory, and its vectorisers
carry more than they need. learning.fit trains with scikit-learn and compiles the result into these
classes (compile_pipeline); a test holds their probabilities equal to the pipeline's.

Only what build_pipeline makes is supported: TfidfVectorizer over characters or over a tokenizer's words
(sublinear tf, L2 norm, a preprocessor), joined side by side, and learning's VoteClassifier."""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's character analyser folds them


def _char_ngrams(text: str, low: int, high: int) -> list[str]:
    text = _WHITE_SPACES.sub(" ", text)
    grams = list(text) if low == 1 else []
    for n in range(max(low, 2), min(high, len(text)) + 1):
        grams += [text[i:i + n] for i in range(len(text) - n + 1)]
    return grams


def _word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return grams


class Vectoriser:
    """One fitted TfidfVectorizer: `preprocessor` then character n-grams, or `tokenizer` words and their
    n-grams; counts → 1 + log(count) → × IDF → unit length."""

    def __init__(self, preprocessor, tokenizer, ngram_range, vocabulary: dict[str, int], idf, sublinear: bool):
        self.preprocessor = preprocessor
        self.tokenizer = tokenizer
        self.ngram_range = tuple(ngram_range)
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float32)
        self.sublinear = sublinear

    @classmethod
    def of(cls, vectorizer) -> Vectoriser:
        if vectorizer.analyzer == "char":
            tokenizer = None
        elif vectorizer.analyzer == "word" and vectorizer.tokenizer is not None:
            tokenizer = vectorizer.tokenizer
        else:
            raise ValueError(f"cannot compile the analyser {vectorizer.analyzer!r}")
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.preprocessor is None:
            raise ValueError("only L2-normalised TF-IDF with a preprocessor can be compiled")
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(vectorizer.preprocessor, tokenizer, vectorizer.ngram_range, vocabulary, vectorizer.idf_,
                   vectorizer.sublinear_tf)

    def grams(self, text: str) -> list[str]:
        low, high = self.ngram_range
        text = self.preprocessor(text)
        if self.tokenizer is None:
            return _char_ngrams(text, low, high)
        return _word_ngrams(self.tokenizer(text), low, high)

    def transform(self, texts: list[str]):
        vocabulary = self.vocabulary
        indptr, indices, counts = [0], [], []
        for text in texts:
            row: dict[int, int] = {}
            for gram in self.grams(text):
                j = vocabulary.get(gram)
                if j is not None:
                    row[j] = row.get(j, 0) + 1
            order = sorted(row)
            indices += order
            counts += [row[j] for j in order]
            indptr.append(len(indices))
        data = np.asarray(counts, dtype=np.float32)
        index = np.asarray(indices, dtype=np.int32)
        if self.sublinear:
            data = np.log(data) + 1
        data *= self.idf[index]
        X = sp.csr_matrix((data, index, np.asarray(indptr, dtype=np.int32)), shape=(len(texts), len(self.idf)))
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        return sp.csr_matrix(sp.diags(1 / norms.astype(np.float32)) @ X)


def _standardise(scores):
    return (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _linear_scores(coef, intercept, X):
    d = np.asarray(X @ coef.T) + intercept
    return np.column_stack([-d[:, 0], d[:, 0]]) if d.shape[1] == 1 else d


class Vote:
    """A fitted VoteClassifier's arrays and its decision: see learning.VoteClassifier."""

    def __init__(self, clf):
        self.classes_ = np.asarray([str(c) for c in clf.classes_], dtype=object)
        self.svm_coef = clf.svm_coef_
        self.svm_intercept = clf.svm_intercept_
        self.nb_coef = clf.nb_coef_
        self.nb_intercept = clf.nb_intercept_
        self.scales = clf.scales_
        self.bias = np.asarray(clf.bias_)
        self.temperature = float(getattr(clf, "temperature_", 1.0))  # not yet fitted while it calibrates
        self.neighbours = clf.neighbours if clf.train_t_ is not None else 0
        self.neighbour_weight = clf.neighbour_weight
        self.train_t = clf.train_t_
        self.train_labels = getattr(clf, "train_labels_", None)

    def decision_function(self, X):
        svm = _linear_scores(self.svm_coef, self.svm_intercept, X)
        nb = _linear_scores(self.nb_coef, self.nb_intercept, X)
        if len(self.classes_) == 2:
            total = svm / self.scales[0] + nb / self.scales[1]
        else:
            total = _standardise(svm) + _standardise(nb)
        if self.neighbours:
            total += self.neighbour_weight * _standardise(self._neighbour_votes(X))
        return total + self.bias

    def _neighbour_votes(self, X, chunk=256):
        k = min(self.neighbours, self.train_t.shape[1])
        votes = np.zeros((X.shape[0], len(self.classes_)))
        for begin in range(0, X.shape[0], chunk):
            sims = (X[begin:begin + chunk] @ self.train_t).toarray()
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            rows = np.arange(sims.shape[0])[:, None]
            np.add.at(votes[begin:begin + chunk], (rows, self.train_labels[nearest]), sims[rows, nearest])
        return votes

    def predict_proba(self, X):
        return _softmax(self.decision_function(X) * self.temperature)


class CompactPipeline:
    """The vectorisers side by side, then the vote: predict_proba(texts) and classes_, as the pipeline."""

    def __init__(self, vectorisers: list[Vectoriser], vote: Vote):
        self.vectorisers = vectorisers
        self.vote = vote

    @property
    def classes_(self):
        return self.vote.classes_

    def transform(self, texts: list[str]):
        return sp.hstack([v.transform(texts) for v in self.vectorisers], format="csr")

    def predict_proba(self, texts: list[str]):
        return self.vote.predict_proba(self.transform(list(texts)))

    def predict(self, texts: list[str]):
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]


def compile_pipeline(pipeline) -> CompactPipeline:
    """A fitted build_pipeline() pipeline as a CompactPipeline."""
    features = pipeline.named_steps["features"]
    vectorisers = [Vectoriser.of(v) for _name, v in features.transformer_list]
    return CompactPipeline(vectorisers, Vote(pipeline.named_steps["classifier"]))
