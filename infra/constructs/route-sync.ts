/**
 * Route sync: the reconcile Lambda, what wakes it (EventBridge rules and a schedule, through one FIFO
 * queue), its permissions, and the alarms that tell someone when it cannot heal the network on its own.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import { ENV_LABELS } from '../../functions/core/config.js';
import { EC2_STATE_CHANGE, SSM_DEREGISTRATION, SSM_REGISTRATION } from '../../functions/handlers/events.js';
import { bundledFunctionCode, functionEsbuildOptions, ROOT } from '../bundling.js';
import type { StackConfig } from '../context.js';

/** Must match functions/shared/powertools.ts (a test checks): the EMF namespace and `service` dimension. */
export const METRICS_NAMESPACE = 'EksHybridRoutes';
export const SERVICE_NAME = 'eks-hybrid-routes';

/** The one SQS message group: every trigger goes through it, so exactly one batch is processed at a time. */
export const MESSAGE_GROUP_ID = 'reconcile';

/** The logical id of the function in the template: `sam local invoke ReconcileFunction …`. */
export const FUNCTION_LOGICAL_ID = 'ReconcileFunction';

/** The instance states whose change can add or remove a node's ENI (`pending` cannot: the node is not up yet). */
export const EC2_STATES = ['running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

export const FUNCTION_TIMEOUT = Duration.minutes(5);
/** How long a received batch stays invisible: after a failed run, the wait before the batch (and the FIFO group) goes on. */
export const TRIGGER_VISIBILITY_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT.toSeconds() + 120);

/** How long every run may stay `unfinished` (changes left unstarted at its deadline) before the alarm fires. */
export const UNFINISHED_RUNS_ALARM_MINUTES = 60;

/**
 * The UnfinishedRuns alarm's period and evaluation periods. A period spans at least three schedule intervals
 * and three function timeouts, so it always holds data points from several runs, whether they are scheduled
 * or back to back (a long sync); a period without any would read as "not breaching" and break the chain.
 * Two periods at least, so one period holding only the first runs of a legitimately long first sync
 * never fires it alone.
 */
export function unfinishedRunsAlarmWindow(scheduleMinutes: number): { periodMinutes: number; evaluationPeriods: number } {
  const periodMinutes = Math.max(3 * scheduleMinutes, 3 * FUNCTION_TIMEOUT.toMinutes());
  return { periodMinutes, evaluationPeriods: Math.max(2, Math.ceil(UNFINISHED_RUNS_ALARM_MINUTES / periodMinutes)) };
}

export { ROOT };
export const RECONCILE_ENTRY = fileURLToPath(new URL('../../functions/handlers/reconcile.ts', import.meta.url));

/** The reconciler's bundle options (infra/bundling.ts), as test/infra/bundle.test.ts and the bench build it. */
export function reconcileEsbuildOptions(outfile: string): BuildOptions {
  return functionEsbuildOptions(RECONCILE_ENTRY, outfile);
}

/**
 * The controller settings every function of the stack that reads the route tables shares (the reconciler and
 * the teardown task): the cluster, the remote VPC, the managed tables, the deletion budget and the optional
 * narrowing, under the names `functions/core/config.ts` reads (ENV_LABELS).
 */
export function controllerEnvironment(config: StackConfig): Record<string, string> {
  const environment: Record<string, string> = {
    [ENV_LABELS.clusterName]: config.clusterName,
    [ENV_LABELS.vpcId]: config.remoteVpcId,
    [ENV_LABELS.maxDeleteFraction]: String(config.maxDeleteFraction),
  };
  if (config.routeTables.kind === 'ids') environment[ENV_LABELS.routeTableIds] = config.routeTables.routeTableIds.join(',');
  else environment[ENV_LABELS.routeTableTag] = `${config.routeTables.key}=${config.routeTables.value}`;
  if (config.minDeleteBudget !== undefined) environment[ENV_LABELS.minDeleteBudget] = String(config.minDeleteBudget);
  if (config.podNetworks) environment[ENV_LABELS.podNetworks] = config.podNetworks.join(',');
  if (config.nodeNetworks) environment[ENV_LABELS.nodeNetworks] = config.nodeNetworks.join(',');
  return environment;
}

