#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.x) peer on loopback that seeds or downloads one torrent,
finding peers through the DHT only. Driven by the interop transfer tests.

Usage:
  /usr/bin/python3 lt_swarm.py seed --torrent FILE --save-path DIR --bootstrap 127.0.0.1:P ...
  /usr/bin/python3 lt_swarm.py download --magnet LINK --save-path DIR --bootstrap 127.0.0.1:P ...
  common: [--host 127.0.0.1] [--max-seconds 150] [--status-interval 0.5] [--encryption forced-rc4]
          [--lsd [--lsd-interval S]]

--lsd: find peers by BEP 14 local service discovery only (enable_lsd; the DHT off, no
--bootstrap needed), announcing every --lsd-interval seconds (libtorrent's
local_service_announce_interval; default 300 as its users run it). For the LAN tests in
network namespaces: --host is then the host's LAN address. --no-pex: ut_metadata and
smart_ban only, so every peer libtorrent dials came from the discovery under test.

--encryption forced-rc4: Message Stream Encryption both ways, RC4 only (in/out_enc_policy
pe_forced, allowed_enc_level pe_rc4, prefer_rc4): libtorrent refuses plaintext peers.

The session listens on --host only, TCP only (uTP off), with every discovery feature but the
DHT off (LSD, UPnP, NAT-PMP) and --bootstrap as its only DHT bootstrap nodes; the DHT's per-IP
defences are off because every node here is 127.0.0.1. The torrent re-announces itself on the
DHT (force_dht_announce) every 2 s, so it is found as soon as the DHT has formed.

seed: the .torrent file's bytes go to lt.torrent_info; the data must be in --save-path.
download: only the magnet link is given; the metadata comes from peers (BEP 9).

Output: one JSON object per line on stdout, each with an "event" key:
  ready     {"port"}                        TCP listen port (the one announced on the DHT)
  added     {"info_hash"}
  metadata  {"name", "size"}                metadata_received_alert (download)
  checked   {}                              torrent_checked_alert
  finished  {}                              torrent_finished_alert (every piece downloaded)
  peer      {"ip", "port"}                  peer_connect_alert
  lsd_peer  {"ip", "port", "message"}       lsd_peer_alert (--lsd): a BEP 14 announce for this torrent
                                            was heard from ip:port (posted whether or not it then dials)
  status    {"state", "progress", "done", "peers", "seeds", "has_metadata",
             "down_rate", "up_rate", "downloaded", "uploaded",
             "connections": [{"ip", "port", "rc4", "outgoing", "downloaded", "uploaded"}]}
  error     {"message"}
  exit      {"reason"}
