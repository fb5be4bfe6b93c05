#!/usr/bin/python3
"""Split a process's CPU time during a transfer into kinds of work, from a `perf record -a -g` file.

    perf record -a -F 999 -g -o perf.data -- env NODE_OPTIONS=--perf-basic-prof \
        node dist/bench/engine-bench.js --transfer --size 512 --reps 1
    bench/perf-split.py perf.data PID GIB [--hz 999]

PID is one of our peer processes (a node process started by the bench; its JIT map is
/tmp/perf-PID.map). The window is the span between the process's first and last socket
syscall sample (the transfer); GIB is the payload moved in it. Each sample is classified by its
stack (first matching rule below) and reported in CPU seconds per GiB, for the main thread (the
event loop) and for the process's other threads (V8's GC and compiler helpers, libuv's pool).
Sampling on this VM is timer-based, so a kernel sample is attributed where interrupts were
re-enabled: read the kernel rows as whole syscalls, not single functions.

    bench/perf-split.py perf.data PID GIB --layers [--map perf-PID.map]

splits the main thread by layer instead (uTP: datagram syscalls and Node's dgram layer, each
lib/ folder's JavaScript by the innermost JavaScript frame of the sample, the runtime), and the
other threads by kind. --map names a copy of the process's JIT map when /tmp/perf-PID.map is gone.
"""
import bisect
import collections
import subprocess
import sys

SOCKET_SYSCALLS = ('tcp_recvmsg', 'tcp_sendmsg', 'udp_recvmsg', 'udp_sendmsg')

RULES = [
    ('page faults (first touch of freshly allocated buffers)', lambda st, leaf: 'exc_page_fault' in st),
    ('SHA-1', lambda st, leaf: 'sha1' in leaf),
    ('socket reads (kernel)', lambda st, leaf: any(k in st for k in ('tcp_recvmsg', 'udp_recvmsg', 'sock_read_iter'))),
    ('socket writes (kernel, incl. loopback delivery)',
     lambda st, leaf: any(k in st for k in ('tcp_sendmsg', 'udp_sendmsg', 'sock_write_iter'))),
    ('file reads/writes (kernel, tmpfs)',
     lambda st, leaf: any(k in st for k in ('shmem', 'copy_folio', 'filemap', 'vfs_read', 'vfs_write'))),
    ('GC', lambda st, leaf: any(k in st for k in (
        'Scavenge', 'MarkCompact', 'IncrementalMarking', 'Heap::Collect', 'Sweeper', 'ConcurrentMarking',
        'MinorMC', 'GCTracer', 'Heap::Perform', 'ArrayBufferSweeper', 'MarkingVisitor'))),
    ('JIT compilation', lambda st, leaf: any(k in st for k in ('compiler::', 'Compiler', 'Parser', 'BytecodeGenerator', 'Zone::'))),
    ('memcpy (user space)', lambda st, leaf: 'memmove' in leaf or 'memcpy' in leaf),
    ('allocation (malloc, zero fill, ArrayBuffer setup)', lambda st, leaf: any(
        k in leaf for k in ('memset', 'malloc', '_int_free', 'cfree', 'Allocate')) or 'BackingStore' in st),
    ('epoll, thread wake-ups (futex)', lambda st, leaf: 'futex' in st or 'epoll' in st),
    ('JavaScript (our code, Node streams/events, V8 builtins)', lambda st, leaf: leaf.startswith(('JS:', 'Builtins_'))),
    ('node/V8/libuv native runtime, kernel scheduling', lambda st, leaf: True),
]


def samples(data, pid, jit_map=None):
    """(tid, time, [frame symbols, leaf first]) of every sample of process `pid`."""
    out = subprocess.run(['perf', 'script', '-i', data, '--pid', str(pid), '-F', 'tid,time,ip,sym'],
                         capture_output=True, text=True, check=True).stdout
    resolve = jit_symbols(jit_map) if jit_map else None
    for block in out.split('\n\n'):
        lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
        if len(lines) < 2:
            continue
        head = lines[0].split()
        frames = []
        for l in lines[1:]:
            ip, _, sym = l.partition(' ')
            frames.append(resolve(int(ip, 16)) or sym if resolve and sym == '[unknown]' else sym)
        yield int(head[0]), float(head[1].rstrip(':')), frames


def jit_symbols(path):
    """ip -> 'JS:...' name from a --perf-basic-prof map (lines: start size name)."""
    entries = []
    with open(path) as f:
        for line in f:
            start, size, name = line.rstrip('\n').split(' ', 2)
            entries.append((int(start, 16), int(size, 16), name))
    entries.sort()
    starts = [e[0] for e in entries]

    def resolve(ip):
        i = bisect.bisect_right(starts, ip) - 1
        return entries[i][2] if i >= 0 and ip < entries[i][0] + entries[i][1] else None
    return resolve


