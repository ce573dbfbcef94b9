/**
 * What can wake the reconciler, and how each trigger is recognised. Every trigger is only a hint (the run
 * reads the real state anyway), so parsing checks the shape strictly enough to catch a miswired rule or a
 * mistyped manual invoke, and no more.
 */
import { parse } from '@aws-lambda-powertools/parser';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import * as z from 'zod';
import { fieldPath } from '../shared/field-path.js';

/** EventBridge refuses larger events (PutEvents entry limit), so anything bigger did not come from it. */
export const MAX_EVENT_BYTES = 256 * 1024;

export const EC2_STATE_CHANGE = 'EC2 Instance State-change Notification';
export const SSM_REGISTRATION = 'SSM Managed Instance Registration';
export const SSM_DEREGISTRATION = 'SSM Managed Instance Deregistration';
export const SCHEDULED_EVENT = 'Scheduled Event';

export const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

export type Trigger =
  | { kind: 'ec2-state'; instanceId: string; state: InstanceState; eventId: string }
  | { kind: 'ssm-registration' | 'ssm-deregistration'; managedInstanceIds: string[]; eventId: string }
  | { kind: 'schedule'; eventId: string }
  | { kind: 'direct'; mode: 'plan' | 'reconcile'; reason?: string };

/** Text taken from the event is cut to this length in messages: a direct invoke may carry anything. */
const MAX_ECHOED_CHARS = 200;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** The event is not one this function is wired to receive; `fields` names what was wrong. Nothing was done. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  readonly fields: string[];
  readonly detailType?: string;

  constructor(message: string, fields: string[], detailType?: string) {
    const shownType = detailType === undefined ? undefined : clip(detailType, MAX_ECHOED_CHARS);
    super(clip(shownType === undefined ? `invalid event: ${message}` : `invalid "${shownType}" event: ${message}`, 5 * MAX_ECHOED_CHARS));
    this.fields = fields.map((field) => clip(field, MAX_ECHOED_CHARS));
    if (shownType !== undefined) this.detailType = shownType;
  }
}

// The envelope checks of Powertools' EventBridgeSchema, plus: a non-empty id (it is the run's correlation id),
// and a detail that is an object, as EventBridge delivers it for every event (PutEvents takes a JSON object).
const EventBridgeEnvelope = EventBridgeSchema.extend({
  id: z.string().min(1, 'must be a non-empty event id'),
  detail: z.looseObject({}),
});

export const Ec2StateChangeEventSchema = EventBridgeEnvelope.extend({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal(EC2_STATE_CHANGE),
  detail: z.looseObject({
    'instance-id': z.string().regex(/^i-[0-9a-f]{8,17}$/, 'must be an EC2 instance id such as i-0123456789abcdef0'),
    state: z.enum(INSTANCE_STATES),
  }),
});

// AWS documents neither registration detail-type's payload (FACTS.md): any object is accepted, and the
// managed-instance ids are searched for wherever they appear.
const SsmDetail = z.looseObject({});

export const SsmRegistrationEventSchema = EventBridgeEnvelope.extend({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal(SSM_REGISTRATION),
  detail: SsmDetail,
});

export const SsmDeregistrationEventSchema = EventBridgeEnvelope.extend({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal(SSM_DEREGISTRATION),
  detail: SsmDetail,
});

/** An EventBridge schedule rule (`aws.events`) or an EventBridge Scheduler input in the same shape (`aws.scheduler`). */
export const ScheduledEventSchema = EventBridgeEnvelope.extend({
  source: z.enum(['aws.events', 'aws.scheduler']),
  'detail-type': z.literal(SCHEDULED_EVENT),
});

/** `aws lambda invoke --payload '{"action":"plan"}'`. Strict, so a typo such as `"force": true` is refused, not ignored. */
export const DirectInvokeSchema = z.strictObject({
  action: z.enum(['reconcile', 'plan']),
  reason: z.string().max(1024).optional(),
});

const SCHEMAS_BY_DETAIL_TYPE = {
  [EC2_STATE_CHANGE]: Ec2StateChangeEventSchema,
  [SSM_REGISTRATION]: SsmRegistrationEventSchema,
  [SSM_DEREGISTRATION]: SsmDeregistrationEventSchema,
  [SCHEDULED_EVENT]: ScheduledEventSchema,
} as const;

type KnownDetailType = keyof typeof SCHEMAS_BY_DETAIL_TYPE;

const MANAGED_INSTANCE_ID = /(?<![0-9A-Za-z])mi-[0-9a-f]{17}(?![0-9A-Za-z])/g;
// Bounds for walking an undocumented payload: deep or wide structures are not searched exhaustively.
const MAX_DETAIL_DEPTH = 8;
const MAX_DETAIL_VALUES = 10_000;
/**
 * A registration event names one managed instance; the ids only say whose registration status to report
 * (never what the run does), so at most this many are kept: a crafted event cannot make the handler look up
 * thousands of instances or write a log line past CloudWatch's 256 KB event limit.
 */
export const MAX_MANAGED_INSTANCE_IDS = 20;

