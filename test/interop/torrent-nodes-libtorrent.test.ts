/**
 * BEP 5 `nodes` in .torrent files, against libtorrent 2.0 (python3-libtorrent): a torrent
 * libtorrent makes with `add_node` is read by parseTorrentFile, and the nodes toTorrentFile
 * writes are what libtorrent's torrent_info.nodes() reads (same infohash on both sides).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { parseTorrentFile, toTorrentFile } from '../../lib/torrent/metainfo.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { toHex } from '../../lib/util/bytes.js';

function python(script: string, input?: Uint8Array): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr?.toString()}`);
  return r.stdout.toString();
}

describe('.torrent `nodes` (BEP 5) with libtorrent', () => {
  it('reads the nodes of a torrent libtorrent made', () => {
    const [hash, b64] = python(`
import base64, libtorrent as lt
fs = lt.file_storage(); fs.add_file('a.bin', 40000)
ct = lt.create_torrent(fs, 16384)
for i in range(ct.num_pieces()): ct.set_hash(i, b'\\x01' * 20)
ct.add_node('127.0.0.1', 6881); ct.add_node('dht.example.net', 6882)
b = lt.bencode(ct.generate())
print(str(lt.torrent_info(b).info_hash()))
print(base64.b64encode(b).decode())`)
      .trim()
      .split('\n');
    const parsed = parseTorrentFile(Buffer.from(b64!, 'base64'));
    expect(toHex(parsed.info.infoHash)).toBe(hash);
    expect(parsed.nodes).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: 'dht.example.net', port: 6882 }
    ]);
  });

  it('writes nodes libtorrent reads', () => {
    const info = createTorrentFromBuffer('n.bin', new Uint8Array(50_000).fill(7), 16384);
    const file = toTorrentFile(info, {
      nodes: [
        { host: '127.0.0.1', port: 7001 },
        { host: 'node.example.org', port: 7002 }
      ]
    });
    const out = python(
      `
import sys, json, libtorrent as lt
ti = lt.torrent_info(lt.bdecode(sys.stdin.buffer.read()))
print(json.dumps({'hash': str(ti.info_hash()), 'nodes': [[h, p] for h, p in ti.nodes()]}))`,
      file
    );
    const got = JSON.parse(out) as { hash: string; nodes: [string, number][] };
    expect(got.hash).toBe(toHex(info.infoHash));
    expect(got.nodes).toEqual([
      ['127.0.0.1', 7001],
      ['node.example.org', 7002]
    ]);
  });
});
