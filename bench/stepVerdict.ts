/**
 * Whether one load step passed: every span the generator offered was sent on schedule, accepted by
 * the collector, sent on to Tempo and received by Tempo's distributor, nothing refused, failed or
 * discarded on the way, and the collector's queue drained afterwards (a queue that only grows is
 * loss deferred, not throughput).
 */
import type { ComponentUsage, ContainerUsage } from "./containerUsage";
import type { LoadStepResult } from "./loadGenerator";
import type { CollectorCounters, TempoCounters } from "./pipelineCounters";

export interface StepFigures {
  offeredSpansPerSecond: number;
  durationSeconds: number;
  generator: LoadStepResult;
  /** counter increases over the step and its drain; queueSize is the value at the end */
  collector: CollectorCounters;
  tempo: TempoCounters;
  /**
   * Seconds after the last answer until the collector had handed on every span and its queue was
   * empty (a span the collector counts as sent is one Tempo's distributor acknowledged). Read from
   * Tempo itself (monolithic), Tempo's count is checked in the same reading; null: not within the limit.
   */
  drainSeconds: number | null;
  drainLimitSeconds: number;
  /**
   * Seconds after the last answer until a reading of Tempo's counters taken after that hand-off
   * counted every span sent; null: not within tempoCountLimitSeconds. Through Prometheus
   * (microservices) this includes up to a scrape interval of lag, so it is not judged as drain time.
   */
  tempoCountedSeconds: number | null;
  /** drainLimitSeconds plus the counter source's lag */
  tempoCountLimitSeconds: number;
  /** Tempo's replication factor: 1 (monolithic), 3 (the distributed stack) */
  replicationFactor: number;
  /**
   * The longest drain a sustained rate may need: the batch timeout plus a retry. A queue that needs
   * longer grew during the step, so the pipeline was behind the offered rate and a longer step would
   * fill it (first full run: 12 s of backlog after 20 s at 35,000 spans/s).
   */
  sustainedDrainSeconds: number;
  /** by service id (one entry per container) */
  usage: Record<string, ContainerUsage>;
  /** the same, summed per component (distributors, ingesters, ...) */
  usageByComponent: Record<string, ComponentUsage>;
}

export interface StepVerdict {
  zeroLoss: boolean;
  /** the generator could not keep the offered rate: the step says nothing about the stack */
  generatorLimited: boolean;
  /** nothing was lost, refused or discarded, but the backlog took too long to drain: the rate was not sustained */
  fellBehindOnly: boolean;
  problems: string[];
  /** what the step showed that is no loss (replicated writes cancelled beyond the quorum) */
  notes: string[];
}

export function judgeStep(step: StepFigures): StepVerdict {
  const { generator, collector, tempo } = step;
  const problems: string[] = [];
  const notes: string[] = [];
  const generatorLimited = generator.spansBehindSchedule > 0;
  if (generatorLimited) problems.push(`the load generator fell ${generator.spansBehindSchedule} spans behind schedule (its own limit)`);
  if (generator.spansFailed > 0) {
    const errors = Object.entries(generator.errors).map(([message, count]) => `${count}x ${message}`).join("; ");
    problems.push(`${generator.spansFailed} spans failed at the collector's receiver (${errors})`);
  }
  if (collector.receiverRefused > 0) problems.push(`the collector refused ${collector.receiverRefused} spans (otelcol_receiver_refused_spans)`);
  if (collector.exporterEnqueueFailed > 0) problems.push(`the collector's queue was full for ${collector.exporterEnqueueFailed} spans (otelcol_exporter_enqueue_failed_spans)`);
  if (collector.exporterSendFailed > 0) problems.push(`the collector gave up sending ${collector.exporterSendFailed} spans to Tempo (otelcol_exporter_send_failed_spans)`);
  if (step.drainSeconds === null) problems.push(`the collector's queue still held ${collector.queueSize} batches ${step.drainLimitSeconds} s after the step (queued without bound)`);
  const fellBehind = step.drainSeconds !== null && step.drainSeconds > step.sustainedDrainSeconds;
  if (fellBehind) problems.push(`the pipeline needed ${step.drainSeconds} s after the step to hand on its backlog (more than ${step.sustainedDrainSeconds} s: it fell behind the offered rate)`);
  if (collector.receiverAccepted !== generator.spansAccepted) problems.push(`the collector accepted ${collector.receiverAccepted} spans, the generator saw ${generator.spansAccepted} accepted`);
  if (collector.exporterSent !== collector.receiverAccepted) problems.push(`the collector sent ${collector.exporterSent} of the ${collector.receiverAccepted} spans it accepted to Tempo`);
  if (tempo.receiverRefused > 0) problems.push(`Tempo's receiver refused ${tempo.receiverRefused} spans (tempo_receiver_refused_spans)`);
  if (tempo.discarded > 0) {
    const reasons = [
      ["live_traces_exceeded", tempo.discardedLiveTracesExceeded],
      ["rate_limited", tempo.discardedRateLimited],
      ["trace_too_large", tempo.discardedTraceTooLarge],
    ].filter(([, count]) => Number(count) > 0).map(([reason, count]) => `${reason} ${count}`);
    problems.push(`Tempo discarded ${tempo.discarded} spans (tempo_discarded_spans_total${reasons.length > 0 ? `: ${reasons.join(", ")}` : ""})`);
  }
  if (tempo.ingesterAppendFailures > 0) {
    if (step.replicationFactor > 1) {
      // The distributor answers once a quorum of the replicas took a batch and cancels the rest,
      // counting them as failures (grafana/tempo#5342; README "Writes"). A batch short of its quorum
      // is refused to the collector: that shows as tempo_receiver_refused_spans, the collector's send
      // failures or retries, and a distributor count that differs from what the collector sent.
      notes.push(`${tempo.ingesterAppendFailures} ingester appends cancelled or failed beyond the write quorum (replication factor ${step.replicationFactor}; no loss unless refused)`);
    } else problems.push(`${tempo.ingesterAppendFailures} appends from Tempo's distributor to its ingester failed`);
  }
  if (step.drainSeconds !== null && step.tempoCountedSeconds === null) {
    problems.push(`no reading of Tempo's counters taken after the collector had handed on its spans counted all ${collector.exporterSent} within ${step.tempoCountLimitSeconds} s of the step`);
  }
  if (tempo.distributorReceived !== generator.spansAccepted) {
    problems.push(`Tempo's distributor received ${tempo.distributorReceived} of ${generator.spansAccepted} spans (${generator.spansAccepted - tempo.distributorReceived} lost)`);
  }
  const offered = Math.round(step.offeredSpansPerSecond * step.durationSeconds);
  if (!generatorLimited && generator.spansSent !== offered) problems.push(`the generator sent ${generator.spansSent} of ${offered} offered spans`);
  return { zeroLoss: problems.length === 0, generatorLimited, fellBehindOnly: fellBehind && problems.length === 1, problems, notes };
}