/**
 * Powertools names (the EMF namespace and `service` dimension). Deliberately no NODE_OPTIONS: Node's
 * `--enable-source-maps` would load the bundle's map on every cold start and decode it at the first stack
 * trace; stack traces carry real names instead (the measured trade-off is at functionEsbuildOptions,
 * infra/bundling.ts).
 */
export const RUNTIME_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

/** The reconciler's three EventBridge rules, by role; their physical names are `<prefix>-<suffix>`. */
export const RULE_NAME_SUFFIXES = {
  ec2StateChange: 'ec2-state-change',
  ssmRegistration: 'ssm-registration',
  schedule: 'schedule',
} as const;

export type RuleRole = keyof typeof RULE_NAME_SUFFIXES;

/** EventBridge rule names: 1-64 characters of letters, digits and . - _ */
export const MAX_RULE_NAME_LENGTH = 64;

/**
 * The rules get fixed names (the teardown pauses and resumes them by name): `<stack name>-<suffix>`, one set
 * per stack (stack names are unique in an account and Region, and so are rule names). A stack name too long
 * for the longest suffix is cut and given a short hash of the whole name, so two long names never collide.
 */
export function ruleNames(stackName: string): Record<RuleRole, string> {
  const longestSuffix = Math.max(...Object.values(RULE_NAME_SUFFIXES).map((suffix) => suffix.length));
  const room = MAX_RULE_NAME_LENGTH - longestSuffix - 1;
  const prefix =
    stackName.length <= room ? stackName : `${stackName.slice(0, room - 9)}-${createHash('sha256').update(stackName).digest('hex').slice(0, 8)}`;
  return Object.fromEntries(Object.entries(RULE_NAME_SUFFIXES).map(([role, suffix]) => [role, `${prefix}-${suffix}`])) as Record<RuleRole, string>;
}

/** Every alarm notifies every topic, on ALARM and on OK. */
export function notifyTopics(alarms: Iterable<cloudwatch.Alarm>, topics: sns.ITopic[]): void {
  for (const alarm of alarms) {
    for (const topic of topics) {
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
      alarm.addOkAction(new cloudwatchActions.SnsAction(topic));
    }
  }
}

export interface RouteSyncProps {
  config: StackConfig;
  /** Where alarm notifications go (none: the alarms only change state). */
  alarmTopics: sns.ITopic[];
}

