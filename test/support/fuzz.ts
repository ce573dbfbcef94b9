/**
 * Shared pieces of the fuzz tests (test/unit/fuzz): run counts, JSON paths, and mutations of a valid JSON
 * document (a value of the wrong type, any JSON value, a deleted or an extra key, an edited string) that
 * remember where they changed it, so a test can check that an error names that place.
 *
 * Run counts default to a size that keeps `npm test` quick; FUZZ_RUNS (or PROPERTY_RUNS) raises them, e.g.
 * `PROPERTY_RUNS=10000 npm run -s test:unit -- test/unit/core/reconcile-faults.property.test.ts test/unit/fuzz`.
 */
import fc from 'fast-check';

const configured = Number(process.env.FUZZ_RUNS ?? process.env.PROPERTY_RUNS ?? 200);
/** The configured run count (default 200). */
export const FUZZ_RUNS = Number.isFinite(configured) && configured > 0 ? Math.floor(configured) : 200;

/** A share of FUZZ_RUNS for costlier properties, never below `min`. */
export function fuzzRuns(share = 1, min = 20): number {
  return Math.max(min, Math.round(FUZZ_RUNS * share));
}

/**
 * A jest timeout (ms) for a property of `runs` runs taking about `msPerRun` each on a slow machine. Only a
 * ceiling so that nightly-sized runs are not cut off; no test asserts anything about time.
 */
export function timeoutFor(runs: number, msPerRun: number): number {
  return Math.max(60_000, Math.ceil(runs * msPerRun));
}

export type JsonPath = (string | number)[];

