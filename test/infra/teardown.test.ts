/**
 * The teardown workflow: the state machine (order, payloads, retries, catches), its task Lambda (environment,
 * least-privilege IAM), the Kubernetes teardown identity (role, access entry, RBAC), alarms and outputs. The
 * definition is taken from the synthesized template with infra/teardown-definition.ts, the same helper the
 * local runner uses, validated with asl-validator and executed with aws-local-stepfunctions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { parseAllDocuments } from 'yaml';
import { ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../../functions/core/config.js';
import {
  INCOMPLETE_ERROR,
  PAUSE_TAG_KEY,
  STATE_NAMES,
  TEARDOWN_ENV,
  TEARDOWN_EXECUTION_TIMEOUT_SECONDS,
  TEARDOWN_STEPS,
  TRANSIENT_ERROR,
} from '../../functions/core/teardown-steps.js';
import { FUNCTION_LOGICAL_ID, MAX_RULE_NAME_LENGTH, controllerEnvironment, ruleNames } from '../../infra/constructs/route-sync.js';
import { TEARDOWN_FUNCTION_LOGICAL_ID } from '../../infra/constructs/teardown.js';
import { KUBERNETES_READER_GROUP, KUBERNETES_TEARDOWN_GROUP } from '../../infra/context.js';
import { placeholderFunctionArn, synthesizeTeardownDefinition, teardownDefinitionFromTemplate } from '../../infra/teardown-definition.js';
import { ROOT, asArray, buildStack, flatten, identityStatements } from './support.js';

// asl-validator 4 is CommonJS without type declarations: `module.exports = function validator(definition, opts)`.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type State = Record<string, unknown> & { Type: string; Next?: string; End?: boolean };
type Machine = { StartAt: string; States: Record<string, State>; TimeoutSeconds?: number };

const ACCOUNT_ARN = (service: string, resource: string) => `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;
const REMOTE_VPC_ARN = ACCOUNT_ARN('ec2', 'vpc/vpc-0a1b2c3d4e5f60718');
const CLUSTER_ARN = ACCOUNT_ARN('eks', 'cluster/ekscluster1');
const ENIS = ACCOUNT_ARN('ec2', 'network-interface/*');
const RULE_NAMES = ['EksHybridRoutesStack-ec2-state-change', 'EksHybridRoutesStack-ssm-registration', 'EksHybridRoutesStack-schedule'];

// One synthesis per configuration, shared by the tests that read it.
const tagged = buildStack();
const template = Template.fromStack(tagged.stack);
const json = template.toJSON() as { Resources: Resources; Outputs: Record<string, { Value: unknown }> };

const byIds = buildStack({
  routeTableTag: undefined,
  routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
  minDeleteBudget: 2,
  podNetworks: '10.30.0.0/17',
  nodeNetworks: '10.20.0.0/16',
  applyConcurrency: 8,
  stackName: 'eks-hybrid-routes-ekscluster2',
});
const idsJson = Template.fromStack(byIds.stack).toJSON() as { Resources: Resources };

const resourcesOfType = (resources: Resources, type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const onlyId = (resources: Resources, type: string, prefix = '') => {
  const ids = resourcesOfType(resources, type).map(([id]) => id).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
};
const stateMachineId = onlyId(json.Resources, 'AWS::StepFunctions::StateMachine');

/** The teardown task Lambda's identity statements (its role's one policy), flattened. */
function teardownStatements(resources: Resources) {
  return identityStatements({ Resources: resources }).filter(({ resource }) => /^TeardownRoleDefaultPolicy/.test(resource)).map(({ statement }) => statement);
}
const teardownStatement = (resources: Resources, sid: string) => {
  const matches = teardownStatements(resources).filter((statement) => statement.Sid === sid);
  expect(matches).toHaveLength(1);
  return matches[0]!;
};

const definition = teardownDefinitionFromTemplate(json);
const machine = definition.definition as Machine;
const mapState = machine.States[STATE_NAMES.map]!;
const processor = mapState.ItemProcessor as Machine;

describe('the state machine', () => {
  test('STANDARD, X-Ray tracing, every event logged with execution data to its own log group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TeardownExecutionLogGroup'), 'Arn'] } } }],
      },
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TeardownStateMachineRole'), 'Arn'] },
    });
  });

  test('its log group: /aws/vendedlogs/states/<stack name>-teardown, kept one month like the reconciler log', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'), RetentionInDays: 30 });
    const logGroups = resourcesOfType(json.Resources, 'AWS::Logs::LogGroup').filter(([, group]) => group.Properties.LogGroupName);
    expect(logGroups.map(([, group]) => group.Properties.LogGroupName)).toEqual(['/aws/vendedlogs/states/EksHybridRoutesStack-teardown']);
    const other = resourcesOfType(idsJson.Resources, 'AWS::Logs::LogGroup').map(([, group]) => group.Properties.LogGroupName).filter(Boolean);
    expect(other).toEqual(['/aws/vendedlogs/states/eks-hybrid-routes-ekscluster2-teardown']);
  });

  test('24-hour execution timeout, the limit the snapshot step checks the input against (the backstop: every wait inside is bounded by the input)', () => {
    expect(TEARDOWN_EXECUTION_TIMEOUT_SECONDS).toBe(24 * 3600);
    expect(machine.TimeoutSeconds).toBe(TEARDOWN_EXECUTION_TIMEOUT_SECONDS);
    const timedOut = resourcesOfType(json.Resources, 'AWS::CloudWatch::Alarm').find(([, alarm]) => alarm.Properties.MetricName === 'ExecutionsTimedOut');
    expect(timedOut?.[1].Properties.AlarmDescription).toContain('ran into its 24-hour limit');
  });

  test('alarms: executions failed and executions timed out (AWS/States, this state machine), missing data not breaching', () => {
    for (const metricName of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmDescription: Match.stringLikeRegexp('^eks-hybrid-routes \\(ekscluster1\\): a teardown execution .{40,}'),
      });
    }
  });

  test('its role may invoke the task function only (and write logs and traces, as the CDK grants)', () => {
    const roleId = onlyId(json.Resources, 'AWS::IAM::Role', 'TeardownStateMachineRole');
    const statements = identityStatements({ Resources: json.Resources })
      .filter(({ resource }) => JSON.stringify(json.Resources[resource]?.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .map(({ statement }) => statement);
    const invoke = statements.filter((statement) => asArray(statement.Action).some((action) => action.startsWith('lambda:')));
    expect(invoke).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [`\${${TEARDOWN_FUNCTION_LOGICAL_ID}.Arn}`, `\${${TEARDOWN_FUNCTION_LOGICAL_ID}.Arn}:*`] },
    ]);
    const services = new Set(statements.flatMap((statement) => asArray(statement.Action).map((action) => action.split(':')[0])));
    expect([...services].sort()).toEqual(['lambda', 'logs', 'xray']);
  });
});

