"""Monitoring: CloudWatch alarms and one dashboard for the API, the functions and the batch queues.

Default settings:

* per function: Errors >= 1, Throttles >= 1 (5-minute sums), p99 Duration above ``duration_ratio`` of
  the function timeout (3 consecutive 5-minute periods);
* batch: DLQ depth >= 1, age of the oldest queued message above 1 hour;
* API: 5xx responses >= 5 in 5 minutes;
* missing data is not breaching (idle services stay OK);
* optional SNS topic (KMS-encrypted with a rotating customer key CloudWatch may use, TLS-only) with an
  e-mail subscription (with a dead-letter queue), used as alarm and OK action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class MonitoredFunction:
    name: str
    function: lambda_.IFunction
    timeout_s: int


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Sequence[MonitoredFunction],
        api: apigwv2.HttpApi | None = None,
        queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        alarm_email: str | None = None,
        duration_ratio: float = 0.8,
        dashboard_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cw.Alarm] = []

        self.topic: sns.Topic | None = None
        self.notification_dlq: sqs.Queue | None = None
        if alarm_email:
            key = kms.Key(
                self,
                "AlarmTopicKey",
                description="Encrypts the nlpserve alarm topic; CloudWatch alarms may use it",
                enable_key_rotation=True,
            )
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    resources=["*"],  # in a key policy, "*" means this key
                )
            )
            self.topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
            # Notifications SNS cannot deliver (e.g. a bounced address) are kept for 14 days.
            self.notification_dlq = sqs.Queue(
                self,
                "AlarmNotificationDlq",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            self.topic.add_subscription(
                subs.EmailSubscription(alarm_email, dead_letter_queue=self.notification_dlq)
            )

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard = dashboard

        if api is not None:
            api_5xx = api.metric_server_error(period=PERIOD, statistic="Sum")
            self._alarm("Api5xx", api_5xx, 5, "API returned 5xx responses")
            dashboard.add_widgets(
                cw.GraphWidget(
                    title="API requests and errors",
                    left=[
                        api.metric_count(period=PERIOD, statistic="Sum"),
                        api.metric_client_error(period=PERIOD, statistic="Sum"),
                        api_5xx,
                    ],
                    width=12,
                ),
                cw.GraphWidget(
                    title="API latency (ms)",
                    left=[
                        api.metric_latency(period=PERIOD, statistic="p50"),
                        api.metric_latency(period=PERIOD, statistic="p99"),
                        api.metric_integration_latency(period=PERIOD, statistic="p99"),
                    ],
                    width=12,
                ),
            )

        for item in functions:
            fn, label = item.function, item.name.capitalize()
            errors = fn.metric_errors(period=PERIOD, statistic="Sum")
            throttles = fn.metric_throttles(period=PERIOD, statistic="Sum")
            p99 = fn.metric_duration(period=PERIOD, statistic="p99")
            self._alarm(f"{label}Errors", errors, 1, f"{item.name} function errors")
            self._alarm(f"{label}Throttles", throttles, 1, f"{item.name} function throttled")
            self._alarm(
                f"{label}DurationP99",
                p99,
                round(item.timeout_s * 1000 * duration_ratio),
                f"{item.name} p99 duration above {int(duration_ratio * 100)}% of its {item.timeout_s}s timeout",
                evaluation_periods=3,
            )
            dashboard.add_widgets(
                cw.GraphWidget(
                    title=f"{item.name}: invocations, errors, throttles",
                    left=[fn.metric_invocations(period=PERIOD, statistic="Sum"), errors, throttles],
                    width=12,
                ),
                cw.GraphWidget(
                    title=f"{item.name}: duration (ms)",
                    left=[fn.metric_duration(period=PERIOD, statistic="p50"), p99],
                    right=[fn.metric("ConcurrentExecutions", period=PERIOD, statistic="Maximum")],
                    width=12,
                ),
            )

        if queue is not None and dead_letter_queue is not None:
            dlq_depth = dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            )
            oldest = queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
            self._alarm(
                "DeadLetterQueueDepth", dlq_depth, 1, "batch messages landed in the dead-letter queue"
            )
            self._alarm("QueueOldestMessageAge", oldest, 3600, "batch queue backlog older than 1 hour")
            dashboard.add_widgets(
                cw.GraphWidget(
                    title="Batch queue",
                    left=[
                        queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum"
                        ),
                        queue.metric_approximate_number_of_messages_not_visible(
                            period=PERIOD, statistic="Maximum"
                        ),
                        dlq_depth,
                    ],
                    right=[oldest],
                    width=12,
                ),
                cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
            )
        else:
            dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm
