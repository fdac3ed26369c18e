/**
 * OpenTelemetry tracing, off by default. Our code uses only `@opentelemetry/api` (a no-op until an SDK is
 * registered); the SDK and the OTLP exporter are imported dynamically, and only when tracing is on, so an
 * ordinary start pays nothing for them.
 *
 * On/off follows OpenTelemetry's standard variables: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, or `OTEL_TRACES_EXPORTER=console`; off with
 * `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`. The exporter reads the rest of its OTEL_EXPORTER_OTLP_*
 * settings (headers, timeout, certificates) itself.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { z } from 'zod';
import type { Logger } from './logger.js';

export const TRACER_NAME = 'kafka-gateway';

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
type SamplerName = (typeof SAMPLERS)[number];

const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** The standard OTEL_* variables we read (names and meanings from the OpenTelemetry specification). */
export const otelEnvSchema = z.object({
  OTEL_SDK_DISABLED: z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase() === 'true'),
  OTEL_TRACES_EXPORTER: z
    .string()
    .optional()
    .transform(blank)
    .pipe(z.enum(['otlp', 'console', 'none'], { error: 'expected otlp, console or none' }).optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional().transform(blank),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional().transform(blank),
  OTEL_SERVICE_NAME: z.string().optional().transform(blank),
  OTEL_TRACES_SAMPLER: z
    .string()
    .optional()
    .transform(blank)
    .pipe(z.enum(SAMPLERS, { error: `expected one of ${SAMPLERS.join(', ')}` }).optional()),
  OTEL_TRACES_SAMPLER_ARG: z.string().optional().transform(blank),
});

export interface TracingSettings {
  enabled: boolean;
  exporter: 'otlp' | 'console';
  serviceName: string;
  sampler: SamplerName;
  /** traceidratio samplers: the fraction of new traces kept, 0..1. */
  ratio: number;
}

/** Reads the OTEL_* variables; throws with the variable's name on a bad value (at start-up, never later). */
export function tracingSettings(env: Record<string, string | undefined> = process.env): TracingSettings {
  const parsed = otelEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const exporter = e.OTEL_TRACES_EXPORTER ?? 'otlp';
  const hasEndpoint = Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const enabled = !e.OTEL_SDK_DISABLED && exporter !== 'none' && (exporter === 'console' || hasEndpoint);
  const ratio = e.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(e.OTEL_TRACES_SAMPLER_ARG);
  if (!(ratio >= 0 && ratio <= 1))
    throw new TypeError(`OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1, got '${e.OTEL_TRACES_SAMPLER_ARG}'`);
  return {
    enabled,
    exporter: exporter === 'console' ? 'console' : 'otlp',
    serviceName: e.OTEL_SERVICE_NAME ?? 'kafka-gateway',
    sampler: e.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    ratio,
  };
}

export interface Tracing {
  readonly enabled: boolean;
  /** A no-op tracer when tracing is off. */
  readonly tracer: Tracer;
  /** Flushes spans still queued and unregisters the SDK (the last user of a shared SDK does it). */
  shutdown(): Promise<void>;
}

export const tracingOff: Tracing = {
  enabled: false,
  tracer: trace.getTracer(TRACER_NAME),
  shutdown: async () => {},
};

export interface StartTracingOptions {
  /** Tests: export here (synchronously, one span at a time) instead of OTLP/console. */
  exporter?: import('@opentelemetry/sdk-trace').SpanExporter;
}

// The OpenTelemetry API holds one global provider per process: gateways in one process share it.
let shared: { provider: Promise<{ shutdown(): Promise<void> }>; users: number } | undefined;

export async function startTracing(
  settings: TracingSettings,
  logger: Logger,
  options: StartTracingOptions = {},
): Promise<Tracing> {
  if (!settings.enabled && !options.exporter) return tracingOff;
  if (!shared) {
    shared = { provider: registerSdk(settings, options), users: 0 };
    shared.provider.catch(() => {
      shared = undefined;
    });
  }
  shared.users++;
  await shared.provider;
  logger.info({ exporter: options.exporter ? 'custom' : settings.exporter, sampler: settings.sampler }, 'tracing on');
  let done = false;
  return {
    enabled: true,
    tracer: trace.getTracer(TRACER_NAME),
    async shutdown() {
      if (done || !shared) return;
      done = true;
      if (--shared.users > 0) return;
      const { provider } = shared;
      shared = undefined;
      await (await provider).shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

async function registerSdk(
  settings: TracingSettings,
  options: StartTracingOptions,
): Promise<{ shutdown(): Promise<void> }> {
  const [sdk, core, hooks, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
  ]);
  let processor: import('@opentelemetry/sdk-trace').SpanProcessor;
  if (options.exporter) processor = new sdk.SimpleSpanProcessor({ exporter: options.exporter });
  else if (settings.exporter === 'console')
    processor = new sdk.BatchSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() });
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.ratio);
  const samplers: Record<SamplerName, () => import('@opentelemetry/sdk-trace').Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio }),
  };
  // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override our default service name.
  const resource = resources
    .resourceFromAttributes({ 'service.name': settings.serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    sampler: samplers[settings.sampler](),
    spanProcessors: [processor],
  });

  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  return provider;
}
