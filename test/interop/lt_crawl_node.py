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
import json
import queue
import sys
import threading
import time

try:
    import libtorrent as lt
except ImportError as exc:
    print(json.dumps({"event": "fatal", "message": f"python3-libtorrent is not installed: {exc}"}), flush=True)
    sys.exit(3)


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def make_session(host, bootstrap):
    mask = (lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.stats_notification)
    return lt.session({
        "listen_interfaces": f"{host}:0",
        "outgoing_interfaces": host,
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join(bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        # Every node here is 127.0.0.1: switch off the per-IP and node-id defences.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 100000,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": mask,
        "alert_queue_size": 10000,
    })


def hex_of(h):
    return bytes(h.to_bytes()).hex() if hasattr(h, "to_bytes") else str(h)


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


def handle(ses, line):
    parts = line.split()
    if not parts:
        return
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
    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put(None)

    threading.Thread(target=read_stdin, daemon=True).start()
    deadline = time.monotonic() + args.max_seconds
    ready = False
    reason = "deadline"
    while time.monotonic() < deadline:
        stop = False
        while not commands.empty():
            line = commands.get()
            if line is None or line == "quit":
                reason = "stdin closed" if line is None else "quit"
                stop = True
                break
            try:
                handle(ses, line)
            except Exception as exc:
                emit("error", message=f"{line!r}: {exc}")
        if stop:
            break
        if not ready and ses.is_listening() and ses.listen_port() > 0:
            ready = True
            emit("ready", port=ses.listen_port())
        ses.wait_for_alert(50)
        for a in ses.pop_alerts():
            try:
                on_alert(a)
            except Exception as exc:  # a binding quirk must not kill the node
                emit("error", message=f"alert {type(a).__name__}: {exc}")
    emit("exit", reason=reason)


if __name__ == "__main__":
    main()