/** The `mi-` ids in the detail's string values (any depth, bounded) and in the resource ARNs, first-seen order, at most MAX_MANAGED_INSTANCE_IDS. */
export function findManagedInstanceIds(detail: unknown, resources: readonly string[]): string[] {
  const found = new Set<string>();
  let budget = MAX_DETAIL_VALUES;
  const visit = (value: unknown, depth: number): void => {
    if (budget-- <= 0) return;
    if (typeof value === 'string') {
      for (const match of value.matchAll(MANAGED_INSTANCE_ID)) found.add(match[0]);
    } else if (value !== null && typeof value === 'object' && depth < MAX_DETAIL_DEPTH) {
      for (const item of Array.isArray(value) ? value : Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(detail, 0);
  for (const arn of resources) visit(arn, 0);
  return [...found].slice(0, MAX_MANAGED_INSTANCE_IDS);
}

interface SchemaIssue {
  message: string;
  path?: readonly (PropertyKey | { key: PropertyKey })[];
}

/** Validates with the Powertools parser; on failure throws InvalidEventError naming each bad field. */
function validate<T extends z.ZodType>(schema: T, event: unknown, detailType?: string): z.output<T> {
  const result = parse(event, undefined, schema, true);
  if (result.success) return result.data as z.output<T>;
  const issues = (Array.isArray(result.error.cause) ? result.error.cause : []) as SchemaIssue[];
  const described = issues.slice(0, 5).map((issue) => {
    const path = (issue.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment));
    return { field: fieldPath(path, 'event'), message: issue.message };
  });
  if (described.length === 0) described.push({ field: 'event', message: result.error.message });
  const more = issues.length > described.length ? ` (and ${issues.length - described.length} more)` : '';
  throw new InvalidEventError(
    described.map(({ field, message }) => `${field}: ${message}`).join('; ') + more,
    described.map(({ field }) => field),
    detailType,
  );
}

function eventBytes(event: unknown): number {
  if (typeof event === 'string') return Buffer.byteLength(event);
  let text: string | undefined;
  try {
    text = JSON.stringify(event);
  } catch (error) {
    throw new InvalidEventError(`event: cannot be serialised as JSON (${error instanceof Error ? error.message : String(error)})`, ['event']);
  }
  return text === undefined ? 0 : Buffer.byteLength(text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Recognises the trigger. EventBridge events are told apart by `detail-type`; a direct invoke has `action`
 * instead. Throws InvalidEventError for anything else, before any work is done.
 */
export function parseTrigger(event: unknown): Trigger {
  // Measured on the serialised form before any schema runs, so an oversized payload costs no parsing.
  const bytes = eventBytes(event);
  if (bytes > MAX_EVENT_BYTES) {
    throw new InvalidEventError(`event: ${bytes} bytes is larger than EventBridge's ${MAX_EVENT_BYTES}-byte limit; not parsed`, ['event']);
  }
  if (!isObject(event)) {
    throw new InvalidEventError(`event: must be a JSON object, got ${describeType(event)}`, ['event']);
  }

  if (!('detail-type' in event)) {
    if (!('action' in event)) {
      throw new InvalidEventError(
        'event: neither an EventBridge event (no "detail-type") nor a direct invoke (no "action": "reconcile" or "plan")',
        ['detail-type', 'action'],
      );
    }
    const direct = validate(DirectInvokeSchema, event);
    return { kind: 'direct', mode: direct.action, ...(direct.reason !== undefined ? { reason: direct.reason } : {}) };
  }

  const envelope = validate(EventBridgeEnvelope, event, typeof event['detail-type'] === 'string' ? event['detail-type'] : undefined);
  const detailType = envelope['detail-type'];
  if (!Object.hasOwn(SCHEMAS_BY_DETAIL_TYPE, detailType)) {
    throw new InvalidEventError(
      `detail-type: not a trigger of this function (expected one of ${Object.keys(SCHEMAS_BY_DETAIL_TYPE).map((name) => `"${name}"`).join(', ')}); check the EventBridge rule`,
      ['detail-type'],
      detailType,
    );
  }

  switch (detailType as KnownDetailType) {
    case EC2_STATE_CHANGE: {
      const parsed = validate(Ec2StateChangeEventSchema, event, detailType);
      return { kind: 'ec2-state', instanceId: parsed.detail['instance-id'], state: parsed.detail.state, eventId: parsed.id };
    }
    case SSM_REGISTRATION:
    case SSM_DEREGISTRATION: {
      const schema = detailType === SSM_REGISTRATION ? SsmRegistrationEventSchema : SsmDeregistrationEventSchema;
      const parsed = validate(schema, event, detailType);
      return {
        kind: detailType === SSM_REGISTRATION ? 'ssm-registration' : 'ssm-deregistration',
        managedInstanceIds: findManagedInstanceIds(parsed.detail, parsed.resources),
        eventId: parsed.id,
      };
    }
    case SCHEDULED_EVENT: {
      const parsed = validate(ScheduledEventSchema, event, detailType);
      return { kind: 'schedule', eventId: parsed.id };
    }
  }
}

export interface TriggerBatch {
  /** Empty only for a queued batch whose every message was invalid: the handler then drops it. */
  triggers: Trigger[];
  /** SQS messages that were not triggers: logged and dropped, so one bad message cannot block the queue. */
  invalid: { messageId: string; error: string }[];
}

/**
 * The function's input: one trigger (EventBridge event or direct invoke), or a batch from the FIFO queue
 * in front of it, whose message bodies are EventBridge events. A batch is one run, however many events it holds.
 */
export function parseTriggers(event: unknown): TriggerBatch {
  if (!isObject(event) || !Array.isArray(event.Records)) return { triggers: [parseTrigger(event)], invalid: [] };
  const batch = validate(SqsSchema, event);
  const triggers: Trigger[] = [];
  const invalid: TriggerBatch['invalid'] = [];
  for (const record of batch.Records) {
    try {
      let body: unknown;
      try {
        body = JSON.parse(record.body) as unknown;
      } catch (error) {
        throw new InvalidEventError(`body: not JSON (${error instanceof Error ? error.message : String(error)})`, ['body']);
      }
      triggers.push(parseTrigger(body));
    } catch (error) {
      invalid.push({ messageId: record.messageId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  // No trigger at all (every message malformed) is still no reason to fail: a failed batch would come back
  // after the visibility timeout, hold up the FIFO group (schedule included) meanwhile, and fail again.
  return { triggers, invalid };
}