/** `spec.ipam.podCIDRs[1]`, `(root)` for the empty path: the way the project names fields (shared/field-path.ts). */
export function pathText(path: readonly (string | number)[], root = '(root)'): string {
  if (path.length === 0) return root;
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`), '');
}

/** Splits a field text such as `spec.addresses[1].ip` back into its path (keys holding `.` or `[` are not supported). */
export function parsePathText(text: string): JsonPath {
  const path: JsonPath = [];
  for (const match of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) path.push(Number(match[2]));
    else path.push(match[1]!);
  }
  return path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every path into a JSON value, the root (`[]`) first, depth first. */
export function jsonPaths(value: unknown, prefix: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => jsonPaths(item, [...prefix, index], out));
  else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) jsonPaths(item, [...prefix, key], out);
  return out;
}

/** The value at `path`, or undefined when any step is missing. */
export function getAt(root: unknown, path: readonly (string | number)[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/**
 * Whether a field text names a place in `root`: an existing field, or a missing key or item directly under an
 * existing object or array (a required field that was left out). Works with keys of any characters.
 */
export function namesPathIn(root: unknown, text: string, rootText = '(root)'): boolean {
  if (text === rootText) return true;
  for (const path of jsonPaths(root)) {
    const here = path.length === 0 ? '' : pathText(path);
    if (here === text) return true;
    const value = getAt(root, path);
    if (value === null || typeof value !== 'object' || !text.startsWith(here)) continue;
    const step = text.slice(here.length);
    if (Array.isArray(value) && /^\[\d+\]$/.test(step)) return true;
    if (!Array.isArray(value)) {
      const key = path.length === 0 ? step : step.startsWith('.') ? step.slice(1) : undefined;
      if (key !== undefined && key !== '' && !Object.hasOwn(value, key)) return true;
    }
  }
  return false;
}

export const DELETE = Symbol('delete');

/** A deep copy of `root` with the value at `path` replaced (or removed, with DELETE). `[]` replaces the root. */
export function withValueAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value === DELETE ? undefined : value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1]!;
  if (value === DELETE) {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  } else {
    // An own property even for `__proto__`, as JSON.parse makes it.
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

export type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function jsonKind(value: unknown): JsonKind | 'undefined' {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (type === 'boolean' || type === 'number' || type === 'string') return type;
  return 'object';
}

const scalarOf: Record<JsonKind, fc.Arbitrary<unknown>> = {
  null: fc.constant(null),
  boolean: fc.boolean(),
  number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e21, 0.5)),
  string: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', 'null', 'true', '0', '[]', '{}')),
  array: fc.oneof(fc.constant([]), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })),
  object: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
};

/** JSON values of any kind but the ones listed (e.g. everything but a string). */
export function jsonValueNotOf(...kinds: JsonKind[]): fc.Arbitrary<unknown> {
  const others = (Object.keys(scalarOf) as JsonKind[]).filter((kind) => !kinds.includes(kind));
  return fc.oneof(...others.map((kind) => scalarOf[kind]));
}

/** Edits of a string that keep it a string: near misses of a valid value, and odd ones. */
export function stringEdits(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(''),
    fc.constant(` ${text}`),
    fc.constant(`${text} `),
    fc.constant(text.toUpperCase()),
    fc.constant(text.slice(0, -1)),
    fc.constant(`${text}${text}`),
    fc.string({ maxLength: 3 }).map((extra) => `${text}${extra}`),
    fc.nat({ max: Math.max(0, text.length - 1) }).chain((at) => fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' }).map((c) => text.slice(0, at) + c + text.slice(at + 1))),
    fc.string({ maxLength: 20, unit: 'grapheme' }),
    fc.constantFrom('\u0000', '\n', '🙂', '../../etc/passwd', '*', '%s%n', 'x'.repeat(300)),
  );
}

export type MutationKind = 'wrong-type' | 'any-json' | 'delete' | 'extra-key' | 'string-edit';

export interface JsonMutation {
  kind: MutationKind;
  /** Where the document was changed (for `extra-key`, the new key's path). */
  path: JsonPath;
  mutated: unknown;
  /** The value written (absent for `delete`). */
  value?: unknown;
}

export interface MutationOptions {
  /** Paths to leave alone (e.g. fields an assertion relies on). */
  skip?: (path: JsonPath) => boolean;
  /** Weight of each kind (default 1 each). */
  weights?: Partial<Record<MutationKind, number>>;
}

/** One random change somewhere in `base` (a JSON document), remembering where. */
export function jsonMutation(base: unknown, options: MutationOptions = {}): fc.Arbitrary<JsonMutation> {
  const paths = jsonPaths(base).filter((path) => path.length > 0 && !(options.skip?.(path) ?? false));
  if (paths.length === 0) throw new Error('jsonMutation: nothing to mutate');
  const containers = jsonPaths(base).filter((path) => isPlainObject(getAt(base, path)) && !(options.skip?.(path) ?? false));
  const strings = paths.filter((path) => typeof getAt(base, path) === 'string');
  const weight = (kind: MutationKind) => options.weights?.[kind] ?? 1;
  const at = fc.constantFrom(...paths);
  const arbitraries: fc.WeightedArbitrary<JsonMutation>[] = [
    {
      weight: weight('wrong-type'),
      arbitrary: at.chain((path) => {
        const kind = jsonKind(getAt(base, path));
        return jsonValueNotOf(kind === 'undefined' ? 'null' : kind).map((value) => ({ kind: 'wrong-type' as const, path, value, mutated: withValueAt(base, path, value) }));
      }),
    },
    {
      weight: weight('any-json'),
      arbitrary: fc
        .tuple(at, fc.jsonValue({ maxDepth: 2 }))
        .map(([path, value]) => ({ kind: 'any-json' as const, path, value, mutated: withValueAt(base, path, value) })),
    },
    { weight: weight('delete'), arbitrary: at.map((path) => ({ kind: 'delete' as const, path, mutated: withValueAt(base, path, DELETE) })) },
  ];
  if (containers.length > 0) {
    arbitraries.push({
      weight: weight('extra-key'),
      arbitrary: fc
        .tuple(
          fc.constantFrom(...containers),
          // Keys without `.`, `[` or `]`, so that a field text naming them reads back (parsePathText).
          fc.oneof(fc.string({ minLength: 1, maxLength: 8 }).filter((key) => !/[.[\]]/.test(key)), fc.constantFrom('__proto__', 'constructor', 'toString', 'extra')),
          fc.jsonValue({ maxDepth: 1 }),
        )
        .filter(([path, key]) => !Object.hasOwn(getAt(base, path) as object, key))
        .map(([path, key, value]) => ({ kind: 'extra-key' as const, path: [...path, key], value, mutated: withValueAt(base, [...path, key], value) })),
    });
  }
  if (strings.length > 0) {
    arbitraries.push({
      weight: weight('string-edit'),
      arbitrary: fc
        .constantFrom(...strings)
        .chain((path) => stringEdits(getAt(base, path) as string).map((value) => ({ kind: 'string-edit' as const, path, value, mutated: withValueAt(base, path, value) }))),
    });
  }
  return fc.oneof(...arbitraries);
}

/** Whether `a` is `b` or lies inside it, as field texts (`spec.x` is inside `spec`, `items[1]` inside `items`). */
export function fieldWithin(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
}

/** Whether two field texts are on one line of descent (one inside the other). */
export function fieldsRelated(a: string, b: string): boolean {
  return fieldWithin(a, b) || fieldWithin(b, a);
}

/** For messages: the error's class and message, shortened. */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}(${error.name}): ${error.message.slice(0, 300)}`;
  return `non-Error thrown: ${String(error).slice(0, 300)}`;
}
