/**
 * /metrics in the Prometheus text exposition format (version 0.0.4): counters end in
 * `_total`, every family has HELP and TYPE lines, label values are escaped.
 */
import type { IndexSummary } from '../crawler/store/torrent-index.js';
import type { CrawlMonitor } from './crawl-monitor.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

class Exposition {
  private out: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
        .join(',');
      this.out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  }

  one(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.family(name, type, help, [[{}, value]]);
  }

  text(): string {
    return this.out.join('\n') + '\n';
  }
}

export function renderMetrics(db: IndexSummary, monitor: CrawlMonitor | null): string {
  const m = new Exposition();
  m.one('trackerless_index_torrents', 'gauge', 'Infohashes stored in the database.', db.torrents);
  m.one('trackerless_index_resolved_torrents', 'gauge', 'Stored infohashes with metadata.', db.resolved);
  m.family('trackerless_index_evicted_total', 'counter', 'Infohashes removed by the size cap, by state.', [
    [{ state: 'unresolved' }, db.evicted.unresolved],
    [{ state: 'resolved' }, db.evicted.resolved]
  ]);
  m.one('trackerless_index_database_bytes', 'gauge', 'Database size (tables and indexes).', db.bytes);
  if (!monitor) return m.text();
  const s = monitor.crawler();
  const minute = monitor.history.latest();
  m.one(
    'trackerless_crawler_queries_sent_total',
    'counter',
    'sample_infohashes queries sent.',
    s.queriesSent
  );
  m.one('trackerless_crawler_replies_total', 'counter', 'Replies accepted.', s.replies);
  m.one('trackerless_crawler_query_failures_total', 'counter', 'Queries without an answer.', s.failures);
  m.family(
    'trackerless_crawler_replies_rejected_total',
    'counter',
    'Replies dropped by validation, by reason.',
    Object.entries(s.rejected).map(([reason, n]) => [{ reason }, n])
  );
  m.one(
    'trackerless_crawler_samples_total',
    'counter',
    'Infohashes received in samples (repeats included).',
    s.samples
  );
  m.one(
    'trackerless_crawler_infohashes_discovered_total',
    'counter',
    'Infohashes this crawler inserted.',
    s.newInfoHashes
  );
  m.one(
    'trackerless_crawler_infohashes_resolved_total',
    'counter',
    'Metadata resolved.',
    s.resolve?.resolved ?? 0
  );
  m.one(
    'trackerless_crawler_infohashes_discovered_per_minute',
    'gauge',
    'Infohashes inserted during the last complete minute.',
    minute.discovered
  );
  m.one(
    'trackerless_crawler_infohashes_resolved_per_minute',
    'gauge',
    'Metadata resolved during the last complete minute.',
    minute.resolved
  );
  m.one(
    'trackerless_crawler_rate_limit_deferrals_total',
    'counter',
    'Queries postponed by the per-IP limit.',
    s.deferredPerIp
  );
  m.family('trackerless_crawler_queue_size', 'gauge', 'Entries waiting, by queue.', [
    [{ queue: 'frontier' }, s.frontier],
    [{ queue: 'revisits' }, s.revisits],
    [{ queue: 'inflight' }, s.inflight],
    [{ queue: 'resolving' }, s.resolve?.inflight ?? 0]
  ]);
  m.one(
    'trackerless_crawler_store_errors_total',
    'counter',
    'Failed database writes (retried).',
    s.storeErrors
  );
  if (monitor.dht) {
    const d = monitor.dht();
    m.one(
      'trackerless_dht_backpressure_drops_total',
      'counter',
      'Queries our DHT node dropped before sending (its send queue was full).',
      d.rejectedLocally
    );
    m.one('trackerless_dht_malformed_total', 'counter', 'Datagrams dropped as malformed.', d.malformed);
    m.one('trackerless_dht_nodes', 'gauge', 'Routing table size.', d.nodes);
  }
  if (monitor.liveness) {
    const l = monitor.liveness();
    m.family('trackerless_liveness_scrapes_total', 'counter', 'BEP 33 scrapes, by result.', [
      [{ result: 'ok' }, l.scraped],
      [{ result: 'failed' }, l.failed]
    ]);
  }
  return m.text();
}
