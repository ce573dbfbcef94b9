/**
 * The CDK app's parameters: CDK context (`cdk.json`, or `-c key=value` on the command line), validated
 * with zod before any construct is built. `-c` values arrive as strings and `cdk.json` values as JSON, so
 * every key accepts both (`5` or `"5"`, `["rtb-a"]` or `"rtb-a,rtb-b"`). A bad value stops the synth with a
 * message naming the context key and the value it got; nothing is looked up in an AWS account.
 */
import * as z from 'zod';
import { parseCidr } from '../functions/core/cidr.js';

/** The Kubernetes group the reader role is mapped to (access entry) and that `infra/k8s/rbac.yaml` binds. */
export const KUBERNETES_READER_GROUP = 'eks-hybrid-routes-readers';

/** The Kubernetes group the teardown role is mapped to (access entry) and that `infra/k8s/rbac.yaml` binds. */
export const KUBERNETES_TEARDOWN_GROUP = 'eks-hybrid-routes-teardown';

/** Upper bound of the pending-node follow-up window: the run itself needs room within the 5-minute timeout. */
export const MAX_PENDING_WINDOW_SECONDS = 240;

export type RouteTableSelection = { kind: 'ids'; routeTableIds: string[] } | { kind: 'tag'; key: string; value: string };

export type ReaderRoleSelection = { kind: 'create'; roleName?: string } | { kind: 'import'; roleArn: string };

export interface StaticRoutesConfig {
  /** The cluster's remote pod networks: the destinations of the aggregate routes. */
  remotePodNetworks: string[];
  /** EKS VPC route tables → TGW, for each remote pod network. */
  eksVpc?: { routeTableIds: string[]; transitGatewayId: string };
  /** TGW route table → remote VPC attachment, for each remote pod network. */
  transitGateway?: { routeTableId: string; attachmentId: string };
}

export interface StackConfig {
  /** The CloudFormation stack name (default EksHybridRoutesStack); one per cluster in an account and Region. */
  stackName?: string;
  clusterName: string;
  remoteVpcId: string;
  routeTables: RouteTableSelection;
  readerRole: ReaderRoleSelection;
  /** Create the EKS access entry for the reader role (turn off when one exists already). */
  createAccessEntry: boolean;
  /** The anti-entropy schedule. */
  scheduleMinutes: number;
  maxDeleteFraction: number;
  minDeleteBudget?: number;
  /** How long the handler keeps re-checking a freshly registered node that has no pod CIDR yet. */
  pendingWindowSeconds: number;
  podNetworks?: string[];
  nodeNetworks?: string[];
  applyConcurrency?: number;
  alarmEmail?: string;
  alarmTopicArn?: string;
  staticRoutes?: StaticRoutesConfig;
}

/** Every context key the app reads, with what it means (README and error messages use the same names). */
export const CONTEXT_KEYS = {
  stackName: 'CloudFormation stack name (default EksHybridRoutesStack; set one per cluster to deploy several)',
  clusterName: 'the EKS cluster (required)',
  remoteVpcId: 'the remote VPC holding the hybrid nodes and the managed route tables (required)',
  routeTableIds: 'the managed route tables, comma-separated ids (or routeTableTag)',
  routeTableTag: 'the managed route tables, found at run time by the tag key=value (or routeTableIds)',
  readerRoleName: 'name of the IAM role created for the Kubernetes API (default: generated)',
  readerRoleArn: 'an existing IAM role to use for the Kubernetes API instead of creating one',
  createAccessEntry: 'create the EKS access entry for the reader role (default true)',
  scheduleMinutes: 'anti-entropy interval in minutes (default 5)',
  maxDeleteFraction: 'deletion budget: largest share of the managed routes that are not blackholed one run may delete (default 0.5)',
  minDeleteBudget: 'deletions always allowed whatever the share (controller default 3)',
  pendingWindowSeconds: 'how long a newly registered node without a pod CIDR is re-checked (default 180)',
  podNetworks: 'optional narrowing of the cluster remote pod networks (CIDRs)',
  nodeNetworks: 'optional narrowing of the cluster remote node networks (CIDRs)',
  applyConcurrency: 'mutating EC2 calls in flight per lane: route changes, source/dest check (controller default 4)',
  alarmEmail: 'e-mail address subscribed to a new alarm topic',
  alarmTopicArn: 'existing SNS topic for the alarms',
  remotePodNetworks: 'static routes: the cluster remote pod networks (CIDRs)',
  eksRouteTableIds: 'static routes: EKS VPC route tables that get a route to the TGW',
  transitGatewayId: 'static routes: the transit gateway',
  tgwRouteTableId: 'static routes: the TGW route table that gets a route to the remote VPC attachment',
  remoteVpcAttachmentId: 'static routes: the TGW attachment of the remote VPC',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;
export type RawContext = Partial<Record<ContextKey, unknown>>;

export class ContextError extends Error {
  override readonly name = 'ContextError';
  constructor(readonly problems: { key: string; value: unknown; message: string }[]) {
    super(
      `invalid CDK context (cdk.json or -c key=value):\n` +
        problems.map(({ key, value, message }) => `  ${key}: ${message} (got ${JSON.stringify(value) ?? 'undefined'})`).join('\n'),
    );
  }
}

// ---- value schemas: each accepts the string form that `-c key=value` gives -----------------------------

const text = (pattern: RegExp, message: string) => z.string({ error: message }).trim().regex(pattern, message);

const list = (item: z.ZodType<string, string>, what: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',') : value),
    z
      .array(z.string({ error: `must be a list of ${what}s (JSON array or comma-separated)` }), { error: `must be a list of ${what}s (JSON array or comma-separated)` })
      .transform((entries) => entries.map((entry) => entry.trim()).filter((entry) => entry !== ''))
      .pipe(z.array(item).min(1, `name at least one ${what}`)),
  );

