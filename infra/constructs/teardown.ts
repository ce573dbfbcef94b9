/**
 * Teardown: an ordered removal of the cluster's hybrid nodes, as a Step Functions STANDARD state machine whose
 * every Task is one step of one Lambda (functions/handlers/teardown.ts). Top level: validate and snapshot →
 * pause auto-healing → per node (a Map: cordon and drain, nodeadm uninstall, delete the Kubernetes objects,
 * deregister the managed instance, restore source/dest check, terminate) → remove routes → delete activations
 * → resume auto-healing → verify. The step names and state names come from functions/core/teardown-steps.ts;
 * this file is the one place that fixes their order.
 */
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  INCOMPLETE_ERROR,
  PAUSE_TAG_KEY,
  STATE_NAMES,
  TEARDOWN_ENV,
  TEARDOWN_EXECUTION_TIMEOUT_SECONDS,
  TRANSIENT_ERROR,
  type TeardownStep,
} from '../../functions/core/teardown-steps.js';
import type { StackConfig } from '../context.js';
import { bundledFunctionCode } from '../bundling.js';
import { RUNTIME_ENVIRONMENT, controllerEnvironment, notifyTopics, type RuleRole } from './route-sync.js';

/** The logical id of the task function in the template (`sam local invoke TeardownFunction …`). */
export const TEARDOWN_FUNCTION_LOGICAL_ID = 'TeardownFunction';

export const TEARDOWN_ENTRY = fileURLToPath(new URL('../../functions/handlers/teardown.ts', import.meta.url));

/** One task invocation: a Kubernetes or AWS call or two, never a wait (waiting is the state machine's job). */
export const TEARDOWN_FUNCTION_TIMEOUT = Duration.minutes(2);

/** Longer than the function timeout, so a stuck invocation surfaces as the Lambda's own timeout error first. */
export const TEARDOWN_TASK_TIMEOUT = Duration.seconds(150);

/**
 * The backstop for a whole execution. Every wait inside is bounded by the input (`timeouts`: the handler
 * fails a node whose drain or uninstall outlives its budget, and the Map goes on with the others), and the
 * snapshot step refuses an input whose worst case would not fit; so this only ends a run that loops.
 */
export const TEARDOWN_EXECUTION_TIMEOUT = Duration.seconds(TEARDOWN_EXECUTION_TIMEOUT_SECONDS);

/** The CloudWatch Logs group of the executions; `/aws/vendedlogs/` avoids the resource-policy size limit. */
export const executionLogGroupName = (stackName: string) => `/aws/vendedlogs/states/${stackName}-teardown`;

/** The SSM document the uninstall step runs (`nodeadm uninstall`): AWS-owned, so its ARN has no account. */
export const UNINSTALL_DOCUMENT = 'AWS-RunShellScript';

/** The tag SSM copies from an activation onto the managed instances registered with it (see README). */
export const ACTIVATION_CLUSTER_TAG_KEY = 'EKSClusterARN';

export interface TeardownProps {
  config: StackConfig;
  /** The reconciler's rules, paused and resumed by name. */
  rules: Record<RuleRole, events.Rule>;
  /** Their physical names (literal, so the function's environment is readable in the template). */
  ruleNames: Record<RuleRole, string>;
  /** Where alarm notifications go (none: the alarms only change state). */
  alarmTopics: sns.ITopic[];
}

