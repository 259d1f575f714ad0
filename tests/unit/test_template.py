"""Our own checks of template.yaml, for what cfn-lint and ``sam validate --lint`` miss.

Measured (docs/research deps.md §4): both linters accept ``Runtime: python3.99`` and a
mistyped ``!Ref`` *inside* an ``AWS::Serverless::Function``. This test checks every function's
runtime against the real Lambda runtimes and every ``!Ref`` / ``!GetAtt`` / ``${...}`` target
against the template's parameters, resources and pseudo-parameters — and proves it catches
both mistakes on a mutated copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

#: Lambda runtime identifiers (supported or deprecated-but-valid), AWS docs "Lambda runtimes".
LAMBDA_RUNTIMES = frozenset(
    {
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "nodejs18.x",
        "nodejs20.x",
        "nodejs22.x",
        "java11",
        "java17",
        "java21",
        "java8.al2",
        "dotnet8",
        "ruby3.2",
        "ruby3.3",
        "ruby3.4",
        "provided.al2",
        "provided.al2023",
    }
)
#: The runtime our code is built and tested on.
OUR_RUNTIME = "python3.12"

PSEUDO = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)


class Tag:
    """A CloudFormation short-form intrinsic (``!Ref X``) kept as data."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __repr__(self) -> str:
        return f"!{self.tag} {self.value!r}"


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tag(suffix, value)


_Loader.add_multi_constructor("!", _construct)


def load_template(path: Path = TEMPLATE, text: str | None = None) -> dict[str, Any]:
    """template.yaml as Python data, intrinsics as :class:`Tag`."""
    return yaml.load(text if text is not None else path.read_text("utf-8"), Loader=_Loader)


def _walk(node: Any, path: str = "") -> Any:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(node, Tag):
        yield from _walk(node.value, f"{path}!{node.tag}")


def _targets(node: Any) -> list[tuple[str, str, str]]:
    """``(where, kind, target)`` for every Ref, GetAtt and ${} in the template."""
    out = []
    for where, n in _walk(node):
        if isinstance(n, Tag):
            if n.tag == "Ref":
                out.append((where, "Ref", str(n.value)))
            elif n.tag == "GetAtt":
                target = n.value[0] if isinstance(n.value, list) else str(n.value).split(".")[0]
                out.append((where, "GetAtt", target))
            elif n.tag == "Sub":
                text = n.value[0] if isinstance(n.value, list) else n.value
                local = set(n.value[1]) if isinstance(n.value, list) else set()
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    base = name.split(".")[0] if not name.startswith("AWS::") else name
                    if base not in local:
                        out.append((where, "Sub", base))
        elif isinstance(n, dict):
            if "Ref" in n and len(n) == 1:
                out.append((where, "Ref", str(n["Ref"])))
            if "Fn::GetAtt" in n and len(n) == 1:
                v = n["Fn::GetAtt"]
                out.append((where, "GetAtt", v[0] if isinstance(v, list) else v.split(".")[0]))
    return out


def problems(template: dict[str, Any]) -> list[str]:
    """Everything wrong with runtimes, handlers and references; empty when all is well."""
    found = []
    params = set(template.get("Parameters", {}))
    resources = template.get("Resources", {})
    conditions = set(template.get("Conditions", {}))
    known = params | set(resources) | PSEUDO
    for where, kind, target in _targets(template):
        if kind == "Ref" and target not in known:
            found.append(f"{where}: !Ref {target} names no parameter or resource")
        if kind == "GetAtt" and target not in resources:
            found.append(f"{where}: !GetAtt {target} names no resource")
        if kind == "Sub" and target not in known:
            found.append(f"{where}: ${{{target}}} names no parameter or resource")
    for name, res in resources.items():
        cond = res.get("Condition")
        if cond is not None and cond not in conditions:
            found.append(f"{name}: Condition {cond} is not defined")
    glob = template.get("Globals", {}).get("Function", {})
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = {**glob, **res.get("Properties", {})}
        if props.get("PackageType", "Zip") == "Image":
            if "Runtime" in props:
                found.append(f"{name}: an Image function takes no Runtime")
            dockerfile = res.get("Metadata", {}).get("Dockerfile")
            context = ROOT / res.get("Metadata", {}).get("DockerContext", ".")
            if not dockerfile or not (context / dockerfile).is_file():
                found.append(f"{name}: Metadata.Dockerfile {dockerfile!r} does not exist")
            continue
        runtime = props.get("Runtime")
        if runtime not in LAMBDA_RUNTIMES:
            found.append(f"{name}: Runtime {runtime!r} is not a Lambda runtime")
        elif runtime != OUR_RUNTIME:
            found.append(f"{name}: Runtime {runtime!r}, but we build and test on {OUR_RUNTIME}")
        module, _, func = str(props.get("Handler", "")).rpartition(".")
        code = ROOT / str(props.get("CodeUri", "."))
        source = code / (module.replace(".", "/") + ".py")
        if not source.is_file():
            found.append(f"{name}: Handler module {source.relative_to(ROOT)} does not exist")
        elif not re.search(rf"^(def {func}\b|{func}\s*=)", source.read_text("utf-8"), re.M):
            found.append(f"{name}: {source.relative_to(ROOT)} defines no {func}")
    return found


