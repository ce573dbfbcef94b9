/**
 * The synthesized template, resource by resource: triggers, queue, function, alarms, IAM, cluster access.
 * Built from cdk.json's example context without bundling (see support.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../../functions/core/config.js';
import { METRICS_NAMESPACE as HANDLER_NAMESPACE, SERVICE_NAME as HANDLER_SERVICE } from '../../functions/shared/powertools.js';
import { FUNCTION_LOGICAL_ID, FUNCTION_TIMEOUT, METRICS_NAMESPACE, SERVICE_NAME, UNFINISHED_RUNS_ALARM_MINUTES, unfinishedRunsAlarmWindow } from '../../infra/constructs/route-sync.js';
import { TEARDOWN_FUNCTION_LOGICAL_ID } from '../../infra/constructs/teardown.js';
import { ContextError, parseStackContext } from '../../infra/context.js';
import { ROOT, asArray, buildStack, exampleContext, flatten, identityStatements } from './support.js';

const ACCOUNT_ARN = (service: string, resource: string) => `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;
const REMOTE_VPC_ARN = ACCOUNT_ARN('ec2', 'vpc/vpc-0a1b2c3d4e5f60718');

// One synthesis per configuration, shared by the tests that read it.
const tagged = buildStack();
const template = Template.fromStack(tagged.stack);
const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

const byIds = buildStack({
  routeTableTag: undefined,
  routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
  alarmEmail: 'network-oncall@example.com',
  readerRoleName: 'eks-hybrid-routes-reader',
});
const idsTemplate = Template.fromStack(byIds.stack);

/** The reconciler's role policy (RouteSyncRoleDefaultPolicy…); the teardown's is tested in teardown.test.ts. */
const RECONCILER_POLICY = /^RouteSyncRole/;

function reconcilerStatements(templateJson: unknown) {
  return identityStatements(templateJson as Parameters<typeof identityStatements>[0]).filter(({ resource }) => RECONCILER_POLICY.test(resource));
}

function statementWith(templateJson: unknown, action: string) {
  const matches = reconcilerStatements(templateJson).filter(({ statement }) => asArray(statement.Action).includes(action));
  expect(matches).toHaveLength(1);
  return matches[0]!.statement;
}

function resourcesOfType(templateJson: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }, type: string) {
  return Object.entries(templateJson.Resources).filter(([, resource]) => resource.Type === type);
}

describe('triggers', () => {
  test('EC2 state changes that can add or remove a node ENI, exactly', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['running', 'stopping', 'stopped', 'shutting-down', 'terminated'] },
      },
      State: 'ENABLED',
    });
  });

  test('SSM managed instance registration and deregistration, exactly', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ssm'], 'detail-type': ['SSM Managed Instance Registration', 'SSM Managed Instance Deregistration'] },
    });
  });

  test('the anti-entropy schedule follows scheduleMinutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    const every15 = Template.fromStack(buildStack({ scheduleMinutes: '15' }).stack);
    every15.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  });

  test('exactly three rules, each delivering to the FIFO queue in the one message group', () => {
    const rules = resourcesOfType(json, 'AWS::Events::Rule');
    expect(rules).toHaveLength(3);
    const queueId = resourcesOfType(json, 'AWS::SQS::Queue').find(([, queue]) => queue.Properties.RedrivePolicy)![0];
    for (const [, rule] of rules) {
      expect(rule.Properties.Targets).toEqual([{ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] }, Id: 'Target0', SqsParameters: { MessageGroupId: 'reconcile' } }]);
      expect(String(rule.Properties.Description).length).toBeGreaterThan(20);
    }
  });

  test('EventBridge may send to the queue only from these rules', () => {
    const [, policy] = resourcesOfType(json, 'AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p).includes('events.amazonaws.com'))!;
    const sends = (flatten(policy.Properties.PolicyDocument) as { Statement: { Principal?: { Service?: string }; Condition?: unknown; Action: unknown }[] }).Statement.filter(
      (statement) => statement.Principal?.Service === 'events.amazonaws.com',
    );
    expect(sends).toHaveLength(3);
    for (const statement of sends) {
      expect(statement.Action).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
      expect(statement.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': expect.stringMatching(/^\$\{RouteSync\w+Rule\w+\.Arn\}$/) } });
    }
  });
});

