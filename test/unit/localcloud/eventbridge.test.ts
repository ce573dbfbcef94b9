import { eventBridgeHandler } from '../../localcloud/eventbridge.js';
import { AwsError, type AwsRequest, type AwsResponse } from '../../localcloud/protocol.js';
import { loadScenario } from '../../localcloud/scenario.js';
import type { CloudState, LocalRule } from '../../localcloud/state.js';

function request(target: string, body: unknown): AwsRequest {
  return {
    service: 'events',
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(body),
    accessKeyId: 'AKIDLOCALCLOUD',
  };
}

async function serve(state: CloudState, action: string, body: unknown = {}): Promise<{ status: number; json: any }> {
  const req = request(`AWSEvents.${action}`, body);
  let response: AwsResponse;
  try {
    response = await eventBridgeHandler.handle(req, eventBridgeHandler.actionOf(req), state);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    response = eventBridgeHandler.errorResponse(error, action);
  }
  return { status: response.status, json: JSON.parse(response.body) };
}

const RULES: LocalRule[] = [
  { name: 'eks-hybrid-routes-ec2-state', state: 'ENABLED', eventPattern: '{"source":["aws.ec2"]}' },
  { name: 'eks-hybrid-routes-ssm-registration', state: 'ENABLED', eventPattern: '{"source":["aws.ssm"]}' },
  { name: 'eks-hybrid-routes-schedule', state: 'ENABLED', scheduleExpression: 'rate(5 minutes)' },
  { name: 'other-team-rule', state: 'DISABLED', eventPattern: '{"source":["aws.s3"]}' },
];

let state: CloudState;
beforeEach(() => {
  state = loadScenario();
  state.rules.clear(); // the default scenario's own rules are tested below
  for (const rule of RULES) state.rules.set(rule.name, { ...rule });
});

test('actionOf reads X-Amz-Target; other operations are UnknownOperationException', () => {
  expect(eventBridgeHandler.actionOf(request('AWSEvents.DescribeRule', {}))).toBe('DescribeRule');
  expect(() => eventBridgeHandler.actionOf(request('AWSEvents.PutRule', {}))).toThrow(expect.objectContaining({ code: 'UnknownOperationException' }));
  expect(() => eventBridgeHandler.actionOf(request('AmazonSSM.DescribeRule', {}))).toThrow(expect.objectContaining({ code: 'UnknownOperationException' }));
});

describe('DescribeRule', () => {
  test('returns the rule with its ARN on the default bus', async () => {
    const { status, json } = await serve(state, 'DescribeRule', { Name: 'eks-hybrid-routes-schedule' });
    expect(status).toBe(200);
    expect(json).toEqual({
      Name: 'eks-hybrid-routes-schedule',
      Arn: 'arn:aws:events:us-west-2:123456789012:rule/eks-hybrid-routes-schedule',
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      EventBusName: 'default',
      CreatedBy: '123456789012',
    });
  });

  test('an unknown rule is ResourceNotFoundException (400)', async () => {
    const { status, json } = await serve(state, 'DescribeRule', { Name: 'nope' });
    expect([status, json]).toEqual([400, { __type: 'ResourceNotFoundException', message: 'Rule nope does not exist on EventBus default.' }]);
  });

  test('an event bus other than default is ResourceNotFoundException; the default bus ARN is accepted', async () => {
    expect((await serve(state, 'DescribeRule', { Name: 'other-team-rule', EventBusName: 'custom' })).json.__type).toBe('ResourceNotFoundException');
    const byArn = await serve(state, 'DescribeRule', { Name: 'other-team-rule', EventBusName: 'arn:aws:events:us-west-2:123456789012:event-bus/default' });
    expect(byArn.json.State).toBe('DISABLED');
  });

  test('a missing or malformed name is a ValidationException', async () => {
    expect((await serve(state, 'DescribeRule', {})).json.__type).toBe('ValidationException');
    expect((await serve(state, 'DescribeRule', { Name: 'has space' })).json.__type).toBe('ValidationException');
  });
});