# --layers: what a main-thread sample was doing, by its stack. Kernel and native frames first (a
# syscall is charged to the datagram layer whichever JavaScript called it), then the innermost
# JavaScript frame's file.
DGRAM_JS = ('node:dgram', 'net/udp-transport.js', 'net/datagram-mux.js')
LAYERS = [
    ('GC', lambda st, js: any(k in st for k in RULE_KEYS['GC'])),
    ('JIT compilation', lambda st, js: any(k in st for k in RULE_KEYS['JIT'])),
    ('page faults', lambda st, js: 'exc_page_fault' in st),
    ('datagram send: sendmsg (kernel, incl. loopback delivery) + Node native (UDPWrap::Send)',
     lambda st, js: 'UDPWrap::DoSend' in st or 'udp_sendmsg' in st),
    ('datagram receive: recvmsg (kernel) + Node native (buffer, rinfo, callback into JS)',
     lambda st, js: js is None and ('uv__udp_io' in st or 'udp_recvmsg' in st or '__libc_recvmsg' in st)),
    ('Node dgram JavaScript + our udp-transport/mux', lambda st, js: js is not None and any(k in js for k in DGRAM_JS)),
    ('uTP: packet codec (packet.js)', lambda st, js: js is not None and 'lib/utp/packet.js' in js),
    ('uTP: connection (state, send/ack decisions, packetisation)',
     lambda st, js: js is not None and 'lib/utp/connection.js' in js),
    ('uTP: send window, queue, SACK, LEDBAT, RTT',
     lambda st, js: js is not None and any(f'lib/utp/{m}.js' in js for m in (
         'send-window', 'send-queue', 'seq-ring', 'seq', 'ledbat', 'rtt', 'pacer', 'one-way-delays', 'delay-history',
         'loss-recovery'))),
    ('uTP: receive reordering, delivery', lambda st, js: js is not None and any(
        f'lib/utp/{m}.js' in js for m in ('receive-buffer', 'stream-listeners'))),
    ('uTP: socket (routing, end-of-turn flush), deadlines',
     lambda st, js: js is not None and any(f'lib/utp/{m}.js' in js for m in ('socket', 'deadlines', 'shared-port'))),
    ('SHA-1', lambda st, js: 'sha1' in st or (js is not None and 'crypto/hash' in js)),
    ('wire + MSE (framer, peer wire, RC4)', lambda st, js: js is not None and any(
        k in js for k in ('lib/wire/', 'lib/mse/'))),
    ('engine (upload, download, picker, storage)', lambda st, js: js is not None and 'lib/engine/' in js),
    ('file I/O (Node fs JavaScript, completions)', lambda st, js: (js is not None and 'node:internal/fs' in js)
     or 'uv__work_done' in st),
    ('other JavaScript (Node timers, ticks, events, Buffer; rest of lib/)', lambda st, js: js is not None),
    ('event loop: epoll, timers, immediates (native)', lambda st, js: True),
]
RULE_KEYS = {
    'GC': ('Scavenge', 'MarkCompact', 'IncrementalMarking', 'Heap::Collect', 'Sweeper', 'ConcurrentMarking',
           'MinorMC', 'GCTracer', 'Heap::Perform', 'ArrayBufferSweeper', 'MarkingVisitor'),
    'JIT': ('compiler::', 'Compiler', 'Parser', 'BytecodeGenerator', 'Zone::'),
}


def layers(all_samples, pid, start, end, hz, gib):
    """Print the --layers table: main thread by layer, other threads as one row per kind."""
    main, other = collections.Counter(), collections.Counter()
    for tid, t, stack in all_samples:
        if not start <= t <= end:
            continue
        st = ' | '.join(stack)
        if tid != pid:
            other[next(name for name, match in RULES if match(st, stack[0]))] += 1
            continue
        js = next((f for f in stack if f.startswith('JS:')), None)
        main[next(name for name, match in LAYERS if match(st, js))] += 1
    total = sum(main.values()) + sum(other.values())
    print(f'pid {pid}: window {end - start:.2f} s, {total} samples at {hz:g} Hz')
    print('| main thread: where | s/GiB | share |')
    print('| --- | ---: | ---: |')
    for name, n in main.most_common():
        print(f'| {name} | {n / hz / gib:.2f} | {100 * n / total:.0f} % |')
    for name, n in other.most_common():
        print(f'| other threads: {name} | {n / hz / gib:.2f} | {100 * n / total:.0f} % |')
    print(f'| **all** | **{total / hz / gib:.2f}** | |')


def main():
    args = sys.argv[1:]
    hz = 999.0
    if '--hz' in args:
        i = args.index('--hz')
        hz = float(args[i + 1])
        del args[i:i + 2]
    jit_map = None
    if '--map' in args:
        i = args.index('--map')
        jit_map = args[i + 1]
        del args[i:i + 2]
    by_layer = '--layers' in args
    if by_layer:
        args.remove('--layers')
    data, pid, gib = args[0], int(args[1]), float(args[2])
    all_samples = list(samples(data, pid, jit_map))
    io = [t for _, t, s in all_samples if any(k in f for f in s for k in SOCKET_SYSCALLS)]
    if not io:
        sys.exit(f'no socket syscall samples for pid {pid}')
    start, end = min(io), max(io)
    if by_layer:
        layers(all_samples, pid, start, end, hz, gib)
        return
    counts = {'main': collections.Counter(), 'other': collections.Counter()}
    for tid, t, stack in all_samples:
        if not start <= t <= end:
            continue
        st = ' | '.join(stack)
        kind = next(name for name, match in RULES if match(st, stack[0]))
        counts['main' if tid == pid else 'other'][kind] += 1
    per_gib = lambda n: n / hz / gib
    m, o = counts['main'], counts['other']
    total = sum(m.values()) + sum(o.values())
    print(f'pid {pid}: window {end - start:.2f} s, {total} samples at {hz:g} Hz')
    print('| where | main thread | other threads | total s/GiB | share |')
    print('| --- | ---: | ---: | ---: | ---: |')
    for name, _ in sorted(((n, m[n] + o[n]) for n, _ in RULES if m[n] + o[n]), key=lambda x: -x[1]):
        print(f'| {name} | {per_gib(m[name]):.2f} | {per_gib(o[name]):.2f} | {per_gib(m[name] + o[name]):.2f} '
              f'| {100 * (m[name] + o[name]) / total:.0f} % |')
    print(f'| **all** | **{per_gib(sum(m.values())):.2f}** | **{per_gib(sum(o.values())):.2f}** '
          f'| **{per_gib(total):.2f}** | |')


if __name__ == '__main__':
    main()
