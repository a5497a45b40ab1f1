"""Assertions on the synthesized template: what must hold for every deploy of the service."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from aws_cdk.assertions import Match
from infra_support import JWT_ISSUER, Synth
from nlpinfra.artifacts import LAMBDA_UNZIPPED_LIMIT_BYTES
from nlpinfra.catalog import ALL_TASK_FUNCTIONS, DEFAULT_TASK_FUNCTIONS, META_FUNCTION
from nlpinfra.catalog import TASK_FUNCTIONS as ALL_SPECS
from nlpserve import catalog as nlp_catalog

pytestmark = pytest.mark.slow

SERVICE_HANDLERS = {f"nlpserve.handlers.{fn}.handler" for fn in (*ALL_TASK_FUNCTIONS, "meta", "batch")}
#: The functions the default config deploys (translate waits for a model the user brings: seq2seq_models).
TASK_FUNCTIONS = {name: spec for name, spec in ALL_SPECS.items() if name in DEFAULT_TASK_FUNCTIONS}


def service_functions(s: Synth) -> dict[str, dict]:
    """Our Lambda functions by handler short name (ignores CDK's notification custom resource)."""
    out = {}
    for fn in s.of_type("AWS::Lambda::Function").values():
        handler = fn["Properties"]["Handler"]
        if handler in SERVICE_HANDLERS:
            name = handler.split(".")[2]
            assert name not in out, f"two functions with handler {handler}"
            out[name] = fn
    return out


def logical_id_of(ref: Any) -> str:
    if "Ref" in ref:
        return ref["Ref"]
    return ref["Fn::GetAtt"][0]


def layer_descriptions(s: Synth, fn: dict) -> list[str]:
    return [
        s.resources[logical_id_of(layer)]["Properties"]["Description"] for layer in fn["Properties"]["Layers"]
    ]


def batch_role_statements(s: Synth) -> list[dict]:
    batch = service_functions(s)["batch"]
    role_id = logical_id_of(batch["Properties"]["Role"])
    statements = []
    for policy in s.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def object_suffix(resource: Any) -> str:
    """'<bucket arn>/incoming/*' -> 'incoming/*' for a Fn::Join over the bucket ARN."""
    parts = resource["Fn::Join"][1]
    assert parts[0] == {"Fn::GetAtt": [parts[0]["Fn::GetAtt"][0], "Arn"]}
    return parts[1].lstrip("/")


# ------------------------------------------------------------------------------------------ functions


def test_one_function_per_enabled_task_plus_meta_and_batch(full_synth: Synth, one_task_synth: Synth) -> None:
    assert set(service_functions(full_synth)) == {*DEFAULT_TASK_FUNCTIONS, "meta", "batch"}
    assert set(service_functions(one_task_synth)) == {"sentiment", "meta", "batch"}


def test_functions_run_python_312_arm64_by_default_and_x86_64_on_request(
    full_synth: Synth, one_task_synth: Synth
) -> None:
    for fn in service_functions(full_synth).values():
        assert fn["Properties"]["Runtime"] == "python3.12"
        assert fn["Properties"]["Architectures"] == ["arm64"]
    for fn in service_functions(one_task_synth).values():
        assert fn["Properties"]["Architectures"] == ["x86_64"]
    runtime_layers = [
        v["Properties"]
        for v in one_task_synth.of_type("AWS::Lambda::LayerVersion").values()
        if "runtime" in v["Properties"]["Description"]
    ]
    assert len(runtime_layers) == 1 and runtime_layers[0]["CompatibleArchitectures"] == ["x86_64"]


def test_each_api_function_has_the_runtime_layer_and_only_its_own_model_layers(full_synth: Synth) -> None:
    functions = service_functions(full_synth)
    for name, spec in TASK_FUNCTIONS.items():
        descriptions = sorted(layer_descriptions(full_synth, functions[name]))
        assert descriptions[-1].startswith("nlpserve runtime (python 3.12, arm64)")
        # language: no model layer (its model is inside the runtime layer); entities: its own and ner's
        assert len(descriptions) == 1 + len(spec.bundles), descriptions
        for bundle in spec.bundles:
            assert any(f"nlpserve model bundle '{bundle}'" in d for d in descriptions), (name, descriptions)
    assert [d.split()[1] for d in layer_descriptions(full_synth, functions["meta"])] == ["runtime"]


def test_batch_function_carries_the_model_layers_of_enabled_tasks_only(
    full_synth: Synth, one_task_synth: Synth
) -> None:
    full = layer_descriptions(full_synth, service_functions(full_synth)["batch"])
    assert len(full) == 5 and sum("model bundle" in d for d in full) == 4
    one = sorted(layer_descriptions(one_task_synth, service_functions(one_task_synth)["batch"]))
    assert len(one) == 2 and "model bundle 'sentiment'" in one[0] and "runtime" in one[1]


def test_model_layers_are_shared_not_duplicated(full_synth: Synth) -> None:
    # 5 bundles + 1 runtime; embed and summarize share the embed layer.
    assert len(full_synth.of_type("AWS::Lambda::LayerVersion")) == 6


def test_the_batch_function_carries_its_fifth_bundle_in_its_code(full_synth: Synth) -> None:
    """Lambda allows 5 layers: the batch function has the runtime and 4 model layers; the fifth bundle
    (entities) rides in its code asset under models/, found through NLP_EXTRA_MODELS_DIRS."""
    batch = service_functions(full_synth)["batch"]
    assert len(batch["Properties"]["Layers"]) == 5
    assert batch["Properties"]["Environment"]["Variables"]["NLP_EXTRA_MODELS_DIRS"] == "/var/task/models"
    staged = [p for p in full_synth.outdir.glob("asset.*") if (p / "models" / "entities" / "manifest.json").is_file()]
    assert staged and (staged[0] / "nlpserve").is_dir()
    assert "NLP_EXTRA_MODELS_DIRS" not in service_functions(full_synth)["entities"]["Properties"]["Environment"]["Variables"]


def test_layer_sizes_within_lambda_limit(full_synth: Synth) -> None:
    sizes = full_synth.stack.function_sizes
    assert set(sizes) == {*DEFAULT_TASK_FUNCTIONS, "meta", "batch"}
    assert all(0 < size <= LAMBDA_UNZIPPED_LIMIT_BYTES for size in sizes.values()), sizes
    assert sizes["batch"] == max(sizes.values())


def test_function_environment_matches_the_handlers_contract(full_synth: Synth) -> None:
    functions = service_functions(full_synth)
    for name, spec in TASK_FUNCTIONS.items():
        env = functions[name]["Properties"]["Environment"]["Variables"]
        assert env["NLP_TASKS"] == ",".join(spec.tasks)
        assert env["NLP_MODELS_DIR"] == "/opt/models"
        for key in (
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_METRICS_NAMESPACE",
            "POWERTOOLS_LOG_LEVEL",
            "NLP_MAX_ITEMS",
            "NLP_MAX_TEXT_BYTES",
        ):
            assert key in env
    meta_env = functions["meta"]["Properties"]["Environment"]["Variables"]
    catalog = json.loads(meta_env["NLP_MODEL_CATALOG"])
    assert {e["task"] for e in catalog} == {t for spec in TASK_FUNCTIONS.values() for t in spec.tasks
                                            if nlp_catalog.bundle_of(t)}
    assert {e["task"]: e["license"] for e in catalog}["redact"] == "CC-BY-4.0"
    assert all(e["version"] == "1.0.0" for e in catalog)

    batch_env = functions["batch"]["Properties"]["Environment"]["Variables"]
    assert batch_env["NLP_INPUT_PREFIX"] == batch_env["NLP_INCOMING_PREFIX"] == "incoming/"
    assert batch_env["NLP_WORK_PREFIX"] == "_work/"
    assert batch_env["NLP_MAX_RECEIVES"] == "3"
    assert batch_env["NLP_BATCH_TASKS"] == "sentiment,classify,ner,redact,embed,summarize,language,entities"
    assert batch_env["NLP_RESULTS_PREFIX"] == "results/"
    assert batch_env["NLP_ERRORS_PREFIX"] == "errors/"
    bucket_id = next(iter(k for k in full_synth.of_type("AWS::S3::Bucket") if k.startswith("DataBucket")))
    assert batch_env["NLP_BUCKET"] == {"Ref": bucket_id}
    queue_id = next(k for k in full_synth.of_type("AWS::SQS::Queue") if k.startswith("BatchQueue"))
    assert batch_env["NLP_QUEUE_URL"] == {"Ref": queue_id}


def test_functions_have_own_log_groups_and_roles_without_managed_policies(full_synth: Synth) -> None:
    functions = service_functions(full_synth)
    for fn in functions.values():
        assert "LoggingConfig" in fn["Properties"] and "LogGroup" in fn["Properties"]["LoggingConfig"]
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}
        role = full_synth.resources[logical_id_of(fn["Properties"]["Role"])]
        assert "ManagedPolicyArns" not in role["Properties"]
    full_synth.template.all_resources_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()}
    )


