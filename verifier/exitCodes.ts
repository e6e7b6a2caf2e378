/**
 * Exit codes of the verifier CLI. The Pulumi post-deploy command, the e2e suite and
 * scripts depend on these numbers: change them only together with their users.
 */
export const EXIT_CODES = {
  /** Traces sent through the stack were counted by Tempo and fetched back by id. */
  VERIFIED: 0,
  /** Tempo answered, but the traces were not stored (or, with --service-graph-edge, their span metrics / edge did not reach Prometheus); the output carries a diagnosis. */
  NOT_VERIFIED: 1,
  /** Tempo (or the app / OTLP endpoint / Prometheus) could not be reached, failed TLS verification, never became ready, or /metrics is not Prometheus text. */
  UNREACHABLE: 2,
  /** Bad flags or environment (sysexits EX_USAGE). */
  USAGE: 64,
  /** A bug in the verifier itself (sysexits EX_SOFTWARE); the message says where. */
  INTERNAL_ERROR: 70,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
