import {
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../../functions/adapters/aws-clients.js';
import { EventBridgeRulesAdapter, createEventBridgeClient } from '../../../functions/adapters/eventbridge.js';

const eventsMock = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'us-west-2' });

/** An error shaped the way the SDK deserializes an EventBridge error response. */
function eventsError(code: string): EventBridgeServiceException {
  return new EventBridgeServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `${code} (test)` });
}

const notFound = () => eventsError('ResourceNotFoundException');

beforeEach(() => {
  eventsMock.reset();
});

describe('EventBridgeRulesAdapter.describeRules', () => {
  test('one DescribeRule per name, in order; a rule that does not exist is MISSING', async () => {
    eventsMock
      .on(DescribeRuleCommand, { Name: 'Ec2StateChangeRule' })
      .resolves({ Name: 'Ec2StateChangeRule', State: 'ENABLED', Arn: 'arn:aws:events:us-west-2:111122223333:rule/Ec2StateChangeRule' })
      .on(DescribeRuleCommand, { Name: 'ScheduleRule' })
      .resolves({ Name: 'ScheduleRule', State: 'DISABLED', ScheduleExpression: 'rate(5 minutes)' })
      .on(DescribeRuleCommand, { Name: 'CloudTrailRule' })
      .resolves({ Name: 'CloudTrailRule', State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' })
      .on(DescribeRuleCommand, { Name: 'GoneRule' })
      .rejects(notFound());

    const records = await new EventBridgeRulesAdapter(client).describeRules(['Ec2StateChangeRule', 'ScheduleRule', 'CloudTrailRule', 'GoneRule', 'ScheduleRule']);

    expect(records).toEqual([
      { name: 'Ec2StateChangeRule', state: 'ENABLED' },
      { name: 'ScheduleRule', state: 'DISABLED' },
      { name: 'CloudTrailRule', state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' },
      { name: 'GoneRule', state: 'MISSING' },
    ]);
    expect(eventsMock.commandCalls(DescribeRuleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: 'Ec2StateChangeRule' },
      { Name: 'ScheduleRule' },
      { Name: 'CloudTrailRule' },
      { Name: 'GoneRule' },
    ]);
  });

  test('a rule without State is reported with an empty state, never as ENABLED or DISABLED', async () => {
    eventsMock.on(DescribeRuleCommand).resolves({ Name: 'ScheduleRule' });

    await expect(new EventBridgeRulesAdapter(client).describeRules(['ScheduleRule'])).resolves.toEqual([{ name: 'ScheduleRule', state: '' }]);
  });

  test('no names: no call at all', async () => {
    await expect(new EventBridgeRulesAdapter(client).describeRules([])).resolves.toEqual([]);
    expect(eventsMock).toHaveReceivedCommandTimes(DescribeRuleCommand, 0);
  });

  test('other errors propagate', async () => {
    const failure = eventsError('AccessDeniedException');
    eventsMock.on(DescribeRuleCommand).rejects(failure);

    await expect(new EventBridgeRulesAdapter(client).describeRules(['ScheduleRule'])).rejects.toBe(failure);
  });
});

describe.each([
  ['disableRule', DisableRuleCommand],
  ['enableRule', EnableRuleCommand],
] as const)('EventBridgeRulesAdapter.%s', (method, Command) => {
  test('sends the rule name', async () => {
    eventsMock.on(Command).resolves({});

    await expect(new EventBridgeRulesAdapter(client)[method]('ScheduleRule')).resolves.toBeUndefined();

    expect(eventsMock).toHaveReceivedCommandTimes(Command, 1);
    expect(eventsMock.commandCalls(Command)[0]!.args[0].input).toEqual({ Name: 'ScheduleRule' });
    // The other one of the pair is never sent.
    const other = Command === DisableRuleCommand ? EnableRuleCommand : DisableRuleCommand;
    expect(eventsMock).toHaveReceivedCommandTimes(other, 0);
  });

  test('ResourceNotFoundException: the rule does not exist, nothing to do', async () => {
    eventsMock.on(Command).rejects(notFound());

    await expect(new EventBridgeRulesAdapter(client)[method]('GoneRule')).resolves.toBeUndefined();
    expect(eventsMock).toHaveReceivedCommandTimes(Command, 1);
  });

  test.each(['ManagedRuleException', 'ConcurrentModificationException', 'InternalException'])('%s propagates', async (code) => {
    const failure = eventsError(code);
    eventsMock.on(Command).rejects(failure);

    await expect(new EventBridgeRulesAdapter(client)[method]('ScheduleRule')).rejects.toBe(failure);
  });
});

describe('createEventBridgeClient', () => {
  test('is configured like the other clients (region, adaptive retry, attempts)', async () => {
    const options = { region: 'eu-central-1', maxAttempts: 3 };
    const events = createEventBridgeClient(options);

    expect(events).toBeInstanceOf(EventBridgeClient);
    for (const service of [events, createAwsClients(options).ec2]) {
      await expect(service.config.region()).resolves.toBe('eu-central-1');
      await expect(service.config.maxAttempts()).resolves.toBe(3);
      await expect(service.config.retryStrategy()).resolves.toMatchObject({ mode: 'adaptive' });
    }
  });
});
