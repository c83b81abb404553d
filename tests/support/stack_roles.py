"""The IAM roles the templates deploy, made in a sandbox account from the templates themselves.

template.yaml is transformed by the SAM translator (samtranslator, the library `sam deploy` and
CloudFormation's AWS::Serverless transform use), so the roles hold exactly the inline policies SAM
generates: the functions' `Policies`, plus what SAM adds (sqs:SendMessage for an on-failure
destination). Intrinsic functions are resolved against the sandbox's resources (the report bucket,
the idempotency and suppressions tables, the secrets, the parameter) as CloudFormation would resolve them against the
stack's. member-role/template.yaml is plain CloudFormation and is resolved the same way.

AWS managed policies that SAM attaches (AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess) grant
the Lambda service's plumbing (log delivery, trace upload), which the code never calls; they are
not attached, so a call the code makes can only be denied for their absence, never allowed.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MEMBER_TEMPLATE = ROOT / "member-role" / "template.yaml"
STACK_NAME = "lambda-health-auditor"
#: The functions' logical IDs, by the folder under functions/ that holds their code.
FUNCTIONS = {
    "audit": "AuditFunction",
    "notify": "NotifyFunction",
    "plan": "PlanFunction",
    "merge": "MergeFunction",
    "interact": "InteractFunction",
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


class UnresolvedIntrinsic(ValueError):
    """A template expression this resolver does not know: the test bed must not guess a policy."""


@cache
def _translated(parameters: tuple[tuple[str, str], ...], region: str) -> dict[str, Any]:
    template = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):  # `sam package` replaces local paths with S3 locations
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://sam-package/{key}"
    session = boto3.Session(region_name=region, aws_access_key_id="translate", aws_secret_access_key="translate")
    return Translator({}, Parser(), boto_session=session).translate(template, dict(parameters))


def deployed_template(parameters: dict[str, str], region: str) -> dict[str, Any]:
    """template.yaml as the AWS::Serverless transform turns it into CloudFormation."""
    return copy.deepcopy(_translated(tuple(sorted(parameters.items())), region))


class Resolver:
    """CloudFormation's intrinsic functions over one template, with the stack's physical resources."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        pseudo: dict[str, str],
        physical: dict[str, str],
        attributes: dict[str, str],
    ) -> None:
        self.template = template
        self.values = {
            name: parameters.get(name, spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.values.update(pseudo)
        self.values.update(physical)
        self.attributes = attributes
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self._condition(self.template["Conditions"][name]))
        return self.conditions[name]

    def _condition(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._condition(argument[0])
            if function == "Fn::And":
                return all(self._condition(a) for a in argument)
            if function == "Fn::Or":
                return any(self._condition(a) for a in argument)
            if function == "Condition":
                return self.condition(argument)
        return self.resolve(node)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [value for value in (self.resolve(n) for n in node) if value is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self._value(argument)
            if function == "Fn::GetAtt":
                name = ".".join(argument) if isinstance(argument, list) else argument
                return self._attribute(name)
            if function == "Fn::Sub":
                text, extra = (argument, {}) if isinstance(argument, str) else argument
                extra = {k: self.resolve(v) for k, v in extra.items()}
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra.get(m[1]) or self._sub(m[1])), text)
            if function == "Fn::If":
                name, if_true, if_false = argument
                return self.resolve(if_true if self.condition(name) else if_false)
            if function == "Fn::Join":
                separator, parts = argument
                return str(self.resolve(separator)).join(str(p) for p in self.resolve(parts))
            if function == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if function.startswith("Fn::") or function == "Condition":
                raise UnresolvedIntrinsic(f"{function} is not resolved by tests/support/stack_roles.py")
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _sub(self, name: str) -> str:
        return self._attribute(name) if "." in name else self._value(name)

    def _value(self, name: str) -> Any:
        if name not in self.values:
            raise UnresolvedIntrinsic(f"no value for Ref {name}")
        if self.template.get("Parameters", {}).get(name, {}).get("Type") == "CommaDelimitedList":
            return [item.strip() for item in str(self.values[name]).split(",")]
        return self.values[name]

    def _attribute(self, name: str) -> str:
        if name not in self.attributes:
            raise UnresolvedIntrinsic(f"no value for Fn::GetAtt {name}")
        return self.attributes[name]


_NO_VALUE = object()


def pseudo_parameters(account: str, region: str, stack_name: str) -> dict[str, str]:
    """CloudFormation's pseudo parameters for a stack in this account and region."""
    return {
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
    }


def function_role_policies(stack: dict[str, Any], parameters: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each function's role's inline policy documents, resolved against the sandbox's resources."""
    account, region = stack["account"], stack["region"]
    template = deployed_template(parameters, region)
    suppressions = stack.get("suppressions_table", f"suppressions-{stack['bucket']}")
    signing_secret = stack.get(
        "signing_secret", f"arn:aws:secretsmanager:{region}:{account}:secret:slack-signing-{stack['bucket']}-AbCdEf"
    )
    resolver = Resolver(
        template,
        parameters,
        pseudo=pseudo_parameters(account, region, STACK_NAME),
        # Ref of an AWS::SecretsManager::Secret is its ARN.
        physical={
            "ReportBucket": stack["bucket"],
            "IdempotencyTable": stack["table"],
            "SuppressionsTable": suppressions,
            "SlackSigningSecret": signing_secret,
        },
        attributes={
            "ReportBucket.Arn": f"arn:aws:s3:::{stack['bucket']}",
            "IdempotencyTable.Arn": f"arn:aws:dynamodb:{region}:{account}:table/{stack['table']}",
            "SuppressionsTable.Arn": f"arn:aws:dynamodb:{region}:{account}:table/{suppressions}",
            "AuditFailureQueue.Arn": f"arn:aws:sqs:{region}:{account}:{STACK_NAME}-AuditFailureQueue",
        },
    )
    policies = {}
    for logical_id in FUNCTIONS.values():
        role = template["Resources"].get(f"{logical_id}Role")
        if role is None or (role.get("Condition") and not resolver.condition(role["Condition"])):
            continue
        policies[logical_id] = [resolver.resolve(p["PolicyDocument"]) for p in role["Properties"].get("Policies", [])]
    return policies


def member_role_policies(account: str, region: str, parameters: dict[str, str]) -> tuple[dict, list[dict[str, Any]]]:
    """member-role/template.yaml's role: its trust policy and its inline policy documents, resolved."""
    template = yaml_parse(MEMBER_TEMPLATE.read_text())
    resolver = Resolver(
        template,
        parameters,
        pseudo=pseudo_parameters(account, region, "healthaudit-member"),
        physical={},
        attributes={},
    )
    role = resolver.resolve(template["Resources"]["MemberAuditRole"]["Properties"])
    return role["AssumeRolePolicyDocument"], [p["PolicyDocument"] for p in role.get("Policies", [])]


def create_role(iam: Any, name: str, trust: dict[str, Any], documents: list[dict[str, Any]], path: str = "/") -> str:
    """A role with these inline policies (replacing any it had), as CloudFormation creates it."""
    try:
        arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        for existing in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=existing)
    for index, document in enumerate(documents):
        # SAM writes its generated policies without a Version, which IAM accepts ("If you do not include
        # a Version element, the value defaults to 2008-10-17":
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html);
        # moto refuses that. The two versions differ only in policy variables, which no policy here uses.
        document = {"Version": "2012-10-17", **document}
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}Policy{index}", PolicyDocument=json.dumps(document))
    return arn