describe('EnableRule / DisableRule', () => {
  test('flip the rule state', async () => {
    expect((await serve(state, 'DisableRule', { Name: 'eks-hybrid-routes-ec2-state' })).status).toBe(200);
    expect(state.rules.get('eks-hybrid-routes-ec2-state')!.state).toBe('DISABLED');
    expect((await serve(state, 'DescribeRule', { Name: 'eks-hybrid-routes-ec2-state' })).json.State).toBe('DISABLED');
    expect((await serve(state, 'EnableRule', { Name: 'eks-hybrid-routes-ec2-state' })).status).toBe(200);
    expect(state.rules.get('eks-hybrid-routes-ec2-state')!.state).toBe('ENABLED');
  });

  test('an unknown rule is ResourceNotFoundException; a rule managed by a service is ManagedRuleException', async () => {
    expect((await serve(state, 'EnableRule', { Name: 'nope' })).json.__type).toBe('ResourceNotFoundException');
    state.rules.set('managed', { name: 'managed', state: 'ENABLED', managedBy: 'ssm.amazonaws.com' } as LocalRule);
    expect((await serve(state, 'DisableRule', { Name: 'managed' })).json.__type).toBe('ManagedRuleException');
    expect(state.rules.get('managed')!.state).toBe('ENABLED');
  });
});

describe('ListRules', () => {
  test('filters by NamePrefix', async () => {
    const { json } = await serve(state, 'ListRules', { NamePrefix: 'eks-hybrid-routes-' });
    expect(json.Rules.map((r: any) => r.Name)).toEqual(['eks-hybrid-routes-ec2-state', 'eks-hybrid-routes-schedule', 'eks-hybrid-routes-ssm-registration']);
    expect(json.Rules[0]).toMatchObject({ Arn: 'arn:aws:events:us-west-2:123456789012:rule/eks-hybrid-routes-ec2-state', EventPattern: '{"source":["aws.ec2"]}', EventBusName: 'default' });
    expect(json.NextToken).toBeUndefined();
  });

  test('paginates with Limit and NextToken', async () => {
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const { json } = await serve(state, 'ListRules', { Limit: 3, ...(token ? { NextToken: token } : {}) });
      names.push(...json.Rules.map((r: any) => r.Name));
      token = json.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(names).toEqual([...state.rules.keys()].sort());
  });

  test.each([{ Limit: 0 }, { Limit: 101 }, { NamePrefix: '' }, { NextToken: 'garbage' }])('%j is a ValidationException', async (body) => {
    const { status, json } = await serve(state, 'ListRules', body);
    expect([status, json.__type]).toEqual([400, 'ValidationException']);
  });
});

// AWS: Amazon EventBridge API Reference, ListRules / DescribeRule; the rules are the reconciler's (infra/constructs/route-sync.ts).
describe("the default scenario's rules", () => {
  test('the reconciler\'s three rules, ENABLED, with their patterns, schedule and descriptions', async () => {
    const fresh = loadScenario();
    const { json } = await serve(fresh, 'ListRules', { NamePrefix: 'eks-hybrid-routes-' });
    expect(json.Rules.map((r: any) => [r.Name, r.State])).toEqual([
      ['eks-hybrid-routes-ec2-state-change', 'ENABLED'],
      ['eks-hybrid-routes-schedule', 'ENABLED'],
      ['eks-hybrid-routes-ssm-registration', 'ENABLED'],
    ]);
    const schedule = (await serve(fresh, 'DescribeRule', { Name: 'eks-hybrid-routes-schedule' })).json;
    expect(schedule).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Description: expect.stringContaining('anti-entropy') });
    expect(schedule).not.toHaveProperty('EventPattern');
    const ec2 = (await serve(fresh, 'DescribeRule', { Name: 'eks-hybrid-routes-ec2-state-change' })).json;
    expect(JSON.parse(ec2.EventPattern)).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['running', 'stopping', 'stopped', 'shutting-down', 'terminated'] },
    });
    const ssm = (await serve(fresh, 'DescribeRule', { Name: 'eks-hybrid-routes-ssm-registration' })).json;
    expect(JSON.parse(ssm.EventPattern)).toEqual({ source: ['aws.ssm'], 'detail-type': ['SSM Managed Instance Registration', 'SSM Managed Instance Deregistration'] });
    expect((await serve(fresh, 'DisableRule', { Name: 'eks-hybrid-routes-schedule' })).status).toBe(200);
    expect(fresh.rules.get('eks-hybrid-routes-schedule')!.state).toBe('DISABLED');
  });
});
