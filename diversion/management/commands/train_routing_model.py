"""python manage.py train_routing_model [--no-activate] [--only department|keep]
python manage.py train_routing_model --calls CALLS.csv [--messages MESSAGES.csv] [--no-activate]

Without files: trains the department model (sub-category or police) and the keep-or-divert model from the
calls dispatchers confirmed. With files (a bootstrap, before the centre has confirmed enough calls): the
keep-or-divert model from 110 notes labelled police/divert/either and citizen messages (every one
non-police), and with a messages file that has department-family labels, a family model from it. Each
model is stored as the next version (the older ones stay for a rollback) and made active unless
--no-activate."""

from django.core.management.base import CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.management.base import MigratedCommand
from diversion.routing import evaluation, learning


class Command(MigratedCommand):
    help = _("Train the routing models from the confirmed calls, or from labelled files, and store them (active "
             "unless --no-activate).")

    def add_arguments(self, parser):
        parser.add_argument("--no-activate", action="store_true", help=_("Store the models without using them."))
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--only", choices=["department", "keep"],
                            help=_("Train one of the two models from the confirmed calls."))
        parser.add_argument("--calls", help=_("110 call notes (columns text, expected: police, divert or either)."))
        parser.add_argument("--messages", help=_("Citizen messages (column text, and label: a department family)."))

    def handle(self, *args, no_activate=False, folds=5, only=None, calls=None, messages=None, **options):
        activate = not no_activate
        if calls or messages:
            rows = self._from_files(calls, messages, activate, folds)
        else:
            trainers = {"department": learning.routing_model_train, "keep": learning.keep_model_train}
            rows, errors = [], []
            for name in ([only] if only else ["department", "keep"]):
                try:
                    rows.append(trainers[name](actor=None, activate=activate, folds=folds))
                except DomainError as exc:
                    errors.append(f"{name}: {exc}")
            for row in rows:
                self._report(row)
            if errors:
                raise CommandError("\n".join(errors))
            return
        for row in rows:
            self._report(row)

    def _from_files(self, calls, messages, activate, folds):
        try:
            call_rows, message_rows, labelled = evaluation.read_files(calls, messages)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        texts, labels = evaluation.keep_training_set(call_rows, message_rows)
        least = min(labels.count(learning.POLICE_LABEL), labels.count(learning.NON_POLICE_LABEL))
        if least < 2:
            raise CommandError(_("The files need notes the police must keep and texts that may be diverted, at least "
                                 "two of each: %(p)s and %(d)s.") % {
                "p": labels.count(learning.POLICE_LABEL), "d": labels.count(learning.NON_POLICE_LABEL)})
        models = [learning.train_scored(texts, labels, kind=learning.KEEP, folds=folds)]
        if labelled:
            models.append(learning.train_scored([r["text"] for r in message_rows],
                                                [r["label"].strip() for r in message_rows], kind="family",
                                                folds=folds))
        # Trained first, stored together: a file that cannot be learnt from writes nothing.
        with transaction.atomic():
            return [learning.store_model(model, actor=None, activate=activate) for model in models]

    def _report(self, row):
        m = row.metrics
        out = self.stdout.write
        out(f"version={row.version}")
        out(f"kind={row.kind}")
        out(f"training_size={row.training_size}")
        out(f"accuracy={m['accuracy']:.4f}")
        out(f"macro_f1={m['macro_f1']:.4f}")
        if "rules_accuracy" in m:
            out(f"rules_accuracy={m['rules_accuracy']:.4f}")
        out(f"model_bytes={len(bytes(row.blob))}")
        out(f"active={row.active}")
