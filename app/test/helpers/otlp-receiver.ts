import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A minimal OTLP/gRPC trace receiver serving TLS, built from the official OTLP .proto files
 * (opentelemetry-proto v1.4.0, Apache-2.0) as shipped in the @elastic/mockotlpserver package.
 * Only what a collector's OTLP receiver does matters here: accept Export calls over TLS, decode them.
 */
const PROTO_ROOT = dirname(require.resolve('@elastic/mockotlpserver/package.json'));
const TRACE_SERVICE = 'opentelemetry.proto.collector.trace.v1.TraceService';

type Scalar = string | number | boolean;

interface AnyValueMessage {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}

interface KeyValueMessage {
  key: string;
  value?: AnyValueMessage;
}

interface SpanMessage {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: number;
  attributes: KeyValueMessage[];
  events: { name: string; attributes: KeyValueMessage[] }[];
  status?: { code: number; message: string };
}

interface ExportTraceServiceRequest {
  resourceSpans: {
    resource?: { attributes: KeyValueMessage[] };
    scopeSpans: { spans: SpanMessage[] }[];
  }[];
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, Scalar>;
  events: { name: string; attributes: Record<string, Scalar> }[];
  status: { code: number; message: string };
  resource: Record<string, Scalar>;
}

function scalar(value: AnyValueMessage | undefined): Scalar {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return '';
}

function attributes(list: KeyValueMessage[] | undefined): Record<string, Scalar> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, scalar(kv.value)]));
}

function flatten(request: ExportTraceServiceRequest): ReceivedSpan[] {
  return request.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((span) => ({
        traceId: span.traceId.toString('hex'),
        spanId: span.spanId.toString('hex'),
        parentSpanId: span.parentSpanId.toString('hex'),
        name: span.name,
        kind: span.kind,
        attributes: attributes(span.attributes),
        events: span.events.map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        resource: attributes(rs.resource?.attributes),
      })),
    ),
  );
}

export interface ReceiverOptions {
  /** Server certificate and key (PEM file paths). */
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCa?: string;
  /** Defaults to an ephemeral port. */
  port?: number;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  exportCalls = 0;

  private constructor(private readonly server: grpc.Server) {}

  /** The bound port; only valid after start() resolved. */
  port = 0;

  static async start(options: ReceiverOptions): Promise<OtlpReceiver> {
    const definition = protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: Number,
      defaults: true,
    });
    const service = definition[TRACE_SERVICE] as unknown as grpc.ServiceDefinition;
    const receiver = new OtlpReceiver(new grpc.Server());
    receiver.server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<ExportTraceServiceRequest, object>, callback: grpc.sendUnaryData<object>) => {
        receiver.exportCalls += 1;
        receiver.spans.push(...flatten(call.request));
        callback(null, {});
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(
      options.clientCa ? readFileSync(options.clientCa) : null,
      [{ cert_chain: readFileSync(options.cert), private_key: readFileSync(options.key) }],
      options.clientCa !== undefined,
    );
    receiver.port = await new Promise<number>((resolve, reject) => {
      receiver.server.bindAsync(`127.0.0.1:${options.port ?? 0}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    return receiver;
  }

  get endpoint(): string {
    return `https://localhost:${this.port}`;
  }

  spansOf(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** Resolves with the trace's spans once `done` accepts them; rejects after timeoutMs. */
  async waitForTrace(traceId: string, done: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const spans = this.spansOf(traceId);
      if (done(spans)) return spans;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`trace ${traceId} incomplete after ${timeoutMs} ms: got ${this.spansOf(traceId).map((s) => s.name).join(', ') || 'no spans'}`);
  }

  close(): void {
    this.server.forceShutdown();
  }
}