describe('the order (walked from StartAt)', () => {
  /** States from `start`, following Next, up to and including the first Choice or end state. */
  function line(states: Record<string, State>, start: string): string[] {
    const seen: string[] = [];
    for (let name: string | undefined = start; name !== undefined; ) {
      const state: State | undefined = states[name];
      expect(state).toBeDefined();
      expect(seen).not.toContain(name);
      seen.push(name);
      name = state!.Type === 'Choice' ? undefined : state!.Next;
    }
    return seen;
  }
  /** A Choice state's branches: the `done` branch (BooleanEquals true on `variable`) and the default. */
  function branches(state: State | undefined, variable: string) {
    expect(state?.Type).toBe('Choice');
    const choices = state!.Choices as { Variable: string; BooleanEquals: boolean; Next: string }[];
    expect(choices).toHaveLength(1);
    expect(choices[0]).toMatchObject({ Variable: variable, BooleanEquals: true });
    return { done: choices[0]!.Next, otherwise: state!.Default as string };
  }
  /** Every state reachable from StartAt through Next, Choices, Default and Catch. */
  function reachable(states: Record<string, State>, start: string): Set<string> {
    const found = new Set<string>();
    const visit = (name: string) => {
      if (found.has(name)) return;
      found.add(name);
      const state = states[name]!;
      const targets = [
        state.Next,
        state.Default as string | undefined,
        ...((state.Choices as { Next: string }[] | undefined) ?? []).map((choice) => choice.Next),
        ...((state.Catch as { Next: string }[] | undefined) ?? []).map((handler) => handler.Next),
      ];
      for (const target of targets) if (target !== undefined) visit(target);
    };
    visit(start);
    return found;
  }

  test('top level: snapshot → pause → map → routes → activations → resume → verify → complete?', () => {
    expect(line(machine.States, machine.StartAt)).toEqual([
      STATE_NAMES.snapshot,
      STATE_NAMES.pause,
      STATE_NAMES.map,
      STATE_NAMES.routes,
      STATE_NAMES.activations,
      STATE_NAMES.resume,
      STATE_NAMES.verify,
      STATE_NAMES.complete,
    ]);
    const { done, otherwise } = branches(machine.States[STATE_NAMES.complete], '$.complete');
    expect(done).toBe(STATE_NAMES.succeeded);
    expect(otherwise).toBe(STATE_NAMES.incomplete);
    expect(machine.States[STATE_NAMES.succeeded]).toEqual({ Type: 'Succeed' });
    expect(machine.States[STATE_NAMES.incomplete]).toEqual({ Type: 'Fail', Error: INCOMPLETE_ERROR, CausePath: '$.message' });
    expect([...reachable(machine.States, machine.StartAt)].sort()).toEqual(Object.keys(machine.States).sort());
  });

  test('per node: drain (wait/check loop) → uninstall (wait/check loop) → delete objects → deregister → restore source/dest check → terminate → done', () => {
    const states = processor.States;
    expect(line(states, processor.StartAt)).toEqual([STATE_NAMES.drain, STATE_NAMES.drained]);
    const drained = branches(states[STATE_NAMES.drained], '$.drain.done');
    expect(line(states, drained.otherwise)).toEqual([STATE_NAMES.waitForDrain, STATE_NAMES.checkDrain, STATE_NAMES.drained]);
    expect(line(states, drained.done)).toEqual([STATE_NAMES.uninstall, STATE_NAMES.uninstalled]);
    const uninstalled = branches(states[STATE_NAMES.uninstalled], '$.uninstall.done');
    expect(line(states, uninstalled.otherwise)).toEqual([STATE_NAMES.waitForUninstall, STATE_NAMES.checkUninstall, STATE_NAMES.uninstalled]);
    expect(line(states, uninstalled.done)).toEqual([
      STATE_NAMES.deleteObjects,
      STATE_NAMES.deregister,
      STATE_NAMES.restoreSourceDestCheck,
      STATE_NAMES.terminate,
      STATE_NAMES.nodeDone,
    ]);
    expect(states[STATE_NAMES.nodeDone]).toMatchObject({ Type: 'Pass', End: true });
    for (const wait of [STATE_NAMES.waitForDrain, STATE_NAMES.waitForUninstall]) {
      expect(states[wait]).toEqual({ Type: 'Wait', SecondsPath: '$.request.timeouts.pollSeconds', Next: expect.any(String) });
    }
    expect([...reachable(states, processor.StartAt)].sort()).toEqual(Object.keys(states).sort());
  });

  test('the Map: over $.nodes, each item with the request, concurrency from the input, results in $.nodeResults', () => {
    expect(mapState).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.nodes',
      ItemSelector: { 'request.$': '$.request', 'node.$': '$$.Map.Item.Value' },
      MaxConcurrencyPath: '$.request.concurrency',
      ResultPath: '$.nodeResults',
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } },
    });
  });

  test('every Task in the map catches everything into $.error and ends in "Node failed": one node never stops the others', () => {
    const tasks = Object.entries(processor.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(
      [
        STATE_NAMES.drain,
        STATE_NAMES.checkDrain,
        STATE_NAMES.uninstall,
        STATE_NAMES.checkUninstall,
        STATE_NAMES.deleteObjects,
        STATE_NAMES.deregister,
        STATE_NAMES.restoreSourceDestCheck,
        STATE_NAMES.terminate,
      ].sort(),
    );
    for (const [, state] of tasks) expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.nodeFailed }]);
    expect(processor.States[STATE_NAMES.nodeFailed]).toEqual({
      Type: 'Pass',
      Parameters: { 'node.$': '$.node.name', status: 'failed', 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
      End: true,
    });
    // Scalars only (and the small delete-objects result): the Map keeps every node's result in one state.
    expect(processor.States[STATE_NAMES.nodeDone]).toEqual({
      Type: 'Pass',
      Parameters: {
        'node.$': '$.node.name',
        status: 'done',
        'cordon.$': '$.drain.cordon',
        'uninstall.$': '$.uninstall.outcome',
        'objects.$': '$.objects',
        'managedInstance.$': '$.deregister.managedInstance',
        'sourceDestCheckEnabled.$': '$.sourceDestCheck.enabled',
        'instance.$': '$.terminate.instance',
      },
      End: true,
    });
  });

  test('top-level catches: after the snapshot, every failure is recorded and the run goes on to resume and verify', () => {
    const catchOf = (name: string) => machine.States[name]!.Catch;
    const all = (resultPath: string, next: string) => [{ ErrorEquals: ['States.ALL'], ResultPath: resultPath, Next: next }];
    expect(catchOf(STATE_NAMES.snapshot)).toBeUndefined();
    expect(catchOf(STATE_NAMES.pause)).toEqual(all('$.pause', STATE_NAMES.resume));
    expect(catchOf(STATE_NAMES.map)).toEqual(all('$.nodeResults', STATE_NAMES.routes));
    expect(catchOf(STATE_NAMES.routes)).toEqual(all('$.routes', STATE_NAMES.activations));
    expect(catchOf(STATE_NAMES.activations)).toEqual(all('$.activations', STATE_NAMES.resume));
    expect(catchOf(STATE_NAMES.resume)).toEqual(all('$.resume', STATE_NAMES.verify));
    expect(catchOf(STATE_NAMES.verify)).toBeUndefined();
  });

  /**
   * Every Task: its step, payload (Parameters) and where its result goes. The snapshot and verify results
   * replace the state: ResultPath "$", the ASL default, left out of the definition (see teardown.ts).
   */
  const REPLACE = undefined;
  const node = { 'request.$': '$.request', 'node.$': '$.node' };
  const EXPECTED_TASKS: Record<string, { Parameters: Record<string, string>; ResultPath: string | undefined }> = {
    [STATE_NAMES.snapshot]: { Parameters: { step: 'snapshot', 'input.$': '$' }, ResultPath: REPLACE },
    [STATE_NAMES.pause]: { Parameters: { step: 'pause', 'request.$': '$.request', 'nodes.$': '$.nodes' }, ResultPath: '$.pause' },
    [STATE_NAMES.drain]: { Parameters: { step: 'drain', ...node }, ResultPath: '$.drain' },
    [STATE_NAMES.checkDrain]: { Parameters: { step: 'drain', ...node, 'previous.$': '$.drain' }, ResultPath: '$.drain' },
    [STATE_NAMES.uninstall]: { Parameters: { step: 'uninstall', ...node }, ResultPath: '$.uninstall' },
    [STATE_NAMES.checkUninstall]: { Parameters: { step: 'uninstall', ...node, 'previous.$': '$.uninstall' }, ResultPath: '$.uninstall' },
    [STATE_NAMES.deleteObjects]: { Parameters: { step: 'delete-objects', ...node }, ResultPath: '$.objects' },
    [STATE_NAMES.deregister]: { Parameters: { step: 'deregister', ...node }, ResultPath: '$.deregister' },
    [STATE_NAMES.restoreSourceDestCheck]: { Parameters: { step: 'restore-source-dest-check', ...node }, ResultPath: '$.sourceDestCheck' },
    [STATE_NAMES.terminate]: { Parameters: { step: 'terminate', ...node }, ResultPath: '$.terminate' },
    [STATE_NAMES.routes]: { Parameters: { step: 'routes', 'request.$': '$.request', 'nodes.$': '$.nodes', 'nodeResults.$': '$.nodeResults' }, ResultPath: '$.routes' },
    [STATE_NAMES.activations]: { Parameters: { step: 'activations', 'request.$': '$.request' }, ResultPath: '$.activations' },
    [STATE_NAMES.resume]: { Parameters: { step: 'resume', 'state.$': '$' }, ResultPath: '$.resume' },
    [STATE_NAMES.verify]: { Parameters: { step: 'verify', 'state.$': '$' }, ResultPath: REPLACE },
  };
  const allTasks = () =>
    [...Object.entries(machine.States), ...Object.entries(processor.States)].filter(([, state]) => state.Type === 'Task') as [string, State][];

  test('every Task: the teardown Lambda (payload only), 150 s, its step and payload, its ResultPath', () => {
    expect(allTasks().map(([name]) => name).sort()).toEqual(Object.keys(EXPECTED_TASKS).sort());
    for (const [name, state] of allTasks()) {
      expect({ name, Resource: state.Resource, TimeoutSeconds: state.TimeoutSeconds, Parameters: state.Parameters, ResultPath: state.ResultPath }).toEqual({
        name,
        Resource: definition.taskFunctionArn,
        TimeoutSeconds: 150,
        ...EXPECTED_TASKS[name],
      });
      expect(TEARDOWN_STEPS).toContain((state.Parameters as { step: string }).step);
    }
    // Every step of the vocabulary is asked for by some Task.
    expect(new Set(allTasks().map(([, state]) => (state.Parameters as { step: string }).step))).toEqual(new Set(TEARDOWN_STEPS));
    expect(definition.taskFunctionArn).toBe(placeholderFunctionArn(TEARDOWN_FUNCTION_LOGICAL_ID));
  });

  test('every Task retries Lambda service errors (CDK default), and TransientError and Lambda throttling with capped, fully jittered backoff', () => {
    for (const [name, state] of allTasks()) {
      expect({ name, Retry: state.Retry }).toEqual({
        name,
        Retry: [
          {
            ErrorEquals: ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
            IntervalSeconds: 2,
            MaxAttempts: 6,
            BackoffRate: 2,
          },
          {
            ErrorEquals: [TRANSIENT_ERROR, 'Lambda.TooManyRequestsException'],
            IntervalSeconds: 2,
            MaxAttempts: 5,
            BackoffRate: 2,
            MaxDelaySeconds: 30,
            JitterStrategy: 'FULL',
          },
        ],
      });
    }
  });
});