def create_function_roles(session: Any, stack: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
    """Each function's execution role, by logical ID, in the stack's account: its ARN."""
    iam = session.client("iam")
    resources = deployed_template(parameters, stack["region"])["Resources"]
    return {
        logical_id: create_role(
            iam,
            f"{STACK_NAME}-{logical_id}Role",
            LAMBDA_TRUST,
            documents,
            path=resources[f"{logical_id}Role"]["Properties"].get("Path", "/"),  # SAM's RolePath
        )
        for logical_id, documents in function_role_policies(stack, parameters).items()
    }


STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def function_arn(stack: dict[str, Any], logical_id: str) -> str:
    """The ARN a function of the stack has (the name SAM derives is irrelevant: handlers are looked up by ARN)."""
    return f"arn:aws:lambda:{stack['region']}:{stack['account']}:function:{STACK_NAME}-{logical_id}"


def state_machine(stack: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """AuditStateMachine as CloudFormation creates it in the sandbox's account: its name, its definition
    with DefinitionSubstitutions applied (as Step Functions receives it), and its role's name, trust and
    inline policy documents."""
    account, region = stack["account"], stack["region"]
    template = deployed_template(parameters, region)
    resources = template["Resources"]
    role_name = f"{STACK_NAME}-AuditStateMachineRole"
    resolver = Resolver(
        template,
        parameters,
        pseudo=pseudo_parameters(account, region, STACK_NAME),
        physical={"ReportBucket": stack["bucket"]},
        attributes={
            "ReportBucket.Arn": f"arn:aws:s3:::{stack['bucket']}",
            "AuditStateMachineRole.Arn": f"arn:aws:iam::{account}:role/{role_name}",
            **{f"{logical_id}.Arn": function_arn(stack, logical_id) for logical_id in FUNCTIONS.values()},
        },
    )
    properties = resolver.resolve(resources["AuditStateMachine"]["Properties"])
    definition = properties["DefinitionString"]
    for name, value in properties.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + name + "}", str(value))
    if "${" in definition:
        raise UnresolvedIntrinsic(f"a placeholder without a DefinitionSubstitutions entry: {definition}")
    role = resources["AuditStateMachineRole"]["Properties"]
    return {
        "name": properties["StateMachineName"],
        "definition": definition,
        "role_name": role_name,
        "trust": resolver.resolve(role["AssumeRolePolicyDocument"]),
        "policies": [resolver.resolve(p["PolicyDocument"]) for p in role.get("Policies", [])],
    }


def create_state_machine(session: Any, stack: dict[str, Any], parameters: dict[str, str]) -> str:
    """The state machine and its role, created in the stack's account from the template: its ARN."""
    machine = state_machine(stack, parameters)
    role_arn = create_role(session.client("iam"), machine["role_name"], machine["trust"], machine["policies"])
    sfn = session.client("stepfunctions")
    return sfn.create_state_machine(
        name=machine["name"], definition=machine["definition"], roleArn=role_arn, type="STANDARD"
    )["stateMachineArn"]
