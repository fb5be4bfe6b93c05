#!/usr/bin/python3
"""libtorrent (python3-libtorrent 2.0.x) side of the engine benchmark, driven over stdin/stdout.

Same line protocol as dist/bench/engine-peer.js (our engine), so bench/engine-bench.ts drives
both the same way. Everything is on 127.0.0.x; DHT, LSD, UPnP, NAT-PMP are off and peers are
connected explicitly (connect_peer). TCP only by default (libtorrent's uTP manages only
~9-35 MiB/s on loopback here); `--transport utp` makes the seed and download roles uTP only
(TCP off both ways), for the uTP benchmark.

Roles (first argument):
  seed      --torrent F --save-path DIR --host H [--upload-limit B/s] [--transport utp]
            [--bootstrap H:P ...] (DHT on, these nodes its only bootstrap: it announces F)
            Seeds F from DIR (command announce: force a DHT announce), as a user's libtorrent does: no seed mode, the data is checked by
            libtorrent (every piece hashed) before `ready`, and a seeder whose check does not
            end in state seeding is fatal. Commands: mark (CPU baseline) -> {"event":"marked"};
            report -> {"event":"report", "cpu", "uploaded", "maxRssKiB"}.
  download  --torrent F --save-path DIR --host H --peer H:P [--transport utp]
            Command go -> connect_peer (go-passive: wait for the peer to dial us); emits {"event":"done", "seconds" (TCP connect ->
            complete), "sinceGo", "cpu" (CPU seconds since go), "bytes", "maxRssKiB"}.
  swarm     --torrent F --data DIR --work DIR --n N --u-s B/s --u-i B/s --host-base 10
            1 seed + N downloaders, one session each (127.0.0.<base>, <base+1>, ...), all in
            this process; the seed's data checked before `ready` as for role seed; caps applied with a peer class filter mapping every address (127/8
            is in libtorrent's 'local' class, which ignores rate limits) to the global class.
            Command go -> downloader i connects to the seed and to downloaders j < i; emits
            {"event":"peer-done", "i", "seconds"} and, when all are done, {"event":"finished",
            "seconds", "perPeer", "seedUploaded", "uploaded", "cpu", "explain"}. With --trace 1, also
            {"event":"trace", "t", "seedUp", "have", "up"} about once a second.
  get       --magnet LINK --save-path DIR --host H --bootstrap H:P ...
            A user's magnet download (bench/magnet-bench.ts): peers and metadata through the
            DHT, libtorrent's defaults but the loopback DHT settings and TCP only (as the
            seeder); the magnet is added once the DHT has bootstrapped; emits {"event":"done", "seconds" (since the session started)} once every
            piece is verified and exits, as a command-line client would. No `ready`.
  stream    --torrent F --save-path DIR --host H --peer H:P --offset BYTES [--readahead BYTES]
            A streaming reader as a libtorrent app writes one: command go -> set_piece_deadline
            on the piece holding BYTES (0 ms, alert_when_available) and on the readahead pieces
            after it (50 ms apart), then connect_peer; emits {"event":"first-byte", "seconds"
            (since go), "piece", "bytes", "sha1"} when that piece's read_piece_alert arrives.
  fetch     --host H --work DIR
            Command fetch <infohash-hex> <host:port> -> magnet-style torrent, connect_peer,
            {"event":"metadata", "ms" (peer connected -> metadata verified), "sinceAdd",
            "infoBytes"}; the torrent is removed right after.
Rate limits charge payload + BitTorrent message framing, not libtorrent's estimate of TCP/IP
headers (rate_limit_ip_overhead off): our engine's caps charge block payload only.
Every role emits {"event":"ready", "port"} first, exits on `quit`, on stdin EOF (the driver
went away), or after --max-seconds. CPU = os.times() user+system of this process (all its
threads); maxRssKiB = getrusage(RUSAGE_SELF).ru_maxrss.
"""
import argparse
import hashlib
import json
import os
import queue
import resource
import shutil
import sys
import threading
import time
import warnings

try:
    import libtorrent as lt
