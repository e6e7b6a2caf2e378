import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

export interface PostDeployVerificationArgs {
  projectDir: string;
  tempoApiUrl: string;
  appUrl: string;
  /** The collector's published OTLP gRPC endpoint: the verifier tells "not answering" from "no spans". */
  collectorOtlpUrl: string;
  /** Where Tempo's metrics-generator writes span metrics and the service graph. */
  prometheusUrl: string;
  /** The service-graph edge the traffic must create: the app calling its backend. */
  serviceGraphEdge: { client: string; server: string };
  caCertificatePem: pulumi.Input<string>;
  /** Under mutual TLS, the host client certificate the verifier presents to every endpoint. */
  clientCertificate?: { certificatePem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };
  /** Tempo in microservices mode: its ingesters and how many hold each trace (counters read through Prometheus). */
  distributed?: { ingesters: number; replicationFactor: number };
  /**
   * Engine swarm: the services and their desired tasks, checked on the manager; `dockerHost` is the
   * provider's `docker:host` when the stack sets it (else the verifier reads DOCKER_HOST, like the provider).
   */
  swarm?: { services: Array<{ name: string; tasks: number }>; dockerHost?: string };
  traces: number;
  minFraction: number;
  deadlineSeconds: number;
  /** Anything whose change must re-run the verification: container ids, image refs, certificates. */
  triggers: pulumi.Input<string>[];
}

/**
 * Runs the verifier after every container is up. A non-zero exit (not verified, or Tempo not
 * reachable) fails `pulumi up`, with the verifier's diagnosis in the error.
 */
export class PostDeployVerification extends pulumi.ComponentResource {
  /** The verifier's JSON report. */
  readonly result: pulumi.Output<string>;

  constructor(name: string, args: PostDeployVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:PostDeployVerification", name, {}, opts);
    const cli = path.join(args.projectDir, "bin", "tracing-stack-verify.js");
    const run = [
      "node",
      JSON.stringify(cli),
      // JSON report on stdout when verified; one summary line, or the diagnosis first, on stderr.
      "--post-deploy",
      `--traces ${args.traces}`,
      `--min-fraction ${args.minFraction}`,
      `--deadline-seconds ${args.deadlineSeconds}`,
    ].join(" ");
    const verify = new command.local.Command(
      name,
      {
        create: run,
        // Same command on update: a changed input means a changed stack, which must be proven again.
        update: run,
        // Only stderr is shown while it runs: the summary line, or the diagnosis. The JSON report on
        // stdout is the `verification` stack output, not 180 lines of the deployment's progress.
        logging: "stderr",
        dir: args.projectDir,
        environment: {
          VERIFY_TEMPO_URL: args.tempoApiUrl,
          VERIFY_APP_URL: args.appUrl,
          VERIFY_COLLECTOR_OTLP_URL: args.collectorOtlpUrl,
          VERIFY_PROMETHEUS_URL: args.prometheusUrl,
          VERIFY_SERVICE_GRAPH_EDGE: `${args.serviceGraphEdge.client},${args.serviceGraphEdge.server}`,
          VERIFY_CA_PEM: args.caCertificatePem,
          ...(args.distributed
            ? { VERIFY_INGESTERS: String(args.distributed.ingesters), VERIFY_REPLICATION_FACTOR: String(args.distributed.replicationFactor) }
            : {}),
          ...(args.swarm
            ? {
                VERIFY_SWARM_SERVICES: args.swarm.services.map((s) => `${s.name}=${s.tasks}`).join(","),
                ...(args.swarm.dockerHost ? { DOCKER_HOST: args.swarm.dockerHost } : {}),
              }
            : {}),
          ...(args.clientCertificate
            ? { VERIFY_CLIENT_CERT_PEM: args.clientCertificate.certificatePem, VERIFY_CLIENT_KEY_PEM: pulumi.secret(args.clientCertificate.privateKeyPem) }
            : {}),
        },
        triggers: args.triggers,
      },
      { parent: this },
    );
    this.result = verify.stdout;
    this.registerOutputs({ result: this.result });
  }
}
