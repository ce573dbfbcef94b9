/**
 * Fuzzing the reconcile Lambda's input: EventBridge events, direct invokes and SQS batches, from random
 * JSON and JavaScript values, from random changes to the sample events in events/, and from oversized and
 * deeply nested payloads. Each input is either a recognised trigger or an InvalidEventError that names
 * the bad field (never a TypeError or any other crash); through the real handler (with in-memory ports),
 * an invalid input reads nothing and changes nothing. FUZZ_RUNS / PROPERTY_RUNS raise the run counts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { ENV_LABELS, parseControllerConfig } from '../../../functions/core/config.js';
import type { ControllerDeps } from '../../../functions/service/dependencies.js';
import { sqsRecord } from '../../support/builders.js';
import { LAB_CLUSTER, LAB_ROUTE_TABLE, fakeLambdaContext, fakeWorld } from '../../support/fakes.js';
import { type JsonMutation, describeThrown, fieldsRelated, fuzzRuns, jsonMutation, pathText, timeoutFor } from '../../support/fuzz.js';
import { captureProcessOutput } from '../../support/process-output.js';

// Powertools reads its environment when its singletons are built: set it before the handler module loads.
delete process.env.POWERTOOLS_DEV;
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { createHandler } = await import('../../../functions/handlers/reconcile.js');
const { InvalidEventError, MAX_EVENT_BYTES, parseTrigger, parseTriggers, INSTANCE_STATES } = await import('../../../functions/handlers/events.js');
type Trigger = ReturnType<typeof parseTrigger>;

const output = captureProcessOutput();

const EVENTS_DIR = join(process.cwd(), 'events');
const SAMPLES: Record<string, Record<string, unknown>> = Object.fromEntries(
  readdirSync(EVENTS_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => [file, JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as Record<string, unknown>] as const)
    .filter(([, event]) => 'detail-type' in event || 'action' in event),
);
const SAMPLE_NAMES = Object.keys(SAMPLES);

const KINDS_BY_DETAIL_TYPE: Record<string, Trigger['kind']> = {
  'EC2 Instance State-change Notification': 'ec2-state',
  'SSM Managed Instance Registration': 'ssm-registration',
  'SSM Managed Instance Deregistration': 'ssm-deregistration',
  'Scheduled Event': 'schedule',
};

// ---------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------

/** A sample event with one random change, remembering where. */
const mutatedSample = fc
  .constantFrom(...SAMPLE_NAMES)
  .chain((name) => jsonMutation(SAMPLES[name]).map((mutation) => ({ name, mutation })));

/** A detail-type nobody wired to this function, on an otherwise valid envelope. */
const unknownDetailType = fc
  .tuple(
    fc.constantFrom(...SAMPLE_NAMES.filter((name) => 'detail-type' in SAMPLES[name]!)),
    fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('EBS Volume Notification', 'ec2 instance state-change notification', 'Scheduled Event ', 'AWS API Call via CloudTrail')),
  )
  .filter(([, detailType]) => !(detailType in KINDS_BY_DETAIL_TYPE))
  .map(([name, detailType]) => ({ ...SAMPLES[name], 'detail-type': detailType }));

/** SQS message bodies: sample events (some changed), random JSON, and text that is not JSON. */
const sqsBody = fc.oneof(
  fc.constantFrom(...SAMPLE_NAMES).map((name) => JSON.stringify(SAMPLES[name])),
  mutatedSample.map(({ mutation }) => JSON.stringify(mutation.mutated) ?? 'undefined'),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 30 }),
);

/** SQS batches, some with a record changed (a field of the wrong type, one missing, ...). */
const sqsBatch = fc
  .array(sqsBody, { minLength: 0, maxLength: 5 })
  .map((bodies) => ({ Records: bodies.map((body, index) => sqsRecord(body, index)) }))
  .chain((batch) =>
    batch.Records.length === 0
      ? fc.constant({ event: batch as unknown, mutation: undefined as JsonMutation | undefined })
      : fc.oneof(
          { weight: 2, arbitrary: fc.constant({ event: batch as unknown, mutation: undefined as JsonMutation | undefined }) },
          { weight: 1, arbitrary: jsonMutation(batch, { skip: (path) => path.length < 2 }).map((mutation) => ({ event: mutation.mutated, mutation: mutation as JsonMutation | undefined })) },
        ),
  );

