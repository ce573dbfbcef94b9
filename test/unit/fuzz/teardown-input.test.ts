/**
 * Fuzzing the teardown's execution input (`parseTeardownRequest`, functions/core/teardown.ts): random
 * values, one random change to the sample inputs in events/, and values near each field's limits. Each input
 * is a valid request (within the documented limits) or a ConfigError whose field is the one to fix (a path
 * such as `timeouts.drainSeconds` or `nodes[3]`; `input` for the object itself, with an unknown key named in
 * the message). Never any other exception. FUZZ_RUNS / PROPERTY_RUNS raise the run counts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../../functions/core/errors.js';
import { type TeardownRequest, parseTeardownRequest } from '../../../functions/core/teardown.js';
import { MAX_NODES_PER_TEARDOWN } from '../../../functions/core/teardown-steps.js';
import { describeThrown, fieldsRelated, fuzzRuns, jsonMutation, namesPathIn, pathText, timeoutFor } from '../../support/fuzz.js';

const RUNS = fuzzRuns();
const CLUSTER = 'ekscluster1';
const sample = (file: string) => JSON.parse(readFileSync(join(process.cwd(), 'events', file), 'utf8')) as Record<string, unknown>;
const SAMPLES = { 'teardown-one-node.json': sample('teardown-one-node.json'), 'teardown-all.json': sample('teardown-all.json') };
const FIELDS = ['clusterName', 'nodes', 'terminateInstances', 'deleteActivations', 'dryRun', 'concurrency', 'timeouts', 'nodeadmPath'];

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 800)}`}`);
}

type Outcome = { ok: true; request: TeardownRequest } | { ok: false; error: ConfigError };

/** parseTeardownRequest, with the rules: a request within the limits, or a ConfigError naming a field of the input. */
function parse(input: unknown): Outcome {
  let request: TeardownRequest;
  try {
    request = parseTeardownRequest(input, CLUSTER);
  } catch (error) {
    rule(error instanceof ConfigError, 'only ConfigError is thrown', describeThrown(error));
    const { field, message } = error as ConfigError;
    rule(message.startsWith(`${field}: `) && message.length > field.length + 2, 'the message starts with the field, then says why', message);
    rule(field === 'input' || FIELDS.includes(field.split(/[.[]/)[0]!), 'the field is the input or one of its fields', field);
    rule(namesPathIn(input, field, 'input'), `the field ${field} is in the input (or a required one missing from it)`, message);
    const plainObject = input !== null && typeof input === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(input));
    if (field === 'input' && plainObject) {
      rule(/Unrecognized key/.test(message), 'a whole-input error of an object is about an unknown key, named', message);
    }
    return { ok: false, error: error as ConfigError };
  }
  rule(request.clusterName === CLUSTER, 'the cluster is the deployed one', request);
  rule(request.all ? request.nodes.length === 0 : request.nodes.length > 0 && request.nodes.length <= MAX_NODES_PER_TEARDOWN, 'nodes: all, or 1 to 100 names', request.nodes);
  rule(request.nodes.every((node) => /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node) && node.length <= 253), 'node names are DNS names', request.nodes);
  rule(Number.isInteger(request.concurrency) && request.concurrency >= 1 && request.concurrency <= 40, 'concurrency 1..40', request.concurrency);
  const { drainSeconds, uninstallSeconds, pollSeconds } = request.timeouts;
  rule([drainSeconds, uninstallSeconds, pollSeconds].every(Number.isInteger), 'whole seconds', request.timeouts);
  rule(drainSeconds >= 1 && drainSeconds <= 3600 && uninstallSeconds >= 1 && uninstallSeconds <= 3600 && pollSeconds >= 1 && pollSeconds <= 300, 'timeouts within limits', request.timeouts);
  rule(request.nodeadmPath === 'nodeadm' || /^(\/[A-Za-z0-9._-]+)*\/nodeadm[A-Za-z0-9._-]*$/.test(request.nodeadmPath), 'nodeadm or an absolute path to it', request.nodeadmPath);
  rule([request.terminateInstances, request.deleteActivations, request.dryRun].every((flag) => typeof flag === 'boolean'), 'flags are booleans', request);
  return { ok: true, request };
}