export class RouteSync extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly logGroup: logs.LogGroup;
  readonly alarms: Record<string, cloudwatch.Alarm>;
  /** The three rules that wake the reconciler (what a teardown pauses), and their physical names. */
  readonly rules: Record<RuleRole, events.Rule>;
  readonly ruleNames: Record<RuleRole, string>;

  constructor(scope: Construct, id: string, props: RouteSyncProps) {
    super(scope, id);
    const { config } = props;

    // ---- the function -------------------------------------------------------------------------------
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      // Kept on `cdk destroy`: it is the record of what the controller changed in the route tables.
      retention: logs.RetentionDays.ONE_MONTH,
    });

    // An explicit role instead of the default one: the default attaches AWSLambdaBasicExecutionRole
    // (logs:CreateLogGroup on *); this one may write to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `eks-hybrid-routes reconciler for EKS cluster ${config.clusterName}`,
    });
    this.logGroup.grantWrite(this.role);

    const environment: Record<string, string> = {
      ...controllerEnvironment(config),
      PENDING_FOLLOW_UP_SECONDS: String(config.pendingWindowSeconds),
      ...RUNTIME_ENVIRONMENT,
    };
    if (config.applyConcurrency !== undefined) environment[ENV_LABELS.applyConcurrency] = String(config.applyConcurrency);

    this.function = new lambda.Function(this, 'Function', {
      description: `Keeps source/dest check and pod-CIDR routes right for the hybrid nodes of EKS cluster ${config.clusterName}`,
      code: bundledFunctionCode(RECONCILE_ENTRY),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // Must exceed the pending-node follow-up window (at most 240 s, see context.ts) plus one run.
      timeout: FUNCTION_TIMEOUT,
      // One writer at a time. The FIFO queue's single message group already serialises every event- and
      // schedule-driven run; reserved concurrency 1 also covers what does not come through the queue: a
      // direct `aws lambda invoke` can never run beside a batch (it is throttled instead, and so is a batch
      // that arrives during a direct invoke: the poller retries it, and the Throttles alarm reports it).
      reservedConcurrentExecutions: 1,
      role: this.role,
      logGroup: this.logGroup,
      environment,
    });
    (this.function.node.defaultChild as lambda.CfnFunction).overrideLogicalId(FUNCTION_LOGICAL_ID);

    this.grantControllerPermissions(config);

    // ---- triggers: EventBridge → one FIFO queue → the function ---------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'TriggerQueue', {
      fifo: true,
      // An event EventBridge delivers twice has the same body (and event id): it is dropped once.
      contentBasedDeduplication: true,
      // A failed run's batch is redelivered only when this expires, and the one FIFO group (schedule included)
      // waits for it: the function timeout plus two minutes, not AWS's general advice of six times it, which
      // is headroom for throttled invocations. Here only a direct invoke can throttle a batch (reserved
      // concurrency 1) and it ends within the function timeout; healing must not stall half an hour after one
      // transient failure. (infra/README.md, "The visibility timeout")
      visibilityTimeout: TRIGGER_VISIBILITY_TIMEOUT,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 3 },
    });
    // A batch of up to 10 events is one reconcile run; a failed run fails the whole batch (it is one run,
    // so there are no per-item failures to report), which is retried and after three receives dead-lettered.
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: false }));

    const toQueue = new targets.SqsQueue(this.queue, { messageGroupId: MESSAGE_GROUP_ID });
    const names = ruleNames(Stack.of(this).stackName);
    this.ruleNames = names;
    this.rules = {
      ec2StateChange: new events.Rule(this, 'Ec2StateChangeRule', {
        ruleName: names.ec2StateChange,
        description: 'EC2 instance state changes that can add or remove a hybrid node ENI: wake the route reconciler',
        eventPattern: { source: ['aws.ec2'], detailType: [EC2_STATE_CHANGE], detail: { state: EC2_STATES } },
        targets: [toQueue],
      }),
      ssmRegistration: new events.Rule(this, 'SsmRegistrationRule', {
        ruleName: names.ssmRegistration,
        description: 'SSM managed instance (hybrid node) registration and deregistration: wake the route reconciler',
        eventPattern: { source: ['aws.ssm'], detailType: [SSM_REGISTRATION, SSM_DEREGISTRATION] },
        targets: [toQueue],
      }),
      schedule: new events.Rule(this, 'ScheduleRule', {
        ruleName: names.schedule,
        description: 'Periodic anti-entropy run of the route reconciler (repairs drift no event announced)',
        schedule: events.Schedule.rate(Duration.minutes(config.scheduleMinutes)),
        targets: [toQueue],
      }),
    };

    this.alarms = this.createAlarms(config, props.alarmTopics);
    this.addNagSuppressions(config);
  }

  /** Lets the function assume the role it uses for the Kubernetes API, and tells it which one. */
  useReaderRole(readerRole: iam.IRole): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'AssumeKubernetesReaderRole', actions: ['sts:AssumeRole'], resources: [readerRole.roleArn] }),
    );
    this.function.addEnvironment(ENV_LABELS.readerRoleArn, readerRole.roleArn);
  }

  private grantControllerPermissions(config: StackConfig): void {
    const stack = Stack.of(this);
    const vpcArn = stack.formatArn({ service: 'ec2', resource: 'vpc', resourceName: config.remoteVpcId });

    // Route mutations: only on the managed tables, and only on tables in the remote VPC.
    const routeActions = ['ec2:CreateRoute', 'ec2:ReplaceRoute', 'ec2:DeleteRoute'];
    if (config.routeTables.kind === 'ids') {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'MutateManagedRouteTables',
          actions: routeActions,
          resources: config.routeTables.routeTableIds.map((id) => stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: id })),
          conditions: { StringEquals: { 'ec2:Vpc': vpcArn } },
        }),
      );
    } else {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'MutateManagedRouteTables',
          actions: routeActions,
          resources: [stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: '*' })],
          conditions: { StringEquals: { [`aws:ResourceTag/${config.routeTables.key}`]: config.routeTables.value, 'ec2:Vpc': vpcArn } },
        }),
      );
    }
    // Source/dest check: ENIs in the remote VPC only.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DisableSourceDestCheckInRemoteVpc',
        actions: ['ec2:ModifyNetworkInterfaceAttribute'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })],
        conditions: { StringEquals: { 'ec2:Vpc': vpcArn } },
      }),
    );
    // Reads. EC2 Describe* and ssm:DescribeInstanceInformation support no resource-level permissions.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadNetworkAndManagedInstances',
        actions: ['ec2:DescribeRouteTables', 'ec2:DescribeNetworkInterfaces', 'ssm:DescribeInstanceInformation'],
        resources: ['*'],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeTheCluster',
        actions: ['eks:DescribeCluster'],
        resources: [stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: config.clusterName })],
      }),
    );
  }

  private createAlarms(config: StackConfig, topics: sns.ITopic[]): Record<string, cloudwatch.Alarm> {
    const fiveMinutes = Duration.minutes(5);
    const custom = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period });
    const common = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const who = `eks-hybrid-routes (${config.clusterName})`;

    // A node is "pending longer than the window" when PendingNodes ≥ 1 in enough consecutive schedule
    // periods: seen in N consecutive periods means pending for at least (N − 2) whole periods, so
    // N = ceil(window / period) + 2 never fires for a node that got its CIDR within the window.
    const period = Duration.minutes(config.scheduleMinutes);
    const pendingPeriods = Math.ceil(config.pendingWindowSeconds / period.toSeconds()) + 2;
    const unfinished = unfinishedRunsAlarmWindow(config.scheduleMinutes);

    const alarms: Record<string, cloudwatch.Alarm> = {
      errors: new cloudwatch.Alarm(this, 'ErrorsAlarm', {
        ...common,
        alarmDescription: `${who}: a reconcile run failed (read error, failed route/ENI mutation, bad configuration). Nothing is changed on a read error. See the "reconcile run" log line and the error lines in the function's log group.`,
        metric: this.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        evaluationPeriods: 1,
      }),
      throttles: new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
        ...common,
        alarmDescription: `${who}: the reconciler was throttled (reserved concurrency 1: a direct invoke collided with a queued batch). The queued batch is retried; repeated throttling delays healing.`,
        metric: this.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        evaluationPeriods: 1,
      }),
      deadLetters: new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        ...common,
        alarmDescription: `${who}: trigger events failed three runs in a row and were dead-lettered. Nothing is lost (the next run reads everything again), but something fails every run: check the Errors alarm and the logs, then purge the DLQ.`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        evaluationPeriods: 1,
      }),
      // A batch of only malformed messages is dropped rather than failed (so it cannot hold up the FIFO group),
      // so neither Errors nor the dead-letter queue sees it: this does.
      invalidEvents: new cloudwatch.Alarm(this, 'InvalidEventsAlarm', {
        ...common,
        alarmDescription: `${who}: the reconciler received messages that are no trigger it knows (malformed, an unknown detail-type, or a hand-sent message) and dropped them; nothing was read or changed for them. The "invalid" list in the function's error log names each message and what is wrong; check the EventBridge rules and whoever sends to the queue.`,
        metric: custom('InvalidEvents', 'Sum', fiveMinutes),
        evaluationPeriods: 1,
      }),
      vetoedDeletions: new cloudwatch.Alarm(this, 'VetoedDeletionsAlarm', {
        ...common,
        alarmDescription: `${who}: a safety guard vetoed route deletions (empty node list or deletion budget exceeded); the routes were kept. Check the cluster and CiliumNodes; if the deletions are right, run the CLI's apply with --force.`,
        metric: custom('VetoedDeletions', 'Sum', fiveMinutes),
        evaluationPeriods: 1,
      }),
      failedMutations: new cloudwatch.Alarm(this, 'FailedMutationsAlarm', {
        ...common,
        alarmDescription: `${who}: EC2 refused route or source/dest-check changes (throttling RequestLimitExceeded, quota such as routes per table, permissions). See failedMutations in the "reconcile run" log line.`,
        metric: custom('FailedMutations', 'Sum', fiveMinutes),
        evaluationPeriods: 1,
      }),
      // The Minimum over a period is ≥ 1 only when every run in it stopped at its deadline with changes not
      // started: the tables are not converging. One unfinished run is normal for a large first sync (README).
      unfinishedRuns: new cloudwatch.Alarm(this, 'UnfinishedRunsAlarm', {
        ...common,
        alarmDescription: `${who}: every reconcile run in ${unfinished.evaluationPeriods} consecutive ${unfinished.periodMinutes}-minute periods reached its deadline with route or source/dest-check changes not started (MutationsNotStarted): the route tables are not converging. One run creates at most about 1,300 routes (EC2 allows 5 CreateRoute calls per second after a burst of 50), so only a first sync of more routes than those runs can create takes this long; otherwise look for slow runs (durationMs, throttled calls) in the "reconcile run" log lines.`,
        metric: custom('MutationsNotStarted', 'Minimum', Duration.minutes(unfinished.periodMinutes)),
        evaluationPeriods: unfinished.evaluationPeriods,
        datapointsToAlarm: unfinished.evaluationPeriods,
      }),
      pendingNodes: new cloudwatch.Alarm(this, 'PendingNodesAlarm', {
        ...common,
        alarmDescription: `${who}: a hybrid node's CiliumNode has had no pod CIDR for longer than the ${config.pendingWindowSeconds}s follow-up window, so it has no route. Check the Cilium operator (IPAM) and the CiliumNode.`,
        metric: custom('PendingNodes', 'Maximum', period),
        evaluationPeriods: pendingPeriods,
        datapointsToAlarm: pendingPeriods,
      }),
    };
    notifyTopics(Object.values(alarms), topics);
    return alarms;
  }

  private addNagSuppressions(config: StackConfig): void {
    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'ec2:DescribeRouteTables, ec2:DescribeNetworkInterfaces and ssm:DescribeInstanceInformation support no resource-level permissions; they are read-only.',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'ec2:ModifyNetworkInterfaceAttribute on network-interface/* is limited by the ec2:Vpc condition to ENIs in the remote VPC; node ENIs are not known at deploy time.',
          appliesTo: [`Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*`],
        },
        ...(config.routeTables.kind === 'tag'
          ? [
              {
                id: 'AwsSolutions-IAM5',
                reason: `Route tables are discovered by tag at run time: route-table/* is limited by the aws:ResourceTag/${config.routeTables.key} and ec2:Vpc conditions.`,
                appliesTo: [`Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:route-table/*`],
              },
            ]
          : []),
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: 'AwsSolutions-L1',
        reason: 'The runtime major is pinned to Node 22, the major the whole test suite runs on (the node devDependency); it moves with the tests, not with Lambda.',
      },
    ]);
  }
}
