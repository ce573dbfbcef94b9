/**
 * The operator CLI: `plan`, `apply`, `status` and `token`, on the same core, service and adapters as
 * the Lambda. Exit codes: 0 done, 1 error, 2 bad usage or configuration, 3 something was vetoed.
 */
import { Command, CommanderError, Option } from 'commander';
import { type ConfigLabels, type ControllerConfig, ENV_LABELS, type RawControllerConfig, parseClusterAccess, parseControllerConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { TokenPort } from '../core/ports.js';
import { toExecCredential } from '../adapters/token.js';
import { type ControllerDeps, createClusterTokenProvider, createControllerDeps } from '../service/dependencies.js';
import { type RunMode, observe, planFromState, reconcile } from '../service/reconcile.js';
import { nodeStatuses, planText, reportJson, statusText } from './format.js';
import { CLI_LABELS } from './labels.js';
import { type TeardownIo, type TeardownOptions, runTeardown, withTeardownOptions } from './teardown.js';
import { TEARDOWN_ENV } from '../core/teardown-steps.js';
import { redactSecrets } from '../shared/redact.js';

/** 4: a teardown ended but left something behind (its summary says what). */
export const EXIT = { ok: 0, error: 1, usage: 2, vetoed: 3, incomplete: 4 } as const;


export interface CliIo extends Pick<TeardownIo, 'createTeardownDeps' | 'localWaitMs' | 'localRetryMs'> {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  createDeps?: (config: ControllerConfig) => Promise<ControllerDeps>;
  createTokens?: (access: ReturnType<typeof parseClusterAccess>) => Promise<TokenPort>;
}

interface CommonOptions {
  cluster?: string;
  region?: string;
  routeTableIds?: string;
  routeTableTag?: string;
  vpcId?: string;
  readerRoleArn?: string;
  podNetworks?: string;
  nodeNetworks?: string;
  maxDeleteFraction?: string;
  minDeleteBudget?: string;
  allowEmpty?: boolean;
  force?: boolean;
  concurrency?: string;
  json?: boolean;
}

function withClusterOptions(command: Command): Command {
  return command
    .option('--cluster <name>', 'EKS cluster name (env CLUSTER_NAME)')
    .option('--region <region>', 'AWS Region (default: the SDK chain, e.g. AWS_REGION)')
    .option('--reader-role-arn <arn>', 'IAM role to assume for Kubernetes API access (env READER_ROLE_ARN)');
}

function withReconcileOptions(command: Command): Command {
  return withClusterOptions(command)
    .option('--route-table-ids <ids>', 'managed route tables, comma-separated (env ROUTE_TABLE_IDS)')
    .option('--route-table-tag <key=value>', 'manage every route table carrying this tag (env ROUTE_TABLE_TAG)')
    .option('--vpc-id <id>', 'the remote VPC; the managed tables must be in it (env REMOTE_VPC_ID)')
    .option('--pod-networks <cidrs>', "narrow the managed pod networks (must lie inside the cluster's)")
    .option('--node-networks <cidrs>', "narrow the node networks (must lie inside the cluster's)")
    .option('--max-delete-fraction <share>', 'largest share of the managed routes that are not blackholed one run may delete (0..1, default 0.5)')
    .option('--min-delete-budget <routes>', 'deletions always allowed per run (default 3)')
    .option('--allow-empty', 'allow deletions when the CiliumNode list is empty')
    .option('--force', 'allow deletions beyond the deletion budget')
    .addOption(new Option('--concurrency <n>', 'mutating EC2 calls in flight at once per lane: route changes, source/dest check (default 4)'))
    .option('--json', 'print one JSON object');
}

/**
 * CLI options win over the environment, so a shell that also serves the Lambda's settings still works.
 * `fromEnvironment` collects the fields whose value came from a variable, so an error names that variable.
 */
function rawConfig(options: CommonOptions, env: CliIo['env'], fromEnvironment: Set<keyof ConfigLabels>): RawControllerConfig {
  const pick = (field: keyof ConfigLabels, option: string | undefined, name: string | undefined) => {
    if (option !== undefined) return option;
    const value = name === undefined || env[name] === '' ? undefined : env[name];
    if (value !== undefined) fromEnvironment.add(field);
    return value;
  };
  return {
    clusterName: pick('clusterName', options.cluster, 'CLUSTER_NAME'),
    region: options.region,
    routeTableIds: pick('routeTableIds', options.routeTableIds, options.routeTableTag ? undefined : 'ROUTE_TABLE_IDS'),
    routeTableTag: pick('routeTableTag', options.routeTableTag, options.routeTableIds ? undefined : 'ROUTE_TABLE_TAG'),
    vpcId: pick('vpcId', options.vpcId, 'REMOTE_VPC_ID'),
    readerRoleArn: pick('readerRoleArn', options.readerRoleArn, 'READER_ROLE_ARN'),
    podNetworks: options.podNetworks,
    nodeNetworks: options.nodeNetworks,
    maxDeleteFraction: options.maxDeleteFraction,
    minDeleteBudget: options.minDeleteBudget,
    allowEmpty: options.allowEmpty,
    force: options.force,
    applyConcurrency: options.concurrency,
  };
}

/**
 * Names a field the way the user gave it: a core field as its flag (`podNetworks[1]` → `--pod-networks[1]`),
 * and a flag whose value came from the environment as that variable (`ROUTE_TABLE_TAG (environment)`).
 */
function cliField(field: string, fromEnvironment: ReadonlySet<keyof ConfigLabels>): string {
  const match = /^([a-zA-Z]+)(.*)$/.exec(field);
  const key = match?.[1] as keyof ConfigLabels | undefined;
  const shown = key && key in CLI_LABELS ? `${CLI_LABELS[key]}${match![2]}` : field;
  for (const sourced of fromEnvironment) {
    const flag = CLI_LABELS[sourced];
    if (shown === flag || shown.startsWith(`${flag}[`)) return `${ENV_LABELS[sourced]}${shown.slice(flag.length)} (environment)`;
  }
  return shown;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const createDeps = io.createDeps ?? createControllerDeps;
  const createTokens = io.createTokens ?? createClusterTokenProvider;

  const fromEnvironment = new Set<keyof ConfigLabels>();
  const runReconcile = async (mode: RunMode, options: CommonOptions) => {
    const config = parseControllerConfig(rawConfig(options, io.env, fromEnvironment), CLI_LABELS);
    const deps = await createDeps(config);
    const report = await reconcile(deps, config, mode);
    io.stdout(options.json ? JSON.stringify(reportJson(report), null, 2) : planText(report));
    exitCode = report.status === 'failed' || report.status === 'unfinished' ? EXIT.error : report.status === 'vetoed' ? EXIT.vetoed : EXIT.ok;
  };

  const program = new Command()
    .name('eks-hybrid-routes')
    .description('Keeps EKS Hybrid Node pod routes and ENI source/dest check right in the remote VPC.')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  withReconcileOptions(program.command('plan').description('show what apply would do; changes nothing')).action((options: CommonOptions) =>
    runReconcile('plan', options),
  );
  withReconcileOptions(program.command('apply').description('converge source/dest check and the managed routes')).action((options: CommonOptions) =>
    runReconcile('apply', options),
  );
  withReconcileOptions(program.command('status').description('per node: IP, ENI, source/dest check, CIDRs and route state')).action(
    async (options: CommonOptions) => {
      const config = parseControllerConfig(rawConfig(options, io.env, fromEnvironment), CLI_LABELS);
      const deps = await createDeps(config);
      const state = await observe(deps, config);
      const plan = planFromState(state, config);
      const nodes = nodeStatuses(plan, state);
      io.stdout(
        options.json
          ? JSON.stringify({ cluster: state.cluster.name, vpcId: state.vpcId ?? null, routeTableIds: state.routeTables.map((t) => t.routeTableId), nodes, counts: plan.counts }, null, 2)
          : statusText(plan, state, nodes),
      );
    },
  );
  withClusterOptions(program.command('token').description('print an ExecCredential for kubectl, like `aws eks get-token`')).action(
    async (options: CommonOptions) => {
      const { clusterName, readerRoleArn } = rawConfig(options, io.env, fromEnvironment);
      const access = parseClusterAccess({ clusterName, region: options.region, readerRoleArn }, CLI_LABELS);
      const tokens = await createTokens(access);
      io.stdout(JSON.stringify(toExecCredential(await tokens.getToken(access.clusterName))));
    },
  );

  withTeardownOptions(
    withReconcileOptions(
      program
        .command('teardown')
        .description('ordered teardown of hybrid nodes: start the deployed state machine, or run its definition locally with --local'),
    ),
  ).action(async (options: CommonOptions & TeardownOptions) => {
    exitCode = await runTeardown(options, io, (clusterName) => ({
      config: parseControllerConfig({ ...rawConfig(options, io.env, fromEnvironment), clusterName }, CLI_LABELS),
      ruleNames: (options.ruleNames ?? io.env[TEARDOWN_ENV.ruleNames] ?? '').split(',').map((name) => name.trim()).filter(Boolean),
    }));
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; every other parse error is bad usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr(`error: ${cliField(error.field, fromEnvironment)}: ${error.message.slice(error.field.length + 2)}\n`);
      return EXIT.usage;
    }
    // Library errors may echo a request; what reaches a terminal or CI log is scrubbed like a log line.
    io.stderr(`error: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.error;
  }
}

const isEntryPoint = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/functions/cli/main.ts');
if (isEntryPoint) {
  const code = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
  process.exitCode = code;
}
