/**
 * Peer wire protocol constants with units and the BEP they come from.
 */

/** Handshake protocol string (BEP 3), preceded by its length byte 19. */
export const PROTOCOL_STRING = 'BitTorrent protocol';
/** Full handshake: 1 + 19 + 8 reserved + 20 infohash + 20 peer id (BEP 3), bytes. */
export const HANDSHAKE_LENGTH = 68;
/** Handshake up to and including the infohash (what a responder needs to decide), bytes. */
export const HANDSHAKE_HEAD_LENGTH = 48;
/** Peer ids are 20 bytes (BEP 3). */
export const PEER_ID_LENGTH = 20;

/** Block size every current client requests (BEP 3: 2^14), bytes. */
export const BLOCK_SIZE = 16_384;
/** Header of a piece message: 4 length + 1 id + 4 index + 4 begin, bytes. */
export const PIECE_HEADER_LENGTH = 13;
/**
 * Default cap on a message's length prefix, bytes: a 128 KiB block (the largest any client
 * sends) plus the piece header. Also admits ut_metadata data messages (16 KiB + dict) and
 * bitfields of torrents up to ~1M pieces. Larger bitfields are admitted once the piece count
 * is known (`setPieceCount`).
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 2 ** 17 + PIECE_HEADER_LENGTH;
/** Largest block length accepted in request/cancel/reject, bytes (2^17, cf. libtorrent). */
export const DEFAULT_MAX_BLOCK_LENGTH = 2 ** 17;

/** Send a keep-alive after this long without sending anything (BEP 3 suggests 2 min), ms. */
export const KEEP_ALIVE_INTERVAL_MS = 60_000;
/** Close a connection that sent nothing for this long, ms. */
export const IDLE_TIMEOUT_MS = 120_000;
/** Close a connection whose handshake has not completed in this long (libtorrent: 10 s), ms. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

/** Largest BEP 10 extension handshake payload we decode, bytes. */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024;
/** Most entries we read from a remote `m` dictionary. */
export const MAX_EXTENSION_NAMES = 64;
/** Default `reqq` we advertise: outstanding requests we accept (libtorrent default 250). */
export const DEFAULT_REQQ = 250;

/** ut_metadata piece size (BEP 9: 16 KiB), bytes. */
export const METADATA_PIECE_LENGTH = 16_384;
/** Default cap on metadata_size we accept (BEP 9 sets none; libtorrent uses 4 MiB+), bytes. */
export const DEFAULT_MAX_METADATA_SIZE = 16 * 1024 * 1024;

/** BEP 11: clients must send no more than one PEX message per minute, ms. */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11: combined added (or dropped) v4+v6 contacts per message should not exceed 50. */
export const PEX_MAX_PEERS_PER_MESSAGE = 50;
