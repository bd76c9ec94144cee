"""Allowed-transition tables: one per state machine, enforced by the services that move the state."""

from collections.abc import Iterable

from .errors import TransitionNotAllowed


class StateMachine:
    def __init__(self, kind: str, transitions: dict[str, Iterable[str]]):
        self.kind = kind
        self.transitions = {src: frozenset(dsts) for src, dsts in transitions.items()}

    def allows(self, from_state: str, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, ())

    def check(self, from_state: str, to_state: str) -> None:
        if not self.allows(from_state, to_state):
            raise TransitionNotAllowed(self.kind, from_state, to_state)

    def sources_of(self, to_state: str) -> list[str]:
        return [src for src, dsts in self.transitions.items() if to_state in dsts]
