/**
 * Protocol constants with units and the BEP they come from.
 */

/** Bucket size and lookup result size (BEP 5: "K = 8"). */
export const K = 8;
/** Parallel queries in flight during an iterative lookup (Kademlia paper, alpha = 3). */
export const ALPHA = 3;
/** Length of node ids and infohashes in bytes (BEP 5: 160-bit ids). */
export const ID_LENGTH = 20;
/** Compact IPv4 node info: 20-byte id + 4-byte IP + 2-byte port (BEP 5). */
export const COMPACT_NODE_V4_LENGTH = 26;
/** Compact IPv6 node info: 20-byte id + 16-byte IP + 2-byte port (BEP 32). */
export const COMPACT_NODE_V6_LENGTH = 38;
/** Compact IPv4 peer: 4-byte IP + 2-byte port (BEP 5 / BEP 23). */
export const COMPACT_PEER_V4_LENGTH = 6;
/** Compact IPv6 peer: 16-byte IP + 2-byte port (BEP 32). */
export const COMPACT_PEER_V6_LENGTH = 18;
/** Largest UDP payload we send or accept (BEP 32 asks for <= 1024 bytes; we accept a bit more). */
export const MAX_DATAGRAM_SEND_BYTES = 1024;
/** Datagrams above this are dropped unparsed (bounds decoder work). */
export const MAX_DATAGRAM_RECV_BYTES = 1500;
/** Longest transaction id we accept from others, in bytes. */
export const MAX_TID_BYTES = 16;
/** Longest token we accept or store, in bytes. */
export const MAX_TOKEN_BYTES = 64;

/** A node is "good" if it answered within this window (BEP 5: 15 minutes), ms. */
export const NODE_GOOD_MS = 15 * 60_000;
/** Buckets not changed in this long are refreshed (BEP 5: 15 minutes), ms. */
export const BUCKET_REFRESH_MS = 15 * 60_000;
/** Consecutive failed queries after which a node is "bad" (BEP 5: "multiple"). */
export const NODE_BAD_FAILURES = 2;

/** Default per-query timeout, ms. */
export const QUERY_TIMEOUT_MS = 2_000;
/**
 * Shortest wait before a lookup widens past a silent node, ms (the adaptive wait follows the
 * measured round trips but never drops below this: event-loop stalls look like slow nodes).
 */
export const MIN_SLOW_AFTER_MS = 150;
/** Default cap on outstanding queries per node. */
export const MAX_INFLIGHT_QUERIES = 256;
/** Default global outbound query rate, queries per second (token bucket refill). */
export const MAX_QUERIES_PER_SECOND = 400;

/** Token secrets rotate this often (BEP 5: "tokens up to ten minutes old are accepted"), ms. */
export const TOKEN_ROTATE_MS = 5 * 60_000;

/** Stored peers expire after this long without a re-announce (libtorrent uses 30 min), ms. */
export const PEER_TTL_MS = 30 * 60_000;
/** Max distinct infohashes the peer store keeps. */
export const MAX_STORED_INFOHASHES = 5_000;
/** Max peers kept per infohash. */
export const MAX_PEERS_PER_INFOHASH = 200;
/** Max peers in one get_peers reply: 50 * 6 B values + 8 nodes * 26 B keeps it under 1024 B. */
export const MAX_VALUES_PER_REPLY = 50;

/** BEP 44: largest bencoded value a node stores ("MAY reject ... longer than 1000 bytes"). */
export const MAX_ITEM_VALUE_BYTES = 1000;
/** BEP 44: longest salt of a mutable item ("MUST NOT be longer than 64 bytes"). */
export const MAX_ITEM_SALT_BYTES = 64;
/**
 * Largest datagram that carries a BEP 44 value (a put, or a get reply with the item): a
 * 1000-byte value does not fit BEP 32's 1024 bytes. Equal to what we accept, and to the
 * 1500-byte receive buffer libtorrent uses.
 */
export const MAX_ITEM_DATAGRAM_BYTES = MAX_DATAGRAM_RECV_BYTES;
/** BEP 44: stored items expire 2 hours after their last put ("MAY expire in 2 hours"), ms. */
export const ITEM_TTL_MS = 2 * 60 * 60_000;
/** Publishers re-put their items this often (BEP 44: "re-announced once an hour"), ms. */
export const ITEM_REPUBLISH_MS = 60 * 60_000;
/** Max BEP 44 items a node stores (libtorrent: 700 of each kind). */
export const MAX_STORED_ITEMS = 1_000;
/** Max bytes of stored BEP 44 values, keys, salts and signatures together. */
export const MAX_STORED_ITEM_BYTES = 1 << 20;
/** Max stored items put by one IP: beyond it, its own oldest item makes room. */
export const MAX_ITEMS_PER_SOURCE = 100;

/** Public bootstrap routers: used only when the user passes no bootstrap list at all. */
export const DEFAULT_BOOTSTRAP: readonly string[] = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401'
];

/** Our client name in the extension handshake's `v` (BEP 10). */
export const CLIENT_NAME = 'trackerless 0.1';
/** Our peer id prefix (Azureus style, BEP 20): client 'TL', version 0001. */
export const PEER_ID_PREFIX = '-TL0001-';
/** Client version sent in the DHT's `v` (2-char client id + 2-byte version). */
export const CLIENT_VERSION = new Uint8Array([0x54, 0x4c, 0x00, 0x01]); // "TL" 0.1
