/**
 * Error classes with stable string codes. Callers switch on `err.code`, never on messages.
 */
export type TrackerlessErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_INFOHASH'
  | 'ERR_INVALID_PORT'
  | 'ERR_INVALID_ADDRESS'
  | 'ERR_INVALID_MAGNET'
  | 'ERR_INVALID_TORRENT'
  | 'ERR_INVALID_SELECTION'
  | 'ERR_INVALID_PRIORITY'
  | 'ERR_INVALID_RANGE'
  | 'ERR_INVALID_STATE'
  | 'ERR_DESTROYED'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_TOO_MANY_INFLIGHT'
  | 'ERR_REMOTE'
  | 'ERR_BAD_RESPONSE'
  | 'ERR_STATE_FILE'
  | 'ERR_PROTOCOL'
  | 'ERR_CONNECTION_RESET'
  | 'ERR_MISSING_DEPENDENCY'
  | 'ERR_DATABASE'
  | 'ERR_UNKNOWN_TORRENT'
  | 'ERR_DUPLICATE_TORRENT'
  | 'ERR_SEND_FAILED';

export class TrackerlessError extends Error {
  readonly code: TrackerlessErrorCode;
  constructor(code: TrackerlessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad argument to a public API (wrong type, length or range). */
export class InvalidArgumentError extends TrackerlessError {
  constructor(code: TrackerlessErrorCode, message: string) {
    super(code, message);
  }
}

/** The call does not fit the object's state (not started yet, already started, closed, already registered). */
export class StateError extends TrackerlessError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message);
  }
}

/** The object was destroyed; it cannot be used any more. */
export class DestroyedError extends TrackerlessError {
  constructor(what = 'DHT') {
    super('ERR_DESTROYED', `${what} has been destroyed`);
  }
}

/** A query got no answer in time. */
export class TimeoutError extends TrackerlessError {
  constructor(message = 'query timed out') {
    super('ERR_TIMEOUT', message);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends TrackerlessError {
  constructor(message = 'operation aborted') {
    super('ERR_ABORTED', message);
  }
}

/** A remote node answered with a KRPC error message. */
export class RemoteError extends TrackerlessError {
  readonly remoteCode: number;
  constructor(remoteCode: number, message: string) {
    super('ERR_REMOTE', `remote error ${remoteCode}: ${message}`);
    this.remoteCode = remoteCode;
  }
}

/** Outbound queries are refused locally (in-flight cap or rate limit). */
export class BackpressureError extends TrackerlessError {}

/** An optional dependency (a database driver) is not installed. */
export class MissingDependencyError extends TrackerlessError {
  readonly dependency: string;
  constructor(dependency: string, purpose: string, options?: { cause?: unknown }) {
    super(
      'ERR_MISSING_DEPENDENCY',
      `${purpose} needs the optional package '${dependency}': install it with \`npm install ${dependency}\``,
      options
    );
    this.dependency = dependency;
  }
}

/** A database could not be opened, migrated or used. */
export class DatabaseError extends TrackerlessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DATABASE', message, options);
  }
}

/** A client has no torrent with this infohash. */
export class UnknownTorrentError extends TrackerlessError {
  constructor(infoHashHex: string) {
    super('ERR_UNKNOWN_TORRENT', `no torrent ${infoHashHex} in this client`);
  }
}

/** A client already has a torrent with this infohash. */
export class DuplicateTorrentError extends TrackerlessError {
  constructor(infoHashHex: string) {
    super('ERR_DUPLICATE_TORRENT', `torrent ${infoHashHex} is already in this client`);
  }
}

/**
 * System errors of a send that mean the destination cannot be reached from here (Linux, for a
 * UDP sender: no route ENETUNREACH, an `unreachable` route EHOSTUNREACH, `prohibit` EACCES,
 * `blackhole` EINVAL, a firewall DROP or REJECT on OUTPUT EPERM), rather than a passing shortage
 * (ENOBUFS, ENOMEM) after which a later datagram may go through.
 */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'EPERM',
  'EACCES',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'EINVAL',
  'ERR_INVALID_ADDRESS',
  'ERR_SOCKET_BAD_PORT'
]);

/** The operating system refused to send a datagram to `to` (the system error is the `cause`). */
export class SendError extends TrackerlessError {
  /** Where the datagram was going. */
  readonly to: { readonly host: string; readonly port: number };
  /** The system's error code (EPERM, ENETUNREACH, ...), or Node's for an argument it refused. */
  readonly systemCode: string;
  /** The destination cannot be reached from here (see UNREACHABLE_CODES), not a passing shortage. */
  readonly unreachable: boolean;
  constructor(to: { host: string; port: number }, systemCode: string, options?: { cause?: unknown }) {
    super('ERR_SEND_FAILED', `cannot send to ${to.host}:${to.port}: ${systemCode}`, options);
    this.to = { host: to.host, port: to.port };
    this.systemCode = systemCode;
    this.unreachable = UNREACHABLE_CODES.has(systemCode);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}