const ONE_MB = 1024 * 1024;
const HUGE_SIZES = [MAX_EVENT_BYTES - 500, MAX_EVENT_BYTES + 1, ONE_MB];

/** JSON text nested `depth` levels deep (built as text: JSON.stringify itself runs out of stack on such values). */
function nestedText(depth: number, leaf: string, key = 'a'): string {
  return key === '[]' ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}` : `${`{${JSON.stringify(key)}:`.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
}

/** A payload built only when the property runs, printed by its label (a counterexample of 1 MB helps no one). */
interface Payload {
  label: string;
  make: () => unknown;
  /** For SQS batches: how many bytes each message body has. */
  bodyBytes?: number[];
}
const payload = (label: string, make: () => unknown, bodyBytes?: number[]): Payload =>
  Object.assign({ label, make, ...(bodyBytes ? { bodyBytes } : {}) }, { [fc.toStringMethod]: () => label });

/** Oversized and deeply nested payloads, alone, inside a sample event, or as SQS message bodies. */
const hugeOrDeep: fc.Arbitrary<Payload> = fc.oneof(
  fc.constantFrom(...HUGE_SIZES).map((size) => payload(`a string of ${size} bytes`, () => 'x'.repeat(size))),
  fc
    .tuple(fc.constantFrom(...SAMPLE_NAMES), fc.constantFrom(...HUGE_SIZES), fc.constantFrom('detail', 'reason', 'id', 'padding'))
    .map(([name, size, field]) =>
      payload(`${name} with ${field} holding ${size} bytes`, () => ({
        ...SAMPLES[name],
        ...(field === 'detail' ? { detail: { ...(SAMPLES[name]!.detail as object), note: 'x'.repeat(size) } } : { [field]: 'x'.repeat(size) }),
      })),
    ),
  fc
    .tuple(fc.constantFrom(...SAMPLE_NAMES), fc.constantFrom(10, 100, 1_000, 5_000, 50_000), fc.constantFrom('a', '[]', 'mi-0123456789abcdef0'))
    .map(([name, depth, key]) =>
      payload(`${name} with a ${key === '[]' ? 'list' : 'map'} nested ${depth} deep`, () => ({
        ...SAMPLES[name],
        ['detail' in SAMPLES[name]! ? 'detail' : 'reason']: JSON.parse(nestedText(depth, '"mi-0123456789abcdef0"', key)) as unknown,
      })),
    ),
  fc.constantFrom(100, 5_000, 50_000).map((depth) => payload(`a direct invoke nested ${depth} deep`, () => JSON.parse(nestedText(depth, '{"action":"plan"}')) as unknown)),
  fc.tuple(fc.constantFrom(MAX_EVENT_BYTES + 1, ONE_MB), fc.constantFrom(...SAMPLE_NAMES)).map(([size, name]) => {
    const big = JSON.stringify({ ...SAMPLES[name], detail: { huge: 'x'.repeat(size) } });
    const small = JSON.stringify(SAMPLES[name]);
    return payload(`an SQS batch: ${name} padded to ${size} bytes, then ${name}`, () => ({ Records: [sqsRecord(big, 0), sqsRecord(small, 1)] }), [
      Buffer.byteLength(big),
      Buffer.byteLength(small),
    ]);
  }),
  fc.constantFrom(1_000, 50_000).map((depth) => {
    const body = nestedText(depth, '1');
    return payload(`an SQS batch whose message is nested ${depth} deep`, () => ({ Records: [sqsRecord(body, 0)] }), [Buffer.byteLength(body)]);
  }),
);

// ---------------------------------------------------------------------------------------------------------
// What every outcome must look like
// ---------------------------------------------------------------------------------------------------------

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 600)}`}`);
}

/** A trigger has the shape its kind promises. */
function checkTrigger(trigger: Trigger): void {
  switch (trigger.kind) {
    case 'ec2-state':
      rule(/^i-[0-9a-f]{8,17}$/.test(trigger.instanceId) && (INSTANCE_STATES as readonly string[]).includes(trigger.state), 'a well-formed EC2 trigger', trigger);
      rule(typeof trigger.eventId === 'string' && trigger.eventId !== '', 'an event id', trigger);
      return;
    case 'ssm-registration':
    case 'ssm-deregistration':
      rule(trigger.managedInstanceIds.every((id) => /^mi-[0-9a-f]{17}$/.test(id)), 'managed-instance ids only', trigger);
      rule(typeof trigger.eventId === 'string' && trigger.eventId !== '', 'an event id', trigger);
      return;
    case 'schedule':
      rule(typeof trigger.eventId === 'string' && trigger.eventId !== '', 'an event id', trigger);
      return;
    case 'direct':
      rule(trigger.mode === 'plan' || trigger.mode === 'reconcile', 'a direct mode', trigger);
      rule(trigger.reason === undefined || typeof trigger.reason === 'string', 'a reason that is text', trigger);
      return;
    default:
      rule(false, 'a known trigger kind', trigger);
  }
}

