/**
 * Fuzzing the Lambda's configuration: random strings for each environment variable, through
 * `parseControllerConfig(rawConfigFromEnv(env), ENV_LABELS)`. Each environment is either a valid
 * configuration (whose values are what the variables said) or a ConfigError whose field is the variable
 * to fix — and that variable is really the culprit: alone on a valid environment it fails the same way,
 * and with its value fixed the error moves on. Never any other exception. FUZZ_RUNS / PROPERTY_RUNS raise the counts.
 */
import fc from 'fast-check';
import { parseCidr } from '../../../functions/core/cidr.js';
import { type ControllerConfig, ENV_LABELS, parseControllerConfig, rawConfigFromEnv } from '../../../functions/core/config.js';
import { ConfigError } from '../../../functions/core/errors.js';
import { describeThrown, fuzzRuns, stringEdits, timeoutFor } from '../../support/fuzz.js';

const RUNS = fuzzRuns();
const VARIABLES = Object.values(ENV_LABELS);
const SELECTOR_PAIR = `${ENV_LABELS.routeTableIds} / ${ENV_LABELS.routeTableTag}`;

/** A valid value for every variable (the selector is one of the two, chosen per case). */
const VALID: Record<string, string> = {
  CLUSTER_NAME: 'ekscluster1',
  AWS_REGION: 'us-west-2',
  ROUTE_TABLE_IDS: 'rtb-0a1b2c3d4e5f60101,rtb-0a1b2c3d4e5f60102',
  ROUTE_TABLE_TAG: 'eks-hybrid-routes/managed=true',
  REMOTE_VPC_ID: 'vpc-0a1b2c3d4e5f60718',
  READER_ROLE_ARN: 'arn:aws:iam::123456789012:role/eks-hybrid-routes-reader',
  POD_NETWORKS: '10.30.0.0/16, fd00:30::/56',
  NODE_NETWORKS: '10.20.0.0/16',
  MAX_DELETE_FRACTION: '0.5',
  MIN_DELETE_BUDGET: '3',
  ALLOW_EMPTY: 'false',
  // Refused whenever it is set: a deployed controller never lifts its deletion budget. Empty counts as unset.
  FORCE: '',
  APPLY_CONCURRENCY: '4',
};

/** Near misses and oddities per variable, plus random text. */
function valueFor(variable: string): fc.Arbitrary<string> {
  const specials: Record<string, string[]> = {
    CLUSTER_NAME: ['-lab', 'lab cluster', 'x'.repeat(100), 'x'.repeat(101), 'lab_1', 'Lab-1', 'lab\n', '\tlab'],
    AWS_REGION: ['us-gov-west-1', 'cn-north-1', 'eu-central-2', 'us-west', 'US-WEST-2', 'us-west-2 ', 'mars-1'],
    ROUTE_TABLE_IDS: [',', ' , ', 'rtb-0a1b2c3d', 'rtb-0a1b2c3d4e5f601011', 'rtb-0A1B2C3D', 'rtb-0a1b2c3d,,rtb-0a1b2c3e', 'rtb-0a1b2c3d4e5f60101 rtb-0a1b2c3d4e5f60102'],
    ROUTE_TABLE_TAG: ['=x', ' = x', 'k=', 'k==v', 'k=v*', 'k?=v', 'key', 'k = v ', '=', 'a=b=c'],
    REMOTE_VPC_ID: ['vpc-0a1b2c3d', 'vpc-', 'vpc-0a1b2c3d4e5f607189', 'VPC-0A1B2C3D'],
    READER_ROLE_ARN: ['arn:aws-cn:iam::123456789012:role/x', 'arn:aws-us-gov:iam::123456789012:role/path/x', 'arn:aws:iam::123456789012:role/', 'arn:aws:iam::123456789012:user/x'],
    POD_NETWORKS: [',', '10.30.0.0/16,', '10.30.0.0', '10.30.1.7/24', '10.30.0.0/16,garbage', 'fd00:30::/56', ' 10.30.0.0/17 , 10.30.128.0/17 ', '10.30.0.0/33'],
    NODE_NETWORKS: ['10.20.0.0', '10.20.0.0/16,10.21.0.0/16', '::/0', '0.0.0.0/0'],
    MAX_DELETE_FRACTION: ['0', '1', '.5', '0.', '1.0', '1.00', '1.01', '-0', '0.5 ', ' 0.5', '5e-1', '0x1', 'NaN', 'Infinity', '50%', '01', '00.5', '0,5'],
    MIN_DELETE_BUDGET: ['0', '100000', '100001', '-1', '1.0', '1e2', '0x10', '007', '999999999', '9999999999', ' 3 ', '٣'],
    ALLOW_EMPTY: ['true', 'TRUE', ' yes ', '1', '0', 'no', 'y', 'on', 'off', 'truee'],
    FORCE: ['true', 'True', '1', 'false', 'maybe', ' '],
    APPLY_CONCURRENCY: ['1', '50', '0', '51', '-1', '4.0', '04', '1e1', ' 4'],
  };
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...specials[variable]!) },
    { weight: 3, arbitrary: stringEdits(VALID[variable]!) },
    { weight: 2, arbitrary: fc.string({ maxLength: 16, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.constant(VALID[variable]!) },
  );
}