except ImportError as exc:
    print(json.dumps({"event": "fatal", "message": f"python3-libtorrent is not installed: {exc}"}), flush=True)
    sys.exit(3)


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def process_counters():
    """The counters ours reports as `explain` (bench/lib/process-counters.ts), for the same
    comparison: system calls and their bytes (/proc/self/io), page faults, context switches, and
    the CPU of the main (Python) thread against every other thread (libtorrent's network, disk
    and hashing threads)."""
    out = {}
    try:
        with open("/proc/self/io") as f:
            for line in f:
                k, v = line.split(": ")
                out[k] = int(v)
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF)
    out.update(minflt=r.ru_minflt, majflt=r.ru_majflt, voluntaryCtxt=r.ru_nvcsw, involuntaryCtxt=r.ru_nivcsw)
    main = others = 0.0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().split(") ")[1].split(" ")
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if int(tid) == os.getpid():
                main += cpu
            else:
                others += cpu
    except OSError:
        pass
    out.update(mainCpu=main, otherThreadsCpu=others)
    return out


def counters_since(a):
    b = process_counters()
    keys = ("syscr", "syscw", "rchar", "wchar", "minflt", "majflt", "voluntaryCtxt", "involuntaryCtxt",
            "mainCpu", "otherThreadsCpu")
    return {k: b[k] - a[k] for k in keys if k in a and k in b}


def max_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


UTP_COUNTERS = {"utpPacketsOut": "utp.utp_packets_out", "utpRetransmits": "utp.utp_packet_resend",
                "utpTimeouts": "utp.utp_timeout", "utpFastRetransmits": "utp.utp_fast_retransmit",
                "utpPacketsIn": "utp.utp_packets_in", "utpDataIn": "utp.utp_payload_pkts_in",
                "utpRedundantIn": "utp.utp_redundant_pkts_in"}


def utp_counters(ses, timeout=5.0):
    """libtorrent's uTP counters (session_stats_alert), named as our bench reports ours; {} if none
    came within `timeout`. Other alerts popped meanwhile are dropped (only warnings are at stake)."""
    ses.post_session_stats()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            if isinstance(a, lt.session_stats_alert):
                return {k: a.values[v] for k, v in UTP_COUNTERS.items()}
    return {}


MASK = (lt.alert.category_t.status_notification
        | lt.alert.category_t.error_notification
        | lt.alert.category_t.connect_notification)


DHT_LOOPBACK = {
    # Every node is 127.0.0.1: the DHT's per-IP and node-id defences are off (GUIDE §5).
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_prefer_verified_node_ids": False,
    "dht_enforce_node_id": False,
    "dht_ignore_dark_internet": False,
    "dht_block_ratelimit": 100000,
    "dht_upload_rate_limit": 1000000,
}


def dht_settings(bootstrap):
    """DHT on with `bootstrap` as its only nodes (never the public routers), or off."""
    if not bootstrap:
        return {"enable_dht": False}
    return dict(DHT_LOOPBACK, enable_dht=True, dht_bootstrap_nodes=",".join(bootstrap))


def make_session(host, upload_limit=0, rate_limit_local=False, transport="tcp", bootstrap=None):
    utp = transport == "utp"
    settings = {
        "listen_interfaces": f"{host}:0",
        "outgoing_interfaces": host,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        # One transport: TCP (the default: its uTP is slow on loopback) or uTP only.
        "enable_outgoing_utp": utp,
        "enable_incoming_utp": utp,
        "enable_outgoing_tcp": not utp,
        "enable_incoming_tcp": not utp,
        "allow_multiple_connections_per_ip": True,
        # Dial in plaintext, so every pair measures the transfer, not a handshake. With its
        # default (pe_enabled) libtorrent dials with an MSE handshake first. Our engine used
        # to close that connection and libtorrent retried in plaintext ~1 s later (counted as
        # transfer time in ours->libtorrent); it now answers MSE (lib/wire/mse.ts, choosing
        # plaintext when offered), but the DH round trip would still be a handshake cost.
        "out_enc_policy": int(lt.enc_policy.disabled),
        "upload_rate_limit": int(upload_limit),
        # Its default (on) also drains an estimate of TCP/IP header bytes from the rate
        # limiters; ours charges no such estimate, so a cap would mean less payload for it.
        "rate_limit_ip_overhead": False,
        "alert_mask": MASK,
        "alert_queue_size": 100000,
    }
    settings.update(dht_settings(bootstrap))
    ses = lt.session(settings)
    if rate_limit_local:
        # 127/8 is in the 'local' peer class (no rate limits, no unchoke slots): put every
        # address in the global class only, so upload_rate_limit and the choker apply.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    return ses