describe('the definition is valid Amazon States Language', () => {
  test('asl-validator: valid, paths and ARNs included', () => {
    // A copy: the validator fills in defaults (QueryLanguage) on the definition it is given.
    const result = aslValidator(structuredClone(definition.definition), { checkPaths: true, checkArn: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('asl-validator rejects a broken copy (a Next to a state that does not exist)', () => {
    const broken = structuredClone(definition.definition) as Machine;
    broken.States[STATE_NAMES.routes]!.Next = 'No such state';
    expect(aslValidator(broken).isValid).toBe(false);
  });
});

describe('running the definition (aws-local-stepfunctions, a scripted task handler)', () => {
  interface Call {
    state: string;
    step: string;
    node?: string;
  }

  /** Runs the synthesized definition with every Task answered by `answer`; returns the calls in order and the outcome. */
  async function run(answer: (call: Call, payload: Record<string, unknown>) => unknown) {
    const calls: Call[] = [];
    const handlers: Record<string, (input: unknown) => Promise<never>> = {};
    const retries: Record<string, number> = {};
    for (const [name] of [...Object.entries(machine.States), ...Object.entries(processor.States)].filter(([, state]) => state.Type === 'Task')) {
      retries[name] = 0;
      handlers[name] = async (input) => {
        const payload = input as Record<string, unknown> & { step: string; node?: { name: string } };
        const call: Call = { state: name, step: payload.step, ...(payload.node ? { node: payload.node.name } : {}) };
        calls.push(call);
        return answer(call, payload) as never;
      };
    }
    // A copy: the interpreter annotates the definition it is given (QueryLanguage on every state).
    const stateMachine = new StateMachine(structuredClone(definition.definition) as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = stateMachine.run(
      { nodes: ['mi-a', 'mi-b'] },
      {
        overrides: {
          taskResourceLocalHandlers: handlers,
          waitTimeOverrides: { [STATE_NAMES.waitForDrain]: 0, [STATE_NAMES.waitForUninstall]: 0 },
          retryIntervalOverrides: retries,
        },
      },
    );
    try {
      return { calls, output: await execution.result, error: undefined };
    } catch (error) {
      expect(error).toBeInstanceOf(ExecutionError);
      const cause = (error as Error).cause as Error;
      return { calls, output: undefined, error: { name: cause.name, message: cause.message } };
    }
  }

  const snapshot = () => ({
    request: { concurrency: 1, timeouts: { pollSeconds: 1 } },
    nodes: [{ name: 'mi-a' }, { name: 'mi-b' }],
    snapshot: {},
  });
  const failure = (name: string, message: string) => Object.assign(new Error(message), { name });
  const drainAttempts = new Map<string, number>();
  /**
   * What the handler returns for a node step, in the shape the "Node torn down" state reads (a JSONPath to a
   * field a result lacks would fail the execution with States.Runtime), with the details it leaves out.
   */
  const nodeStepResult = (step: string, node: string, done = true): Record<string, unknown> | undefined => {
    switch (step) {
      case 'drain':
        return { done, deadline: 1_000, cordon: 'cordoned', evicted: [`default/web-${node}`], blocked: [], remaining: done ? [] : [`default/web-${node}`] };
      case 'uninstall':
        return { done, outcome: done ? 'succeeded' : 'in-progress', commandId: `cmd-${node}`, deadline: 2_000, command: 'nodeadm uninstall', status: done ? 'Success' : 'InProgress' };
      case 'delete-objects':
        return { node: 'deleted', ciliumNode: 'deleted' };
      case 'deregister':
        return { managedInstance: 'already-gone' };
      case 'restore-source-dest-check':
        return { enabled: [`eni-${node}`], alreadyGone: [] };
      case 'terminate':
        return { instance: 'not-requested' };
      default:
        return undefined;
    }
  };
  const doneNode = (node: string) => ({
    node,
    status: 'done',
    cordon: 'cordoned',
    uninstall: 'succeeded',
    objects: { node: 'deleted', ciliumNode: 'deleted' },
    managedInstance: 'already-gone',
    sourceDestCheckEnabled: [`eni-${node}`],
    instance: 'not-requested',
  });

  test('the happy path: each step in order, the drain loop until done, the summary decides the outcome', async () => {
    drainAttempts.clear();
    const { calls, output } = await run((call, payload) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.step === 'drain') {
        const attempt = (drainAttempts.get(call.node!) ?? 0) + 1;
        drainAttempts.set(call.node!, attempt);
        return nodeStepResult('drain', call.node!, attempt > 1);
      }
      if (call.step === 'verify') {
        const state = payload.state as { nodeResults: { status: string }[] };
        return { complete: state.nodeResults.every((result) => result.status === 'done'), message: 'all gone', nodeResults: state.nodeResults };
      }
      return nodeStepResult(call.step, call.node ?? '') ?? { ok: call.step };
    });
    // Each node's result: the scalars the summary needs, none of the step details (evicted pods, command id).
    expect(output).toEqual({ complete: true, message: 'all gone', nodeResults: [doneNode('mi-a'), doneNode('mi-b')] });
    expect(calls.filter((call) => call.node === 'mi-a').map((call) => call.state)).toEqual([
      STATE_NAMES.drain,
      STATE_NAMES.checkDrain,
      STATE_NAMES.uninstall,
      STATE_NAMES.deleteObjects,
      STATE_NAMES.deregister,
      STATE_NAMES.restoreSourceDestCheck,
      STATE_NAMES.terminate,
    ]);
    expect(calls.filter((call) => !call.node).map((call) => call.step)).toEqual(['snapshot', 'pause', 'routes', 'activations', 'resume', 'verify']);
  });

  test('one node failing ends that node only; a TransientError is retried; an incomplete summary fails with TeardownIncomplete', async () => {
    let routeCalls = 0;
    const { calls, error } = await run((call, payload) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.step === 'drain' && call.node === 'mi-a') throw failure('DrainTimeout', 'pods still running on mi-a');
      if (call.node) return nodeStepResult(call.step, call.node);
      if (call.step === 'routes' && ++routeCalls === 1) throw failure(TRANSIENT_ERROR, 'RequestLimitExceeded');
      if (call.step === 'verify') {
        const state = payload.state as { nodeResults: { node: string; status: string; error?: string }[] };
        expect(state.nodeResults).toEqual([{ node: 'mi-a', status: 'failed', error: 'DrainTimeout', cause: 'pods still running on mi-a' }, doneNode('mi-b')]);
        return { complete: false, message: 'mi-a: DrainTimeout' };
      }
      return { ok: call.step };
    });
    expect(error).toEqual({ name: INCOMPLETE_ERROR, message: 'mi-a: DrainTimeout' });
    expect(calls.filter((call) => call.node === 'mi-a').map((call) => call.step)).toEqual(['drain']);
    expect(calls.filter((call) => call.node === 'mi-b').map((call) => call.step)).toContain('terminate');
    expect(calls.filter((call) => call.step === 'routes')).toHaveLength(2);
  });

  test('resume is given the routes step’s result in its state', async () => {
    const routes = { removed: [{ routeTableId: 'rtb-1', destination: '10.30.1.0/24' }], failed: [], vetoed: [] };
    let resumeState: Record<string, unknown> | undefined;
    const { output } = await run((call, payload) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.node) return nodeStepResult(call.step, call.node);
      if (call.step === 'routes') return routes;
      if (call.step === 'resume') {
        resumeState = payload.state as Record<string, unknown>;
        return { untagged: [] };
      }
      if (call.step === 'verify') return { complete: true };
      return { ok: call.step };
    });
    expect(output).toEqual({ complete: true });
    expect(resumeState).toMatchObject({ routes, nodeResults: [doneNode('mi-a'), doneNode('mi-b')], pause: { ok: 'pause' } });
  });

  test('a routes step that fails for good: resume is given its error in place of the result, and runs', async () => {
    let resumeState: Record<string, unknown> | undefined;
    const { calls } = await run((call, payload) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.node) return nodeStepResult(call.step, call.node);
      if (call.step === 'routes') throw failure('IncompleteReadError', 'route-tables: read failed');
      if (call.step === 'resume') {
        resumeState = payload.state as Record<string, unknown>;
        return { untagged: [] };
      }
      if (call.step === 'verify') return { complete: false, message: 'routes failed' };
      return { ok: call.step };
    });
    expect(resumeState?.routes).toEqual({ Error: 'IncompleteReadError', Cause: 'route-tables: read failed' });
    // Not transient: no retry.
    expect(calls.filter((call) => call.step === 'routes')).toHaveLength(1);
    expect(calls.filter((call) => !call.node).map((call) => call.step)).toEqual(['snapshot', 'pause', 'routes', 'activations', 'resume', 'verify']);
  });

  test('Lambda throttling (Lambda.TooManyRequestsException) is retried like a TransientError', async () => {
    const throttled = { deregister: 0, activations: 0 };
    const { calls, output } = await run((call) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.node === 'mi-a' && call.step === 'deregister' && throttled.deregister++ < 2) throw failure('Lambda.TooManyRequestsException', 'Rate Exceeded.');
      if (call.node) return nodeStepResult(call.step, call.node);
      if (call.step === 'activations' && throttled.activations++ < 1) throw failure('Lambda.TooManyRequestsException', 'Rate Exceeded.');
      if (call.step === 'verify') return { complete: true };
      return { ok: call.step };
    });
    expect(output).toEqual({ complete: true });
    expect(calls.filter((call) => call.node === 'mi-a' && call.step === 'deregister')).toHaveLength(3);
    expect(calls.filter((call) => call.step === 'activations')).toHaveLength(2);
    expect(calls.filter((call) => call.node === 'mi-a').map((call) => call.step)).toContain('terminate');
  });

  test('a failed pause skips the nodes, routes and activations: straight to resume (with the error) and verify', async () => {
    const { calls, output } = await run((call, payload) => {
      if (call.step === 'snapshot') return snapshot();
      if (call.step === 'pause') throw failure('AccessDenied', 'events:DisableRule');
      if (call.step === 'resume') {
        const state = payload.state as Record<string, unknown>;
        expect(state.pause).toEqual({ Error: 'AccessDenied', Cause: 'events:DisableRule' });
        expect(state).not.toHaveProperty('nodeResults');
        expect(state).not.toHaveProperty('routes');
        return { untagged: [] };
      }
      if (call.step === 'verify') return { complete: true };
      throw new Error(`unexpected step ${call.step}`);
    });
    expect(output).toEqual({ complete: true });
    expect(calls.map((call) => call.step)).toEqual(['snapshot', 'pause', 'resume', 'verify']);
  });
});

