/**
 * `npm run -s localcloud -- [--scenario FILE] [--port N] [--throttling]`: starts the local cloud, prints
 * the KEY=VALUE lines that point the SDK and the CLI at it, and runs until interrupted.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { startLocalCloud } from './server.js';

const port = (value: string) => {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
};

const program = new Command()
  .name('localcloud')
  .description('A loopback stand-in for the EC2, EKS, STS, SSM, EventBridge and Kubernetes APIs this project uses.')
  .option('--scenario <file>', 'scenario JSON (default: test/localcloud/scenarios/default.json)')
  .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', port)
  .option('--throttling', 'EC2 token-bucket throttling on')
  .exitOverride();

try {
  program.parse(process.argv.slice(2), { from: 'user' });
} catch (error) {
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
}
const options = program.opts<{ scenario?: string; port?: number; throttling?: boolean }>();

try {
  const cloud = await startLocalCloud({
    ...(options.scenario ? { scenario: options.scenario } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    throttling: options.throttling ?? false,
  });
  for (const [key, value] of Object.entries(cloud.env)) process.stdout.write(`${key}=${value}\n`);
  process.stderr.write(`local cloud ready on ${cloud.endpoint} (state: ${cloud.endpoint}/_localcloud/state); Ctrl-C stops it\n`);
  const stop = () => void cloud.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
