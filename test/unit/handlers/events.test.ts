import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  InvalidEventError,
  MAX_EVENT_BYTES,
  type Trigger,
  findManagedInstanceIds,
  MAX_MANAGED_INSTANCE_IDS,
  parseTrigger,
} from '../../../functions/handlers/events.js';

const EVENTS_DIR = join(process.cwd(), 'events');

function sample(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as Record<string, unknown>;
}

/** A sample with some fields replaced (or removed, with `undefined`). */
function variant(file: string, changes: Record<string, unknown>): Record<string, unknown> {
  const event = sample(file);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete event[key];
    else event[key] = value;
  }
  return event;
}

function invalid(event: unknown): InvalidEventError {
  try {
    parseTrigger(event);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return error as InvalidEventError;
  }
  throw new Error(`expected InvalidEventError for ${JSON.stringify(event)?.slice(0, 200)}`);
}

const EXPECTED: Record<string, Trigger> = {
  'ec2-instance-running.json': {
    kind: 'ec2-state',
    instanceId: 'i-0abc1234def567890',
    state: 'running',
    eventId: '7bf73129-1428-4cd3-a780-95db273d1602',
  },
  'ec2-instance-terminated.json': {
    kind: 'ec2-state',
    instanceId: 'i-0abc1234def567890',
    state: 'terminated',
    eventId: '4f2a9c61-0e3b-4d8f-b7a2-5c1e9d0f3a84',
  },
  'ssm-managed-instance-registration.json': {
    kind: 'ssm-registration',
    managedInstanceIds: ['mi-026d6a261e355fba7'],
    eventId: 'b3e1f0a2-6c4d-4e9b-8a7f-2d5c3b1a0e96',
  },
  'ssm-managed-instance-deregistration.json': {
    kind: 'ssm-deregistration',
    managedInstanceIds: ['mi-026d6a261e355fba7'],
    eventId: '0d8c6e4b-2f1a-4b7c-9e3d-6a5f4c2b1e07',
  },
  'scheduled-reconcile.json': { kind: 'schedule', eventId: '9a6e2c3d-5b7f-4e1a-8c0d-3f2b4a6e8c1d' },
  'direct-plan.json': { kind: 'direct', mode: 'plan', reason: 'dry run before changing the managed route tables' },
  'direct-reconcile.json': { kind: 'direct', mode: 'reconcile' },
};

