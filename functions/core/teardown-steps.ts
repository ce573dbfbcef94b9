/**
 * The teardown workflow's vocabulary, shared by the state machine (infra/constructs/teardown.ts), the task
 * handler (functions/handlers/teardown.ts) and the local runner: which step a Task asks the handler for, and
 * what the states are called. The order itself lives in one place only: the state machine definition.
 */

/** The `step` field of every Task payload. */
export const TEARDOWN_STEPS = [
  'snapshot',
  'pause',
  'drain',
  'uninstall',
  'delete-objects',
  'deregister',
  'restore-source-dest-check',
  'terminate',
  'routes',
  'activations',
  'resume',
  'verify',
] as const;

export type TeardownStep = (typeof TEARDOWN_STEPS)[number];

/** State names, as the console and the execution history show them. */
export const STATE_NAMES = {
  snapshot: 'Validate input and snapshot',
  pause: 'Pause auto-healing',
  map: 'Tear down each node',
  drain: 'Cordon and drain',
  drained: 'Drained?',
  waitForDrain: 'Wait for drain',
  checkDrain: 'Check drain',
  uninstall: 'Uninstall with nodeadm',
  uninstalled: 'Uninstalled?',
  waitForUninstall: 'Wait for uninstall',
  checkUninstall: 'Check uninstall',
  deleteObjects: 'Delete Kubernetes objects',
  deregister: 'Deregister managed instance',
  restoreSourceDestCheck: 'Restore source/dest check',
  terminate: 'Terminate instance',
  nodeDone: 'Node torn down',
  nodeFailed: 'Node failed',
  routes: 'Remove routes',
  activations: 'Delete activations',
  resume: 'Resume auto-healing',
  verify: 'Verify and summarize',
  complete: 'Torn down?',
  succeeded: 'Teardown complete',
  incomplete: 'Teardown incomplete',
} as const;

/** The Error a Task raises for a transient failure (throttling, timeouts, 5xx) that is worth retrying with backoff. */
export const TRANSIENT_ERROR = 'TransientError';

/** The Error of the final Fail state when something was left behind. */
export const INCOMPLETE_ERROR = 'TeardownIncomplete';

/**
 * The execution's own time limit (the state machine's TimeoutSeconds). The snapshot step refuses an input
 * whose worst case (every node using its whole drain and uninstall budget) would not fit.
 */
export const TEARDOWN_EXECUTION_TIMEOUT_SECONDS = 24 * 3600;

/**
 * Nodes per execution. Step Functions limits the state to 256 KB and an execution's history to 25,000
 * events; a node's Map iteration takes about 50–100 events and adds up to ~2 KB (a failed node's cause)
 * to the state, so a hundred nodes stay well inside both. Larger fleets are torn down in batches.
 */
export const MAX_NODES_PER_TEARDOWN = 100;

/** The ENI tag a teardown puts on the nodes it pauses; the reconciler leaves tagged nodes alone. Value: the node name. */
export const PAUSE_TAG_KEY = 'eks-hybrid-routes/teardown';

/** Environment variables of the teardown Lambda (beyond the reconciler's ENV_LABELS). */
export const TEARDOWN_ENV = {
  teardownRoleArn: 'TEARDOWN_ROLE_ARN',
  ruleNames: 'RECONCILER_RULE_NAMES',
} as const;