describe('infra/teardown-definition.ts', () => {
  test('synthesizeTeardownDefinition() is the definition in the synthesized template', () => {
    expect(synthesizeTeardownDefinition()).toEqual(definition);
  });

  test('it synthesizes with the given context: another stack name changes nothing in the definition', () => {
    expect(synthesizeTeardownDefinition({ stackName: 'eks-hybrid-routes-ekscluster2' })).toEqual(definition);
  });

  const stateMachine = (definitionString: unknown) => ({
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: definitionString } },
    },
  });

  test('resolves Fn::Join, Fn::GetAtt (both forms), Ref of pseudo parameters and functions, and Fn::Sub', () => {
    const resolved = teardownDefinitionFromTemplate(
      stateMachine({
        'Fn::Join': [
          '',
          [
            '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
            { 'Fn::GetAtt': ['Fn', 'Arn'] },
            '","Next":"B"},"B":{"Type":"Task","Resource":"',
            { 'Fn::GetAtt': 'Fn.Arn' },
            '","Parameters":{"where":"',
            { Ref: 'AWS::Partition' },
            '/',
            { 'Fn::Sub': '${AWS::Region}/${AWS::AccountId}/${Fn}/${Fn.Arn}' },
            '/',
            { 'Fn::Sub': ['${x}', { x: { Ref: 'AWS::URLSuffix' } }] },
            '"},"End":true}}}',
          ],
        ],
      }),
    );
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:Fn';
    expect(resolved).toEqual({
      taskFunctionArn: arn,
      definition: {
        StartAt: 'A',
        States: { A: { Type: 'Task', Resource: arn, Next: 'B' }, B: { Type: 'Task', Resource: arn, Parameters: { where: `aws/us-east-1/123456789012/Fn/${arn}/amazonaws.com` }, End: true } },
      },
    });
  });

  test.each([
    ['an unsupported intrinsic', { 'Fn::Join': ['', ['{"a":"', { 'Fn::ImportValue': 'x' }, '"}']] }, /Fn::ImportValue is not supported/],
    ['an attribute of another resource type', { 'Fn::Join': ['', ['{"a":"', { 'Fn::GetAtt': ['Queue', 'Arn'] }, '"}']] }, /Queue is a AWS::SQS::Queue, not a Lambda function/],
    ['a Ref to a parameter', { 'Fn::Join': ['', ['{"a":"', { Ref: 'SomeParameter' }, '"}']] }, /no resource SomeParameter/],
    ['text that is not JSON', 'StartAt: A', /not JSON once resolved/],
    ['a definition invoking no function', '{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}', /invokes 0 Lambda functions/],
  ])('throws a clear error on %s', (_name, definitionString, message) => {
    expect(() => teardownDefinitionFromTemplate(stateMachine(definitionString))).toThrow(message);
  });

  test('throws unless there is exactly one state machine', () => {
    expect(() => teardownDefinitionFromTemplate({ Resources: {} })).toThrow('expected exactly one AWS::StepFunctions::StateMachine in the template, found 0');
    const two = { Resources: { ...stateMachine('{}').Resources, Other: stateMachine('{}').Resources.Machine } };
    expect(() => teardownDefinitionFromTemplate(two)).toThrow('found 2');
    expect(() => teardownDefinitionFromTemplate(null)).toThrow('no Resources');
  });
});