type Parsed = { ok: true; triggers: Trigger[]; invalid: number } | { ok: false; error: InstanceType<typeof InvalidEventError> };

/** parseTriggers, with the rules: a batch of well-formed triggers, or an InvalidEventError naming the field. */
function parseChecked(event: unknown): Parsed {
  let batch: ReturnType<typeof parseTriggers>;
  try {
    batch = parseTriggers(event);
  } catch (error) {
    rule(error instanceof InvalidEventError, 'only InvalidEventError is thrown', describeThrown(error));
    const invalid = error as InstanceType<typeof InvalidEventError>;
    rule(invalid.fields.length > 0 && invalid.fields.every((field) => typeof field === 'string' && field !== ''), 'the error lists the bad fields', invalid.fields);
    rule(
      invalid.fields.some((field) => invalid.message.includes(field.slice(0, 150))),
      'the message names a bad field',
      { message: invalid.message, fields: invalid.fields },
    );
    rule(invalid.message.length <= 1_100, 'the message stays short', invalid.message.length);
    return { ok: false, error: invalid };
  }
  // Only a queued batch may yield none, when every one of its messages is dropped (the handler drops the batch).
  const records = (event as { Records?: unknown[] }).Records;
  rule(batch.triggers.length > 0 || (Array.isArray(records) && batch.invalid.length === records.length), 'a parsed input yields a trigger, or is a batch of only dropped messages');
  batch.triggers.forEach(checkTrigger);
  for (const dropped of batch.invalid) rule(typeof dropped.error === 'string' && dropped.error !== '', 'a dropped message says why', dropped);
  return { ok: true, triggers: batch.triggers, invalid: batch.invalid.length };
}

/** After one change at `mutation.path`, an error must name that field (or one on its line of descent). */
function checkBlame(parsed: Parsed, mutation: JsonMutation, original: Record<string, unknown>): void {
  if (parsed.ok) {
    const event = mutation.mutated as Record<string, unknown>;
    const detailType = event['detail-type'];
    if (typeof detailType === 'string' && detailType in KINDS_BY_DETAIL_TYPE) {
      rule(parsed.triggers[0]!.kind === KINDS_BY_DETAIL_TYPE[detailType], 'the trigger kind follows the detail-type', { detailType, trigger: parsed.triggers[0] });
    }
    return;
  }
  const changed = pathText(mutation.path);
  const { fields, message } = parsed.error;
  // Changing the detail-type makes it another event (or none): any field may then be the one named.
  if (mutation.path[0] === 'detail-type') return;
  const direct = 'action' in original && !('detail-type' in original);
  // A direct invoke is strict: an unknown key is reported at the top, by its name.
  if (direct && mutation.kind === 'extra-key' && mutation.path.length === 1) {
    rule(fields.includes('event') && /Unrecognized key/.test(message), 'an unknown key of a direct invoke is named', { message, fields });
    return;
  }
  rule(
    fields.some((field) => fieldsRelated(field, changed)) || (mutation.path.length === 1 && fields.includes('detail-type') && fields.includes('action')),
    `the error names the changed field ${changed}`,
    { kind: mutation.kind, value: mutation.value, message, fields },
  );
}

// ---------------------------------------------------------------------------------------------------------
// The handler, with in-memory ports
// ---------------------------------------------------------------------------------------------------------

const labConfig = () => parseControllerConfig({ clusterName: LAB_CLUSTER, region: 'us-west-2', routeTableIds: LAB_ROUTE_TABLE }, ENV_LABELS);

/** Runs one event through a fresh handler over the lab (a route missing, source/dest check on: a real run mutates). */
async function throughHandler(event: unknown) {
  const world = fakeWorld();
  const createDeps = jest.fn(async (_config: unknown): Promise<ControllerDeps> => world.deps);
  const handler = createHandler({
    loadConfig: labConfig,
    createDeps,
    followUp: { windowMs: 0, intervalMs: 1_000, sleep: async () => {} },
  });
  output.clear();
  try {
    return { world, createDeps, result: await handler(event, fakeLambdaContext()), error: undefined as unknown };
  } catch (error) {
    return { world, createDeps, result: undefined, error };
  }
}

