/**
 * Powertools singletons shared by every handler, created once per Lambda container (as in the Powertools
 * `examples/app`). Both write to stdout: CloudWatch Logs stores the log lines, and the EMF lines become
 * CloudWatch metrics without any API call.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { redactSecrets } from './redact.js';

export { redactSecrets };

export const SERVICE_NAME = 'eks-hybrid-routes';
export const METRICS_NAMESPACE = 'EksHybridRoutes';

export const logger = new Logger({
  serviceName: SERVICE_NAME,
  persistentKeys: { awsRegion: process.env.AWS_REGION },
  // Runs on every string of every log line, error messages and stacks included.
  jsonReplacerFn: (_key, value) => (typeof value === 'string' ? redactSecrets(value) : value),
});

export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  // Its own warnings become structured log lines instead of bare console text.
  logger,
});
