/**
 * uTP constants (BEP 29) with units. Where BEP 29 is silent or vague, the value of a field-proven
 * implementation is used and named: libtorrent (src/utp_stream.cpp, settings_pack defaults) or
 * libutp (uTorrent's own, utp_internal.cpp).
 */

/** The protocol version in the low nibble of the first header byte (BEP 29: "version 1"). */
export const UTP_VERSION = 1;
/** Fixed header length: type/version, extension, connection_id, two timestamps, wnd, seq, ack. */
export const HEADER_SIZE = 20;

/** Packet types, the high nibble of the first header byte (BEP 29 "type"). */
export const ST_DATA = 0;
export const ST_FIN = 1;
export const ST_STATE = 2;
export const ST_RESET = 3;
export const ST_SYN = 4;
export type PacketType = typeof ST_DATA | typeof ST_FIN | typeof ST_STATE | typeof ST_RESET | typeof ST_SYN;

/** Extension ids. 1 = selective ack (BEP 29); others are skipped by their length. */
export const EXT_NONE = 0;
export const EXT_SACK = 1;

/** Sequence and ack numbers are 16 bits and wrap. */
export const SEQ_MASK = 0xffff;

/**
 * UDP payload sizes (whole uTP packets) that fit common paths without fragmentation: libutp's
 * UDP_IPV4_MTU / UDP_IPV6_MTU, Ethernet's 1500 less IP, UDP, GRE, PPPoE, MPPE and a 36-byte fudge
 * for routers seen in the wild with MTUs down to ~1400. Node cannot set "don't fragment" per
 * datagram, so path MTU probing cannot tell a fragmented probe from a fitting one; a safe size
 * per family is the honest choice.
 */
export const PACKET_SIZE_V4 = 1402;
export const PACKET_SIZE_V6 = 1382;
/** Smallest packet size option accepted (BEP 29: "as small as 150 bytes per packet"). */
export const MIN_PACKET_SIZE = 150;
/** Largest datagram we accept or send: anything bigger is dropped unparsed. */
export const MAX_PACKET_SIZE = 1500;

/** LEDBAT queueing delay target (BEP 29 CCONTROL_TARGET: 100 ms), microseconds. */
export const TARGET_DELAY_US = 100_000;
/**
 * Window growth per RTT at zero queueing delay, bytes (BEP 29 MAX_CWND_INCREASE_PACKETS_PER_RTT,
 * scaled to bytes as libtorrent's utp_gain_factor: 3000).
 */
export const MAX_CWND_INCREASE_BYTES_PER_RTT = 3000;
/** Loss cuts the window to this fraction (BEP 29 after 2012: 0.5). */
export const LOSS_FACTOR = 0.5;
/** At most one loss-triggered window cut per this interval (libtorrent cwnd_reduce_timer), ms. */
export const LOSS_CUT_INTERVAL_MS = 100;
/** A window never shrinks below this many packets by delay (rfc6817; libtorrent: one MSS). */
export const MIN_CWND_PACKETS = 1;
/** Slow start begins with this many packets in the window (libtorrent: starts at one MTU). */
export const INITIAL_CWND_PACKETS = 2;

/**
 * Pacing rate = gain * cwnd / srtt (pacer.ts): 2 in slow start, so the window can still double
 * per round trip; 1.25 after, above what the window delivers (Linux TCP paces at 2 and 1.2).
 */
export const PACING_GAIN_SLOW_START = 2;
export const PACING_GAIN = 1.25;
/**
 * The pacer holds at most this long of its rate, ms: timers run in whole milliseconds and fire
 * late under load, and a smaller bucket would lose that time from the rate.
 */
export const PACING_BURST_MS = 2;

/** Base delay = minimum of the one-way delay over the last HISTORY_SLOTS slots (BEP 29: 2 minutes). */
export const DELAY_HISTORY_SLOT_MS = 60_000;
export const DELAY_HISTORY_SLOTS = 2;
/** The LEDBAT input is the minimum of this many most recent delay samples (libtorrent: 3) ... */
export const DELAY_SAMPLE_WINDOW = 3;
/**
 * ... and of every sample of the last DELAY_FILTER_SLOTS slots of DELAY_FILTER_SLOT_MS (the
 * current slot included: 80-100 ms). A process waiting for a CPU stamps or reads a burst of
 * packets late, and every ack of that burst reports the wait as delay: on a loaded machine
 * such spikes last tens of ms, while a queue that matters lasts round trips (RFC 6817 3.4.2:
 * the current delay is the minimum over a short window, not the last sample).
 */
export const DELAY_FILTER_SLOT_MS = 20;
export const DELAY_FILTER_SLOTS = 5;
/**
 * A base delay that moves down by less than this is the peer's clock drifting; our base is moved
 * up by as much (libtorrent's timestamp_history::adjust_base rule), microseconds.
 */
export const MAX_CLOCK_DRIFT_ADJUST_US = 10_000;

/** Retransmission timeout bounds and start (BEP 29 "timeouts": 500 ms minimum, 1000 ms initial). */
export const MIN_RTO_MS = 500;
export const INITIAL_RTO_MS = 1000;
export const MAX_RTO_MS = 60_000;
/** Duplicate acks (or sacked packets past a hole) that mark a packet lost (BEP 29: 3). */
export const DUP_ACK_LIMIT = 3;
/** Retransmissions of one data packet before the connection is declared dead. */
export const MAX_DATA_RESENDS = 6;
/** Transmissions of a SYN before a dial fails (1 s, 2 s, 4 s apart: ~7 s). */
export const MAX_SYN_SENDS = 3;
/** Transmissions of our FIN before we stop waiting for its ack. */
export const MAX_FIN_SENDS = 3;

/** Receive window we advertise when nothing is buffered, bytes (libtorrent's default). */
export const RECV_WINDOW_BYTES = 1024 * 1024;
/** Out-of-order packets kept for reassembly; later ones are dropped (bounds memory). */
export const MAX_REORDER_PACKETS = 1024;
/** Bytes a stream queues before write() reports backpressure (as the TCP stream's 1 MiB). */
export const SEND_HIGH_WATER_MARK = 1024 * 1024;
/** Longest selective ack bitmask we send, bytes (covers 8 * 128 = 1024 packets past ack_nr + 1). */
export const MAX_SACK_BYTES = 128;

/** Idle connections send a STATE this often to keep NAT mappings alive (libutp: 29 s), ms. */
export const KEEPALIVE_MS = 29_000;
/** Nothing received for this long while we wait for acks: the peer is gone, ms. */
export const IDLE_TIMEOUT_MS = 120_000;
/** After both FINs, stay this long to re-ack a retransmitted FIN, ms. */
export const LINGER_MS = 2_000;