describe('queue: one writer, bursts coalesced, failures dead-lettered', () => {
  test('FIFO trigger queue: content-based deduplication, visibility of the function timeout + 2 min, SQS-managed encryption, redrive after 3 receives', () => {
    const dlq = resourcesOfType(json, 'AWS::SQS::Queue').find(([, queue]) => !queue.Properties.RedrivePolicy)![0];
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: 300 + 120,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 3 },
    });
  });

  test('the dead-letter queue is FIFO too, encrypted, keeps messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600, RedrivePolicy: Match.absent() });
    expect(resourcesOfType(json, 'AWS::SQS::Queue')).toHaveLength(2);
  });

  test('both queues refuse requests without TLS', () => {
    const denials = resourcesOfType(json, 'AWS::SQS::QueuePolicy').map(([, policy]) =>
      (policy.Properties.PolicyDocument as { Statement: { Effect: string; Condition?: unknown }[] }).Statement.find((statement) => statement.Effect === 'Deny'),
    );
    expect(denials).toHaveLength(2);
    for (const denial of denials) expect(denial).toMatchObject({ Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } });
  });

  test('the function consumes it in batches of 10, the whole batch being one run', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionName: { Ref: FUNCTION_LOGICAL_ID },
      FunctionResponseTypes: Match.absent(),
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });
});

