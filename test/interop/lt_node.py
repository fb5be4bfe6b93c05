#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.x) DHT node on loopback, driven over stdin/stdout.

Usage: /usr/bin/python3 lt_node.py --bootstrap 127.0.0.1:PORT [--bootstrap ...]
           [--host 127.0.0.1] [--max-seconds 180] [--log-dht]

It never contacts anything but its --bootstrap nodes: the session is built with every
discovery feature off (LSD, UPnP, NAT-PMP, default routers) and listens on --host only.

Commands, one per line on stdin:
  announce <infohash-hex> <tcp-port>   ses.dht_announce(ih, port, 0), or a torrent's DHT
                                       announce where the bindings are broken (see announce())
  get_peers <infohash-hex>             ses.dht_get_peers(ih) -> {"event":"peers", ...}
  stats                                ses.post_dht_stats() -> {"event":"stats", ...}
  sample <ip:port> [target-hex]        BEP 51 sample_infohashes -> {"event":"samples", ...}
  put_immutable <bytes-hex>            BEP 44: put a byte string -> {"event":"put_immutable", "target"}
  get_immutable <target-hex>           BEP 44 -> {"event":"immutable_item", "target", "v"}
  put_mutable <sk-hex> <pk-hex> <bytes-hex> <salt-hex|->
                                       BEP 44: put a byte string signed by the 64-byte secret key
                                       (libtorrent's expanded ed25519 key); seq = stored seq + 1
  get_mutable <pk-hex> <salt-hex|->    BEP 44 -> {"event":"mutable_item", ...}
  quit
It exits when stdin closes (the test process went away), on `quit`, or after --max-seconds.

Output: one JSON object per line on stdout, each with an "event" key:
  ready      {"port": <DHT/listen port>}
  announcing {"info_hash", "via", "port"}                      (the TCP port being announced)
  peers      {"info_hash", "peers": [[ip, port], ...]}       (dht_get_peers_reply_alert)
  announced  {"info_hash", "ip", "port"}                       (someone announced to us)
  incoming_get_peers {"info_hash"}                             (someone asked us)
  stats      {"nodes", "buckets", "active_requests"}           (dht_stats_alert)
  samples    {"endpoint", "num", "interval", "samples", "nodes"} (dht_sample_infohashes_alert)
  put        {"target", "public_key", "salt", "seq", "num_success"} (dht_put_alert)
  immutable_item {"target", "v"}       (v: the bencoded value, hex)
  mutable_item {"key", "salt", "seq", "signature", "v", "authoritative"} (v as for immutable_item; see mutable_value_hex)
  bootstrap  {}                                                (dht_bootstrap_alert)
  error      {"message"}
  log        {"message"}                                       (with --log-dht)
  exit       {"reason"}
"""
import argparse
import os
import re
import shutil
import tempfile

from lt_common import emit, hex_of, loopback_session, lt, run


def make_session(host, bootstrap, log_dht):
    # dht_get_peers_reply_alert is in the dht_operation category, not dht_notification.
    mask = (lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.stats_notification)
    if log_dht:
        mask |= lt.alert.category_t.dht_log_notification
    return loopback_session(host, bootstrap, mask)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", action="append", required=True, help="ip:port (IP literal)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--max-seconds", type=float, default=180.0)
    ap.add_argument("--log-dht", action="store_true")
    args = ap.parse_args()

    ses = make_session(args.host, args.bootstrap, args.log_dht)
    # Torrents added for announces have no metadata, so nothing is ever written here.
    save_path = tempfile.mkdtemp(prefix="lt_node_")
    run(ses, args.max_seconds, on_command=lambda parts: handle(ses, parts, save_path), on_alert=on_alert)
    del ses
    shutil.rmtree(save_path, ignore_errors=True)


TORRENTS = {}


def announce(ses, ih_hex, port, save_path):
    """Announce ih_hex to the DHT; emits {"event": "announcing", "via", "port"}.

    session.dht_announce(ih, port, flags) is the direct way, but the python bindings of
    libtorrent 2.0.8 (Debian bookworm) have no converter for its flags argument, so every
    call fails with Boost.Python.ArgumentError (arvidn/libtorrent#7441, fixed in 2.0.9 by
    #7443). Then we do what a client does: add a torrent for the infohash (magnet style, no
    metadata) and force its DHT announce; it announces our listen port (the BitTorrent port).
    """
    ih = lt.sha1_hash(bytes.fromhex(ih_hex))
    try:
        ses.dht_announce(ih, port, 0)
        emit("announcing", info_hash=ih_hex, via="dht_announce", port=port)
        return
    except Exception as exc:  # Boost.Python.ArgumentError is not importable by name
        if "did not match C++ signature" not in str(exc):
            raise
    h = TORRENTS.get(ih_hex)
    if h is None:
        atp = lt.add_torrent_params()
        atp.info_hashes = lt.info_hash_t(ih)
        atp.save_path = save_path
        atp.flags &= ~lt.torrent_flags.auto_managed  # never queued
        atp.flags &= ~lt.torrent_flags.paused
        h = ses.add_torrent(atp)
        TORRENTS[ih_hex] = h
    h.force_dht_announce()
    emit("announcing", info_hash=ih_hex, via="torrent", port=ses.listen_port())


def handle(ses, parts, save_path):
    cmd = parts[0]
    if cmd == "announce":
        announce(ses, parts[1], int(parts[2]), save_path)
    elif cmd == "get_peers":
        ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(parts[1])))
    elif cmd == "put_immutable":
        target = ses.dht_put_immutable_item(bytes.fromhex(parts[1]))
        emit("put_immutable", target=hex_of(target))
    elif cmd == "get_immutable":
        ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(parts[1])))
    elif cmd == "put_mutable":
        salt = b"" if parts[4] == "-" else bytes.fromhex(parts[4])
        ses.dht_put_mutable_item(bytes.fromhex(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3]), salt)
    elif cmd == "get_mutable":
        salt = b"" if parts[2] == "-" else bytes.fromhex(parts[2])
        ses.dht_get_mutable_item(bytes.fromhex(parts[1]), salt)
    elif cmd == "stats":
        ses.post_dht_stats()
    elif cmd == "sample":
        host, port = parts[1].rsplit(":", 1)
        target = lt.sha1_hash(bytes.fromhex(parts[2]) if len(parts) > 2 else os.urandom(20))
        ses.dht_sample_infohashes((host, int(port)), target)
    else:
        raise ValueError("unknown command")


def bencoded_hex(item):
    """The item's value, bencoded, as hex; None when libtorrent found nothing. The 2.0.8
    bindings hand the alert's item over as a dict ({"key", "value", ...} for an item)."""
    if isinstance(item, dict):
        item = item.get("value", item.get(b"value"))
    if item is None:
        return None
    try:
        return lt.bencode(item).hex()
    except Exception:
        return None


BINARY_FIELD = re.compile(r"'([^']*)': '([0-9a-f]{40})'")


def mutable_value_hex(a):
    """The mutable item's value, bencoded, as hex. The 2.0.8 bindings can only hand over a
    string value: reading a.item raises ("invalid type requested from entry") for any other.
    Then the value is rebuilt from the alert's message, where libtorrent prints the entry,
    but only for what BEP 46 puts, a flat dict of 20-byte binary strings ({'ih': '<hex>'}:
    libtorrent prints a non-printable string as hex); anything else gives None."""
    try:
        return bencoded_hex(a.item)
    except Exception:
        pass
    text = a.message()
    body = text[text.find("[ {") + 3:text.rfind("} ]")] if "[ {" in text else None
    if body is None:
        return None
    fields = BINARY_FIELD.findall(body)
    if not fields or len(fields) != body.count(":"):
        return None
    out = b"d"
    for key, value in sorted(fields):
        k = key.encode()
        out += str(len(k)).encode() + b":" + k + b"20:" + bytes.fromhex(value)
    return (out + b"e").hex()


def as_bytes(x):
    return x.encode("latin-1") if isinstance(x, str) else bytes(x)


def on_alert(a):
    if isinstance(a, lt.dht_get_peers_reply_alert):
        emit("peers", info_hash=hex_of(a.info_hash), peers=[[ip, port] for ip, port in a.peers()])
    elif isinstance(a, lt.dht_announce_alert):
        emit("announced", info_hash=hex_of(a.info_hash), ip=str(a.ip), port=a.port)
    elif isinstance(a, lt.dht_get_peers_alert):
        emit("incoming_get_peers", info_hash=hex_of(a.info_hash))
    elif isinstance(a, lt.dht_stats_alert):
        buckets = [b["num_nodes"] for b in a.routing_table]
        emit("stats", nodes=sum(buckets), buckets=buckets, active_requests=len(a.active_requests))
    elif isinstance(a, lt.dht_sample_infohashes_alert):
        ep = a.endpoint
        emit("samples", endpoint=f"{ep[0]}:{ep[1]}", num=a.num_infohashes,
             interval=int(a.interval.total_seconds()), samples=[hex_of(h) for h in a.samples],
             nodes=[{"id": hex_of(n["nid"]), "host": n["endpoint"][0], "port": n["endpoint"][1]} for n in a.nodes])
    elif isinstance(a, lt.dht_put_alert):
        emit("put", target=hex_of(a.target), public_key=bytes(a.public_key).hex(), salt=as_bytes(a.salt).hex(),
             seq=a.seq, num_success=a.num_success)
    elif isinstance(a, lt.dht_immutable_item_alert):
        emit("immutable_item", target=hex_of(a.target), v=bencoded_hex(a.item))
    elif isinstance(a, lt.dht_mutable_item_alert):
        emit("mutable_item", key=bytes(a.key).hex(), salt=as_bytes(a.salt).hex(), seq=a.seq,
             signature=bytes(a.signature).hex(), v=mutable_value_hex(a), authoritative=a.authoritative)
    elif isinstance(a, lt.dht_bootstrap_alert):
        emit("bootstrap")
    elif isinstance(a, lt.dht_log_alert):
        emit("log", message=a.message())
    elif a.category() & lt.alert.category_t.error_notification:
        emit("error", message=a.message())


if __name__ == "__main__":
    main()