def test_template_runtimes_handlers_and_references_are_real() -> None:
    assert problems(load_template()) == []


def test_every_function_is_python312_zip_or_an_image() -> None:
    t = load_template()
    functions = {
        n: r for n, r in t["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }
    assert set(functions) >= {
        "ApiFunction",
        "DispatcherFunction",
        "WorkerFunction",
        "AggregatorFunction",
        "ScheduledFunction",
    }
    images = {n for n, r in functions.items() if r["Properties"].get("PackageType") == "Image"}
    # The audit engines exceed the 250 MB zip limit: the functions that load them are images.
    assert images == {"DispatcherFunction", "WorkerFunction", "AggregatorFunction"}


def test_the_worker_image_copies_what_exists_and_its_build_context_holds() -> None:
    # No Docker here to build it: check each COPY source exists and is not excluded by the
    # image's .dockerignore (everything is, but for the "!" lines).
    dockerfile = ROOT / "lambdas" / "Dockerfile.worker"
    allowed = [
        line[1:].removesuffix("/**")
        for line in (ROOT / "lambdas" / "Dockerfile.worker.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    copies = re.findall(r"^COPY ((?:[^\n\\]|\\\n)+)$", dockerfile.read_text(), re.M)
    sources = [p for c in copies for p in c.replace("\\\n", " ").split()[:-1]]
    assert "reports/templates" in sources  # the aggregator renders each scan's report
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
        assert any(Path(src).match(a) or src.startswith(a) for a in allowed), (
            f"COPY {src}: excluded by Dockerfile.worker.dockerignore"
        )


def test_security_properties_the_issue_asks_for() -> None:
    r = load_template()["Resources"]
    bucket = r["ResultsBucket"]["Properties"]
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    table = r["ScansTable"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    for q in ("DispatchQueue", "WorkQueue", "AggregateQueue"):
        redrive = r[q]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"].value == "DeadLetterQueue.Arn"
    alarm = r["DeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"].value == "DeadLetterQueue.QueueName"
    auth = r["Api"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] in auth["Authorizers"]
    health = r["ApiFunction"]["Properties"]["Events"]["Health"]["Properties"]
    assert health["Auth"]["Authorizer"] == "NONE"  # the only open route
    # SQS consumers report partial batch failures, so one bad message does not redo the rest.
    for fn in ("DispatcherFunction", "WorkerFunction", "AggregatorFunction"):
        events = r[fn]["Properties"]["Events"]
        (event,) = events.values()
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_queue_visibility_covers_six_times_the_consumer_timeout() -> None:
    r = load_template()["Resources"]
    for fn, q in (
        ("DispatcherFunction", "DispatchQueue"),
        ("WorkerFunction", "WorkQueue"),
        ("AggregatorFunction", "AggregateQueue"),
    ):
        assert r[q]["Properties"]["VisibilityTimeout"] >= 6 * r[fn]["Properties"]["Timeout"]


def test_workers_write_scan_outputs_to_the_results_bucket_and_only_read_the_data() -> None:
    # PII findings parts and redacted copies go under s3://<results bucket>/outputs/ (the API
    # refuses any other place on AWS, audit.storage.OUTPUTS_PREFIX): the worker must be able
    # to write there, with the bucket's KMS key, and must not write the posts it reads.
    from audit.storage import OUTPUTS_PREFIX

    worker = load_template()["Resources"]["WorkerFunction"]["Properties"]["Policies"]
    writes = [p["S3CrudPolicy"]["BucketName"].value for p in worker if "S3CrudPolicy" in p]
    reads = [p["S3ReadPolicy"]["BucketName"].value for p in worker if "S3ReadPolicy" in p]
    assert writes == ["ResultsBucket"] and reads == ["DataBucketName"]
    statements = [s for p in worker if "Statement" in p for s in p["Statement"]]
    key = next(s for s in statements if s.get("Sid") == "ResultsBucketKey")
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(key["Action"])
    assert OUTPUTS_PREFIX == "outputs/"


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (("Runtime: python3.12", "Runtime: python3.99", 1), "python3.99"),
        (("TableName: !Ref ScansTable", "TableName: !Ref ScansTabel", 1), "ScansTabel"),
        (("QueueName: !GetAtt WorkQueue", "QueueName: !GetAtt WorkQeue", 1), "WorkQeue"),
        (("Handler: api.handler", "Handler: api.handlr", 1), "handlr"),
        (("${ResultsBucket.Arn}", "${ResultBucket.Arn}", 1), "ResultBucket"),
    ],
)
def test_the_check_catches_what_the_linters_miss(
    mutation: tuple[str, str, int], expected: str
) -> None:
    old, new, count = mutation
    text = TEMPLATE.read_text("utf-8")
    assert old in text
    found = problems(load_template(text=text.replace(old, new, count)))
    assert any(expected in p for p in found), found
