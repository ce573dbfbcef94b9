/**
 * Controller configuration, from the Lambda environment or CLI options. Both edges hand raw strings
 * to `parseControllerConfig` together with the names their users know (env variable or `--option`), so
 * a bad value is reported under the name the user typed.
 */
import * as z from 'zod';
import { parseCidr } from './cidr.js';
import { ConfigError } from './errors.js';
import { validateGuardOptions } from './guards.js';
import type { ScopeNarrowing } from './scope.js';
import { DEFAULT_GUARD_OPTIONS, type GuardOptions, type RouteTableSelector } from './types.js';

export interface ControllerConfig {
  clusterName: string;
  region?: string;
  routeTables: RouteTableSelector;
  /** The remote VPC; when set, the managed tables must be in it. Otherwise it is taken from the tables. */
  vpcId?: string;
  readerRoleArn?: string;
  scope: ScopeNarrowing;
  guards: GuardOptions;
  /** Mutating EC2 calls in flight at once, in each of applyPlan's lanes (route changes; source/dest check). */
  applyConcurrency: number;
}

export interface RawControllerConfig {
  clusterName?: string | undefined;
  region?: string | undefined;
  routeTableIds?: string | undefined;
  routeTableTag?: string | undefined;
  vpcId?: string | undefined;
  readerRoleArn?: string | undefined;
  podNetworks?: string | undefined;
  nodeNetworks?: string | undefined;
  maxDeleteFraction?: string | undefined;
  minDeleteBudget?: string | undefined;
  allowEmpty?: string | boolean | undefined;
  force?: string | boolean | undefined;
  applyConcurrency?: string | undefined;
}

export type ConfigLabels = Record<keyof RawControllerConfig, string>;

export const ENV_LABELS: ConfigLabels = {
  clusterName: 'CLUSTER_NAME',
  region: 'AWS_REGION',
  routeTableIds: 'ROUTE_TABLE_IDS',
  routeTableTag: 'ROUTE_TABLE_TAG',
  vpcId: 'REMOTE_VPC_ID',
  readerRoleArn: 'READER_ROLE_ARN',
  podNetworks: 'POD_NETWORKS',
  nodeNetworks: 'NODE_NETWORKS',
  maxDeleteFraction: 'MAX_DELETE_FRACTION',
  minDeleteBudget: 'MIN_DELETE_BUDGET',
  allowEmpty: 'ALLOW_EMPTY',
  force: 'FORCE',
  applyConcurrency: 'APPLY_CONCURRENCY',
};

/**
 * Reads the controller's environment variables (see ENV_LABELS) into raw configuration. FORCE is refused: a
 * deployed function never lifts the deletion budget; an operator does that for one run (CLI `apply --force`).
 * Refused rather than ignored, so whoever set it learns that it does nothing instead of trusting it.
 */
export function rawConfigFromEnv(env: Record<string, string | undefined>): RawControllerConfig {
  if (env[ENV_LABELS.force] !== undefined && env[ENV_LABELS.force] !== '') {
    throw new ConfigError(ENV_LABELS.force, 'is not read from the environment: a deployed controller never lifts its deletion budget; use the CLI for one run (apply --force)');
  }
  const raw: RawControllerConfig = {};
  for (const [field, name] of Object.entries(ENV_LABELS) as [keyof RawControllerConfig, string][]) {
    if (field === 'force') continue;
    const value = env[name];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  return raw;
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const clusterName = z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'must be an EKS cluster name (letters, digits, - and _, 1-100 characters)');
const region = z.string().regex(/^[a-z]{2,4}(-[a-z]+)+-\d+$/, 'must be an AWS Region such as us-west-2');
const routeTableIds = z
  .string()
  .transform(list)
  .pipe(z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'each id must look like rtb-0123456789abcdef0')).min(1, 'name at least one route table'));
const routeTableTag = z
  .string()
  .regex(/^[^=]+=.*$/, 'must be key=value')
  // EC2 tag filters treat * and ? as wildcards: a literal tag is what selects the managed tables.
  .regex(/^[^*?]*$/, 'must not contain * or ? (EC2 would match them as wildcards)')
  .transform((text) => ({ key: text.slice(0, text.indexOf('=')).trim(), value: text.slice(text.indexOf('=') + 1).trim() }));
const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must look like vpc-0123456789abcdef0');
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN');
const cidrList = z
  .string()
  .transform(list)
  // Set but empty (`,`) would mean no narrowing at all, the widest scope: a typo, not a choice.
  .pipe(z.array(z.string().refine((text) => parseCidr(text).ok, 'each entry must be a CIDR such as 10.30.0.0/16')).min(1, 'name at least one network, or leave it unset'));
