/** The index's HTTP server: web page, JSON API, Torznab, Prometheus metrics. */
export { IndexServer } from './server.js';
export type { IndexServerOptions } from './server.js';
export { RateHistory } from './crawl-monitor.js';
export type { CrawlMonitor, RatePoint } from './crawl-monitor.js';
export { parseListenAddress } from './listen-address.js';