It exits when stdin closes (the test went away), on `quit`, or after --max-seconds.
"""
import argparse
import re

from lt_common import emit, loopback_session, lt, run


ENCRYPTION = {
    "default": {},
    "forced-rc4": {
        "out_enc_policy": int(lt.enc_policy.forced),
        "in_enc_policy": int(lt.enc_policy.forced),
        "allowed_enc_level": int(lt.enc_level.rc4),
        "prefer_rc4": True,
    },
}


def make_session(host, bootstrap, encryption="default", lsd_interval=None, pex=True):
    mask = (lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.connect_notification
            | lt.alert.category_t.dht_notification)
    extra = dict(ENCRYPTION[encryption])
    if lsd_interval is not None:
        # lsd_peer_alert is in the peer category; the only direct proof libtorrent heard an announce.
        mask |= lt.alert.category_t.peer_notification
        extra.update(enable_lsd=True, enable_dht=False, local_service_announce_interval=int(lsd_interval))
    plugins = None if pex else ["ut_metadata", "smart_ban"]
    return loopback_session(host, bootstrap, mask, tcp_only=True, plugins=plugins, **extra)


def add_torrent(ses, args):
    atp = lt.add_torrent_params()
    if args.mode == "seed":
        with open(args.torrent, "rb") as f:
            atp.ti = lt.torrent_info(lt.bdecode(f.read()))
    else:
        atp = lt.parse_magnet_uri(args.magnet)
    atp.save_path = args.save_path
    atp.flags &= ~lt.torrent_flags.auto_managed  # never queued
    atp.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(atp)


STATES = {
    0: "queued_for_checking", 1: "checking_files", 2: "downloading_metadata", 3: "downloading",
    4: "finished", 5: "seeding", 6: "allocating", 7: "checking_resume_data",
}


def status(h):
    s = h.status()
    emit("status", state=STATES.get(int(s.state), str(s.state)), progress=s.progress, done=s.total_wanted_done,
         peers=s.num_peers, seeds=s.num_seeds, has_metadata=s.has_metadata,
         down_rate=s.download_rate, up_rate=s.upload_rate,
         downloaded=s.total_payload_download, uploaded=s.total_payload_upload,
         connections=[{"ip": str(p.ip[0]), "port": int(p.ip[1]),
                       "rc4": bool(p.flags & lt.peer_info.rc4_encrypted),
                       "outgoing": bool(p.flags & lt.peer_info.local_connection),
                       "downloaded": p.total_download, "uploaded": p.total_upload}
                      for p in h.get_peer_info()])


def lsd_peer(a):
    """lsd_peer_alert has no Python class in python3-libtorrent 2.0.8: it arrives as its nearest bound base
    (peer_alert, with .endpoint) or as a bare alert, whose message() ends "peer [ ip:port client: ... ]"."""
    ep = getattr(a, "endpoint", None)
    if ep is not None:
        return str(ep[0]), int(ep[1])
    m = re.search(r"peer \[ \[?([0-9a-fA-F.:]+?)\]?:(\d+) ", a.message())
    return (m.group(1), int(m.group(2))) if m else (None, None)


def on_alert(a):
    if a.what() == "lsd_peer":
        ip, port = lsd_peer(a)
        emit("lsd_peer", ip=ip, port=port, message=a.message())
    elif isinstance(a, lt.metadata_received_alert):
        ti = a.handle.torrent_file()
        emit("metadata", name=ti.name(), size=ti.total_size())
    elif isinstance(a, lt.torrent_checked_alert):
        emit("checked")
    elif isinstance(a, lt.torrent_finished_alert):
        emit("finished")
    elif isinstance(a, lt.peer_connect_alert):
        ep = a.endpoint
        emit("peer", ip=str(ep[0]), port=int(ep[1]))
    elif a.category() & lt.alert.category_t.error_notification:
        emit("error", message=a.message())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["seed", "download"])
    ap.add_argument("--torrent")
    ap.add_argument("--magnet")
    ap.add_argument("--save-path", required=True)
    ap.add_argument("--bootstrap", action="append", default=[], help="ip:port (IP literal)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--max-seconds", type=float, default=150.0)
    ap.add_argument("--status-interval", type=float, default=0.5)
    ap.add_argument("--encryption", choices=sorted(ENCRYPTION), default="default")
    ap.add_argument("--lsd", action="store_true")
    ap.add_argument("--lsd-interval", type=float, default=300.0)
    ap.add_argument("--no-pex", action="store_true")
    args = ap.parse_args()
    if not args.lsd and not args.bootstrap:
        ap.error("--bootstrap is needed unless --lsd")
    if (args.mode == "seed") != (args.torrent is not None) or (args.mode == "download") != (args.magnet is not None):
        ap.error("seed needs --torrent, download needs --magnet")

    ses = make_session(args.host, args.bootstrap, args.encryption, args.lsd_interval if args.lsd else None,
                       pex=not args.no_pex)
    state = {"handle": None, "next_status": 0.0, "next_announce": 0.0}

    def on_ready():
        try:
            state["handle"] = add_torrent(ses, args)
            emit("added", info_hash=str(state["handle"].info_hashes().v1))
        except Exception as exc:
            emit("error", message=f"add_torrent: {exc}")
            return "add_torrent failed"
        return None

    def on_tick(now):
        h = state["handle"]
        if h is None:
            return
        if now >= state["next_announce"] and not args.lsd:
            state["next_announce"] = now + 2.0
            h.force_dht_announce()
        if now >= state["next_status"]:
            state["next_status"] = now + args.status_interval
            status(h)

    def on_stop():
        if state["handle"] is not None:
            status(state["handle"])

    run(ses, args.max_seconds, on_alert=on_alert, on_ready=on_ready, on_tick=on_tick, on_stop=on_stop)
    del ses


if __name__ == "__main__":
    main()