export class Teardown extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly executionLogGroup: logs.LogGroup;
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: Record<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: TeardownProps) {
    super(scope, id);
    const { config } = props;
    const stackName = Stack.of(this).stackName;

    // ---- the task function --------------------------------------------------------------------------
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      // Kept on `cdk destroy`, like the reconciler's: the record of what a teardown removed.
      retention: logs.RetentionDays.ONE_MONTH,
    });
    // Its own role (not the default one with logs:CreateLogGroup on *): writes to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `eks-hybrid-routes teardown task for EKS cluster ${config.clusterName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new lambda.Function(this, 'Function', {
      description: `Task steps of the ordered hybrid node teardown of EKS cluster ${config.clusterName} (run by the teardown state machine)`,
      code: bundledFunctionCode(TEARDOWN_ENTRY),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: TEARDOWN_FUNCTION_TIMEOUT,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...controllerEnvironment(config),
        [TEARDOWN_ENV.ruleNames]: Object.values(props.ruleNames).join(','),
        ...RUNTIME_ENVIRONMENT,
      },
    });
    (this.function.node.defaultChild as lambda.CfnFunction).overrideLogicalId(TEARDOWN_FUNCTION_LOGICAL_ID);

    this.grantTaskPermissions(config, props.rules);

    // ---- the state machine --------------------------------------------------------------------------
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogGroup', {
      logGroupName: executionLogGroupName(stackName),
      retention: logs.RetentionDays.ONE_MONTH,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: `Ordered teardown of the EKS hybrid nodes of ${config.clusterName} (eks-hybrid-routes)`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition()),
      timeout: TEARDOWN_EXECUTION_TIMEOUT,
      tracingEnabled: true,
      // Execution data is logged in full: the state holds node names, instance and ENI ids and step results,
      // never a secret (Kubernetes tokens are minted and used inside the Lambda and never returned).
      logs: { destination: this.executionLogGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    this.alarms = this.createAlarms(config, props.alarmTopics);
    this.addNagSuppressions(config);
  }

  /** Lets the function assume the role that carries the Kubernetes teardown group, and tells it which one. */
  useKubernetesRole(teardownRole: iam.IRole): void {
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'AssumeKubernetesTeardownRole', actions: ['sts:AssumeRole'], resources: [teardownRole.roleArn] }),
    );
    this.function.addEnvironment(TEARDOWN_ENV.teardownRoleArn, teardownRole.roleArn);
  }

  /** The workflow. Names, steps and JSON paths are a contract with the handler: see functions/core/teardown-steps.ts. */
  private definition(): sfn.IChainable {
    const at = (path: string) => sfn.JsonPath.stringAt(path);
    // `replace` = ResultPath "$": the result becomes the state. Left out rather than written as "$" (the ASL
    // default is the same): aws-local-stepfunctions 3.0.0, which runs this definition for `teardown --local`,
    // reads an explicit "$" as a key named "$" and keeps the old state.
    const task = (id: string, stateName: string, step: TeardownStep, payload: Record<string, string>, resultPath: string | 'replace') => {
      const invoke = new tasks.LambdaInvoke(this, id, {
        stateName,
        lambdaFunction: this.function,
        // Resource is the function ARN and Parameters the payload; the result is the handler's return value.
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ step, ...Object.fromEntries(Object.entries(payload).map(([key, path]) => [key, at(path)])) }),
        ...(resultPath === 'replace' ? {} : { resultPath }),
        taskTimeout: sfn.Timeout.duration(TEARDOWN_TASK_TIMEOUT),
      });
      // After CDK's own retrier for Lambda service exceptions: what the handler reports as transient
      // (throttling, timeouts, 5xx) and Lambda's own throttling (the account's concurrency), with capped,
      // jittered backoff so parallel nodes do not retry in step.
      invoke.addRetry({
        errors: [TRANSIENT_ERROR, 'Lambda.TooManyRequestsException'],
        interval: Duration.seconds(2),
        maxAttempts: 5,
        backoffRate: 2,
        maxDelay: Duration.seconds(30),
        jitterStrategy: sfn.JitterType.FULL,
      });
      return invoke;
    };
    const poll = (id: string, stateName: string) => new sfn.Wait(this, id, { stateName, time: sfn.WaitTime.secondsPath('$.request.timeouts.pollSeconds') });
    const done = (path: string) => sfn.Condition.booleanEquals(path, true);

    // ---- one node (the Map's item processor): each step after the previous one succeeded -------------
    const node = { request: '$.request', node: '$.node' };
    const nodeFailed = new sfn.Pass(this, 'NodeFailed', {
      stateName: STATE_NAMES.nodeFailed,
      parameters: { node: at('$.node.name'), status: 'failed', error: at('$.error.Error'), cause: at('$.error.Cause') },
    });
    const nodeDone = new sfn.Pass(this, 'NodeDone', {
      stateName: STATE_NAMES.nodeDone,
      // Scalars only: the Map's results for every node sit in one state (256 KB); the step details
      // (evicted pods, command id, ...) are in the task log and the execution history.
      parameters: {
        node: at('$.node.name'),
        status: 'done',
        cordon: at('$.drain.cordon'),
        uninstall: at('$.uninstall.outcome'),
        objects: at('$.objects'),
        managedInstance: at('$.deregister.managedInstance'),
        sourceDestCheckEnabled: at('$.sourceDestCheck.enabled'),
        instance: at('$.terminate.instance'),
      },
    });
    const nodeTasks = {
      drain: task('Drain', STATE_NAMES.drain, 'drain', node, '$.drain'),
      checkDrain: task('CheckDrain', STATE_NAMES.checkDrain, 'drain', { ...node, previous: '$.drain' }, '$.drain'),
      uninstall: task('Uninstall', STATE_NAMES.uninstall, 'uninstall', node, '$.uninstall'),
      checkUninstall: task('CheckUninstall', STATE_NAMES.checkUninstall, 'uninstall', { ...node, previous: '$.uninstall' }, '$.uninstall'),
      deleteObjects: task('DeleteObjects', STATE_NAMES.deleteObjects, 'delete-objects', node, '$.objects'),
      deregister: task('Deregister', STATE_NAMES.deregister, 'deregister', node, '$.deregister'),
      restoreSourceDestCheck: task('RestoreSourceDestCheck', STATE_NAMES.restoreSourceDestCheck, 'restore-source-dest-check', node, '$.sourceDestCheck'),
      terminate: task('Terminate', STATE_NAMES.terminate, 'terminate', node, '$.terminate'),
    };
    // A failing node ends in its own Pass state: the Map (and every other node) carries on.
    for (const step of Object.values(nodeTasks)) step.addCatch(nodeFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    // Drain and uninstall are asynchronous (evictions, an SSM command): start, then Wait and check in a loop.
    // The waits cost nothing while they last (no Lambda runs), and each check is a short invocation.
    const drained = new sfn.Choice(this, 'Drained', { stateName: STATE_NAMES.drained });
    const uninstalled = new sfn.Choice(this, 'Uninstalled', { stateName: STATE_NAMES.uninstalled });
    nodeTasks.drain.next(drained);
    drained.when(done('$.drain.done'), nodeTasks.uninstall).otherwise(poll('WaitForDrain', STATE_NAMES.waitForDrain).next(nodeTasks.checkDrain));
    nodeTasks.checkDrain.next(drained);
    nodeTasks.uninstall.next(uninstalled);
    uninstalled
      .when(done('$.uninstall.done'), nodeTasks.deleteObjects)
      .otherwise(poll('WaitForUninstall', STATE_NAMES.waitForUninstall).next(nodeTasks.checkUninstall));
    nodeTasks.checkUninstall.next(uninstalled);
    nodeTasks.deleteObjects.next(nodeTasks.deregister).next(nodeTasks.restoreSourceDestCheck).next(nodeTasks.terminate).next(nodeDone);

    // ---- top level -----------------------------------------------------------------------------------
    const snapshot = task('Snapshot', STATE_NAMES.snapshot, 'snapshot', { input: '$' }, 'replace');
    const pause = task('Pause', STATE_NAMES.pause, 'pause', { request: '$.request', nodes: '$.nodes' }, '$.pause');
    const map = new sfn.Map(this, 'Nodes', {
      stateName: STATE_NAMES.map,
      itemsPath: '$.nodes',
      itemSelector: { request: at('$.request'), node: at('$$.Map.Item.Value') },
      maxConcurrencyPath: '$.request.concurrency',
      resultPath: '$.nodeResults',
    });
    map.itemProcessor(nodeTasks.drain);
    const routes = task('Routes', STATE_NAMES.routes, 'routes', { request: '$.request', nodes: '$.nodes', nodeResults: '$.nodeResults' }, '$.routes');
    const activations = task('Activations', STATE_NAMES.activations, 'activations', { request: '$.request' }, '$.activations');
    // The whole state: which slots exist depends on where the run came from (a failed pause skips the nodes).
    const resume = task('Resume', STATE_NAMES.resume, 'resume', { state: '$' }, '$.resume');
    const verify = task('Verify', STATE_NAMES.verify, 'verify', { state: '$' }, 'replace');
    const complete = new sfn.Choice(this, 'Complete', { stateName: STATE_NAMES.complete })
      .when(done('$.complete'), new sfn.Succeed(this, 'Succeeded', { stateName: STATE_NAMES.succeeded }))
      .otherwise(new sfn.Fail(this, 'Incomplete', { stateName: STATE_NAMES.incomplete, error: INCOMPLETE_ERROR, causePath: '$.message' }));

    // Whatever fails after the snapshot, the execution still resumes auto-healing and verifies: each step's
    // error is recorded where its result would have been, and the summary reports it.
    const recordError = (resultPath: string) => ({ errors: [sfn.Errors.ALL], resultPath });
    pause.addCatch(resume, recordError('$.pause'));
    map.addCatch(routes, recordError('$.nodeResults'));
    routes.addCatch(activations, recordError('$.routes'));
    activations.addCatch(resume, recordError('$.activations'));
    resume.addCatch(verify, recordError('$.resume'));

    return snapshot.next(pause).next(map).next(routes).next(activations).next(resume).next(verify).next(complete);
  }

  /** Exactly what the steps call; each statement says why it is scoped the way it is. */
  private grantTaskPermissions(config: StackConfig, rules: Record<RuleRole, events.Rule>): void {
    const stack = Stack.of(this);
    const vpcArn = stack.formatArn({ service: 'ec2', resource: 'vpc', resourceName: config.remoteVpcId });
    const inRemoteVpc = { 'ec2:Vpc': vpcArn };
    const networkInterfaces = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
    const clusterArn = stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: config.clusterName });
    const add = (statement: iam.PolicyStatementProps) => this.role.addToPolicy(new iam.PolicyStatement(statement));

    // Reads. EC2 Describe* support no resource-level permissions.
    add({
      sid: 'ReadNetworkAndInstances',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeRouteTables', 'ec2:DescribeInstances'],
      resources: ['*'],
    });
    // Route removal (the routes of the torn-down nodes): delete only, on the managed tables in the remote VPC,
    // scoped exactly like the reconciler's route statement. No CreateRoute/ReplaceRoute: teardown never adds.
    add({
      sid: 'DeleteRoutesInManagedTables',
      actions: ['ec2:DeleteRoute'],
      ...(config.routeTables.kind === 'ids'
        ? {
            resources: config.routeTables.routeTableIds.map((id) => stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: id })),
            conditions: { StringEquals: inRemoteVpc },
          }
        : {
            resources: [stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: '*' })],
            conditions: { StringEquals: { [`aws:ResourceTag/${config.routeTables.key}`]: config.routeTables.value, ...inRemoteVpc } },
          }),
    });
    // Source/dest check back on: ENIs in the remote VPC only.
    add({ sid: 'RestoreSourceDestCheckInRemoteVpc', actions: ['ec2:ModifyNetworkInterfaceAttribute'], resources: [networkInterfaces], conditions: { StringEquals: inRemoteVpc } });
    // Pausing a node = tagging its ENIs with the pause key (the reconciler leaves tagged nodes alone): that one
    // key only (and it must be in the request), on ENIs in the remote VPC.
    add({
      sid: 'TagPausedNodeInterfaces',
      actions: ['ec2:CreateTags'],
      resources: [networkInterfaces],
      conditions: {
        StringEquals: inRemoteVpc,
        'ForAllValues:StringEquals': { 'aws:TagKeys': [PAUSE_TAG_KEY] },
        Null: { [`aws:RequestTag/${PAUSE_TAG_KEY}`]: 'false' },
      },
    });
    // Resuming = removing that key. The Service Authorization Reference lists no ec2:Vpc for DeleteTags (only
    // tag keys), so a VPC condition would deny every call; the key is limited instead, and the Null check
    // stops a DeleteTags without tag keys (which would remove every tag of the ENI) from passing ForAllValues.
    add({
      sid: 'UntagPausedNodeInterfaces',
      actions: ['ec2:DeleteTags'],
      resources: [networkInterfaces],
      conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [PAUSE_TAG_KEY] }, Null: { 'aws:TagKeys': 'false' } },
    });
    // Terminating a node's EC2 instance. The instance resource type has no ec2:Vpc (or subnet) condition key,
    // and nothing the stack knows at deploy time identifies the node instances (tags, profile): the ARN limits
    // it to this account and Region. The workflow terminates only the instance its snapshot step found attached
    // to the node's ENI in the remote VPC, only when the execution input asks for termination, and only when
    // the instance was shown to be the node's (its agent online there, or its id in the input: instanceProof);
    // the task acts on the node in its payload, checked in every step (handlers/teardown.ts), and reads EC2 again
    // right before terminating: the instance must still be on the node's ENI, paused for the node; in this stack only
    // the state machine's role may invoke it, and invoke permission on it amounts to running teardown steps.
    add({ sid: 'TerminateNodeInstances', actions: ['ec2:TerminateInstances'], resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })] });

    // SSM reads: no resource-level permissions.
    add({
      sid: 'ReadManagedInstancesActivationsAndCommands',
      // ListCommands: the uninstall step's retry follows the command an earlier attempt sent (no idempotency token).
      actions: ['ssm:DescribeInstanceInformation', 'ssm:DescribeActivations', 'ssm:GetCommandInvocation', 'ssm:ListCommands'],
      resources: ['*'],
    });
    // `nodeadm uninstall` through Run Command: the AWS-owned shell document only ...
    add({
      sid: 'RunUninstallDocument',
      actions: ['ssm:SendCommand'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'document', resourceName: UNINSTALL_DOCUMENT, account: '' })],
    });
    // ... on, and deregistration of, this cluster's managed instances only: SSM copies an activation's tags onto
    // the instances that register with it, and the cluster's activations carry EKSClusterARN=<cluster ARN>.
    add({
      sid: 'ActOnClusterManagedInstances',
      actions: ['ssm:SendCommand', 'ssm:DeregisterManagedInstance'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' })],
      conditions: { StringEquals: { [`ssm:resourceTag/${ACTIVATION_CLUSTER_TAG_KEY}`]: clusterArn } },
    });
    // DeleteActivation has no resource type (nor a tag condition key): the handler deletes only the activations
    // DescribeActivations shows tagged EKSClusterARN=<this cluster>, and only when the input asks for it.
    add({ sid: 'DeleteClusterActivations', actions: ['ssm:DeleteActivation'], resources: ['*'] });

    add({ sid: 'DescribeTheCluster', actions: ['eks:DescribeCluster'], resources: [clusterArn] });
    // Pause/resume the reconciler's triggers: its three rules, nothing else.
    add({
      sid: 'PauseReconcilerRules',
      actions: ['events:DescribeRule', 'events:DisableRule', 'events:EnableRule'],
      resources: Object.values(rules).map((rule) => rule.ruleArn),
    });
  }

  private createAlarms(config: StackConfig, topics: sns.ITopic[]): Record<string, cloudwatch.Alarm> {
    const fiveMinutes = Duration.minutes(5);
    const common = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      evaluationPeriods: 1,
    };
    const who = `eks-hybrid-routes (${config.clusterName})`;
    const alarms: Record<string, cloudwatch.Alarm> = {
      failed: new cloudwatch.Alarm(this, 'ExecutionsFailedAlarm', {
        ...common,
        alarmDescription: `${who}: a teardown execution failed (bad input, or something was left behind: ${INCOMPLETE_ERROR}). Its last state's output is the summary; see the execution in the console and the teardown function's log group.`,
        metric: this.stateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      }),
      timedOut: new cloudwatch.Alarm(this, 'ExecutionsTimedOutAlarm', {
        ...common,
        alarmDescription: `${who}: a teardown execution ran into its ${TEARDOWN_EXECUTION_TIMEOUT.toHours()}-hour limit and stopped wherever it was; auto-healing may still be paused. Run the teardown again (it is idempotent) or resume by hand.`,
        metric: this.stateMachine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
      }),
    };
    notifyTopics(Object.values(alarms), topics);
    return alarms;
  }

  private addNagSuppressions(config: StackConfig): void {
    const accountArn = (resource: string) => `Resource::arn:<AWS::Partition>:${resource}`;
    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'No resource-level permissions exist for ec2:Describe*, ssm:DescribeInstanceInformation, ssm:DescribeActivations, ssm:GetCommandInvocation, ssm:ListCommands (reads) and ssm:DeleteActivation (the handler deletes only activations tagged with this cluster ARN).',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Node ENIs are not known at deploy time: network-interface/* is limited by ec2:Vpc (source/dest check, tagging) and to the one pause tag key (tagging, untagging).',
          appliesTo: [accountArn('ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*')],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Node instances are not known at deploy time and the instance resource type has no VPC condition key; the handler terminates only the instance behind a node ENI in the remote VPC, on request.',
          appliesTo: [accountArn('ec2:<AWS::Region>:<AWS::AccountId>:instance/*')],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Managed instance ids (mi-) are assigned at registration: managed-instance/* is limited by ssm:resourceTag/EKSClusterARN to the instances registered with this cluster\'s activations.',
          appliesTo: [accountArn('ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*')],
        },
        ...(config.routeTables.kind === 'tag'
          ? [
              {
                id: 'AwsSolutions-IAM5',
                reason: `Route tables are found by tag at run time: route-table/* (DeleteRoute only) is limited by the aws:ResourceTag/${config.routeTables.key} and ec2:Vpc conditions.`,
                appliesTo: [accountArn('ec2:<AWS::Region>:<AWS::AccountId>:route-table/*')],
              },
            ]
          : []),
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(
      this.stateMachine.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'CloudWatch Logs log delivery (logs:*LogDelivery*, DescribeLogGroups, resource policies) and X-Ray trace segments support no resource-level permissions; the CDK grants exactly those.',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'The CDK grants lambda:InvokeFunction on the task function and its versions (<arn>:*); the state machine invokes only that one function.',
          appliesTo: [`Resource::<${TEARDOWN_FUNCTION_LOGICAL_ID}.Arn>:*`],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: 'AwsSolutions-L1',
        reason: 'Pinned to Node 22 like the reconciler: the major the test suite runs on (the node devDependency); it moves with the tests, not with Lambda.',
      },
    ]);
  }
}
