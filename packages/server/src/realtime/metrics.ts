import { Counter, Gauge, type Registry } from 'prom-client';

/** The realtime server's Prometheus metrics. */
export interface RealtimeMetrics {
  openConnections: Gauge;
  framesReceived: Counter<'type'>;
  eventsDelivered: Counter;
  messagesSent: Counter;
  slowConsumerDisconnects: Counter;
  rateLimitedFrames: Counter;
}

/**
 * Registers the metrics on `registry`, or reuses them when a realtime server registered them there before
 * (a restart in the same process). Without a registry they live on a private one nobody scrapes.
 */
export function createRealtimeMetrics(registry: Registry | undefined): RealtimeMetrics {
  const registers = registry ? [registry] : [];
  const existing = <T>(name: string): T | undefined => registry?.getSingleMetric(name) as T | undefined;
  return {
    openConnections:
      existing<Gauge>('kaiwa_ws_connections') ??
      new Gauge({ name: 'kaiwa_ws_connections', help: 'Open WebSocket connections.', registers }),
    framesReceived:
      existing<Counter<'type'>>('kaiwa_ws_frames_received_total') ??
      new Counter({
        name: 'kaiwa_ws_frames_received_total',
        help: 'WebSocket frames received, by frame type ("invalid" for frames that failed to parse).',
        labelNames: ['type'],
        registers,
      }),
    eventsDelivered:
      existing<Counter>('kaiwa_ws_events_delivered_total') ??
      new Counter({
        name: 'kaiwa_ws_events_delivered_total',
        help: 'Server events queued to connections (one per event and recipient).',
        registers,
      }),
    messagesSent:
      existing<Counter>('kaiwa_ws_messages_sent_total') ??
      new Counter({
        name: 'kaiwa_ws_messages_sent_total',
        help: 'Messages sent through the WebSocket protocol and acknowledged.',
        registers,
      }),
    slowConsumerDisconnects:
      existing<Counter>('kaiwa_ws_slow_consumer_disconnects_total') ??
      new Counter({
        name: 'kaiwa_ws_slow_consumer_disconnects_total',
        help: 'Connections closed with 4009 because they fell too far behind.',
        registers,
      }),
    rateLimitedFrames:
      existing<Counter>('kaiwa_ws_rate_limited_frames_total') ??
      new Counter({
        name: 'kaiwa_ws_rate_limited_frames_total',
        help: 'Inbound frames refused by the per-connection rate limit.',
        registers,
      }),
  };
}
