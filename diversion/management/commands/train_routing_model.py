"""python manage.py train_routing_model [--no-activate]: train from the calls dispatchers confirmed."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.management.base import MigratedCommand
from diversion.routing.learning import routing_model_train


class Command(MigratedCommand):
    help = _("Train a routing model from the confirmed calls and store it (active unless --no-activate).")

    def add_arguments(self, parser):
        parser.add_argument("--no-activate", action="store_true", help=_("Store the model without using it."))
        parser.add_argument("--folds", type=int, default=5)

    def handle(self, *args, no_activate=False, folds=5, **options):
        try:
            row = routing_model_train(actor=None, activate=not no_activate, folds=folds)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        m = row.metrics
        self.stdout.write(f"version={row.version}")
        self.stdout.write(f"training_size={row.training_size}")
        self.stdout.write(f"accuracy={m['accuracy']:.4f}")
        self.stdout.write(f"macro_f1={m['macro_f1']:.4f}")
        self.stdout.write(f"rules_accuracy={m['rules_accuracy']:.4f}")
        self.stdout.write(f"active={row.active}")
