/**
 * Errors the core raises. Each names what was wrong so an operator can act on it; none carries
 * secrets (the core never sees a token or credential).
 */

/** Bad configuration or input: the field is named, nothing was changed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * The configured narrowing of the managed scope (POD_NETWORKS, NODE_NETWORKS) does not fit the cluster's
 * networks. It is found only once the cluster is read, but it is the deployment's configuration that is wrong,
 * not a read or a request: nothing was changed.
 */
export class ScopeConfigError extends ConfigError {}

/** The cluster, CiliumNodes, ENIs or route tables could not be read completely: the run changes nothing. */
export class IncompleteReadError extends Error {
  override readonly name = 'IncompleteReadError';
  constructor(
    readonly source: 'cluster' | 'ciliumnodes' | 'network-interfaces' | 'route-tables',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${message}`, options);
  }
}
