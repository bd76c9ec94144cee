"""python manage.py evaluate_routing MESSAGES.csv [--folds 5] [--save-model PATH] [--baseline]
python manage.py evaluate_routing --calls CALLS.csv [--messages MESSAGES.csv]

With --calls and/or --messages: keep-or-divert on real 110 call notes (columns text, expected: police, divert
or either) and on citizen messages (every one a department's: non_police is right), by the rules alone
(diversion.routing.evaluation): must_keep, wrongly_diverted, wrong_divert_rate, linkage, linkage_diverted,
linkage_recall, undecided_rate, citizen_non_police_rate, then each wrongly diverted note with its words.

With a path: scores routing by department family on a labelled file (columns label,text; labels are the
seven families): the rules alone through the mapping table, then the rules with a model trained and scored
by stratified k-fold cross-validation, exactly as classify_texts would route each text."""

import csv
import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from core.management.base import MigratedCommand
from diversion.routing import evaluation, learning
from diversion.routing.classify import classify_texts
from diversion.routing.families import FAMILIES


class Command(MigratedCommand):
    help = _("Cross-validate routing by department family on a labelled CSV file (label,text).")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?")
        parser.add_argument("--calls", help=_("110 call notes (columns text, expected): score keep-or-divert."))
        parser.add_argument("--messages", help=_("Citizen messages (column text): the share suggested non-police."))
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--save-model", dest="save_model",
                            help=_("Train on the whole file and write the model here (for classify_texts --model)."))
        parser.add_argument("--baseline", action="store_true",
                            help=_("Also score a plain character n-gram TF-IDF with a linear SVM."))

    def handle(self, *args, path=None, folds=5, seed=0, save_model=None, baseline=False, calls=None,
               messages=None, **options):
        if calls or messages:
            self._keep_or_divert(calls, messages)
            if not path:
                return
        elif not path:
            raise CommandError(_("Give a labelled file, or --calls and/or --messages."))
        texts, labels = self._read(path)
        unknown = sorted(set(labels) - set(FAMILIES))
        if unknown:
            raise CommandError(_("Labels that are not department families: %(labels)s") % {"labels": unknown})
        out = self.stdout.write
        out(f"texts={len(texts)}")

        rules_rows = classify_texts(texts, use_model=False)
        rules = learning.scores(labels, [r["department_family"] for r in rules_rows])
        out(f"rules_only_accuracy={rules['accuracy']:.4f}")
        out(f"rules_only_macro_f1={rules['macro_f1']:.4f}")

        if baseline:
            started = time.monotonic()
            base = self._baseline(texts, labels, folds, seed)
            out(f"baseline_char_svm_macro_f1={base['macro_f1']:.4f} ({time.monotonic() - started:.0f}s)")

        started = time.monotonic()
        result = learning.cross_validate(
            texts, labels, folds=folds, seed=seed, kind="family",
            predict=lambda model, fold: [r["department_family"] for r in classify_texts(fold, model=model)],
        )
        out(f"folds={folds}")
        out(f"accuracy={result['accuracy']:.4f}")
        out(f"macro_f1={result['macro_f1']:.4f}")
        for family in FAMILIES:
            if family in result["f1"]:
                out(f"f1[{family}]={result['f1'][family]:.4f}")
        out(f"cv_seconds={time.monotonic() - started:.0f}")

        if save_model:
            started = time.monotonic()
            model = learning.fit(texts, labels, kind="family")
            result.pop("predicted")
            model.metrics = result
            model.save(save_model)
            out(f"saved_model={save_model} ({time.monotonic() - started:.0f}s)")

    def _keep_or_divert(self, calls, messages):
        result = evaluation.KeepOrDivert()
        for path, columns, score in ((calls, ("text", "expected"), evaluation.score_calls),
                                     (messages, ("text",), evaluation.score_messages)):
            if not path:
                continue
            try:
                rows = evaluation.read_rows(path, columns)
            except OSError as exc:
                raise CommandError(str(exc)) from exc
            except ValueError as exc:
                raise CommandError(_("%(path)s needs the columns: %(columns)s") % {
                    "path": path, "columns": exc}) from exc
            try:
                score(rows, result)
            except ValueError as exc:
                raise CommandError(_("%(path)s: expected must be police, divert or either, not %(values)s") % {
                    "path": path, "values": exc}) from exc
        for line in result.lines():
            self.stdout.write(line)

    def _read(self, path):
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        if not rows or "label" not in rows[0] or "text" not in rows[0]:
            raise CommandError(_("The file needs the columns label and text."))
        return [r["text"] or "" for r in rows], [r["label"].strip() for r in rows]

    def _baseline(self, texts, labels, folds, seed):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 4)), LinearSVC())
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return learning.scores(labels, list(cross_val_predict(pipe, texts, labels, cv=cv)))