const RUNS = fuzzRuns();
const HANDLER_RUNS = fuzzRuns(0.5);
const HUGE_RUNS = fuzzRuns(0.15, 15);

describe('fuzzing the reconcile input: parseTriggers', () => {
  test(
    'any JavaScript value: a trigger, or an InvalidEventError naming the field; never anything else',
    () => {
      const anything = fc.anything({
        maxDepth: 3,
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
        withTypedArray: true,
        stringUnit: 'grapheme',
      });
      fc.assert(fc.property(anything, (event) => void parseChecked(event)), { numRuns: RUNS });
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'random JSON, and JSON objects with the keys a trigger looks for',
    () => {
      const keyed = fc.record(
        {
          'detail-type': fc.oneof(fc.constantFrom(...Object.keys(KINDS_BY_DETAIL_TYPE)), fc.jsonValue({ maxDepth: 1 })),
          action: fc.oneof(fc.constantFrom('plan', 'reconcile'), fc.jsonValue({ maxDepth: 1 })),
          source: fc.oneof(fc.constantFrom('aws.ec2', 'aws.ssm', 'aws.events', 'aws.scheduler'), fc.jsonValue({ maxDepth: 1 })),
          detail: fc.jsonValue({ maxDepth: 2 }),
          id: fc.jsonValue({ maxDepth: 1 }),
          Records: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      );
      fc.assert(fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), keyed), (event) => void parseChecked(event)), { numRuns: RUNS });
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'one change to a sample event: still its trigger, or an error that names the changed field',
    () => {
      fc.assert(
        fc.property(mutatedSample, ({ name, mutation }) => checkBlame(parseChecked(mutation.mutated), mutation, SAMPLES[name]!)),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'unknown detail-types are refused, naming detail-type',
    () => {
      fc.assert(
        fc.property(unknownDetailType, (event) => {
          const parsed = parseChecked(event);
          rule(!parsed.ok && parsed.error.fields.includes('detail-type'), 'refused, naming detail-type', parsed.ok ? parsed.triggers : parsed.error.message);
        }),
        { numRuns: fuzzRuns(0.5) },
      );
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'SQS batches: the triggers among the messages (none when every message is bad), or an error naming the envelope field',
    () => {
      fc.assert(
        fc.property(sqsBatch, ({ event, mutation }) => {
          const parsed = parseChecked(event);
          if (parsed.ok) return;
          // Only the envelope can make a batch fail (a batch of bad messages is dropped, not refused): a mutated
          // field, or Records itself when the batch holds no message at all.
          const { fields } = parsed.error;
          const records = (event as { Records?: unknown[] }).Records;
          rule(mutation !== undefined || (Array.isArray(records) && records.length === 0), 'an unmutated batch with messages is never refused', parsed.error.message);
          const changed = mutation ? pathText(mutation.path) : 'Records';
          rule(fields.some((field) => fieldsRelated(field, changed)) || fields.includes('Records'), `the error names ${changed} or Records`, fields);
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 30),
  );

  test(
    'a dropped SQS message is reported with what is wrong, naming the field (its body, or the field inside it)',
    () => {
      const bodies = fc.oneof(
        fc.string({ maxLength: 20 }).filter((text) => {
          try {
            JSON.parse(text);
            return false;
          } catch {
            return true;
          }
        }),
        fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
        mutatedSample.map(({ mutation }) => JSON.stringify(mutation.mutated) ?? 'undefined'),
      );
      const batch = fc.array(bodies, { minLength: 1, maxLength: 3 }).map((list) => ({
        Records: [...list, JSON.stringify(SAMPLES['scheduled-reconcile.json'])].map((body, index) => sqsRecord(body, index)),
      }));
      fc.assert(
        fc.property(batch, (event) => {
          const parsed = parseTriggers(event);
          for (const dropped of parsed.invalid) {
            // An InvalidEventError from the message's event names its field; anything else must at least say `body`.
            rule(dropped.error.startsWith('invalid ') || /\bbody\b/.test(dropped.error), 'the dropped message names what is wrong with it', dropped);
          }
        }),
        {
          numRuns: fuzzRuns(0.5),
          // A message whose body is not JSON at all (e.g. a truncated or hand-sent message).
          examples: [[{ Records: [sqsRecord('{"version":"0",', 0), sqsRecord(JSON.stringify(SAMPLES['scheduled-reconcile.json']), 1)] }]],
        },
      );
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'oversized and deeply nested payloads: refused by size (naming event) or parsed, never a crash',
    () => {
      fc.assert(
        fc.property(hugeOrDeep, ({ make, bodyBytes }) => {
          const event = make();
          const parsed = parseChecked(event);
          if (bodyBytes) {
            // A batch: each message is an event of its own, measured on its own.
            const oversized = bodyBytes.filter((bytes) => bytes > MAX_EVENT_BYTES).length;
            if (parsed.ok) rule(parsed.invalid >= oversized, 'every oversized message is dropped', { oversized, dropped: parsed.invalid });
            return;
          }
          let bytes = Infinity;
          try {
            bytes = Buffer.byteLength(typeof event === 'string' ? event : (JSON.stringify(event) ?? ''));
          } catch {
            // too deep for JSON.stringify: refused as not serialisable
          }
          if (bytes > MAX_EVENT_BYTES) rule(!parsed.ok && parsed.error.fields.includes('event'), 'an oversized event is refused naming event', parsed.ok ? 'parsed' : parsed.error.message);
        }),
        { numRuns: HUGE_RUNS },
      );
    },
    timeoutFor(HUGE_RUNS, 400),
  );
});

describe('fuzzing the reconcile input: the handler', () => {
  const jsonInputs = fc.oneof(
    { weight: 3, arbitrary: mutatedSample.map(({ mutation }) => mutation.mutated) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 2, arbitrary: sqsBatch.map(({ event }) => event) },
    { weight: 1, arbitrary: unknownDetailType },
    { weight: 1, arbitrary: fc.constantFrom(...SAMPLE_NAMES).map((name) => SAMPLES[name]) },
  );

  test(
    'an invalid input fails with the InvalidEventError, before anything is read or changed; a valid one runs',
    async () => {
      await fc.assert(
        fc.asyncProperty(jsonInputs, async (event) => {
          const expected = parseChecked(event);
          const { world, createDeps, result, error } = await throughHandler(event);
          const calls = world.allCalls();
          if (!expected.ok) {
            rule(error instanceof InvalidEventError, 'the handler fails with InvalidEventError', describeThrown(error));
            rule((error as Error).message === expected.error.message, 'the same error as parseTriggers', { handler: (error as Error).message, parser: expected.error.message });
            rule(createDeps.mock.calls.length === 0 && calls.length === 0, 'nothing is read or changed', calls);
            return;
          }
          rule(error === undefined, 'a recognised trigger runs', describeThrown(error));
          if (expected.triggers.length === 0) {
            rule((result as { status: string }).status === 'dropped', 'a batch of only bad messages is dropped', result);
            rule(createDeps.mock.calls.length === 0 && calls.length === 0, 'a dropped batch reads and changes nothing', calls);
            return;
          }
          const planOnly = expected.triggers.length === 1 && expected.triggers[0]!.kind === 'direct' && expected.triggers[0]!.mode === 'plan';
          rule((result as { mode: string }).mode === (planOnly ? 'plan' : 'apply'), 'plan for a direct plan, apply otherwise', result);
          if (planOnly) rule(world.ec2.mutations().length === 0, 'a direct plan changes nothing', world.ec2.mutations());
        }),
        { numRuns: HANDLER_RUNS },
      );
    },
    timeoutFor(HANDLER_RUNS, 60),
  );

  test(
    'oversized and deeply nested payloads through the handler: refused or run, never a crash, no change when refused',
    async () => {
      await fc.assert(
        fc.asyncProperty(hugeOrDeep, async ({ make }) => {
          const event = make();
          const expected = parseChecked(event);
          const { world, error } = await throughHandler(event);
          if (expected.ok) {
            rule(error === undefined, 'a recognised trigger runs, a batch of bad messages is dropped', describeThrown(error));
            if (expected.triggers.length === 0) rule(world.allCalls().length === 0, 'a dropped batch reads and changes nothing', world.allCalls());
          } else {
            rule(error instanceof InvalidEventError, 'the handler fails with InvalidEventError', describeThrown(error));
            rule(world.allCalls().length === 0, 'nothing is read or changed', world.allCalls());
          }
        }),
        { numRuns: HUGE_RUNS },
      );
    },
    timeoutFor(HUGE_RUNS, 600),
  );
});