def test_memory_timeout_and_concurrency_are_configurable(full_synth: Synth, one_task_synth: Synth) -> None:
    full = service_functions(full_synth)
    assert full["sentiment"]["Properties"]["MemorySize"] == 1769
    assert full["meta"]["Properties"]["MemorySize"] == 512
    assert full["batch"]["Properties"]["Timeout"] == 900
    assert "ReservedConcurrentExecutions" not in full["sentiment"]["Properties"]
    assert not full_synth.of_type("AWS::Lambda::Alias")

    one = service_functions(one_task_synth)["sentiment"]["Properties"]
    assert (one["MemorySize"], one["Timeout"], one["ReservedConcurrentExecutions"]) == (3008, 20, 5)
    one_task_synth.template.has_resource_properties(
        "AWS::Lambda::Alias",
        {"Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}},
    )
    # The API invokes the provisioned alias, not $LATEST.
    alias_id = next(iter(one_task_synth.of_type("AWS::Lambda::Alias")))
    sentiment_integrations = [
        i
        for i in one_task_synth.of_type("AWS::ApiGatewayV2::Integration").values()
        if i["Properties"]["IntegrationUri"] == {"Ref": alias_id}
    ]
    assert len(sentiment_integrations) == 1


# ------------------------------------------------------------------------------------------------ API


def expected_route_keys(tasks: tuple[str, ...]) -> set[str]:
    routes = [r for t in tasks for r in TASK_FUNCTIONS[t].routes] + list(META_FUNCTION.routes)
    return {f"{r.method} {r.path}" for r in routes}


def test_routes_cover_every_task_and_the_meta_paths(full_synth: Synth, one_task_synth: Synth) -> None:
    keys = {r["Properties"]["RouteKey"] for r in full_synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert keys == expected_route_keys(DEFAULT_TASK_FUNCTIONS)
    assert {"POST /v1/redact", "POST /v1/similarity", "GET /health", "GET /v1/models", "GET /docs"} <= keys
    one = {r["Properties"]["RouteKey"] for r in one_task_synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert one == expected_route_keys(("sentiment",))


def test_routes_invoke_the_function_that_serves_them(full_synth: Synth) -> None:
    functions = {
        key: fn["Properties"]["Handler"].split(".")[2]
        for key, fn in full_synth.of_type("AWS::Lambda::Function").items()
        if fn["Properties"]["Handler"] in SERVICE_HANDLERS
    }
    integrations = full_synth.of_type("AWS::ApiGatewayV2::Integration")
    owner = {
        spec_route: name
        for name, spec in {**TASK_FUNCTIONS, "meta": META_FUNCTION}.items()
        for spec_route in (f"{r.method} {r.path}" for r in spec.routes)
    }
    for route in full_synth.of_type("AWS::ApiGatewayV2::Route").values():
        integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]
        assert functions[logical_id_of(uri)] == owner[route["Properties"]["RouteKey"]]


def test_every_route_requires_iam_auth_by_default(full_synth: Synth) -> None:
    routes = full_synth.of_type("AWS::ApiGatewayV2::Route")
    assert routes
    for route in routes.values():
        assert route["Properties"].get("AuthorizationType") == "AWS_IAM", route["Properties"]["RouteKey"]


def test_every_route_requires_jwt_when_an_issuer_is_configured(one_task_synth: Synth) -> None:
    one_task_synth.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "JwtConfiguration": {"Issuer": JWT_ISSUER, "Audience": ["client-a", "client-b"]},
        },
    )
    authorizer_id = next(iter(one_task_synth.of_type("AWS::ApiGatewayV2::Authorizer")))
    for route in one_task_synth.of_type("AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == "JWT"
        assert route["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}


def test_api_has_no_catch_all_route_or_default_integration(full_synth: Synth) -> None:
    keys = {r["Properties"]["RouteKey"] for r in full_synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert "$default" not in keys and not any("{proxy+}" in k for k in keys)


def test_stage_throttles_and_writes_json_access_logs(full_synth: Synth) -> None:
    stages = full_synth.of_type("AWS::ApiGatewayV2::Stage")
    assert len(stages) == 1
    props = next(iter(stages.values()))["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert {"status", "routeKey", "authorizerError", "integrationError"} <= set(log_format)
    log_group = logical_id_of(props["AccessLogSettings"]["DestinationArn"])
    assert full_synth.resources[log_group]["Type"] == "AWS::Logs::LogGroup"


# ---------------------------------------------------------------------------------------------- bucket


def test_no_public_bucket(full_synth: Synth) -> None:
    buckets = full_synth.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2  # data + its access-log bucket
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["Properties"]["OwnershipControls"] == {
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
        }
        assert "AccessControl" not in bucket["Properties"]
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert bucket["DeletionPolicy"] == "Retain"
    for policy in full_synth.of_type("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}


def test_ssl_enforced_on_buckets_and_queues(full_synth: Synth) -> None:
    deny_insecure = Match.object_like(
        {
            "Statement": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Effect": "Deny",
                            "Action": Match.any_value(),
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    )
                ]
            )
        }
    )
    for policy_type in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
        count = len(full_synth.of_type(policy_type))
        assert count == 2
        full_synth.template.all_resources_properties(policy_type, {"PolicyDocument": deny_insecure})
    full_synth.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}
                            )
                        ]
                    )
                }
            )
        },
    )


