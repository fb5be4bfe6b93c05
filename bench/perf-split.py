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
"""
import collections
import subprocess
import sys

RULES = [
    ('page faults (first touch of freshly allocated buffers)', lambda st, leaf: 'exc_page_fault' in st),
    ('SHA-1', lambda st, leaf: 'sha1' in leaf),
    ('socket reads (kernel)', lambda st, leaf: 'tcp_recvmsg' in st or 'sock_read_iter' in st),
    ('socket writes (kernel, incl. loopback delivery)', lambda st, leaf: 'tcp_sendmsg' in st or 'sock_write_iter' in st),
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


def samples(data, pid):
    """(tid, time, [frame symbols, leaf first]) of every sample of process `pid`."""
    out = subprocess.run(['perf', 'script', '-i', data, '--pid', str(pid), '-F', 'tid,time,ip,sym'],
                         capture_output=True, text=True, check=True).stdout
    for block in out.split('\n\n'):
        lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
        if len(lines) < 2:
            continue
        head = lines[0].split()
        yield int(head[0]), float(head[1].rstrip(':')), [l.split(None, 1)[-1] for l in lines[1:]]


def main():
    args = sys.argv[1:]
    hz = 999.0
    if '--hz' in args:
        i = args.index('--hz')
        hz = float(args[i + 1])
        del args[i:i + 2]
    data, pid, gib = args[0], int(args[1]), float(args[2])
    all_samples = list(samples(data, pid))
    io = [t for _, t, s in all_samples if any('tcp_recvmsg' in f or 'tcp_sendmsg' in f for f in s)]
    if not io:
        sys.exit(f'no socket syscall samples for pid {pid}')
    start, end = min(io), max(io)
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
