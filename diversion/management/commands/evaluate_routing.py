"""python manage.py evaluate_routing MESSAGES.csv [--folds 5] [--save-model PATH] [--baseline]
python manage.py evaluate_routing --calls CALLS.csv [--messages MESSAGES.csv] [--quick] [--rules-only]
                                  [--save-model PATH]

With --calls and/or --messages: keep-or-divert on real 110 call notes (columns text, expected: police, divert
or either) and on citizen messages (every one a department's: non_police is right; with a label column, the
department families the family model learns): the whole decision cross-validated (rules, the family model
and the keep-or-divert model; each fold's models trained on the other folds of both files), or with
--rules-only the rules alone (diversion.routing.evaluation). Prints must_keep, wrongly_diverted,
wrong_divert_rate, linkage, linkage_diverted, linkage_recall, undecided_rate, citizen_non_police_rate, each
wrongly diverted note with its words, then the same figures under other thresholds (sweep[...]; --quick:
3 folds and fewer thresholds). --save-model trains both models on the whole files and writes them to one
file for classify_texts --model.

With a path: scores routing by department family on a labelled file (columns label,text; labels are the
seven families): the rules alone through the mapping table, then the rules with a model trained and scored
by stratified k-fold cross-validation, exactly as classify_texts would route each text."""

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
        parser.add_argument("--rules-only", dest="rules_only", action="store_true",
                            help=_("With --calls/--messages: the rules alone, no models."))
        parser.add_argument("--quick", action="store_true",
                            help=_("With --calls/--messages: 3 folds and fewer thresholds, for iteration."))

    def handle(self, *args, path=None, folds=5, seed=0, save_model=None, baseline=False, calls=None,
               messages=None, rules_only=False, quick=False, **options):
        if calls or messages:
            self._keep_or_divert(calls, messages, rules_only=rules_only, folds=3 if quick else folds, seed=seed,
                                 quick=quick, save_model=None if path else save_model)
            if not path:
                return
        elif not path:
            raise CommandError(_("Give a labelled file, or --calls and/or --messages."))
        try:
            rows = evaluation.read_labelled(path, "messages")  # a missing column, an empty text, an unknown label
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        texts, labels = [r["text"] for r in rows], [r["label"].strip() for r in rows]
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

    def _keep_or_divert(self, calls, messages, *, rules_only, folds, seed, quick, save_model):
        out = self.stdout.write
        try:
            call_rows, message_rows, labelled = evaluation.read_files(calls, messages)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if rules_only:
            items = evaluation.suggested(call_rows) + evaluation.suggested(message_rows, calls=False)
            for line in evaluation.tally(items).lines():
                out(line)
            return
        started = time.monotonic()
        try:
            items = evaluation.cross_validate_decision(call_rows, message_rows, folds=folds, seed=seed,
                                                       labelled_messages=labelled)
        except evaluation.LabelledFileError as exc:
            raise CommandError(str(exc)) from exc
        for line in evaluation.tally(items).lines():
            out(line)
        out(f"folds={folds}")
        out(f"cv_seconds={time.monotonic() - started:.0f}")
        for thresholds in evaluation.sweep(quick=quick):
            figures = evaluation.tally(items, thresholds)
            out(f"sweep[police_min={thresholds.police_min},veto_min={thresholds.veto_min},"
                f"divert_max={thresholds.divert_max},department_min={thresholds.department_min}]="
                f"wrong_divert_rate={figures.wrong_divert_rate:.4f} linkage_recall={figures.linkage_recall:.4f} "
                f"undecided_rate={figures.undecided_rate:.4f} "
                f"citizen_non_police_rate={figures.citizen_non_police_rate:.4f}")
        if save_model:
            started = time.monotonic()
            department, keep = evaluation.train_models(call_rows, message_rows, labelled_messages=labelled)
            learning.save_models(save_model, department, keep)
            out(f"saved_model={save_model} ({time.monotonic() - started:.0f}s)")
            if department is not None:
                out(f"family_model_bytes={len(department.dumps())}")
            out(f"keep_model_bytes={len(keep.dumps())}")

    def _baseline(self, texts, labels, folds, seed):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC

        pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 4)), LinearSVC())
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return learning.scores(labels, list(cross_val_predict(pipe, texts, labels, cv=cv)))