def test_data_bucket_versioning_lifecycle_and_access_logs(full_synth: Synth) -> None:
    data = next(v for k, v in full_synth.of_type("AWS::S3::Bucket").items() if k.startswith("DataBucket"))
    props = data["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("DataAccessLogs")
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    for prefix in ("results/", "errors/"):
        rule = next(r for r in rules.values() if r.get("Prefix") == prefix)
        assert rule["ExpirationInDays"] == 30 and rule["Status"] == "Enabled"
    assert any("NoncurrentVersionExpiration" in r for r in rules.values())
    assert next(r for r in rules.values() if r.get("Prefix") == "_work/")["ExpirationInDays"] == 7
    assert not any(r.get("Prefix") == "incoming/" for r in rules.values())  # inputs kept by default


def test_bucket_name_is_configurable(full_synth: Synth, one_task_synth: Synth) -> None:
    data = next(v for k, v in full_synth.of_type("AWS::S3::Bucket").items() if k.startswith("DataBucket"))
    assert "BucketName" not in data["Properties"]
    one_task_synth.template.has_resource_properties(
        "AWS::S3::Bucket", {"BucketName": "nlpserve-test-data-bucket"}
    )


# ----------------------------------------------------------------------------------------------- batch


def s3_filter_matches(filter_rules: list[dict], key: str) -> bool:
    rules = {r["Name"].lower(): r["Value"] for r in filter_rules}
    return key.startswith(rules.get("prefix", "")) and key.endswith(rules.get("suffix", ""))


def notification_filters(s: Synth) -> list[list[dict]]:
    notifications = s.of_type("Custom::S3BucketNotifications")
    assert len(notifications) == 1
    config = next(iter(notifications.values()))["Properties"]["NotificationConfiguration"]
    assert set(config) == {"QueueConfigurations"}  # no Lambda/SNS/EventBridge side doors
    queue_id = next(k for k in s.of_type("AWS::SQS::Queue") if k.startswith("BatchQueue"))
    filters = []
    for item in config["QueueConfigurations"]:
        assert item["QueueArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert item["Events"] == ["s3:ObjectCreated:*"]
        filters.append(item["Filter"]["Key"]["FilterRules"])
    return filters


@pytest.mark.parametrize(
    "key, triggers",
    [
        ("incoming/sentiment/tweets.jsonl", True),
        ("incoming/ner/docs/contract.txt.gz", True),
        ("results/sentiment/tweets.jsonl/abc123.jsonl", False),
        ("results/incoming/sentiment/x.jsonl", False),
        ("errors/sentiment/tweets.jsonl.errors.jsonl", False),
        ("results/sentiment/tweets.jsonl.summary.json", False),
        ("_work/sentiment/tweets.jsonl/etag/part-0001", False),
        ("sentiment/incoming/x.jsonl", False),
    ],
)
def test_notification_filter_cannot_trigger_on_outputs(full_synth: Synth, key: str, triggers: bool) -> None:
    filters = notification_filters(full_synth)
    assert filters == [[{"Name": "prefix", "Value": "incoming/"}]]
    assert any(s3_filter_matches(f, key) for f in filters) is triggers


def test_queue_has_dlq_and_visibility_timeout_6x_function_timeout(
    full_synth: Synth, one_task_synth: Synth
) -> None:
    for s, max_receive, timeout in ((full_synth, 3, 900), (one_task_synth, 5, 600)):
        queues = s.of_type("AWS::SQS::Queue")
        main = next(v for k, v in queues.items() if k.startswith("BatchQueue"))["Properties"]
        dlq_id = next(k for k in queues if k.startswith("BatchDeadLetterQueue"))
        assert main["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": max_receive,
        }
        assert 3 <= max_receive <= 5
        assert main["VisibilityTimeout"] >= 6 * timeout
        assert service_functions(s)["batch"]["Properties"]["Timeout"] == timeout
        for queue in queues.values():
            assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queues[dlq_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_batch_event_source_reports_item_failures_with_small_batches(
    full_synth: Synth, one_task_synth: Synth
) -> None:
    for s, size in ((full_synth, 1), (one_task_synth, 2)):
        mappings = s.of_type("AWS::Lambda::EventSourceMapping")
        assert len(mappings) == 1
        props = next(iter(mappings.values()))["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == size <= 5
        assert props["ScalingConfig"]["MaximumConcurrency"] >= 2
        queue_id = next(k for k in s.of_type("AWS::SQS::Queue") if k.startswith("BatchQueue"))
        assert props["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def batch_s3_grants(s: Synth) -> dict[str, set[str]]:
    """S3 action -> object key patterns (or '<bucket>') the batch role is allowed, across its statements."""
    grants: dict[str, set[str]] = {}
    for st in batch_role_statements(s):
        assert st["Effect"] == "Allow" and "Condition" not in st
        for action in as_list(st["Action"]):
            if action.startswith("s3:"):
                for resource in as_list(st["Resource"]):
                    target = "<bucket>" if "Fn::GetAtt" in resource else object_suffix(resource)
                    grants.setdefault(action, set()).add(target)
    return grants


def test_batch_iam_reads_only_input_prefix_and_writes_only_output_prefixes(full_synth: Synth) -> None:
    assert batch_s3_grants(full_synth) == {
        # content reads: the inputs, its own outputs (commit markers, completed-commit check) and work objects
        "s3:GetObject": {"incoming/*", "results/*", "errors/*", "_work/*"},
        "s3:GetObjectVersion": {"incoming/*"},
        # writes: outputs + work objects only
        "s3:PutObject": {"results/*", "errors/*", "_work/*"},
        "s3:AbortMultipartUpload": {"results/*", "errors/*", "_work/*"},
        "s3:ListMultipartUploadParts": {"results/*", "errors/*"},
        "s3:DeleteObject": {"results/*", "errors/*", "_work/*"},
        # key names only, so a missing key is a 404 rather than a 403
        "s3:ListBucket": {"<bucket>"},
    }
    sqs_statements = [
        st
        for st in batch_role_statements(full_synth)
        if any(a.startswith("sqs:") for a in as_list(st["Action"]))
    ]
    assert "sqs:SendMessage" in as_list(sqs_statements[0]["Action"])  # continuation checkpoints


@pytest.mark.parametrize("key", ["incoming/sentiment/a.jsonl", "incoming/x", "incoming/ner/docs/a.txt"])
def test_batch_function_can_never_write_or_delete_under_the_trigger_prefix(
    full_synth: Synth, key: str
) -> None:
    grants = batch_s3_grants(full_synth)
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert not any(fnmatch.fnmatchcase(key, pattern) for pattern in grants[action]), (action, key)
    assert any(fnmatch.fnmatchcase(key, pattern) for pattern in grants["s3:GetObject"])


def test_batch_environment_matches_the_queue_redrive_policy(one_task_synth: Synth) -> None:
    env = service_functions(one_task_synth)["batch"]["Properties"]["Environment"]["Variables"]
    assert env["NLP_MAX_RECEIVES"] == "5"
    assert env["NLP_BATCH_TASKS"] == "sentiment"


def test_no_wildcard_actions_and_api_functions_have_no_data_access(full_synth: Synth) -> None:
    functions = service_functions(full_synth)
    api_roles = {logical_id_of(fn["Properties"]["Role"]) for name, fn in functions.items() if name != "batch"}
    for policy in full_synth.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in as_list(statement["Action"]):
                assert not action.endswith("*") or action == "kms:GenerateDataKey*", action
                assert action != "*"
            if statement.get("Resource") == "*":
                assert set(as_list(statement["Action"])) <= {
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "s3:PutBucketNotification",
                }, statement
        if any({"Ref": r} in policy["Properties"]["Roles"] for r in api_roles):
            actions = {
                a for st in policy["Properties"]["PolicyDocument"]["Statement"] for a in as_list(st["Action"])
            }
            assert actions <= {
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            }, actions


# ----------------------------------------------------------------------------------------- monitoring


def test_alarms_cover_errors_throttles_duration_and_dlq(full_synth: Synth) -> None:
    alarms = list(full_synth.of_type("AWS::CloudWatch::Alarm").values())
    by_metric: dict[str, int] = {}
    for alarm in alarms:
        by_metric[alarm["Properties"]["MetricName"]] = by_metric.get(alarm["Properties"]["MetricName"], 0) + 1
    n_functions = len(DEFAULT_TASK_FUNCTIONS) + 2
    assert by_metric["Errors"] == n_functions
    assert by_metric["Throttles"] == n_functions
    assert by_metric["Duration"] == n_functions
    assert by_metric["ApproximateNumberOfMessagesVisible"] == 1
    assert by_metric["5xx"] == 1
    p99 = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "Duration"]
    assert all(a["ExtendedStatistic"] == "p99" for a in p99)
    batch_p99 = next(a for a in p99 if a["Threshold"] == 0.8 * 900 * 1000)
    assert batch_p99["EvaluationPeriods"] == 3
    full_synth.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    full_synth.template.resource_count_is("AWS::SNS::Topic", 0)  # no e-mail configured


def test_alarm_email_creates_encrypted_topic_wired_to_every_alarm(one_task_synth: Synth) -> None:
    topics = one_task_synth.of_type("AWS::SNS::Topic")
    assert len(topics) == 1
    topic_id, topic = next(iter(topics.items()))
    assert "KmsMasterKeyId" in topic["Properties"]
    one_task_synth.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    one_task_synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "ops@example.com", "RedrivePolicy": Match.any_value()},
    )
    for alarm in one_task_synth.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_outputs_api_url_bucket_and_queues(full_synth: Synth, one_task_synth: Synth) -> None:
    outputs = full_synth.template_json["Outputs"]
    assert {"ApiUrl", "BucketName", "QueueUrl", "DeadLetterQueueUrl", "AuthMode", "DashboardName"} <= set(
        outputs
    )
    assert outputs["AuthMode"]["Value"] == "iam"
    assert "AlarmTopicArn" in one_task_synth.template_json["Outputs"]
    assert one_task_synth.template_json["Outputs"]["AuthMode"]["Value"] == "jwt"


def test_stack_is_environment_agnostic(full_synth: Synth) -> None:
    from aws_cdk import Token

    assert Token.is_unresolved(full_synth.stack.account) and Token.is_unresolved(full_synth.stack.region)
    text = json.dumps(full_synth.template_json)
    assert "arn:aws:" not in text  # partition/account/region come from pseudo parameters


def test_onnxruntime_threads_follow_the_vcpus_the_memory_size_pays_for(full_synth: Synth, one_task_synth: Synth) -> None:
    """Lambda shows 2 CPUs even at 1 vCPU of quota: NLP_THREADS comes from the memory size, not cpu_count."""
    full = service_functions(full_synth)
    threads = {name: fn["Properties"]["Environment"]["Variables"]["NLP_THREADS"] for name, fn in full.items()}
    assert threads["sentiment"] == threads["embed"] == "1"  # 1,769 MB: one vCPU
    assert threads["batch"] == "2"  # 3,008 MB: 1.7 vCPUs
    assert threads["meta"] == "1"
    one = service_functions(one_task_synth)["sentiment"]["Properties"]["Environment"]["Variables"]
    assert one["NLP_THREADS"] == "2"  # 3,008 MB in that config


@pytest.fixture(scope="module")
def custom_synth(fake_layers, fake_models, tmp_path_factory) -> Synth:
    """Every task plus one custom classifier (a bundle written by `nlpserve train classifier --name tickets`)."""
    from infra_support import synth

    models = tmp_path_factory.mktemp("models-custom")
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        (models / bundle).symlink_to(fake_models / bundle)
    (models / "classify-tickets").mkdir()
    (models / "classify-tickets" / "manifest.json").write_text(json.dumps({"name": "classify-tickets"}))
    (models / "classify-tickets" / "model.onnx").write_bytes(b"\0" * 1000)
    return synth({"layers_dir": str(fake_layers), "models_dir": str(models), "custom_classifiers": "tickets"},
                 tmp_path_factory.mktemp("cdk.out-custom"))


def test_a_custom_classifier_ships_in_the_code_of_the_classify_and_batch_functions(custom_synth: Synth) -> None:
    """Issue 10: a custom classifier is deployed by naming it: its bundle rides in the code asset of the two
    functions that serve it (not a layer: the batch function already has Lambda's 5), found through
    NLP_EXTRA_MODELS_DIRS, and the batch function scores incoming/classify-tickets/."""
    functions = service_functions(custom_synth)
    for name in ("classify", "batch"):
        env = functions[name]["Properties"]["Environment"]["Variables"]
        assert env["NLP_EXTRA_MODELS_DIRS"] == "/var/task/models"
    staged = [p for p in custom_synth.outdir.glob("asset.*") if (p / "models" / "classify-tickets").is_dir()]
    assert len(staged) == 2  # the classify function's, and the batch function's (with entities beside it)
    assert all((p / "models" / "classify-tickets" / "manifest.json").is_file() and (p / "nlpserve").is_dir()
               for p in staged)
    assert sum((p / "models" / "entities").is_dir() for p in staged) == 1
    assert "classify-tickets" in functions["batch"]["Properties"]["Environment"]["Variables"]["NLP_BATCH_TASKS"]
    for name in ("sentiment", "ner", "meta"):
        assert "NLP_EXTRA_MODELS_DIRS" not in functions[name]["Properties"]["Environment"]["Variables"]
    keys = {r["Properties"]["RouteKey"] for r in custom_synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert "POST /v1/classify/{model}" in keys


def test_a_custom_classifier_that_was_not_trained_fails_synth_with_the_command(fake_layers, fake_models,
                                                                                  tmp_path) -> None:
    from infra_support import synth
    from nlpinfra.artifacts import ArtifactError

    with pytest.raises(ArtifactError, match="nlpserve train classifier <labelled file> --name missing"):
        synth({"layers_dir": str(fake_layers), "models_dir": str(fake_models), "custom_classifiers": "missing"},
              tmp_path / "cdk.out")


@pytest.fixture(scope="module")
def seq2seq_synth(fake_layers, fake_models, tmp_path_factory) -> Synth:
    """The default tasks plus two bundles the user brought (written by `python -m nlpbuild seq2seq`)."""
    from infra_support import synth

    models = tmp_path_factory.mktemp("models-seq2seq")
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        (models / bundle).symlink_to(fake_models / bundle)
    for name in ("translate-en-de", "summarize-t5"):
        (models / name).mkdir()
        (models / name / "manifest.json").write_text(json.dumps({"name": name, "kind": "seq2seq"}))
        (models / name / "prefill.onnx").write_bytes(b"\0" * 1000)
    return synth({"layers_dir": str(fake_layers), "models_dir": str(models),
                  "seq2seq_models": "translate-en-de,summarize-t5"}, tmp_path_factory.mktemp("cdk.out-seq2seq"))


def test_a_brought_seq2seq_bundle_turns_on_its_function_and_rides_in_its_code(seq2seq_synth: Synth) -> None:
    """Issue 11: naming a translate bundle deploys the translate function and its route; each bundle rides in the
    code of the function that serves it and of the batch function, which scores incoming/translate/."""
    functions = service_functions(seq2seq_synth)
    assert "translate" in functions
    keys = {r["Properties"]["RouteKey"] for r in seq2seq_synth.of_type("AWS::ApiGatewayV2::Route").values()}
    assert "POST /v1/translate" in keys
    for name, bundle in (("translate", "translate-en-de"), ("summarize", "summarize-t5")):
        assert functions[name]["Properties"]["Environment"]["Variables"]["NLP_EXTRA_MODELS_DIRS"] == "/var/task/models"
    staged = [p for p in seq2seq_synth.outdir.glob("asset.*") if (p / "models").is_dir()]
    holders = {b: sum((p / "models" / b / "manifest.json").is_file() for p in staged)
               for b in ("translate-en-de", "summarize-t5")}
    assert holders == {"translate-en-de": 2, "summarize-t5": 2}  # its own function's code and the batch function's
    batch = functions["batch"]["Properties"]["Environment"]["Variables"]
    assert "translate" in batch["NLP_BATCH_TASKS"].split(",")
    # the meta function's /v1/models names them too (it loads no model)
    cards = {e["task"]: e for e in json.loads(functions["meta"]["Properties"]["Environment"]["Variables"][
        "NLP_MODEL_CATALOG"])}
    assert cards["translate"]["bundle"] == "translate-en-de"
    assert cards["summarize"]["bundle"] == "embed" and [b["bundle"] for b in cards["summarize"]["brought"]] == [
        "summarize-t5"]


def test_seq2seq_models_are_checked_before_synth(fake_layers, fake_models, tmp_path) -> None:
    from infra_support import synth
    from nlpinfra.artifacts import ArtifactError
    from nlpinfra.config import ConfigError, load_config

    assert "translate" not in load_config({}).tasks
    assert "translate" in load_config({"seq2seq_models": "translate-en-de"}).tasks
    with pytest.raises(ConfigError, match="needs a model you bring"):
        load_config({"tasks": "translate,sentiment"})
    with pytest.raises(ConfigError, match="not a translate-<source>-<target> or summarize-<name>"):
        load_config({"seq2seq_models": "opus-mt-en-de"})
    with pytest.raises(ConfigError, match="served by the 'summarize' function"):
        load_config({"seq2seq_models": "summarize-t5", "tasks": "sentiment"})
    with pytest.raises(ArtifactError, match="python -m nlpbuild seq2seq"):
        synth({"layers_dir": str(fake_layers), "models_dir": str(fake_models), "seq2seq_models": "translate-en-fr"},
              tmp_path / "cdk.out")


def test_seq2seq_batch_false_keeps_a_brought_model_out_of_the_batch_function(fake_layers, fake_models,
                                                                              tmp_path) -> None:
    """An opus-mt pair (135 MB) does not fit the batch function beside every shipped bundle: seq2seq_batch=false
    serves it from the API only."""
    from infra_support import synth

    models = tmp_path / "models"
    models.mkdir()
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        (models / bundle).symlink_to(fake_models / bundle)
    (models / "translate-en-de").mkdir()
    (models / "translate-en-de" / "manifest.json").write_text(json.dumps({"name": "translate-en-de"}))
    result = synth({"layers_dir": str(fake_layers), "models_dir": str(models), "seq2seq_models": "translate-en-de",
                    "seq2seq_batch": False}, tmp_path / "cdk.out")
    functions = service_functions(result)
    assert "translate" in functions
    assert "translate" not in functions["batch"]["Properties"]["Environment"]["Variables"]["NLP_BATCH_TASKS"]
    staged = [p for p in result.outdir.glob("asset.*") if (p / "models" / "translate-en-de").is_dir()]
    assert len(staged) == 1  # the translate function's code only