function rule(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) throw new Error(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)?.slice(0, 800)}`}`);
}

type Outcome = { ok: true; config: ControllerConfig } | { ok: false; error: ConfigError };

function parseEnv(env: Record<string, string | undefined>): Outcome {
  try {
    return { ok: true, config: parseControllerConfig(rawConfigFromEnv(env), ENV_LABELS) };
  } catch (error) {
    rule(error instanceof ConfigError, 'only ConfigError is thrown', describeThrown(error));
    const configError = error as ConfigError;
    rule(configError.message.startsWith(`${configError.field}: `) && configError.message.length > configError.field.length + 2, 'the message starts with the field, then says why', configError.message);
    return { ok: false, error: configError };
  }
}

/** What a valid configuration must hold, read back against the variables. */
function checkConfig(config: ControllerConfig, env: Record<string, string | undefined>): void {
  const set = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  rule(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(config.clusterName) && config.clusterName === set('CLUSTER_NAME'), 'the cluster name is the variable, and valid', config.clusterName);
  if (config.routeTables.kind === 'ids') {
    rule(config.routeTables.routeTableIds.length > 0 && config.routeTables.routeTableIds.every((id) => /^rtb-[0-9a-f]{8,17}$/.test(id)), 'route table ids', config.routeTables);
    rule(new Set(config.routeTables.routeTableIds).size === config.routeTables.routeTableIds.length, 'route table ids without repeats', config.routeTables);
  } else {
    rule(config.routeTables.key !== '' && !/[*?]/.test(config.routeTables.key + config.routeTables.value), 'a literal tag with a key', config.routeTables);
  }
  const { guards } = config;
  rule(guards.maxDeleteFraction >= 0 && guards.maxDeleteFraction <= 1, 'a fraction from 0 to 1', guards);
  if (set('MAX_DELETE_FRACTION') !== undefined) rule(guards.maxDeleteFraction === Number(set('MAX_DELETE_FRACTION')!.trim()), 'the fraction written', guards);
  rule(Number.isInteger(guards.minDeleteBudget) && guards.minDeleteBudget >= 0 && guards.minDeleteBudget <= 100_000, 'a whole minimum budget', guards);
  if (set('MIN_DELETE_BUDGET') !== undefined) rule(guards.minDeleteBudget === Number(set('MIN_DELETE_BUDGET')!.trim()), 'the budget written', guards);
  rule(Number.isInteger(config.applyConcurrency) && config.applyConcurrency >= 1 && config.applyConcurrency <= 50, 'a concurrency from 1 to 50', config.applyConcurrency);
  const allowEmpty = set('ALLOW_EMPTY')?.trim().toLowerCase();
  rule(guards.allowEmpty === (allowEmpty !== undefined && ['true', '1', 'yes'].includes(allowEmpty)), 'ALLOW_EMPTY read as written', { allowEmpty, value: guards.allowEmpty });
  rule(set('FORCE') === undefined && !guards.force, 'an accepted environment has no FORCE, and never forces', { force: set('FORCE') });
  for (const cidr of [...(config.scope.podNetworks ?? []), ...(config.scope.nodeNetworks ?? [])]) rule(parseCidr(cidr).ok, 'networks are CIDRs', cidr);
  if (config.vpcId !== undefined) rule(/^vpc-[0-9a-f]{8,17}$/.test(config.vpcId), 'a VPC id', config.vpcId);
  if (config.region !== undefined) rule(config.region === set('AWS_REGION'), 'the Region written', config.region);
  if (config.readerRoleArn !== undefined) rule(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(config.readerRoleArn), 'a role ARN', config.readerRoleArn);
}