describe('parseTrigger on the sample events', () => {
  test.each(Object.entries(EXPECTED))('%s', (file, trigger) => {
    expect(parseTrigger(sample(file))).toEqual(trigger);
  });

  test('every EventBridge event and direct invoke in events/ has an expectation here', () => {
    const triggers = readdirSync(EVENTS_DIR)
      .filter((file) => file.endsWith('.json'))
      .filter((file) => {
        const event = sample(file);
        return 'detail-type' in event || 'action' in event;
      });
    expect(triggers.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test('EventBridge samples carry the full envelope', () => {
    for (const file of Object.keys(EXPECTED).filter((name) => !name.startsWith('direct-'))) {
      const event = sample(file);
      expect(Object.keys(event).sort()).toEqual(['account', 'detail', 'detail-type', 'id', 'region', 'resources', 'source', 'time', 'version']);
      expect(event).toMatchObject({ version: '0', account: '123456789012', region: 'us-west-2' });
      expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});

describe('parseTrigger accepts the other real shapes', () => {
  test('a schedule rule event (source aws.events, detail {})', () => {
    const event = variant('scheduled-reconcile.json', {
      source: 'aws.events',
      resources: ['arn:aws:events:us-west-2:123456789012:rule/eks-hybrid-routes-anti-entropy'],
    });
    expect(parseTrigger(event)).toEqual({ kind: 'schedule', eventId: event.id });
  });

  test('a Scheduler input whose id is an execution id, not a UUID', () => {
    expect(parseTrigger(variant('scheduled-reconcile.json', { id: 'd32c5kddcf5bb8c3' }))).toEqual({ kind: 'schedule', eventId: 'd32c5kddcf5bb8c3' });
  });

  test.each(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'])('EC2 state %s', (state) => {
    const event = variant('ec2-instance-running.json', { detail: { 'instance-id': 'i-0abc1234def567890', state } });
    expect(parseTrigger(event)).toMatchObject({ kind: 'ec2-state', state });
  });

  test('EC2 detail with extra fields and an 8-hex instance id', () => {
    const event = variant('ec2-instance-running.json', { detail: { 'instance-id': 'i-0abc1234', state: 'stopped', extra: { a: 1 } } });
    expect(parseTrigger(event)).toMatchObject({ instanceId: 'i-0abc1234', state: 'stopped' });
  });

  test('a replayed event (replay-name)', () => {
    expect(parseTrigger(variant('ec2-instance-running.json', { 'replay-name': 'replay-1' }))).toMatchObject({ kind: 'ec2-state' });
  });

  test('an SSM event with an empty detail still triggers a run, with no ids', () => {
    const event = variant('ssm-managed-instance-registration.json', { detail: {}, resources: [] });
    expect(parseTrigger(event)).toEqual({ kind: 'ssm-registration', managedInstanceIds: [], eventId: event.id });
  });

  test('an SSM event takes ids from anywhere in the detail and from the resource ARNs, once each', () => {
    const event = variant('ssm-managed-instance-deregistration.json', {
      detail: {
        instances: [{ id: 'mi-0123456789abcdef0' }, { note: 'moved from mi-026d6a261e355fba7 to mi-0123456789abcdef0' }],
        'mi-0fffffffffffffff1': 'keys are not searched',
      },
      resources: ['arn:aws:ssm:us-west-2:123456789012:managed-instance/mi-0aaaaaaaaaaaaaaa2', 'arn:aws:ssm:us-west-2:123456789012:managed-instance/mi-026d6a261e355fba7'],
    });
    expect(parseTrigger(event)).toMatchObject({
      kind: 'ssm-deregistration',
      managedInstanceIds: ['mi-0123456789abcdef0', 'mi-026d6a261e355fba7', 'mi-0aaaaaaaaaaaaaaa2'],
    });
  });
});

describe('findManagedInstanceIds', () => {
  test('only exact mi- + 17 lowercase hex tokens', () => {
    const detail = {
      short: 'mi-026d6a261e355fba',
      long: 'mi-026d6a261e355fba70',
      upper: 'mi-026D6A261E355FBA7',
      glued: 'xmi-026d6a261e355fba7',
      good: 'instance mi-026d6a261e355fba7, done',
    };
    expect(findManagedInstanceIds(detail, [])).toEqual(['mi-026d6a261e355fba7']);
  });

  test('searches nested values up to a bounded depth', () => {
    const nest = (depth: number, value: unknown): unknown => (depth === 0 ? value : { inner: nest(depth - 1, value) });
    expect(findManagedInstanceIds(nest(7, 'mi-0123456789abcdef0'), [])).toEqual(['mi-0123456789abcdef0']);
    expect(findManagedInstanceIds(nest(9, 'mi-0123456789abcdef0'), [])).toEqual([]);
  });

  test('keeps at most MAX_MANAGED_INSTANCE_IDS ids, the first seen', () => {
    const ids = Array.from({ length: 3000 }, (_, index) => `mi-${index.toString(16).padStart(17, '0')}`);
    const found = findManagedInstanceIds({ ids }, []);
    expect(found).toEqual(ids.slice(0, MAX_MANAGED_INSTANCE_IDS));
    expect(MAX_MANAGED_INSTANCE_IDS).toBeLessThanOrEqual(50);
  });

  test('stops after a bounded number of values', () => {
    const wide = Array.from({ length: 20_000 }, (_, index) => (index === 19_999 ? 'mi-0123456789abcdef0' : 'x'));
    expect(findManagedInstanceIds({ wide }, [])).toEqual([]);
    expect(findManagedInstanceIds({ wide: wide.slice(-10) }, [])).toEqual(['mi-0123456789abcdef0']);
  });
});

describe('parseTrigger refuses what it was not wired for', () => {
  test.each([
    ['a bad state', { detail: { 'instance-id': 'i-0abc1234def567890', state: 'rebooting' } }, 'detail.state', /detail\.state: Invalid option/],
    ['a malformed instance id', { detail: { 'instance-id': 'i-XYZ', state: 'running' } }, 'detail.instance-id', /detail\.instance-id: must be an EC2 instance id/],
    ['an instance id of the wrong type', { detail: { 'instance-id': 1234, state: 'running' } }, 'detail.instance-id', /detail\.instance-id: Invalid input: expected string/],
    ['a missing state', { detail: { 'instance-id': 'i-0abc1234def567890' } }, 'detail.state', /detail\.state:/],
    ['a missing detail', { detail: undefined }, 'detail', /detail: Invalid input: expected object/],
    ['the wrong source', { source: 'aws.ssm' }, 'source', /source: Invalid input: expected "aws\.ec2"/],
    ['a time that is not ISO 8601', { time: 'yesterday' }, 'time', /time:/],
    ['resources that are not a list', { resources: 'arn:aws:ec2:us-west-2:123456789012:instance/i-0abc1234def567890' }, 'resources', /resources:/],
    ['a resource that is not a string', { resources: [42] }, 'resources[0]', /resources\[0\]:/],
    ['a missing id', { id: undefined }, 'id', /id:/],
    ['an empty id', { id: '' }, 'id', /id: must be a non-empty event id/],
  ])('EC2 event with %s', (_name, changes, field, message) => {
    const error = invalid(variant('ec2-instance-running.json', changes));
    expect(error.fields).toContain(field);
    expect(error.message).toMatch(message);
    expect(error.detailType).toBe('EC2 Instance State-change Notification');
    expect(error.message).toContain('"EC2 Instance State-change Notification"');
  });

  test('an SSM event whose detail is not an object', () => {
    const error = invalid(variant('ssm-managed-instance-registration.json', { detail: 'mi-026d6a261e355fba7' }));
    expect(error.fields).toEqual(['detail']);
    expect(error.message).toMatch(/^invalid "SSM Managed Instance Registration" event: detail: /);
  });

  test('a scheduled event from a source that does not schedule', () => {
    const error = invalid(variant('scheduled-reconcile.json', { source: 'aws.ec2' }));
    expect(error.fields).toEqual(['source']);
    expect(error.message).toContain('Scheduled Event');
  });

  test('an unknown detail-type is named, with the ones expected', () => {
    const error = invalid(variant('ec2-instance-running.json', { 'detail-type': 'EBS Volume Notification', source: 'aws.ebs' }));
    expect(error.fields).toEqual(['detail-type']);
    expect(error.detailType).toBe('EBS Volume Notification');
    expect(error.message).toContain('"EBS Volume Notification"');
    expect(error.message).toContain('"EC2 Instance State-change Notification"');
    expect(error.message).toContain('"Scheduled Event"');
  });

  test('text echoed from the event is cut short', () => {
    const long = 'X'.repeat(5_000);
    const error = invalid(variant('ec2-instance-running.json', { 'detail-type': long }));
    expect(error.message.length).toBeLessThan(1_200);
    expect(error.detailType!.length).toBeLessThan(300);
    const keyError = invalid({ action: 'plan', [long]: true });
    expect(keyError.message.length).toBeLessThan(1_200);
  });

  test('a detail-type that is not a string', () => {
    const error = invalid(variant('ec2-instance-running.json', { 'detail-type': 7 }));
    expect(error.fields).toEqual(['detail-type']);
    expect(error.detailType).toBeUndefined();
  });

  test('several bad fields are all named', () => {
    const error = invalid(variant('ec2-instance-running.json', { account: 42, detail: { 'instance-id': 'x', state: 'y' } }));
    expect(error.fields).toEqual(expect.arrayContaining(['account']));
    const detailError = invalid(variant('ec2-instance-running.json', { detail: { 'instance-id': 'x', state: 'y' } }));
    expect(detailError.fields).toEqual(['detail.instance-id', 'detail.state']);
  });

  test.each([
    ['an unknown action', { action: 'apply' }, 'action', /action: Invalid option/],
    ['an action of the wrong type', { action: true }, 'action', /action:/],
    ['a reason that is not a string', { action: 'plan', reason: 5 }, 'reason', /reason:/],
    ['an unknown option', { action: 'reconcile', force: true }, 'event', /Unrecognized key.*force/],
  ])('a direct invoke with %s', (_name, event, field, message) => {
    const error = invalid(event);
    expect(error.fields).toEqual([field]);
    expect(error.message).toMatch(message);
    expect(error.detailType).toBeUndefined();
  });

  test('an object that is neither an EventBridge event nor a direct invoke', () => {
    const error = invalid({ hello: 'world' });
    expect(error.fields).toEqual(['detail-type', 'action']);
    expect(error.message).toMatch(/neither an EventBridge event.*nor a direct invoke/);
  });

  test.each([
    ['null', null],
    ['a string', 'reconcile'],
    ['a number', 42],
    ['an array', [{ action: 'plan' }]],
    ['nothing', undefined],
  ])('%s', (_name, event) => {
    const error = invalid(event);
    expect(error.fields).toEqual(['event']);
    expect(error.message).toMatch(/event: must be a JSON object/);
  });
});

describe('parseTrigger and EventBridge size limit', () => {
  /** The registration sample padded with a detail string so that its JSON is exactly `bytes` long. */
  function sampleOfSize(bytes: number): Record<string, unknown> {
    const event = sample('ssm-managed-instance-registration.json');
    const detail = { ...(event.detail as object), padding: '' };
    event.detail = detail;
    const base = Buffer.byteLength(JSON.stringify(event));
    detail.padding = 'x'.repeat(bytes - base);
    expect(Buffer.byteLength(JSON.stringify(event))).toBe(bytes);
    return event;
  }

  test('an event of exactly 256 KB is parsed', () => {
    expect(parseTrigger(sampleOfSize(MAX_EVENT_BYTES))).toMatchObject({ kind: 'ssm-registration', managedInstanceIds: ['mi-026d6a261e355fba7'] });
  });

  test('one byte more is refused, with the size in the message', () => {
    const error = invalid(sampleOfSize(MAX_EVENT_BYTES + 1));
    expect(error.fields).toEqual(['event']);
    expect(error.message).toContain(`${MAX_EVENT_BYTES + 1} bytes`);
    expect(error.message).toMatch(/larger than EventBridge's 262144-byte limit/);
  });

  test('an oversized event is refused before its shape is looked at', () => {
    const error = invalid({ 'detail-type': 42, detail: 'y'.repeat(MAX_EVENT_BYTES) });
    expect(error.fields).toEqual(['event']);
    expect(error.message).toMatch(/byte limit/);
  });

  test('an oversized string payload is refused by size too', () => {
    expect(invalid('z'.repeat(MAX_EVENT_BYTES + 1)).message).toMatch(/byte limit/);
  });

  test('an event that cannot be serialised', () => {
    const cyclic: Record<string, unknown> = { action: 'plan' };
    cyclic.self = cyclic;
    expect(invalid(cyclic).message).toMatch(/cannot be serialised as JSON/);
  });
});
