/**
 * Fuzzing the local cloud's scenario files: one random change to the default scenario (a value of the
 * wrong type, any JSON value, a deleted or an extra key, an edited string), through `loadScenario`. Each
 * changed scenario either loads or is refused with a ScenarioError that names the JSON path of the bad field
 * (`scenario: <path>: <why>`, the path one that exists in the file or the key that is missing from it),
 * never a TypeError or other crash. FUZZ_RUNS / PROPERTY_RUNS raise the run count.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DEFAULT_SCENARIO_PATH, ScenarioError, loadScenario } from '../../localcloud/scenario.js';
import { type JsonPath, describeThrown, fieldsRelated, fuzzRuns, getAt, jsonMutation, namesPathIn, pathText, timeoutFor, withValueAt } from '../../support/fuzz.js';

const RUNS = fuzzRuns();
const DEFAULT = JSON.parse(readFileSync(DEFAULT_SCENARIO_PATH, 'utf8')) as Record<string, unknown>;

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 800)}`}`);
}

/** loadScenario, with the rules: a world, or a ScenarioError `scenario: <path>: <why>` whose path is in the file. */
function load(input: unknown): { ok: true } | { ok: false; path: string; message: string } {
  let state: ReturnType<typeof loadScenario>;
  try {
    state = loadScenario(input as Parameters<typeof loadScenario>[0]);
  } catch (error) {
    rule(error instanceof ScenarioError, 'only ScenarioError is thrown (a bad file is refused, never a crash)', describeThrown(error));
    const message = (error as Error).message;
    const match = /^scenario: (.+?): (.+)$/s.exec(message);
    rule(match !== null, 'the message is "scenario: <path>: <why>"', message);
    const path = match![1]!;
    // The path leads into the file: every step but the last exists (the last may be the missing key).
    rule(namesPathIn(input, path), `the named path ${path} is in the file`, message);
    return { ok: false, path, message };
  }
  rule(state.cluster.name.length > 0 && state.routeTables instanceof Map, 'a loaded scenario is a world');
  return { ok: true };
}

/** Fields whose value other fields refer to: changing one may fail where it is referred to. */
const REFERENCED = new Set(['vpcs', 'subnets']);

describe('fuzzing scenario files', () => {
  test('the default scenario loads', () => {
    rule(load(DEFAULT).ok, 'the default scenario loads');
  });

  test(
    'one random change to the default scenario: it loads, or the error names the JSON path of the changed field',
    () => {
      fc.assert(
        fc.property(jsonMutation(DEFAULT, { weights: { 'wrong-type': 3, 'string-edit': 2 } }), (mutation) => {
          const result = load(mutation.mutated);
          if (result.ok) return;
          const changed = pathText(mutation.path);
          if (mutation.kind === 'extra-key') {
            // Strict objects name an unknown key at their own path, with the key in the message.
            const key = String(mutation.path[mutation.path.length - 1]);
            rule(
              fieldsRelated(result.path, pathText(mutation.path.slice(0, -1))) && (result.message.includes(key) || result.message.includes(JSON.stringify(key))),
              `the error names the unknown key ${JSON.stringify(key)} where it is`,
              result.message.slice(0, 300),
            );
            return;
          }
          // A VPC or subnet changed or gone: the error may name the field that refers to it.
          const crossReference = REFERENCED.has(String(mutation.path[0])) && /: unknown (VPC|subnet) /.test(result.message);
          // Either the changed field (or one on its line: a missing key inside a replaced object), or, for an id
          // others refer to, the field that refers to it.
          rule(
            fieldsRelated(result.path, changed) || crossReference,
            `the error names ${changed}`,
            { kind: mutation.kind, value: mutation.value, message: result.message.slice(0, 300) },
          );
        }),
        {
          numRuns: RUNS,
          examples: [
            // The CiliumNode objects are kept loose (any extra field), but the Node built from each reads
            // spec.addresses and metadata.ownerReferences as arrays.
            [{ kind: 'wrong-type', path: ['ciliumNodes', 0, 'spec', 'addresses'], value: 'x', mutated: withValueAt(DEFAULT, ['ciliumNodes', 0, 'spec', 'addresses'], 'x') }],
            [{ kind: 'any-json', path: ['ciliumNodes', 0, 'spec', 'addresses', 0], value: null, mutated: withValueAt(DEFAULT, ['ciliumNodes', 0, 'spec', 'addresses', 0], null) }],
            [{ kind: 'wrong-type', path: ['ciliumNodes', 1, 'metadata', 'ownerReferences'], value: 5, mutated: withValueAt(DEFAULT, ['ciliumNodes', 1, 'metadata', 'ownerReferences'], 5) }],
          ],
        },
      );
    },
    timeoutFor(RUNS, 20),
  );

  test(
    'any JSON at all as a scenario: refused naming a path, never a crash',
    () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 3 }), (input) => {
          // A string is a file name to loadScenario (and undefined the default scenario): not what this checks.
          if (typeof input === 'string') return;
          const result = load(input);
          rule(!result.ok, 'random JSON is no scenario (it has no cluster)');
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );

  test(
    'a wrong-typed value at each field the local cloud reads from a CiliumNode: refused naming that field, never a crash',
    () => {
      // The fields hybridNode() (the Node made for each CiliumNode) and the Kubernetes API read.
      const paths: JsonPath[] = [
        ['ciliumNodes', 0, 'metadata'],
        ['ciliumNodes', 0, 'metadata', 'name'],
        ['ciliumNodes', 0, 'metadata', 'ownerReferences'],
        ['ciliumNodes', 0, 'metadata', 'ownerReferences', 0],
        ['ciliumNodes', 0, 'spec'],
        ['ciliumNodes', 0, 'spec', 'addresses'],
        ['ciliumNodes', 0, 'spec', 'addresses', 0],
        ['ciliumNodes', 0, 'spec', 'addresses', 0, 'ip'],
        ['ciliumNodes', 0, 'spec', 'addresses', 0, 'type'],
      ];
      const arb = fc.tuple(fc.constantFrom(...paths), fc.constantFrom<unknown>(5, true, 'x', null, [1], { a: 1 }));
      fc.assert(
        fc.property(arb, ([path, value]) => {
          if (JSON.stringify(getAt(DEFAULT, path)) === JSON.stringify(value)) return;
          const mutated = withValueAt(DEFAULT, path, value);
          const result = load(mutated);
          if (!result.ok) rule(fieldsRelated(result.path, pathText(path)), `the error names ${pathText(path)}`, result.message);
        }),
        { numRuns: fuzzRuns(0.25), examples: [[[['ciliumNodes', 0, 'spec', 'addresses'] as JsonPath, 5]]] },
      );
    },
    timeoutFor(RUNS, 20),
  );
});
