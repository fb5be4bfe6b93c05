/**
 * BEP 14 local service discovery: groups, port and rates, with units and where they come from.
 */

/** IPv4 group (BEP 14, "org-local"). */
export const LSD_GROUP_V4 = '239.192.152.143';
/** IPv6 group (BEP 14, "site-local"). */
export const LSD_GROUP_V6 = 'ff15::efc0:988f';
/** UDP port of both groups (BEP 14). */
export const LSD_PORT = 6771;
/**
 * Multicast hop limit. BEP 14 notes the groups' scope is wider than one link and allows a TTL
 * above 1; libtorrent uses 32.
 */
export const LSD_TTL = 32;
/** Every torrent is announced this often on each interface (BEP 14: "every 5 minutes"), ms. */
export const LSD_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** At most one announce per interface per minute (BEP 14: "no more than 1 announce per minute"), ms. */
export const LSD_MIN_ANNOUNCE_GAP_MS = 60_000;
/** Longest announce we send (BEP 14: "should not exceed 1400 bytes"), bytes. */
export const LSD_MAX_PACKET_BYTES = 1400;
/** Most header lines we read from one announce (the rest is ignored). */
export const LSD_MAX_HEADER_LINES = 64;
/** Most infohashes we take from one announce (a 1400-byte packet holds about 25). */
export const LSD_MAX_INFOHASHES_RECEIVED = 32;
/** Longest cookie we compare (ours are 8 hex digits; longer ones are someone else's). */
export const LSD_MAX_COOKIE_LENGTH = 64;
/** Announces accepted from one source IP: a burst of this many ... */
export const LSD_SOURCE_BURST = 4;
/** ... refilled at this rate, per second (one every 15 s: four times what BEP 14 allows a sender). */
export const LSD_SOURCE_RATE_PER_SECOND = 1 / 15;
/** Source IPs whose rate we track at once; the least recently heard is forgotten first. */
export const LSD_MAX_TRACKED_SOURCES = 256;
