#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.x) DHT node on loopback for the BEP 51 crawler tests.

Usage: /usr/bin/python3 lt_crawl_node.py --bootstrap 127.0.0.1:PORT [--bootstrap ...]
           [--host 127.0.0.1] [--max-seconds 120]

Only its --bootstrap nodes are ever contacted: LSD, UPnP, NAT-PMP and the default routers are
off and it listens on --host only (settings from docs/GUIDE section 5).

Commands, one per line on stdin:
  sample <ip> <port> <target-hex>   ses.dht_sample_infohashes -> {"event":"samples", ...}
  stats                             ses.post_dht_stats()      -> {"event":"stats", ...}
  quit
It exits when stdin closes, on `quit`, or after --max-seconds.

Output: one JSON object per line on stdout:
  ready     {"port"}
  samples   {"ip", "port", "interval", "num", "samples": [hex, ...], "nodes": n}
  announced {"info_hash"}          (an announce_peer was stored here)
  stats     {"nodes"}
  error     {"message"}
  exit      {"reason"}
"""
import argparse

from lt_common import emit, hex_of, loopback_session, lt, run


def make_session(host, bootstrap):
    mask = (lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.stats_notification)
    return loopback_session(host, bootstrap, mask)


def attr(obj, name):
    """Bindings expose some alert fields as properties and others as methods."""
    v = getattr(obj, name)
    return v() if callable(v) else v


def on_alert(a):
    if isinstance(a, lt.dht_sample_infohashes_alert):
        ip, port = a.endpoint
        interval = attr(a, "interval")
        interval = interval.total_seconds() if hasattr(interval, "total_seconds") else interval
        emit("samples", ip=str(ip), port=int(port), interval=int(interval), num=attr(a, "num_infohashes"),
             samples=[hex_of(s) for s in attr(a, "samples")], nodes=attr(a, "num_nodes"))
    elif isinstance(a, lt.dht_announce_alert):
        emit("announced", info_hash=hex_of(a.info_hash))
    elif isinstance(a, lt.dht_stats_alert):
        emit("stats", nodes=sum(b["num_nodes"] for b in a.routing_table))
    elif a.category() & lt.alert.category_t.error_notification:
        emit("error", message=a.message())


def handle(ses, parts):
    if parts[0] == "sample":
        ses.dht_sample_infohashes((parts[1], int(parts[2])), lt.sha1_hash(bytes.fromhex(parts[3])))
    elif parts[0] == "stats":
        ses.post_dht_stats()
    else:
        raise ValueError("unknown command")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", action="append", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    ses = make_session(args.host, args.bootstrap)
    run(ses, args.max_seconds, on_command=lambda parts: handle(ses, parts), on_alert=on_alert)


if __name__ == "__main__":
    main()