def wait_listening(ses, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ses.is_listening() and ses.listen_port() > 0:
            return ses.listen_port()
        ses.wait_for_alert(20)
        ses.pop_alerts()
    raise RuntimeError("session did not start listening")


def add_torrent(ses, ti, save_path):
    """Defaults but for queueing: no seed_mode, so data already present is hash-checked."""
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save_path
    atp.flags &= ~lt.torrent_flags.auto_managed  # never queued
    atp.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(atp)


CHECKING = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)


def add_checked_seed(ses, ti, save_path, timeout=900.0):
    """Add a seed the way a user does and wait for libtorrent's own check of its data to end
    (before any clock starts): fatal unless every piece passed, i.e. it ends up seeding."""
    h = add_torrent(ses, ti, save_path)
    deadline = time.monotonic() + timeout
    while True:
        st = h.status()
        if st.flags & lt.torrent_flags.seed_mode:
            raise RuntimeError("seed mode: libtorrent would hash pieces only when first requested (in the timed window)")
        if st.has_metadata and st.state not in CHECKING:
            if st.is_seeding and st.num_pieces == ti.num_pieces():
                return h, st
            if st.state in (lt.torrent_status.downloading, lt.torrent_status.finished) or st.errc.value() != 0:
                raise RuntimeError(f"seed data failed libtorrent's check: {st.num_pieces} of {ti.num_pieces()} "
                                   f"pieces valid, state {st.state}, error {st.errc.message()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"seed check did not finish in {timeout} s, state {st.state}")
        ses.wait_for_alert(20)
        ses.pop_alerts()


def wait_state(ses, h, states, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if h.status().state in states:
            return
        ses.wait_for_alert(20)
        ses.pop_alerts()
    raise RuntimeError(f"torrent did not reach {states}, state {h.status().state}")


def parse_hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Commands:
    """stdin lines on a queue (a reader thread), so the alert loop never blocks on input."""

    def __init__(self):
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in sys.stdin:
            self.q.put(line.strip())
        self.q.put(None)

    def drain(self):
        out = []
        while not self.q.empty():
            out.append(self.q.get())
        return out


def run_loop(args, sessions, on_command, on_alert, wait_ms=50, on_tick=None):
    """Commands and alerts until quit / EOF / deadline."""
    cmds = Commands()
    deadline = time.monotonic() + args.max_seconds
    reason = "deadline"
    while time.monotonic() < deadline:
        stop = False
        for line in cmds.drain():
            if line is None or line == "quit":
                reason = "stdin closed" if line is None else "quit"
                stop = True
                break
            if not line:
                continue
            try:
                on_command(line.split())
            except Exception as exc:  # report, keep running
                emit("error", message=f"{line!r}: {exc}")
        if stop:
            break
        sessions[0].wait_for_alert(wait_ms)
        now = time.monotonic()
        for i, ses in enumerate(sessions):
            for a in ses.pop_alerts():
                on_alert(i, a, now)
        if on_tick is not None:
            on_tick(now)
    emit("exit", reason=reason)


# --- roles ---------------------------------------------------------------------------------

def role_seed(args):
    ses = make_session(args.host, args.upload_limit, rate_limit_local=args.upload_limit > 0,
                       transport=args.transport, bootstrap=args.bootstrap)
    port = wait_listening(ses)
    t0 = time.monotonic()
    h, st = add_checked_seed(ses, lt.torrent_info(args.torrent), args.save_path)
    emit("ready", port=port, checked=st.num_pieces, checkSeconds=time.monotonic() - t0)
    mark = {"cpu": cpu_seconds(), "up": 0}

    def on_command(parts):
        if parts[0] == "mark":
            mark["cpu"] = cpu_seconds()
            mark["up"] = h.status().total_payload_upload
            emit("marked")
        elif parts[0] == "report":
            utp = utp_counters(ses) if args.transport == "utp" else {}
            emit("report", cpu=cpu_seconds() - mark["cpu"], uploaded=h.status().total_payload_upload - mark["up"],
                 maxRssKiB=max_rss_kib(), **utp)
        elif parts[0] == "announce":  # DHT: announce now (its first one may precede its bootstrap)
            h.force_dht_announce()
            emit("announced")
        else:
            raise ValueError("unknown command")

    def on_alert(_i, a, _now):
        if a.category() & lt.alert.category_t.error_notification:
            emit("warning", message=a.message())

    run_loop(args, [ses], on_command, on_alert)


def role_download(args):
    ses = make_session(args.host, transport=args.transport)
    port = wait_listening(ses)
    h = add_torrent(ses, lt.torrent_info(args.torrent), args.save_path)
    wait_state(ses, h, (lt.torrent_status.downloading,))
    emit("ready", port=port)
    st = {"go": None, "cpu": 0.0, "connected": None, "done": False}
    peer = parse_hostport(args.peer)

    def on_command(parts):
        if parts[0] in ("go", "go-passive"):
            st["cpu"] = cpu_seconds()
            st["go"] = time.monotonic()
            if parts[0] == "go":
                h.connect_peer(peer)
        else:
            raise ValueError("unknown command")

    def on_alert(_i, a, now):
        if isinstance(a, lt.peer_connect_alert) and st["connected"] is None:
            st["connected"] = now
        elif isinstance(a, lt.torrent_finished_alert) and st["go"] is not None and not st["done"]:
            st["done"] = True
            cpu = cpu_seconds() - st["cpu"]
            start = st["connected"] if st["connected"] is not None else st["go"]
            utp = utp_counters(ses) if args.transport == "utp" else {}
            emit("done", seconds=now - start, sinceGo=now - st["go"], cpu=cpu,
                 bytes=h.status().total_payload_download, maxRssKiB=max_rss_kib(), **utp)
        elif a.category() & lt.alert.category_t.error_notification:
            emit("warning", message=a.message())

    run_loop(args, [ses], on_command, on_alert)


def role_stream(args):
    ses = make_session(args.host, transport=args.transport)
    port = wait_listening(ses)
    ti = lt.torrent_info(args.torrent)
    h = add_torrent(ses, ti, args.save_path)
    wait_state(ses, h, (lt.torrent_status.downloading,))
    emit("ready", port=port)
    first = args.offset // ti.piece_length()
    window = max(1, args.readahead // ti.piece_length())
    last = min(ti.num_pieces() - 1, first + window)
    st = {"go": None, "done": False}
    peer = parse_hostport(args.peer)

    def on_command(parts):
        if parts[0] == "go":
            st["go"] = time.monotonic()
            h.set_piece_deadline(first, 0, lt.deadline_flags_t.alert_when_available)
            for i in range(first + 1, last + 1):
                h.set_piece_deadline(i, 50 * (i - first))
            h.connect_peer(peer)
        else:
            raise ValueError("unknown command")

    def on_alert(_i, a, now):
        if isinstance(a, lt.read_piece_alert) and st["go"] is not None and not st["done"] and int(a.piece) == first:
            st["done"] = True
            emit("first-byte", seconds=now - st["go"], piece=first, bytes=a.size,
                 sha1=hashlib.sha1(bytes(a.buffer)).hexdigest())
        elif a.category() & lt.alert.category_t.error_notification:
            emit("warning", message=a.message())

    run_loop(args, [ses], on_command, on_alert)


def role_swarm(args):
    ti = lt.torrent_info(args.torrent)
    total = ti.total_size()
    n = args.n
    hosts = [f"127.0.0.{args.host_base + i}" for i in range(n + 1)]
    sessions = []
    handles = []
    for i in range(n + 1):
        limit = args.u_s if i == 0 else args.u_i
        ses = make_session(hosts[i], limit, rate_limit_local=True)
        sessions.append(ses)
    ports = [wait_listening(s) for s in sessions]
    t0 = time.monotonic()
    seed_handle, seed_status = add_checked_seed(sessions[0], ti, args.data)
    handles.append(seed_handle)
    check_seconds = time.monotonic() - t0
    for i in range(1, n + 1):
        d = os.path.join(args.work, f"peer{i}")
        os.makedirs(d, exist_ok=True)
        handles.append(add_torrent(sessions[i], ti, d))
    for i in range(1, n + 1):
        wait_state(sessions[i], handles[i], (lt.torrent_status.downloading,))
    emit("ready", port=ports[0], checked=seed_status.num_pieces, checkSeconds=check_seconds)
    st = {"go": None, "cpu": 0.0, "done": {}, "finished": False, "next_trace": None, "counters": {}}

    def on_command(parts):
        if parts[0] == "go":
            st["cpu"] = cpu_seconds()
            st["counters"] = process_counters()
            st["go"] = time.monotonic()
            st["next_trace"] = st["go"] + 1.0 if args.trace else None
            for i in range(1, n + 1):
                handles[i].connect_peer((hosts[0], ports[0]))
                for j in range(1, i):
                    handles[i].connect_peer((hosts[j], ports[j]))
        else:
            raise ValueError("unknown command")

    def on_tick(now):
        if st["next_trace"] is not None and now >= st["next_trace"] and not st["finished"]:
            st["next_trace"] += 1.0
            ss = [h.status() for h in handles]
            emit("trace", t=round(now - st["go"], 3), seedUp=ss[0].total_payload_upload,
                 have=[s.total_wanted_done for s in ss[1:]], up=[s.total_payload_upload for s in ss[1:]])

    def on_alert(i, a, now):
        if isinstance(a, lt.torrent_finished_alert) and i > 0 and st["go"] is not None and i not in st["done"]:
            st["done"][i] = now - st["go"]
            emit("peer-done", i=i, seconds=st["done"][i])
            if len(st["done"]) == n and not st["finished"]:
                st["finished"] = True
                ups = [h.status().total_payload_upload for h in handles]
                emit("finished", seconds=max(st["done"].values()), perPeer=[st["done"][k] for k in sorted(st["done"])],
                     seedUploaded=ups[0], uploaded=ups, length=total, cpu=cpu_seconds() - st["cpu"],
                     maxRssKiB=max_rss_kib(),
                     explain=dict(counters_since(st["counters"]), payloadUp=sum(ups),
                                  payloadDown=sum(h.status().total_payload_download for h in handles[1:]),
                                  payloadExtra=sum(h.status().total_payload_download for h in handles[1:]) - n * total))
        elif a.category() & lt.alert.category_t.error_notification:
            emit("warning", message=f"peer {i}: {a.message()}")

    run_loop(args, sessions, on_command, on_alert, on_tick=on_tick)


def role_get(args):
    t0 = time.monotonic()
    settings = {
        "listen_interfaces": f"{args.host}:0",
        "outgoing_interfaces": args.host,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        # Every peer here is 127.0.0.1: with its default it keeps one peer per IP (maybe a
        # client of an earlier rep, gone) and never dials the seeder.
        "allow_multiple_connections_per_ip": True,
        "alert_mask": MASK | lt.alert.category_t.dht_notification,
    }
    settings.update(dht_settings(args.bootstrap))
    ses = lt.session(settings)
    # Add the torrent once the DHT has a node in its table (its dht_bootstrap_alert comes ~15 s
    # later here): added earlier, its first DHT announce reaches no node.
    deadline = t0 + args.max_seconds
    joined = False
    while not joined and time.monotonic() < deadline:
        ses.wait_for_alert(20)
        ses.pop_alerts()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            joined = ses.status().dht_nodes > 0
    atp = lt.parse_magnet_uri(args.magnet)
    atp.save_path = args.save_path
    h = ses.add_torrent(atp)
    # libtorrent's own first DHT announce of a new torrent may come late (the next one is
    # dht_announce_interval, 15 min, away): ask for one now and every 2 s while no peer is
    # connected, as our engine re-queries the DHT while it has no peers.
    next_announce = time.monotonic()
    marks = {"joined": time.monotonic() - t0}
    while time.monotonic() < deadline:
        if time.monotonic() >= next_announce:
            next_announce = time.monotonic() + 2.0
            if h.status().num_peers == 0:
                h.force_dht_announce()
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            if isinstance(a, lt.peer_connect_alert):
                marks.setdefault("firstPeer", time.monotonic() - t0)
            elif isinstance(a, lt.metadata_received_alert):
                marks["metadata"] = time.monotonic() - t0
            elif isinstance(a, lt.torrent_finished_alert):
                st = h.status()
                emit("done", seconds=time.monotonic() - t0, bytes=st.total_wanted_done, cpu=cpu_seconds(),
                     maxRssKiB=max_rss_kib(), **marks)
                return
            if a.category() & lt.alert.category_t.error_notification:
                emit("warning", message=a.message())
    st = h.status()
    raise RuntimeError(f"not complete after {args.max_seconds} s: state {st.state}, progress {st.progress:.3f}, "
                       f"peers {st.num_peers}, metadata {st.has_metadata}, DHT joined {joined}")


def role_fetch(args):
    ses = make_session(args.host)
    port = wait_listening(ses)
    emit("ready", port=port)
    cur = {}

    def on_command(parts):
        if parts[0] != "fetch":
            raise ValueError("unknown command")
        if cur:
            raise RuntimeError("a fetch is already running")
        ih = parts[1]
        save = os.path.join(args.work, ih)
        os.makedirs(save, exist_ok=True)
        atp = lt.add_torrent_params()
        atp.info_hashes = lt.info_hash_t(lt.sha1_hash(bytes.fromhex(ih)))
        atp.save_path = save
        atp.flags &= ~lt.torrent_flags.auto_managed
        atp.flags &= ~lt.torrent_flags.paused
        atp.flags |= lt.torrent_flags.upload_mode  # no piece requests after the metadata
        cur.update(ih=ih, save=save, added=time.monotonic(), connected=None)
        cur["h"] = ses.add_torrent(atp)
        cur["h"].connect_peer(parse_hostport(parts[2]))

    def on_alert(_i, a, now):
        if not cur:
            return
        if isinstance(a, lt.peer_connect_alert) and cur["connected"] is None:
            cur["connected"] = now
        elif isinstance(a, lt.metadata_received_alert):
            h = cur["h"]
            size = h.torrent_file().metadata_size() if h.torrent_file() is not None else 0
            start = cur["connected"] if cur["connected"] is not None else cur["added"]
            emit("metadata", ih=cur["ih"], ms=(now - start) * 1000, sinceAdd=(now - cur["added"]) * 1000,
                 infoBytes=size)
            ses.remove_torrent(h, lt.session.delete_files)
            shutil.rmtree(cur["save"], ignore_errors=True)
            cur.clear()
        elif a.category() & lt.alert.category_t.error_notification:
            emit("warning", message=a.message())

    # Short waits: the fetch alerts are timed when popped (these python bindings expose no
    # alert timestamps), so the loop must wake up promptly.
    run_loop(args, [ses], on_command, on_alert, wait_ms=5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["seed", "download", "swarm", "get", "fetch", "stream"])
    ap.add_argument("--torrent")
    ap.add_argument("--save-path")
    ap.add_argument("--data")
    ap.add_argument("--work")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--host-base", type=int, default=10)
    ap.add_argument("--peer")
    ap.add_argument("--magnet")
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--upload-limit", type=int, default=0)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--u-s", type=int, default=0)
    ap.add_argument("--u-i", type=int, default=0)
    ap.add_argument("--trace", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    ap.add_argument("--transport", choices=["tcp", "utp"], default="tcp")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--readahead", type=int, default=4 * 1024 * 1024)
    args = ap.parse_args()
    try:
        {"seed": role_seed, "download": role_download, "swarm": role_swarm, "get": role_get,
         "fetch": role_fetch, "stream": role_stream}[args.role](args)
    except Exception as exc:
        emit("fatal", message=f"{type(exc).__name__}: {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