describe('the reconcile function', () => {
  test('Node 22 on arm64, 512 MB, a timeout longer than the follow-up window, reserved concurrency 1, fixed logical id', () => {
    // The reconciler and the teardown task: two functions, each with a fixed logical id.
    expect(resourcesOfType(json, 'AWS::Lambda::Function').map(([id]) => id).sort()).toEqual([FUNCTION_LOGICAL_ID, TEARDOWN_FUNCTION_LOGICAL_ID].sort());
    expect(json.Resources[FUNCTION_LOGICAL_ID]?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      ReservedConcurrentExecutions: 1,
    });
    expect(300).toBeGreaterThan(tagged.config.pendingWindowSeconds + 30);
  });

  test('writes to its own log group, kept one month', () => {
    const { LogGroup } = json.Resources[FUNCTION_LOGICAL_ID]!.Properties.LoggingConfig as { LogGroup: { Ref: string } };
    const logGroupId = LogGroup.Ref;
    expect(logGroupId).toMatch(/^RouteSyncLogGroup/);
    expect(json.Resources[logGroupId]).toEqual({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 }, UpdateReplacePolicy: 'Retain', DeletionPolicy: 'Retain' });
    const logs = statementWith(json, 'logs:PutLogEvents');
    expect(logs.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(logs.Resource).toBe(`\${${logGroupId}.Arn}`);
  });

  test('environment: the controller variables, the follow-up window and Powertools names', () => {
    const env = (json.Resources[FUNCTION_LOGICAL_ID]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(flatten(env)).toEqual({
      CLUSTER_NAME: 'ekscluster1',
      REMOTE_VPC_ID: 'vpc-0a1b2c3d4e5f60718',
      ROUTE_TABLE_TAG: 'eks-hybrid-routes/managed=true',
      READER_ROLE_ARN: expect.stringMatching(/^\$\{ClusterAccessReaderRole\w+\.Arn\}$/),
      MAX_DELETE_FRACTION: '0.5',
      PENDING_FOLLOW_UP_SECONDS: '180',
      POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes',
      POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes',
      // No NODE_OPTIONS: stack traces carry real names, not runtime source maps (functionEsbuildOptions in infra/bundling.ts).
    });
    const idsEnv = (idsTemplate.toJSON().Resources[FUNCTION_LOGICAL_ID].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(idsEnv.ROUTE_TABLE_IDS).toBe('rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2');
    expect(idsEnv.ROUTE_TABLE_TAG).toBeUndefined();
  });

  test('the environment is one the controller accepts, with the same meaning', () => {
    const env = flatten((json.Resources[FUNCTION_LOGICAL_ID]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables) as Record<string, string>;
    const resolved = { ...env, READER_ROLE_ARN: 'arn:aws:iam::123456789012:role/eks-hybrid-routes-reader', AWS_REGION: 'us-west-2' };
    const config = parseControllerConfig(rawConfigFromEnv(resolved), ENV_LABELS);
    expect(config).toMatchObject({
      clusterName: 'ekscluster1',
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      routeTables: { kind: 'tag', key: 'eks-hybrid-routes/managed', value: 'true' },
      guards: { maxDeleteFraction: 0.5, allowEmpty: false, force: false },
    });
    // Never deployed: a forced or allow-empty controller would bypass the safety guards on every run.
    expect(env[ENV_LABELS.force]).toBeUndefined();
    expect(env[ENV_LABELS.allowEmpty]).toBeUndefined();
  });

  test('the metric names the alarms use are the ones the handler emits', () => {
    expect(METRICS_NAMESPACE).toBe(HANDLER_NAMESPACE);
    expect(SERVICE_NAME).toBe(HANDLER_SERVICE);
  });
});

describe('alarms', () => {
  const alarm = (metricName: string, properties: Record<string, unknown>) =>
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('^eks-hybrid-routes \\(ekscluster1\\): .{40,}'),
      ...properties,
    });
  const custom = [{ Name: 'service', Value: 'eks-hybrid-routes' }];

  test('function errors', () => alarm('Errors', { Namespace: 'AWS/Lambda', Statistic: 'Sum', Period: 300, EvaluationPeriods: 1, Dimensions: [{ Name: 'FunctionName', Value: { Ref: FUNCTION_LOGICAL_ID } }] }));
  test('function throttles', () => alarm('Throttles', { Namespace: 'AWS/Lambda', Statistic: 'Sum', Period: 300, EvaluationPeriods: 1 }));
  test('dead-letter queue depth', () =>
    alarm('ApproximateNumberOfMessagesVisible', {
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'QueueName'] } }],
    }));
  test('invalid events (dropped batches reach neither Errors nor the dead-letter queue)', () =>
    alarm('InvalidEvents', { Namespace: 'EksHybridRoutes', Dimensions: custom, Statistic: 'Sum', Period: 300, EvaluationPeriods: 1 }));
  test('vetoed deletions', () => alarm('VetoedDeletions', { Namespace: 'EksHybridRoutes', Dimensions: custom, Statistic: 'Sum', Period: 300 }));
  test('failed EC2 mutations (throttling, quota, permissions)', () => alarm('FailedMutations', { Namespace: 'EksHybridRoutes', Dimensions: custom, Statistic: 'Sum' }));

  test('nodes pending longer than the window: enough consecutive schedule periods', () => {
    // 180 s window, 5-minute periods: ceil(180/300) + 2 = 3 periods, i.e. pending for at least one whole period.
    alarm('PendingNodes', { Namespace: 'EksHybridRoutes', Dimensions: custom, Statistic: 'Maximum', Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    const short = Template.fromStack(buildStack({ scheduleMinutes: 1, pendingWindowSeconds: 240 }).stack);
    short.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PendingNodes', Period: 60, EvaluationPeriods: 6, DatapointsToAlarm: 6 });
  });

  test('runs that stay unfinished for about an hour: the minimum over quarter-hours, four in a row', () => {
    alarm('MutationsNotStarted', { Namespace: 'EksHybridRoutes', Dimensions: custom, Statistic: 'Minimum', Period: 900, EvaluationPeriods: 4, DatapointsToAlarm: 4 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MutationsNotStarted',
      AlarmDescription: Match.stringLikeRegexp('every reconcile run in 4 consecutive 15-minute periods reached its deadline'),
    });
    // An hourly schedule: periods of three intervals, and never a single period.
    const hourly = Template.fromStack(buildStack({ scheduleMinutes: 60 }).stack);
    hourly.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MutationsNotStarted', Period: 10_800, EvaluationPeriods: 2, DatapointsToAlarm: 2 });
  });

  test.each(Array.from({ length: 60 }, (_, index) => index + 1))('unfinished-runs window for a %i-minute schedule', (scheduleMinutes) => {
    const { periodMinutes, evaluationPeriods } = unfinishedRunsAlarmWindow(scheduleMinutes);
    // Every period holds data points of several runs: at least three schedule intervals and three timeouts.
    expect(periodMinutes).toBeGreaterThanOrEqual(3 * scheduleMinutes);
    expect(periodMinutes).toBeGreaterThanOrEqual(3 * FUNCTION_TIMEOUT.toMinutes());
    // Two periods at least, and together at least the alarm's hour.
    expect(evaluationPeriods).toBeGreaterThanOrEqual(2);
    expect(periodMinutes * evaluationPeriods).toBeGreaterThanOrEqual(UNFINISHED_RUNS_ALARM_MINUTES);
    // CloudWatch's limits: whole minutes, and an evaluation range of at most a day below hour-long periods, a week above.
    expect(Number.isInteger(periodMinutes)).toBe(true);
    expect(periodMinutes * evaluationPeriods).toBeLessThanOrEqual(periodMinutes < 60 ? 24 * 60 : 7 * 24 * 60);
  });

  test('eight reconciler alarms (and two teardown alarms), no actions unless a topic is configured', () => {
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');
    expect(alarms.filter(([id]) => id.startsWith('RouteSync'))).toHaveLength(8);
    expect(alarms.filter(([id]) => id.startsWith('Teardown'))).toHaveLength(2);
    expect(alarms).toHaveLength(10);
    for (const [, a] of alarms) expect(a.Properties.AlarmActions).toBeUndefined();
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  test('alarmEmail: a topic (TLS only) with an e-mail subscription, notified on alarm and on recovery', () => {
    idsTemplate.resourceCountIs('AWS::SNS::Topic', 1);
    idsTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'network-oncall@example.com' });
    idsTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const topicId = Object.keys(idsTemplate.findResources('AWS::SNS::Topic'))[0]!;
    // Every alarm of the stack, the teardown's included.
    const alarms = Object.values(idsTemplate.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(10);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  test('alarmTopicArn: an existing topic, nothing created', () => {
    const arn = 'arn:aws:sns:us-west-2:123456789012:platform-alarms';
    const existing = Template.fromStack(buildStack({ alarmTopicArn: arn }).stack);
    existing.resourceCountIs('AWS::SNS::Topic', 0);
    for (const a of Object.values(existing.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toEqual([arn]);
  });
});

/**
 * Mutating actions the Service Authorization Reference gives no resource type (so "*" is the only Resource
 * IAM accepts). Only the teardown's ssm:DeleteActivation; the handler deletes only this cluster's activations.
 */
const NO_RESOURCE_TYPE = ['ssm:DeleteActivation'];

describe('IAM: least privilege for the reconciler', () => {
  test('route mutations only on the tagged route tables of the remote VPC', () => {
    expect(statementWith(json, 'ec2:CreateRoute')).toEqual({
      Sid: 'MutateManagedRouteTables',
      Effect: 'Allow',
      Action: ['ec2:CreateRoute', 'ec2:DeleteRoute', 'ec2:ReplaceRoute'],
      Resource: ACCOUNT_ARN('ec2', 'route-table/*'),
      Condition: { StringEquals: { 'aws:ResourceTag/eks-hybrid-routes/managed': 'true', 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
  });

  test('with routeTableIds: route mutations only on those tables', () => {
    expect(statementWith(idsTemplate.toJSON(), 'ec2:ReplaceRoute')).toEqual({
      Sid: 'MutateManagedRouteTables',
      Effect: 'Allow',
      Action: ['ec2:CreateRoute', 'ec2:DeleteRoute', 'ec2:ReplaceRoute'],
      Resource: [ACCOUNT_ARN('ec2', 'route-table/rtb-0aaaaaaaaaaaaaaa1'), ACCOUNT_ARN('ec2', 'route-table/rtb-0bbbbbbbbbbbbbbb2')],
      Condition: { StringEquals: { 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
  });

  test('source/dest check only on ENIs in the remote VPC', () => {
    expect(statementWith(json, 'ec2:ModifyNetworkInterfaceAttribute')).toEqual({
      Sid: 'DisableSourceDestCheckInRemoteVpc',
      Effect: 'Allow',
      Action: 'ec2:ModifyNetworkInterfaceAttribute',
      Resource: ACCOUNT_ARN('ec2', 'network-interface/*'),
      Condition: { StringEquals: { 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
  });

  test('reads without resource-level permissions: exactly these three, on *', () => {
    const reads = statementWith(json, 'ec2:DescribeRouteTables');
    expect(reads).toEqual({
      Sid: 'ReadNetworkAndManagedInstances',
      Effect: 'Allow',
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeRouteTables', 'ssm:DescribeInstanceInformation'],
      Resource: '*',
    });
  });

  test('eks:DescribeCluster on the one cluster', () => {
    expect(statementWith(json, 'eks:DescribeCluster')).toEqual({
      Sid: 'DescribeTheCluster',
      Effect: 'Allow',
      Action: 'eks:DescribeCluster',
      Resource: ACCOUNT_ARN('eks', 'cluster/ekscluster1'),
    });
  });

  test('sts:AssumeRole only on the reader role', () => {
    const assume = statementWith(json, 'sts:AssumeRole');
    expect(assume).toEqual({ Sid: 'AssumeKubernetesReaderRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: expect.stringMatching(/^\$\{ClusterAccessReaderRole\w+\.Arn\}$/) });
  });

  test('the queue: consume only, on the trigger queue', () => {
    const consume = statementWith(json, 'sqs:ReceiveMessage');
    expect(consume.Resource).toMatch(/^\$\{RouteSyncTriggerQueue\w+\.Arn\}$/);
    expect(asArray(consume.Action).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']);
  });

  test('nothing else: no managed policies, every statement is one of the above', () => {
    for (const [, role] of resourcesOfType(json, 'AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    // The reconciler's role has exactly one policy, and these are its statements.
    expect(resourcesOfType(json, 'AWS::IAM::Policy').filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes('"RouteSyncRole'))).toHaveLength(1);
    const sids = reconcilerStatements(json).map(({ statement }) => statement.Sid ?? asArray(statement.Action)[0]);
    expect(sids.sort()).toEqual(
      ['AssumeKubernetesReaderRole', 'DescribeTheCluster', 'DisableSourceDestCheckInRemoteVpc', 'MutateManagedRouteTables', 'ReadNetworkAndManagedInstances', 'logs:CreateLogStream', 'sqs:ChangeMessageVisibility'].sort(),
    );
  });

  test.each([
    ['tag-selected tables', json],
    ['explicit tables, alarm topic, named reader role', idsTemplate.toJSON()],
    ['static routes on', Template.fromStack(buildStack({ remotePodNetworks: '10.30.0.0/16', eksRouteTableIds: 'rtb-0ccccccccccccccc3', transitGatewayId: 'tgw-0ddddddddddddddd4', tgwRouteTableId: 'tgw-rtb-0eeeeeeeeeeeeeee5', remoteVpcAttachmentId: 'tgw-attach-0fffffffffffffff6' }).stack).toJSON()],
  ])('no mutating EC2/EKS/SSM/STS action has Resource "*", and no action is a wildcard (%s)', (_name, templateJson) => {
    const statements = identityStatements(templateJson as Parameters<typeof identityStatements>[0]);
    expect(statements.length).toBeGreaterThan(5);
    for (const { resource, statement } of statements) {
      for (const action of asArray(statement.Action)) {
        expect(`${resource}: ${action}`).not.toMatch(/\*/);
        const [service, name = ''] = action.split(':');
        const readOnly = /^(Describe|List|Get)/.test(name);
        if (['ec2', 'eks', 'ssm', 'sts'].includes(service!) && !readOnly && !NO_RESOURCE_TYPE.includes(action)) {
          expect({ resource, action, Resource: statement.Resource }).not.toMatchObject({ Resource: '*' });
          expect(asArray(statement.Resource)).not.toContain('*');
        }
      }
    }
  });
});

describe('cluster access', () => {
  test('the reader role is trusted by the reconciler role only and has no permissions of its own', () => {
    const [readerId, reader] = resourcesOfType(json, 'AWS::IAM::Role').find(([id]) => id.startsWith('ClusterAccessReaderRole'))!;
    expect(flatten(reader.Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: expect.stringMatching(/^\$\{RouteSyncRole\w+\.Arn\}$/) } }],
    });
    expect(reader.Properties.Policies).toBeUndefined();
    expect(reader.Properties.MaxSessionDuration).toBe(3600);
    for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) expect(policy.Properties.Roles).not.toContainEqual({ Ref: readerId });
  });

  test('an EKS access entry: STANDARD, the reader role, the readers group, no access policy', () => {
    // Two entries: this one and the teardown role's (teardown.test.ts).
    template.resourceCountIs('AWS::EKS::AccessEntry', 2);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'ekscluster1',
      Type: 'STANDARD',
      KubernetesGroups: ['eks-hybrid-routes-readers'],
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClusterAccessReaderRole'), 'Arn'] },
      AccessPolicies: Match.absent(),
    });
  });

  test('readerRoleName names the created role', () => {
    idsTemplate.hasResourceProperties('AWS::IAM::Role', { RoleName: 'eks-hybrid-routes-reader' });
  });

  test('readerRoleArn: an existing role, nothing created, the entry and AssumeRole point at it', () => {
    const arn = 'arn:aws:iam::123456789012:role/platform/eks-hybrid-routes-reader';
    const imported = Template.fromStack(buildStack({ readerRoleArn: arn }).stack);
    expect(Object.keys(imported.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('ClusterAccessReaderRole'))).toEqual([]);
    expect(Object.keys(imported.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('ClusterAccess'))).toEqual([expect.stringMatching(/^ClusterAccessTeardownRole/)]);
    imported.hasResourceProperties('AWS::EKS::AccessEntry', { PrincipalArn: arn });
    expect(statementWith(imported.toJSON(), 'sts:AssumeRole').Resource).toBe(arn);
    imported.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ READER_ROLE_ARN: arn }) } });
  });

  test('createAccessEntry=false leaves the access entry out', () => {
    Template.fromStack(buildStack({ createAccessEntry: 'false' }).stack).resourceCountIs('AWS::EKS::AccessEntry', 0);
  });
});

test('stackName names the CloudFormation stack (one per cluster); the template file keeps its name for SAM', () => {
  const { stack } = buildStack({ stackName: 'eks-hybrid-routes-ekscluster2' });
  expect(stack.stackName).toBe('eks-hybrid-routes-ekscluster2');
  expect(stack.templateFile).toBe('EksHybridRoutesStack.template.json');
  expect(tagged.stack.stackName).toBe('EksHybridRoutesStack');
});

describe('static aggregate routes (optional)', () => {
  test('off by default', () => {
    template.resourceCountIs('AWS::EC2::Route', 0);
    template.resourceCountIs('AWS::EC2::TransitGatewayRoute', 0);
  });

  test('when their ids are given: EKS VPC tables → TGW, TGW table → remote VPC attachment, per remote pod network', () => {
    const on = Template.fromStack(
      buildStack({
        remotePodNetworks: ['10.30.0.0/16', 'fd00:30::/56'],
        eksRouteTableIds: 'rtb-0ccccccccccccccc3,rtb-0ccccccccccccccc4',
        transitGatewayId: 'tgw-0ddddddddddddddd4',
        tgwRouteTableId: 'tgw-rtb-0eeeeeeeeeeeeeee5',
        remoteVpcAttachmentId: 'tgw-attach-0fffffffffffffff6',
      }).stack,
    );
    on.resourceCountIs('AWS::EC2::Route', 4);
    on.hasResourceProperties('AWS::EC2::Route', { RouteTableId: 'rtb-0ccccccccccccccc3', DestinationCidrBlock: '10.30.0.0/16', TransitGatewayId: 'tgw-0ddddddddddddddd4' });
    on.hasResourceProperties('AWS::EC2::Route', { RouteTableId: 'rtb-0ccccccccccccccc4', DestinationIpv6CidrBlock: 'fd00:30::/56', TransitGatewayId: 'tgw-0ddddddddddddddd4' });
    on.resourceCountIs('AWS::EC2::TransitGatewayRoute', 2);
    on.hasResourceProperties('AWS::EC2::TransitGatewayRoute', {
      TransitGatewayRouteTableId: 'tgw-rtb-0eeeeeeeeeeeeeee5',
      TransitGatewayAttachmentId: 'tgw-attach-0fffffffffffffff6',
      DestinationCidrBlock: '10.30.0.0/16',
    });
  });
});

describe('context validation names the key and the value', () => {
  const invalid = (overrides: Record<string, unknown>) => {
    try {
      parseStackContext(exampleContext(overrides));
    } catch (error) {
      expect(error).toBeInstanceOf(ContextError);
      return (error as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(overrides)}`);
  };

  test.each([
    [{ clusterName: 'my cluster' }, 'clusterName', '"my cluster"'],
    [{ clusterName: undefined }, 'clusterName', 'is required'],
    [{ remoteVpcId: 'vpc-xyz' }, 'remoteVpcId', '"vpc-xyz"'],
    [{ stackName: 'eks_hybrid_routes' }, 'stackName', '"eks_hybrid_routes"'],
    [{ routeTableTag: 'managed' }, 'routeTableTag', '"managed"'],
    [{ routeTableTag: 'eks-hybrid-routes/*=true' }, 'routeTableTag', 'wildcards'],
    [{ routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1,subnet-1' }, 'routeTableIds', '"rtb-0aaaaaaaaaaaaaaa1,subnet-1"'],
    [{ routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1' }, 'routeTableIds / routeTableTag', 'exactly one'],
    [{ routeTableTag: undefined }, 'routeTableIds / routeTableTag', 'exactly one'],
    [{ scheduleMinutes: 'often' }, 'scheduleMinutes', '"often"'],
    [{ scheduleMinutes: 0 }, 'scheduleMinutes', 'at least 1'],
    [{ maxDeleteFraction: '1.5' }, 'maxDeleteFraction', '"1.5"'],
    [{ maxDeleteFraction: 2 }, 'maxDeleteFraction', 'from 0 to 1'],
    [{ pendingWindowSeconds: 600 }, 'pendingWindowSeconds', 'at most 240'],
    [{ podNetworks: '10.30.0.0/33' }, 'podNetworks', '"10.30.0.0/33"'],
    [{ alarmEmail: 'oncall' }, 'alarmEmail', '"oncall"'],
    [{ alarmTopicArn: 'platform-alarms' }, 'alarmTopicArn', '"platform-alarms"'],
    [{ readerRoleArn: 'arn:aws:iam::123:role/x' }, 'readerRoleArn', 'IAM role ARN'],
    [{ readerRoleName: 'a', readerRoleArn: 'arn:aws:iam::123456789012:role/x' }, 'readerRoleArn', 'not both'],
    [{ createAccessEntry: 'maybe' }, 'createAccessEntry', '"maybe"'],
    [{ eksRouteTableIds: 'rtb-0ccccccccccccccc3', remotePodNetworks: '10.30.0.0/16' }, 'transitGatewayId', 'need both'],
    [{ transitGatewayId: 'tgw-0ddddddddddddddd4', eksRouteTableIds: 'rtb-0ccccccccccccccc3' }, 'remotePodNetworks', 'remote pod networks'],
    [{ remotePodNetworks: '10.30.0.0/16' }, 'remotePodNetworks', 'only used by the static routes'],
  ])('%j → %s', (overrides, key, detail) => {
    const message = invalid(overrides);
    expect(message).toContain(`  ${key}: `);
    expect(message).toContain(detail);
  });

  test('every bad key is reported at once', () => {
    const message = invalid({ scheduleMinutes: 'x', maxDeleteFraction: 'y' });
    expect(message).toMatch(/scheduleMinutes: .*"x"/);
    expect(message).toMatch(/maxDeleteFraction: .*"y"/);
  });

  test('-c strings and cdk.json values mean the same', () => {
    const fromStrings = parseStackContext(exampleContext({ scheduleMinutes: '10', maxDeleteFraction: '0.25', pendingWindowSeconds: '60', podNetworks: '10.30.0.0/17, 10.30.128.0/17' }));
    const fromJson = parseStackContext(exampleContext({ scheduleMinutes: 10, maxDeleteFraction: 0.25, pendingWindowSeconds: 60, podNetworks: ['10.30.0.0/17', '10.30.128.0/17'] }));
    expect(fromStrings).toEqual(fromJson);
    expect(fromStrings).toMatchObject({ scheduleMinutes: 10, maxDeleteFraction: 0.25, pendingWindowSeconds: 60, podNetworks: ['10.30.0.0/17', '10.30.128.0/17'] });
  });

  test('the app itself refuses a bad value: exit 2 and a message naming the key, no stack trace', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'ehr-bad-context-'));
    try {
      const context = { ...exampleContext(), pendingWindowSeconds: 'soon' };
      const result = spawnSync(process.execPath, [join(fileURLToPath(ROOT), 'node_modules/tsx/dist/cli.mjs'), 'infra/app.ts'], {
        cwd: fileURLToPath(ROOT),
        env: { PATH: process.env.PATH, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('pendingWindowSeconds: must be a whole number from 0 to 240 (got "soon")');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

test('snapshot (asset hashes normalised)', () => {
  const text = JSON.stringify(template.toJSON(), null, 1).replace(/[0-9a-f]{64}/g, '<asset-hash>');
  expect(JSON.parse(text)).toMatchSnapshot();
});