describe('the task function', () => {
  const fn = json.Resources[TEARDOWN_FUNCTION_LOGICAL_ID]!;
  const env = (resources: Resources) => flatten((resources[TEARDOWN_FUNCTION_LOGICAL_ID]!.Properties.Environment as { Variables: unknown }).Variables) as Record<string, string>;

  test('Node 22 on arm64, 2-minute timeout, fixed logical id, its own log group (one month)', () => {
    expect(fn.Type).toBe('AWS::Lambda::Function');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 120 });
    const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(logGroupId).toMatch(/^TeardownLogGroup/);
    expect(json.Resources[logGroupId]?.Properties).toEqual({ RetentionInDays: 30 });
    expect(teardownStatements(json.Resources).find((statement) => asArray(statement.Action).includes('logs:PutLogEvents'))).toEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: `\${${logGroupId}.Arn}`,
    });
  });

  test('environment: the reconciler settings it shares, the teardown role, the rule names, Powertools names', () => {
    expect(env(json.Resources)).toEqual({
      CLUSTER_NAME: 'ekscluster1',
      REMOTE_VPC_ID: 'vpc-0a1b2c3d4e5f60718',
      ROUTE_TABLE_TAG: 'eks-hybrid-routes/managed=true',
      MAX_DELETE_FRACTION: '0.5',
      [TEARDOWN_ENV.teardownRoleArn]: expect.stringMatching(/^\$\{ClusterAccessTeardownRole\w+\.Arn\}$/),
      [TEARDOWN_ENV.ruleNames]: RULE_NAMES.join(','),
      POWERTOOLS_SERVICE_NAME: 'eks-hybrid-routes',
      POWERTOOLS_METRICS_NAMESPACE: 'EksHybridRoutes',
      // No NODE_OPTIONS: stack traces carry real names, not runtime source maps (functionEsbuildOptions in infra/bundling.ts).
    });
    expect(env(idsJson.Resources)).toMatchObject({
      ROUTE_TABLE_IDS: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
      MIN_DELETE_BUDGET: '2',
      POD_NETWORKS: '10.30.0.0/17',
      NODE_NETWORKS: '10.20.0.0/16',
      [TEARDOWN_ENV.ruleNames]: 'eks-hybrid-routes-ekscluster2-ec2-state-change,eks-hybrid-routes-ekscluster2-ssm-registration,eks-hybrid-routes-ekscluster2-schedule',
    });
    expect(env(idsJson.Resources).ROUTE_TABLE_TAG).toBeUndefined();
  });

  test('the shared settings are the reconciler’s, from the same code, and parse as controller configuration', () => {
    for (const [resources, config] of [
      [json.Resources, tagged.config],
      [idsJson.Resources, byIds.config],
    ] as const) {
      const shared = controllerEnvironment(config);
      const reconciler = flatten((resources[FUNCTION_LOGICAL_ID]!.Properties.Environment as { Variables: unknown }).Variables) as Record<string, string>;
      expect(env(resources)).toMatchObject(shared);
      expect(reconciler).toMatchObject(shared);
    }
    const parsed = parseControllerConfig(rawConfigFromEnv({ ...env(idsJson.Resources), AWS_REGION: 'us-west-2' }), ENV_LABELS);
    expect(parsed).toMatchObject({ clusterName: 'ekscluster1', vpcId: 'vpc-0a1b2c3d4e5f60718', routeTables: { kind: 'ids', routeTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'] } });
    // The reconciler-only settings stay the reconciler's.
    expect(env(idsJson.Resources)[ENV_LABELS.applyConcurrency]).toBeUndefined();
    expect(env(json.Resources).PENDING_FOLLOW_UP_SECONDS).toBeUndefined();
    expect(env(json.Resources)[ENV_LABELS.readerRoleArn]).toBeUndefined();
  });

  test('the rule names it is given are the physical names of the reconciler’s three rules', () => {
    const names = resourcesOfType(json.Resources, 'AWS::Events::Rule').map(([, rule]) => rule.Properties.Name);
    expect(names.sort()).toEqual([...RULE_NAMES].sort());
  });
});

describe('rule names', () => {
  test('<stack name>-<role>, within the EventBridge limit even for the longest stack name, distinct per stack', () => {
    expect(ruleNames('EksHybridRoutesStack')).toEqual({ ec2StateChange: RULE_NAMES[0], ssmRegistration: RULE_NAMES[1], schedule: RULE_NAMES[2] });
    const long = (suffix: string) => `eks-hybrid-routes-${'x'.repeat(100)}${suffix}`;
    const [a, b] = [ruleNames(long('a')), ruleNames(long('b'))];
    for (const names of [a, b]) for (const name of Object.values(names)) expect(name.length).toBeLessThanOrEqual(MAX_RULE_NAME_LENGTH);
    expect(a.ec2StateChange).toHaveLength(MAX_RULE_NAME_LENGTH);
    expect(a.ec2StateChange).toMatch(/^eks-hybrid-routes-x+-[0-9a-f]{8}-ec2-state-change$/);
    expect(a.ec2StateChange).not.toBe(b.ec2StateChange);
    expect(ruleNames(long('a'))).toEqual(a);
  });
});

describe('IAM: least privilege for the task function', () => {
  test('exactly these statements', () => {
    expect(teardownStatements(json.Resources).map((statement) => statement.Sid ?? asArray(statement.Action)[0]).sort()).toEqual(
      [
        'ActOnClusterManagedInstances',
        'AssumeKubernetesTeardownRole',
        'DeleteClusterActivations',
        'DeleteRoutesInManagedTables',
        'DescribeTheCluster',
        'PauseReconcilerRules',
        'ReadManagedInstancesActivationsAndCommands',
        'ReadNetworkAndInstances',
        'RestoreSourceDestCheckInRemoteVpc',
        'RunUninstallDocument',
        'TagPausedNodeInterfaces',
        'TerminateNodeInstances',
        'UntagPausedNodeInterfaces',
        'logs:CreateLogStream',
      ].sort(),
    );
  });

  test('reads without resource-level permissions, on *', () => {
    expect(teardownStatement(json.Resources, 'ReadNetworkAndInstances')).toEqual({
      Sid: 'ReadNetworkAndInstances',
      Effect: 'Allow',
      Action: ['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeRouteTables'],
      Resource: '*',
    });
    expect(teardownStatement(json.Resources, 'ReadManagedInstancesActivationsAndCommands')).toEqual({
      Sid: 'ReadManagedInstancesActivationsAndCommands',
      Effect: 'Allow',
      Action: ['ssm:DescribeActivations', 'ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:ListCommands'],
      Resource: '*',
    });
  });

  test('DeleteRoute only, on the managed route tables of the remote VPC (tag or ids, like the reconciler); never CreateRoute/ReplaceRoute', () => {
    expect(teardownStatement(json.Resources, 'DeleteRoutesInManagedTables')).toEqual({
      Sid: 'DeleteRoutesInManagedTables',
      Effect: 'Allow',
      Action: 'ec2:DeleteRoute',
      Resource: ACCOUNT_ARN('ec2', 'route-table/*'),
      Condition: { StringEquals: { 'aws:ResourceTag/eks-hybrid-routes/managed': 'true', 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
    expect(teardownStatement(idsJson.Resources, 'DeleteRoutesInManagedTables')).toEqual({
      Sid: 'DeleteRoutesInManagedTables',
      Effect: 'Allow',
      Action: 'ec2:DeleteRoute',
      Resource: [ACCOUNT_ARN('ec2', 'route-table/rtb-0aaaaaaaaaaaaaaa1'), ACCOUNT_ARN('ec2', 'route-table/rtb-0bbbbbbbbbbbbbbb2')],
      Condition: { StringEquals: { 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
    for (const resources of [json.Resources, idsJson.Resources]) {
      const actions = teardownStatements(resources).flatMap((statement) => asArray(statement.Action));
      expect(actions).not.toContain('ec2:CreateRoute');
      expect(actions).not.toContain('ec2:ReplaceRoute');
    }
  });

  test('source/dest check and the pause tag only on ENIs of the remote VPC; untagging limited to the pause key', () => {
    expect(teardownStatement(json.Resources, 'RestoreSourceDestCheckInRemoteVpc')).toEqual({
      Sid: 'RestoreSourceDestCheckInRemoteVpc',
      Effect: 'Allow',
      Action: 'ec2:ModifyNetworkInterfaceAttribute',
      Resource: ENIS,
      Condition: { StringEquals: { 'ec2:Vpc': REMOTE_VPC_ARN } },
    });
    expect(teardownStatement(json.Resources, 'TagPausedNodeInterfaces')).toEqual({
      Sid: 'TagPausedNodeInterfaces',
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: ENIS,
      Condition: {
        StringEquals: { 'ec2:Vpc': REMOTE_VPC_ARN },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [PAUSE_TAG_KEY] },
        Null: { [`aws:RequestTag/${PAUSE_TAG_KEY}`]: 'false' },
      },
    });
    expect(teardownStatement(json.Resources, 'UntagPausedNodeInterfaces')).toEqual({
      Sid: 'UntagPausedNodeInterfaces',
      Effect: 'Allow',
      Action: 'ec2:DeleteTags',
      Resource: ENIS,
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [PAUSE_TAG_KEY] }, Null: { 'aws:TagKeys': 'false' } },
    });
  });

  test('TerminateInstances on instances of this account and Region (no VPC condition key exists for instances)', () => {
    expect(teardownStatement(json.Resources, 'TerminateNodeInstances')).toEqual({
      Sid: 'TerminateNodeInstances',
      Effect: 'Allow',
      Action: 'ec2:TerminateInstances',
      Resource: ACCOUNT_ARN('ec2', 'instance/*'),
    });
  });

  test('SendCommand: the AWS-RunShellScript document, and the cluster’s managed instances only (tag copied from the activation)', () => {
    expect(teardownStatement(json.Resources, 'RunUninstallDocument')).toEqual({
      Sid: 'RunUninstallDocument',
      Effect: 'Allow',
      Action: 'ssm:SendCommand',
      Resource: 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript',
    });
    expect(teardownStatement(json.Resources, 'ActOnClusterManagedInstances')).toEqual({
      Sid: 'ActOnClusterManagedInstances',
      Effect: 'Allow',
      Action: ['ssm:DeregisterManagedInstance', 'ssm:SendCommand'],
      Resource: ACCOUNT_ARN('ssm', 'managed-instance/*'),
      Condition: { StringEquals: { 'ssm:resourceTag/EKSClusterARN': CLUSTER_ARN } },
    });
    const sendCommand = teardownStatements(json.Resources).filter((statement) => asArray(statement.Action).includes('ssm:SendCommand'));
    expect(sendCommand.flatMap((statement) => asArray(statement.Resource as string | string[]))).toEqual([
      'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript',
      ACCOUNT_ARN('ssm', 'managed-instance/*'),
    ]);
  });

  test('DeleteActivation on * (it has no resource type); the cluster, the teardown role and the three rules by ARN', () => {
    expect(teardownStatement(json.Resources, 'DeleteClusterActivations')).toEqual({ Sid: 'DeleteClusterActivations', Effect: 'Allow', Action: 'ssm:DeleteActivation', Resource: '*' });
    expect(teardownStatement(json.Resources, 'DescribeTheCluster')).toEqual({ Sid: 'DescribeTheCluster', Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: CLUSTER_ARN });
    expect(teardownStatement(json.Resources, 'AssumeKubernetesTeardownRole')).toEqual({
      Sid: 'AssumeKubernetesTeardownRole',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: expect.stringMatching(/^\$\{ClusterAccessTeardownRole\w+\.Arn\}$/),
    });
    const rules = teardownStatement(json.Resources, 'PauseReconcilerRules');
    expect(rules).toEqual({
      Sid: 'PauseReconcilerRules',
      Effect: 'Allow',
      Action: ['events:DescribeRule', 'events:DisableRule', 'events:EnableRule'],
      Resource: expect.arrayContaining([expect.stringMatching(/^\$\{RouteSyncEc2StateChangeRule\w+\.Arn\}$/)]),
    });
    const ruleIds = resourcesOfType(json.Resources, 'AWS::Events::Rule').map(([id]) => `\${${id}.Arn}`);
    expect([...(rules.Resource as string[])].sort()).toEqual(ruleIds.sort());
  });
});

describe('Kubernetes access for the teardown', () => {
  test('the teardown role: trusted by the task function’s role only, no IAM permissions, carries the teardown group', () => {
    const roleId = onlyId(json.Resources, 'AWS::IAM::Role', 'ClusterAccessTeardownRole');
    const role = json.Resources[roleId]!;
    expect(flatten(role.Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: expect.stringMatching(/^\$\{TeardownRole\w+\.Arn\}$/) } }],
    });
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.MaxSessionDuration).toBe(3600);
    expect(role.Properties.Description).toContain(KUBERNETES_TEARDOWN_GROUP);
    for (const [, policy] of resourcesOfType(json.Resources, 'AWS::IAM::Policy')) expect(policy.Properties.Roles).not.toContainEqual({ Ref: roleId });
  });

  test('an EKS access entry: STANDARD, the teardown role, the teardown group, no access policy (and none without createAccessEntry)', () => {
    expect(KUBERNETES_TEARDOWN_GROUP).toBe('eks-hybrid-routes-teardown');
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'ekscluster1',
      Type: 'STANDARD',
      KubernetesGroups: [KUBERNETES_TEARDOWN_GROUP],
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClusterAccessTeardownRole'), 'Arn'] },
      AccessPolicies: Match.absent(),
    });
    Template.fromStack(buildStack({ createAccessEntry: 'false' }).stack).resourceCountIs('AWS::EKS::AccessEntry', 0);
  });

  describe('infra/k8s/rbac.yaml', () => {
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    type Doc = { kind: string; metadata: { name: string }; rules?: Rule[]; roleRef?: unknown; subjects?: unknown };
    const documents = parseAllDocuments(readFileSync(new URL('infra/k8s/rbac.yaml', ROOT), 'utf8')).map((document) => {
      expect(document.errors).toEqual([]);
      return document.toJS() as Doc;
    });
    const find = (kind: string, name: string) => {
      const found = documents.filter((document) => document.kind === kind && document.metadata.name === name);
      expect(found).toHaveLength(1);
      return found[0]!;
    };

    test('ClusterRole eks-hybrid-routes-teardown: nodes get/list/patch/delete, pods get/list, evictions, CiliumNodes get/list/delete; nothing more', () => {
      expect(find('ClusterRole', 'eks-hybrid-routes-teardown').rules).toEqual([
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: ['cilium.io'], resources: ['ciliumnodes'], verbs: ['get', 'list', 'delete'] },
      ]);
    });

    test('bound to the teardown group; the readers keep read-only access to CiliumNodes, and may get a Node by name', () => {
      expect(find('ClusterRoleBinding', 'eks-hybrid-routes-teardown')).toMatchObject({
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'eks-hybrid-routes-teardown' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: KUBERNETES_TEARDOWN_GROUP }],
      });
      expect(find('ClusterRole', 'eks-hybrid-routes-reader').rules).toEqual([
        { apiGroups: ['cilium.io'], resources: ['ciliumnodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      ]);
      expect(find('ClusterRoleBinding', 'eks-hybrid-routes-reader')).toMatchObject({ subjects: [{ kind: 'Group', name: KUBERNETES_READER_GROUP }] });
      expect(documents).toHaveLength(4);
    });
  });
});

test('outputs: the state machine, the task function, its log group, the teardown role and group', () => {
  const fnLogGroup = (json.Resources[TEARDOWN_FUNCTION_LOGICAL_ID]!.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup;
  template.hasOutput('TeardownStateMachineArn', { Value: { Ref: stateMachineId } });
  template.hasOutput('TeardownFunctionName', { Value: { Ref: TEARDOWN_FUNCTION_LOGICAL_ID } });
  template.hasOutput('TeardownLogGroupName', { Value: fnLogGroup });
  template.hasOutput('TeardownExecutionLogGroupName', { Value: { Ref: Match.stringLikeRegexp('^TeardownExecutionLogGroup') } });
  template.hasOutput('TeardownRoleArn', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClusterAccessTeardownRole'), 'Arn'] } });
  template.hasOutput('KubernetesTeardownGroup', { Value: KUBERNETES_TEARDOWN_GROUP });
});
