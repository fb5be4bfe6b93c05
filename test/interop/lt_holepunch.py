#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.x) peer behind a NAT for the BEP 55 namespace test: uTP
only (TCP off both ways), plaintext, no DHT/LSD/UPnP/NAT-PMP. It adds a torrent for --info-hash
(magnet style, no metadata: it wants peers) and dials --relay, our relay. When the relay sends
it ut_holepunch `connect`, libtorrent dials that endpoint over uTP itself.

Usage:
  /usr/bin/python3 lt_holepunch.py --host H --info-hash HEX --relay H:P [--max-seconds 120]

Output: one JSON object per line on stdout, each with an "event" key:
  ready   {"port"}                 listen port (UDP: uTP)
  peer    {"ip", "port"}           peer_connect_alert (an outgoing connection, uTP here)
  error   {"message"}
  exit    {"reason"}
It exits when stdin closes, on `quit`, or after --max-seconds.
"""
import argparse

from lt_common import emit, lt, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--info-hash", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--save-path", default="/tmp")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    ses = lt.session({
        "listen_interfaces": f"{args.host}:0",
        "outgoing_interfaces": args.host,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "enable_outgoing_utp": True,
        "enable_incoming_utp": True,
        "enable_outgoing_tcp": False,
        "enable_incoming_tcp": False,
        "out_enc_policy": int(lt.enc_policy.disabled),
        "alert_mask": lt.alert.category_t.connect_notification | lt.alert.category_t.error_notification,
        "alert_queue_size": 10000,
    })
    atp = lt.add_torrent_params()
    atp.info_hashes = lt.info_hash_t(lt.sha1_hash(bytes.fromhex(args.info_hash)))
    atp.save_path = args.save_path
    atp.flags &= ~lt.torrent_flags.auto_managed  # never queued
    atp.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    relay_host, relay_port = args.relay.rsplit(":", 1)

    def on_ready():
        h.connect_peer((relay_host, int(relay_port)))

    def on_alert(a):
        if isinstance(a, lt.peer_connect_alert):
            ep = a.endpoint
            emit("peer", ip=str(ep[0]), port=int(ep[1]))
        elif a.category() & lt.alert.category_t.error_notification:
            emit("error", message=a.message())

    run(ses, args.max_seconds, on_alert=on_alert, on_ready=on_ready)


if __name__ == "__main__":
    main()