// Numbers are written in plain decimal: a blank, hex or exponent value is a typo, never a silent 0.
const decimal = (pattern: RegExp, message: string) => z.string().trim().regex(pattern, message).transform(Number);
const fraction = decimal(/^(0|1|0?\.\d+|1\.0+)$/, 'must be a number from 0 to 1, such as 0.5');
const wholeNumber = (min: number, max: number) =>
  decimal(/^\d{1,9}$/, 'must be a whole number').pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const flag = z.preprocess(
  (value) => (typeof value === 'boolean' ? String(value) : value),
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((text) => ['true', 'false', '1', '0', 'yes', 'no'].includes(text), 'must be true or false')
    .transform((text) => ['true', '1', 'yes'].includes(text)),
);

function field<T>(schema: z.ZodType<T>, value: unknown, label: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(label, `${issue?.message ?? 'invalid value'} (got ${JSON.stringify(value)})`);
  }
  return parsed.data;
}

export function parseControllerConfig(raw: RawControllerConfig, labels: ConfigLabels): ControllerConfig {
  const optional = <T>(schema: z.ZodType<T>, key: keyof RawControllerConfig): T | undefined =>
    raw[key] === undefined ? undefined : field(schema, raw[key], labels[key]);

  if (raw.clusterName === undefined) throw new ConfigError(labels.clusterName, 'is required');
  const name = field(clusterName, raw.clusterName, labels.clusterName);

  if ((raw.routeTableIds === undefined) === (raw.routeTableTag === undefined)) {
    throw new ConfigError(`${labels.routeTableIds} / ${labels.routeTableTag}`, 'give exactly one: explicit route table ids, or a tag key=value');
  }
  const ids = optional(routeTableIds, 'routeTableIds');
  const tag = optional(routeTableTag, 'routeTableTag');
  if (tag && tag.key === '') throw new ConfigError(labels.routeTableTag, 'the tag key is empty');
  const selector: RouteTableSelector = ids ? { kind: 'ids', routeTableIds: [...new Set(ids)] } : { kind: 'tag', key: tag!.key, value: tag!.value };

  const guards: GuardOptions = {
    allowEmpty: optional(flag, 'allowEmpty') ?? DEFAULT_GUARD_OPTIONS.allowEmpty,
    force: optional(flag, 'force') ?? DEFAULT_GUARD_OPTIONS.force,
    maxDeleteFraction: optional(fraction, 'maxDeleteFraction') ?? DEFAULT_GUARD_OPTIONS.maxDeleteFraction,
    minDeleteBudget: optional(wholeNumber(0, 100_000), 'minDeleteBudget') ?? DEFAULT_GUARD_OPTIONS.minDeleteBudget,
  };
  validateGuardOptions(guards);

  const config: ControllerConfig = {
    clusterName: name,
    routeTables: selector,
    scope: {},
    guards,
    applyConcurrency: optional(wholeNumber(1, 50), 'applyConcurrency') ?? 4,
  };
  const regionValue = optional(region, 'region');
  if (regionValue) config.region = regionValue;
  const vpc = optional(vpcId, 'vpcId');
  if (vpc) config.vpcId = vpc;
  const role = optional(roleArn, 'readerRoleArn');
  if (role) config.readerRoleArn = role;
  const podNetworks = optional(cidrList, 'podNetworks');
  if (podNetworks?.length) config.scope.podNetworks = podNetworks;
  const nodeNetworks = optional(cidrList, 'nodeNetworks');
  if (nodeNetworks?.length) config.scope.nodeNetworks = nodeNetworks;
  // Whether the lists fit inside the cluster's networks is known only once the cluster is read (core/scope.ts).
  if (podNetworks?.length || nodeNetworks?.length) config.scope.labels = { podNetworks: labels.podNetworks, nodeNetworks: labels.nodeNetworks };
  return config;
}

/** What the `token` command needs: which cluster, and how to reach it. */
export interface ClusterAccessConfig {
  clusterName: string;
  region?: string;
  readerRoleArn?: string;
}

export function parseClusterAccess(raw: Pick<RawControllerConfig, 'clusterName' | 'region' | 'readerRoleArn'>, labels: ConfigLabels): ClusterAccessConfig {
  if (raw.clusterName === undefined) throw new ConfigError(labels.clusterName, 'is required');
  const access: ClusterAccessConfig = { clusterName: field(clusterName, raw.clusterName, labels.clusterName) };
  if (raw.region !== undefined) access.region = field(region, raw.region, labels.region);
  if (raw.readerRoleArn !== undefined) access.readerRoleArn = field(roleArn, raw.readerRoleArn, labels.readerRoleArn);
  return access;
}