/** Values near each field's limits, of the right type. */
const nearLimits = fc.oneof(
  fc.record({ field: fc.constant('concurrency'), value: fc.constantFrom<unknown>(0, 1, 40, 41, -1, 1.5, Number.MAX_SAFE_INTEGER, 1e21) }),
  fc.record({ field: fc.constant('timeouts'), value: fc.record({ drainSeconds: fc.constantFrom<unknown>(0, 1, 3600, 3601, 2.5), pollSeconds: fc.constantFrom<unknown>(1, 300, 301, -5) }, { requiredKeys: [] }) }),
  fc.record({
    field: fc.constant('nodes'),
    value: fc.oneof(
      fc.constantFrom<unknown>([], 'ALL', 'all ', ['all'], [''], ['mi-0123456789abcdef0', 'mi-0123456789abcdef0'], ['Node-1'], ['-x'], ['x'.repeat(253)], ['x'.repeat(254)], ['a.b'], ['a..b'], ['i-0abc1234']),
      fc.integer({ min: 99, max: 102 }).map((n) => Array.from({ length: n }, (_, i) => `node-${i}`)),
      fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }),
    ),
  }),
  fc.record({ field: fc.constant('nodeadmPath'), value: fc.constantFrom<unknown>('nodeadm', '/usr/local/bin/nodeadm', 'bin/nodeadm', '/usr/bin/nodeadm; rm -rf /', '/', '/a b', '', '/usr//bin', '/bin/sh', '/usr/bin/python3', '/opt/nodeadm/sh') }),
  fc.record({ field: fc.constant('clusterName'), value: fc.constantFrom<unknown>(CLUSTER, '', 'other', ` ${CLUSTER}`, CLUSTER.toUpperCase()) }),
);

describe('fuzzing the teardown input', () => {
  test('the sample inputs are accepted', () => {
    for (const input of Object.values(SAMPLES)) rule(parse(input).ok, 'a sample is accepted');
  });

  test(
    'any value at all: a request, or a ConfigError naming the field; never anything else',
    () => {
      const anything = fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withMap: true, withDate: true, withBigInt: true });
      const keyed = fc.record(
        {
          clusterName: fc.oneof(fc.constant(CLUSTER), fc.jsonValue({ maxDepth: 1 })),
          nodes: fc.oneof(fc.constant('all'), fc.array(fc.oneof(fc.constant('mi-0123456789abcdef0'), fc.jsonValue({ maxDepth: 0 })), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
          concurrency: fc.jsonValue({ maxDepth: 1 }),
          timeouts: fc.oneof(fc.record({ drainSeconds: fc.jsonValue({ maxDepth: 0 }), uninstallSeconds: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
          dryRun: fc.jsonValue({ maxDepth: 0 }),
          nodeadmPath: fc.jsonValue({ maxDepth: 0 }),
        },
        { requiredKeys: [] },
      );
      fc.assert(fc.property(fc.oneof(anything, keyed), (input) => void parse(input)), { numRuns: RUNS });
    },
    timeoutFor(RUNS, 10),
  );

  test(
    'one random change to a sample input: accepted, or refused naming the changed field',
    () => {
      const arb = fc.constantFrom(...(Object.keys(SAMPLES) as (keyof typeof SAMPLES)[])).chain((name) => jsonMutation(SAMPLES[name]).map((mutation) => ({ name, mutation })));
      fc.assert(
        fc.property(arb, ({ mutation }) => {
          const outcome = parse(mutation.mutated);
          if (outcome.ok) return;
          const { field, message } = outcome.error;
          const changed = pathText(mutation.path, 'input');
          if (mutation.kind === 'extra-key') {
            const key = String(mutation.path[mutation.path.length - 1]);
            rule(fieldsRelated(field, pathText(mutation.path.slice(0, -1), 'input')) && (message.includes(key) || message.includes(JSON.stringify(key))), `the unknown key ${JSON.stringify(key)} is named`, message);
            return;
          }
          rule(fieldsRelated(field, changed), `the error names ${changed}`, { kind: mutation.kind, value: mutation.value, message });
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );

  test(
    'values near each limit: accepted within it, refused naming the field beyond it',
    () => {
      fc.assert(
        fc.property(fc.constantFrom(...Object.values(SAMPLES)), nearLimits, (base, { field, value }) => {
          const outcome = parse({ ...base, [field]: value });
          if (!outcome.ok) rule(fieldsRelated(outcome.error.field, field), `the error names ${field}`, outcome.error.message);
        }),
        { numRuns: fuzzRuns(0.5) },
      );
    },
    timeoutFor(RUNS, 10),
  );
});
