"""The exception every service raises when a rule refuses a request."""
from __future__ import annotations


class RuleViolation(ValueError):
    """A refused request; ``field`` names the form field the message belongs next to."""

    FORM = "_form"  # errors not tied to one field, shown above the form

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field

    def as_errors(self) -> dict[str, list[str]]:
        return {self.field or self.FORM: [self.message]}