/** The valid environment, selecting the tables by ids or by tag. */
function baseWith(selector: 'ROUTE_TABLE_IDS' | 'ROUTE_TABLE_TAG'): Record<string, string> {
  const env: Record<string, string> = { ...VALID };
  delete env[selector === 'ROUTE_TABLE_IDS' ? 'ROUTE_TABLE_TAG' : 'ROUTE_TABLE_IDS'];
  return env;
}
const validBase = fc.constantFrom<'ROUTE_TABLE_IDS' | 'ROUTE_TABLE_TAG'>('ROUTE_TABLE_IDS', 'ROUTE_TABLE_TAG').map(baseWith);

describe('fuzzing the configuration environment', () => {
  test('the valid base environments are accepted', () => {
    for (const env of [baseWith('ROUTE_TABLE_IDS'), baseWith('ROUTE_TABLE_TAG')]) {
      const outcome = parseEnv(env);
      rule(outcome.ok, 'accepted', outcome.ok ? undefined : outcome.error.message);
      if (outcome.ok) checkConfig(outcome.config, env);
    }
  });

  test(
    'one variable set to a random value: valid (and read as written), or a ConfigError naming that variable',
    () => {
      const arb = fc.tuple(validBase, fc.constantFrom(...VARIABLES)).chain(([env, variable]) => valueFor(variable).map((value) => ({ env: { ...env, [variable]: value }, variable, value })));
      fc.assert(
        fc.property(arb, ({ env, variable, value }) => {
          const outcome = parseEnv(env);
          if (outcome.ok) return checkConfig(outcome.config, env);
          const { field, message } = outcome.error;
          const allowed = variable === 'ROUTE_TABLE_IDS' || variable === 'ROUTE_TABLE_TAG' ? [variable, SELECTOR_PAIR] : [variable];
          rule(allowed.includes(field), `the error names ${variable}`, { value, field, message });
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );

  test(
    'every variable random at once (and unrelated ones): the named variable is the culprit, and fixing it moves the error on',
    () => {
      const arb = fc.record({
        values: fc.record(Object.fromEntries(VARIABLES.map((name) => [name, fc.option(valueFor(name), { nil: undefined, freq: 4 })])) as Record<string, fc.Arbitrary<string | undefined>>, {
          requiredKeys: [],
        }),
        unrelated: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((key) => !VARIABLES.includes(key)), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
      });
      fc.assert(
        fc.property(arb, ({ values, unrelated }) => {
          const env: Record<string, string | undefined> = { ...unrelated, ...values };
          const outcome = parseEnv(env);
          if (outcome.ok) return checkConfig(outcome.config, env);
          const { field, message } = outcome.error;
          const setNames = VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '');
          rule([...setNames, 'CLUSTER_NAME', SELECTOR_PAIR].includes(field), 'the error names a variable that is set (or a required one)', { field, setNames });
          if (field === SELECTOR_PAIR || !setNames.includes(field)) return;
          // Alone on a valid environment, the named value fails the same way.
          const base = baseWith(field === 'ROUTE_TABLE_TAG' ? 'ROUTE_TABLE_TAG' : 'ROUTE_TABLE_IDS');
          const alone = parseEnv({ ...base, [field]: env[field] });
          rule(!alone.ok && alone.error.field === field, `${field}=${JSON.stringify(env[field])} is wrong on its own`, { message, alone: alone.ok ? 'accepted' : alone.error.message });
          // Fixed, the error (if any) is about something else.
          const fixed = parseEnv({ ...env, [field]: VALID[field] });
          rule(fixed.ok || fixed.error.field !== field, `with ${field} fixed, it is no longer blamed`, fixed.ok ? undefined : fixed.error.message);
        }),
        { numRuns: RUNS },
      );
    },
    timeoutFor(RUNS, 10),
  );
});