/** A number written as a JSON number or as plain decimal text (blank, hex or exponent text is a typo, never a silent 0). */
const numeric = (pattern: RegExp, schema: z.ZodNumber) =>
  z.preprocess((value) => (typeof value === 'string' && pattern.test(value.trim()) ? Number(value) : value), schema);

const wholeNumber = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return numeric(/^\d{1,9}$/, z.number({ error: message }).int(message).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
};

const fraction = numeric(/^(0|1|0?\.\d+|1\.0+)$/, z.number({ error: 'must be a number from 0 to 1, such as 0.5' }).min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1'));

const flag = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ error: 'must be true or false' }),
);

const cidr = z.string().refine((value) => parseCidr(value).ok, 'each entry must be a CIDR such as 10.30.0.0/16');

const SCHEMAS = {
  stackName: text(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name (letters, digits and -, starting with a letter)'),
  clusterName: text(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'must be an EKS cluster name (letters, digits, - and _, 1-100 characters)'),
  remoteVpcId: text(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0123456789abcdef0'),
  routeTableIds: list(text(/^rtb-[0-9a-f]{8,17}$/, 'each id must look like rtb-0123456789abcdef0'), 'route table'),
  routeTableTag: text(/^[^=]+=.*$/, 'must be key=value')
    // EC2 tag filters treat * and ? as wildcards (see functions/core/config.ts), and IAM conditions would too.
    .regex(/^[^*?]*$/, 'must not contain * or ? (EC2 filters and IAM conditions would treat them as wildcards)')
    .transform((value) => ({ key: value.slice(0, value.indexOf('=')).trim(), value: value.slice(value.indexOf('=') + 1).trim() }))
    .refine((tag) => tag.key !== '', 'the tag key is empty'),
  readerRoleName: text(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name (1-64 of letters, digits and +=,.@_-)'),
  readerRoleArn: text(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'),
  createAccessEntry: flag,
  scheduleMinutes: wholeNumber(1, 60),
  maxDeleteFraction: fraction,
  minDeleteBudget: wholeNumber(0, 100_000),
  pendingWindowSeconds: wholeNumber(0, MAX_PENDING_WINDOW_SECONDS),
  podNetworks: list(cidr, 'CIDR'),
  nodeNetworks: list(cidr, 'CIDR'),
  applyConcurrency: wholeNumber(1, 50),
  alarmEmail: text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address'),
  alarmTopicArn: text(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN'),
  remotePodNetworks: list(cidr, 'CIDR'),
  eksRouteTableIds: list(text(/^rtb-[0-9a-f]{8,17}$/, 'each id must look like rtb-0123456789abcdef0'), 'route table'),
  transitGatewayId: text(/^tgw-[0-9a-f]{8,17}$/, 'must be a transit gateway id such as tgw-0123456789abcdef0'),
  tgwRouteTableId: text(/^tgw-rtb-[0-9a-f]{8,17}$/, 'must be a TGW route table id such as tgw-rtb-0123456789abcdef0'),
  remoteVpcAttachmentId: text(/^tgw-attach-[0-9a-f]{8,17}$/, 'must be a TGW attachment id such as tgw-attach-0123456789abcdef0'),
} satisfies Record<ContextKey, z.ZodType>;

type Parsed = { [K in ContextKey]?: z.output<(typeof SCHEMAS)[K]> };

/** Reads every known key from a construct node's context (`app.node`). Unknown keys (feature flags) are ignored. */
export function readRawContext(node: { tryGetContext(key: string): unknown }): RawContext {
  const raw: RawContext = {};
  for (const key of Object.keys(CONTEXT_KEYS) as ContextKey[]) {
    const value = node.tryGetContext(key);
    // `-c key=` gives an empty string: the same as not set.
    if (value !== undefined && value !== null && value !== '') raw[key] = value;
  }
  return raw;
}

/** Validates the context; throws ContextError naming every bad key and its value. */
export function parseStackContext(raw: RawContext): StackConfig {
  const problems: { key: string; value: unknown; message: string }[] = [];
  const parsed: Parsed = {};
  for (const key of Object.keys(SCHEMAS) as ContextKey[]) {
    if (raw[key] === undefined) continue;
    const result = SCHEMAS[key].safeParse(raw[key]);
    if (result.success) (parsed as Record<string, unknown>)[key] = result.data;
    else problems.push({ key, value: raw[key], message: result.error.issues[0]?.message ?? 'invalid value' });
  }
  const problem = (key: string, message: string) => problems.push({ key, value: (raw as Record<string, unknown>)[key], message });

  if (raw.clusterName === undefined) problem('clusterName', 'is required');
  if (raw.remoteVpcId === undefined) problem('remoteVpcId', 'is required');
  if ((raw.routeTableIds === undefined) === (raw.routeTableTag === undefined)) {
    problems.push({
      key: 'routeTableIds / routeTableTag',
      value: { routeTableIds: raw.routeTableIds, routeTableTag: raw.routeTableTag },
      message:
        'give exactly one: explicit route table ids, or a tag key=value (cdk.json sets an example routeTableTag: clear it with -c routeTableTag= when passing -c routeTableIds=…)',
    });
  }
  if (raw.readerRoleName !== undefined && raw.readerRoleArn !== undefined) {
    problem('readerRoleArn', 'give readerRoleName (a role is created) or readerRoleArn (an existing role), not both');
  }

  // The optional static aggregate routes: each half is on only when all of its keys are given.
  const eksHalf = [raw.eksRouteTableIds, raw.transitGatewayId];
  const tgwHalf = [raw.tgwRouteTableId, raw.remoteVpcAttachmentId];
  const partial = (values: unknown[]) => values.some((value) => value !== undefined) && values.some((value) => value === undefined);
  if (partial(eksHalf)) problem(raw.eksRouteTableIds === undefined ? 'eksRouteTableIds' : 'transitGatewayId', 'static EKS VPC routes need both eksRouteTableIds and transitGatewayId');
  if (partial(tgwHalf)) problem(raw.tgwRouteTableId === undefined ? 'tgwRouteTableId' : 'remoteVpcAttachmentId', 'static TGW routes need both tgwRouteTableId and remoteVpcAttachmentId');
  const wantsStatic = [...eksHalf, ...tgwHalf].some((value) => value !== undefined);
  if (wantsStatic && raw.remotePodNetworks === undefined) problem('remotePodNetworks', 'static routes need the cluster remote pod networks');
  if (!wantsStatic && raw.remotePodNetworks !== undefined) problem('remotePodNetworks', 'is only used by the static routes (eksRouteTableIds / tgwRouteTableId); for narrowing use podNetworks');

  if (problems.length > 0) throw new ContextError(problems);

  const config: StackConfig = {
    clusterName: parsed.clusterName!,
    remoteVpcId: parsed.remoteVpcId!,
    routeTables: parsed.routeTableIds
      ? { kind: 'ids', routeTableIds: [...new Set(parsed.routeTableIds)] }
      : { kind: 'tag', key: parsed.routeTableTag!.key, value: parsed.routeTableTag!.value },
    readerRole: parsed.readerRoleArn
      ? { kind: 'import', roleArn: parsed.readerRoleArn }
      : { kind: 'create', ...(parsed.readerRoleName ? { roleName: parsed.readerRoleName } : {}) },
    createAccessEntry: parsed.createAccessEntry ?? true,
    scheduleMinutes: parsed.scheduleMinutes ?? 5,
    maxDeleteFraction: parsed.maxDeleteFraction ?? 0.5,
    pendingWindowSeconds: parsed.pendingWindowSeconds ?? 180,
  };
  if (parsed.stackName) config.stackName = parsed.stackName;
  if (parsed.minDeleteBudget !== undefined) config.minDeleteBudget = parsed.minDeleteBudget;
  if (parsed.podNetworks) config.podNetworks = parsed.podNetworks;
  if (parsed.nodeNetworks) config.nodeNetworks = parsed.nodeNetworks;
  if (parsed.applyConcurrency !== undefined) config.applyConcurrency = parsed.applyConcurrency;
  if (parsed.alarmEmail) config.alarmEmail = parsed.alarmEmail;
  if (parsed.alarmTopicArn) config.alarmTopicArn = parsed.alarmTopicArn;
  if (wantsStatic) {
    config.staticRoutes = {
      remotePodNetworks: parsed.remotePodNetworks!,
      ...(parsed.eksRouteTableIds ? { eksVpc: { routeTableIds: [...new Set(parsed.eksRouteTableIds)], transitGatewayId: parsed.transitGatewayId! } } : {}),
      ...(parsed.tgwRouteTableId ? { transitGateway: { routeTableId: parsed.tgwRouteTableId, attachmentId: parsed.remoteVpcAttachmentId! } } : {}),
    };
  }
  return config;
}
