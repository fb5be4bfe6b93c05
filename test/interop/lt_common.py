"""Shared plumbing of the libtorrent (python3-libtorrent 2.x) helper processes in this folder.

Every helper is a libtorrent session on loopback, driven by line commands on stdin and
reporting one JSON object per line on stdout. This module holds what they share: the
guarded import, the output format, the loopback-only session settings and the command/alert
loop. Imported as `lt_common` (Python puts the running script's folder on sys.path).
"""
import json
import queue
import sys
import threading
import time

try:
    import libtorrent as lt
except ImportError as exc:  # the test turns this line into a clear failure
    print(json.dumps({"event": "fatal", "message": f"python3-libtorrent is not installed: {exc}"}), flush=True)
    sys.exit(3)


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def hex_of(h):
    return bytes(h.to_bytes()).hex() if hasattr(h, "to_bytes") else str(h)


def loopback_session(host, bootstrap, alert_mask, tcp_only=False, plugins=None, **extra):
    """A session that contacts nothing but `bootstrap`: it listens on `host` only, with LSD,
    UPnP, NAT-PMP and the default DHT routers off. `plugins`: the extensions to load instead of
    libtorrent's defaults (ut_metadata, ut_pex, smart_ban). Every node of a loopback test shares one
    IP, so the DHT's per-IP and node-id defences are off too (docs in ../shared/GUIDE.md)."""
    settings = {
        "listen_interfaces": f"[{host}]:0" if ":" in host else f"{host}:0",
        "outgoing_interfaces": host,
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join(bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 1000000,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": alert_mask,
        "alert_queue_size": 10000,
    }
    if tcp_only:  # its uTP manages only ~9 MiB/s on loopback
        settings["enable_outgoing_utp"] = False
        settings["enable_incoming_utp"] = False
    settings.update(extra)
    if plugins is None:
        return lt.session(settings)
    # Only the named extensions (e.g. no ut_pex, so every peer comes from the discovery tested).
    ses = lt.session(settings, 0)
    for name in plugins:
        ses.add_extension(name)
    return ses


def run(ses, max_seconds, on_command=None, on_alert=None, on_ready=None, on_tick=None, on_stop=None):
    """Serve commands and alerts until stdin closes, `quit`, or `max_seconds`; returns why.

    Emits `ready {"port"}` once the session listens (then calls `on_ready`, which may return a
    reason to stop) and, after `on_stop`, `exit {"reason"}` at the end. A failing command or alert handler is
    reported as an `error` event and the loop goes on: a binding quirk must not kill the node.
    """
    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put(None)  # EOF: the parent is gone or done

    threading.Thread(target=read_stdin, daemon=True).start()
    deadline = time.monotonic() + max_seconds
    ready = False
    reason = "deadline"
    while time.monotonic() < deadline and reason == "deadline":
        # Commands first, so a burst never waits behind alerts.
        while not commands.empty():
            line = commands.get()
            if line is None or line == "quit":
                reason = "stdin closed" if line is None else "quit"
                break
            if on_command is not None and line:
                try:
                    on_command(line.split())
                except Exception as exc:  # bad command: report, keep running
                    emit("error", message=f"{line!r}: {exc}")
        if reason != "deadline":
            break
        if not ready and ses.is_listening() and ses.listen_port() > 0:
            ready = True
            emit("ready", port=ses.listen_port())
            if on_ready is not None:
                stop = on_ready()
                if stop:
                    reason = stop
                    break
        if on_tick is not None:
            on_tick(time.monotonic())
        ses.wait_for_alert(50)
        for a in ses.pop_alerts():
            if on_alert is None:
                continue
            try:
                on_alert(a)
            except Exception as exc:
                emit("error", message=f"alert {type(a).__name__}: {exc}")
    if on_stop is not None:
        on_stop()
    emit("exit", reason=reason)
    return reason
