"""Step Functions state machines: CreateStateMachine's idempotency as AWS documents it."""

from __future__ import annotations

from typing import Any


def install_stepfunctions_create_idempotency() -> None:
    """CreateStateMachine for a name that exists is idempotent only for the same state machine.

    https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: the
    idempotency check "is based on the state machine name, definition, type, LoggingConfiguration,
    TracingConfiguration, and EncryptionConfiguration"; a different roleArn or tags are ignored and not
    updated. Any other difference answers StateMachineAlreadyExists, "a state machine with the same name
    but a different definition or role ARN already exists" (the error's text names the role too; the
    sandbox follows the operation's rule and ignores it). moto 5.2.5 answers the existing machine,
    whatever was asked, so a caller that changed its definition would go on running the old one.
    Not checked: publish and versionDescription, which moto does not keep.
    """
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.models import StepFunctionBackend

    class StateMachineAlreadyExists(AWSError):
        TYPE = "StateMachineAlreadyExists"
        STATUS = 400

    original = StepFunctionBackend.create_state_machine

    def create_state_machine(self: Any, name: str, definition: str, roleArn: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N803
        existing = next((machine for machine in self.state_machines if machine.name == name), None)
        created = original(self, name, definition, roleArn, *args, **kwargs)
        if existing is None:
            return created
        asked = {
            "definition": definition,
            "type": kwargs.get("sm_type") or "STANDARD",
            "loggingConfiguration": kwargs.get("loggingConfiguration") or {"level": "OFF"},
            "tracingConfiguration": kwargs.get("tracingConfiguration") or {"enabled": False},
            "encryptionConfiguration": kwargs.get("encryptionConfiguration") or {"type": "AWS_OWNED_KEY"},
        }
        differing = sorted(field for field, value in asked.items() if getattr(existing, field) != value)
        if differing:
            raise StateMachineAlreadyExists(
                f"State Machine Already Exists: '{existing.arn}' (a different {', '.join(differing)})"
            )
        return created

    StepFunctionBackend.create_state_machine = create_state_machine
