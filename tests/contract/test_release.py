"""The release users deploy from the AWS Serverless Application Repository (SAR).

- One version in step: layers/healthaudit/pyproject.toml, the template's
  `AWS::ServerlessRepo::Application` `SemanticVersion`, and the newest release in CHANGELOG.md.
- The metadata `sam publish` reads, with the fields SAR requires and the limits it documents
  (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html).
- Every resource type of the template, and of what the SAM transform makes of it, is one SAR lists
  (https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html), or one
  of the documented exceptions in docs/release.md.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
METADATA_KEY = "AWS::ServerlessRepo::Application"

#: SAR's list of supported resources, as published in the AWS documentation's source
#: (awsdocs/aws-serverlessrepo-developer-guide, doc_source/list-supported-resources.md; the live page,
#: https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html, has since
#: grown: it opens with AWS::AccessAnalyzer::Analyzer and AWS::AmazonMQ::*). Only the types this
#: template could use are listed here; a type missing from the list is not proven supported.
SAR_SUPPORTED = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::DynamoDB::Table",
        "AWS::Events::EventBusPolicy",
        "AWS::Events::Rule",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::KMS::Alias",
        "AWS::KMS::Key",
        "AWS::Lambda::Alias",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::LayerVersionPermission",
        "AWS::Lambda::Permission",
        "AWS::Lambda::Version",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Logs::SubscriptionFilter",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::Subscription",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::SSM::Parameter",
        "AWS::Serverless::Api",
        "AWS::Serverless::Application",
        "AWS::Serverless::Function",
        "AWS::Serverless::LayerVersion",
        "AWS::Serverless::SimpleTable",
        "AWS::StepFunctions::Activity",
        "AWS::StepFunctions::StateMachine",
    }
)

#: Types the template uses that SAR's list does not name, each with the section of docs/release.md
#: that says what to do about it. A new unlisted type fails the test until it is documented there.
NOT_IN_SAR_LIST = {
    "AWS::Serverless::StateMachine": "AWS::Serverless::StateMachine",
    "AWS::Scheduler::Schedule": "AWS::Scheduler::Schedule",
    "AWS::Lambda::EventInvokeConfig": "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::Url": "AWS::Lambda::Url",
    "AWS::SecretsManager::Secret": "AWS::SecretsManager::Secret",
}


def template() -> dict:
    return yaml_parse((ROOT / "template.yaml").read_text())


def metadata() -> dict:
    return template()["Metadata"][METADATA_KEY]


def pyproject_version() -> str:
    return tomllib.loads((ROOT / "layers" / "healthaudit" / "pyproject.toml").read_text())["project"]["version"]


def changelog_releases() -> list[str]:
    """Released versions, newest first, as Keep a Changelog writes them: `## [X.Y.Z] - YYYY-MM-DD`."""
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.MULTILINE)


def test_one_version_in_the_package_the_sar_metadata_and_the_changelog():
    releases = changelog_releases()
    assert releases, "CHANGELOG.md has no release heading of the form '## [X.Y.Z] - YYYY-MM-DD'"
    assert pyproject_version() == metadata()["SemanticVersion"] == releases[0]


def test_changelog_releases_are_unique_and_newest_first():
    releases = changelog_releases()
    as_tuples = [tuple(int(part) for part in version.split(".")) for version in releases]
    assert as_tuples == sorted(set(as_tuples), reverse=True)
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()  # where changes wait for a release


# SAR's patterns for each field (serverless-sam-template-publishing-applications-metadata-properties.html).
@pytest.mark.parametrize(
    "field, pattern",
    [
        ("Name", r"[A-Za-z0-9-]{1,140}"),
        ("Author", r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?"),
        ("SemanticVersion", r"\d+\.\d+\.\d+"),
        ("SpdxLicenseId", r"Apache-2\.0"),
    ],
)
def test_sar_metadata_field_within_sar_limits(field, pattern):
    assert re.fullmatch(pattern, str(metadata()[field])), (field, metadata().get(field))


def test_sar_name_author_and_description_within_sar_lengths():
    assert 1 <= len(metadata()["Name"]) <= 140
    assert 1 <= len(metadata()["Author"]) <= 127
    assert 1 <= len(metadata()["Description"]) <= 256


def test_sar_labels_at_most_ten_each_within_sar_characters():
    labels = metadata()["Labels"]
    assert 1 <= len(labels) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in labels), labels


def test_sar_license_and_readme_are_files_sam_publish_uploads():
    """`sam publish` uploads local LicenseUrl and ReadmeUrl files (through `sam package`)."""
    for field in ("LicenseUrl", "ReadmeUrl"):
        assert (ROOT / metadata()[field]).is_file(), field
    license_text = (ROOT / metadata()["LicenseUrl"]).read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text  # the full text, not a notice


def transformed_resource_types(parameters: dict[str, str]) -> set[str]:
    """The CloudFormation types the SAM transform makes of the template (as SAR deploys it), code
    locations replaced by S3 URIs as `sam package` writes them."""
    document = copy.deepcopy(template())
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = "s3://packaged-artifacts/artifact.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    translated = transform(document, parameters, NoManagedPolicies())
    return {resource["Type"] for resource in translated["Resources"].values()}


@pytest.fixture
def region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the transform's pseudo parameters need one


@pytest.mark.parametrize("multi_account", ["false", "true"])
def test_every_resource_type_is_on_sars_list_or_documented(region, multi_account):
    declared = {resource["Type"] for resource in template()["Resources"].values()}
    transformed = transformed_resource_types({"MultiAccount": multi_account})
    unlisted = (declared | transformed) - SAR_SUPPORTED
    assert unlisted == set(NOT_IN_SAR_LIST), unlisted


def test_each_unlisted_type_has_its_nearest_supported_way_in_docs_release():
    release_doc = (ROOT / "docs" / "release.md").read_text()
    for heading in NOT_IN_SAR_LIST.values():
        assert f"### {heading}" in release_doc, heading
    assert "https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html" in release_doc
