import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import bencode from 'bencode';
import {
  MAX_TORRENT_NODES,
  pieceHash,
  infoHashOf,
  parseInfo,
  parseTorrentFile,
  toTorrentFile
} from '../../lib/torrent/metainfo.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { pieceCount, pieceSize } from '../../lib/torrent/piece-layout.js';

const KiB = 1024;
const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();
const enc = (v: unknown): Uint8Array => bencode.encode(v);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function hashes(n: number): Uint8Array {
  const out = new Uint8Array(20 * n);
  for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
  return out;
}

function single(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'file.bin', 'piece length': 16 * KiB, length: 40 * KiB, pieces: hashes(3), ...overrides };
}

function multi(
  files: { length: number; path: string[] }[],
  overrides: Record<string, unknown> = {}
): Record<string, unknown> {
  const total = files.reduce((s, f) => s + f.length, 0);
  return {
    name: 'folder',
    'piece length': 16 * KiB,
    files,
    pieces: hashes(Math.ceil(total / (16 * KiB))),
    ...overrides
  };
}

function expectInvalid(bytes: Uint8Array, pattern: RegExp, verifiedInfoHash?: Uint8Array): void {
  let error: unknown;
  try {
    parseInfo(bytes, undefined, verifiedInfoHash);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_TORRENT');
  expect((error as Error).message).toMatch(pattern);
}

describe('parseInfo: valid torrents', () => {
  it('parses a single-file info dictionary', () => {
    const bytes = enc(single({ private: 1 }));
    const info = parseInfo(bytes);
    expect(info.name).toBe('file.bin');
    expect(info.pieceLength).toBe(16 * KiB);
    expect(info.length).toBe(40 * KiB);
    expect(info.pieceCount).toBe(3);
    expect(info.pieceHashes).toEqual(hashes(3));
    expect(pieceHash(info, 1)).toEqual(hashes(3).subarray(20, 40));
    expect(info.files).toEqual([{ path: ['file.bin'], length: 40 * KiB, offset: 0 }]);
    expect(info.private).toBe(true);
    expect(Buffer.from(info.infoHash)).toEqual(sha1(bytes));
    expect(info.infoBytes).toEqual(bytes);
    expect(pieceCount(info)).toBe(3);
    expect(pieceSize(info, 0)).toBe(16 * KiB);
    expect(pieceSize(info, 2)).toBe(8 * KiB);
    expect(() => pieceSize(info, 3)).toThrow(InvalidArgumentError);
    expect(() => pieceHash(info, 3)).toThrow(InvalidArgumentError);
    expect(() => pieceHash(info, -1)).toThrow(InvalidArgumentError);
    expect(() => pieceHash(info, 0.5)).toThrow(InvalidArgumentError);
  });

  it('takes an infohash the caller verified (no second SHA-1) and checks its length', () => {
    const bytes = enc(single());
    const known = new Uint8Array(sha1(bytes));
    const info = parseInfo(bytes, undefined, known);
    expect(info.infoHash).toEqual(known);
    expect(info.infoHash).not.toBe(known); // own copy
    expectInvalid(bytes, /infohash must be 20 bytes/, new Uint8Array(19));
  });

  it('parses a multi-file info dictionary with offsets and empty files', () => {
    const info = parseInfo(
      enc(
        multi([
          { length: 10 * KiB, path: ['a.txt'] },
          { length: 0, path: ['empty'] },
          { length: 30 * KiB, path: ['sub', 'dir', 'b.bin'] }
        ])
      )
    );
    expect(info.private).toBe(false);
    expect(info.length).toBe(40 * KiB);
    expect(info.files).toEqual([
      { path: ['folder', 'a.txt'], length: 10 * KiB, offset: 0 },
      { path: ['folder', 'empty'], length: 0, offset: 10 * KiB },
      { path: ['folder', 'sub', 'dir', 'b.bin'], length: 30 * KiB, offset: 10 * KiB }
    ]);
  });

  it('prefers name.utf-8 and path.utf-8, and replaces invalid UTF-8', () => {
    const info = parseInfo(
      enc(
        multi(
          [
            {
              length: 100,
              path: [new Uint8Array([0x66, 0xff])] as unknown as string[],
              'path.utf-8': ['été']
            } as never
          ],
          {
            'name.utf-8': 'dossier'
          }
        )
      )
    );
    expect(info.name).toBe('dossier');
    expect(info.files[0]?.path).toEqual(['dossier', 'été']);
    const lossy = parseInfo(enc(single({ name: new Uint8Array([0x61, 0xff]) })));
    expect(lossy.name).toBe('a\uFFFD');
  });

  it('flags BEP 47 padding files, whose shared names are not duplicates', () => {
    const info = parseInfo(
      enc(
        multi([
          { length: 10000, path: ['a'] },
          { length: 6384, path: ['.pad', '6384'], attr: 'p' } as never,
          { length: 10000, path: ['b'] },
          { length: 6384, path: ['.pad', '6384'], attr: 'p' } as never,
          { length: 5000, path: ['c'], attr: 'x' } as never
        ])
      )
    );
    expect(info.files.map((f) => f.padding ?? false)).toEqual([false, true, false, true, false]);
    expect(info.length).toBe(37768);
    expectInvalid(enc(multi([{ length: 1, path: ['.pad', '..'], attr: 'p' } as never])), /path traversal/);
  });

  it('hashes the original bytes, not a re-encoding (unsorted keys)', () => {
    const pieces = hashes(1);
    // Keys out of order: a re-encode would sort them and change the hash.
    const raw = Buffer.concat([
      Buffer.from('d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:'),
      Buffer.from(pieces),
      Buffer.from('e')
    ]);
    const info = parseInfo(raw);
    expect(Buffer.from(info.infoHash)).toEqual(sha1(raw));
    expect(Buffer.from(infoHashOf(raw))).toEqual(sha1(raw));
    expect(Buffer.from(info.infoHash)).not.toEqual(sha1(enc(bencode.decode(raw))));
  });

  it('does not alias the caller buffer', () => {
    const bytes = new Uint8Array(enc(single()));
    const info = parseInfo(bytes);
    const firstHash = Buffer.from(pieceHash(info, 0));
    bytes.fill(0);
    expect(Buffer.from(pieceHash(info, 0))).toEqual(firstHash);
    expect(info.infoBytes[0]).toBe(0x64);
  });
});

describe('parseInfo: invalid torrents', () => {
  it('rejects malformed bencode', () => {
    expectInvalid(text('d4:name'), /truncated/);
    expectInvalid(Buffer.concat([Buffer.from(enc(single())), Buffer.from('x')]), /trailing/);
    expectInvalid(text('li1ee'), /must be a dictionary/);
    expectInvalid(text('d1:ai01ee'), /non-canonical/);
    expectInvalid(text('d1:ai-0ee'), /non-canonical/);
    expectInvalid(text('d1:a01:xe'), /non-canonical/);
    expectInvalid(text('d1:ai1e1:ai2ee'), /duplicate/);
    expectInvalid(text('d1:a5:abce'), /overruns/);
    expectInvalid(text('d1:ai1xee'), /unexpected byte/);
    expectInvalid(text('d1:a' + 'l'.repeat(100) + 'e'.repeat(101)), /nested too deeply/);
    expect(() => parseInfo('d' as unknown as Uint8Array)).toThrow(/must be bytes/);
  });

  it('rejects bad piece length', () => {
    expectInvalid(enc(single({ 'piece length': 3 * 16 * KiB, pieces: hashes(1) })), /power of two/);
    expectInvalid(enc(single({ 'piece length': 8 * KiB, pieces: hashes(5) })), /out of range/);
    expectInvalid(enc(single({ 'piece length': 128 * 1024 * KiB, pieces: hashes(1) })), /out of range/);
    expectInvalid(enc(single({ 'piece length': 'big' })), /must be an integer/);
    const { ['piece length']: _, ...noPl } = single();
    expectInvalid(enc(noPl), /missing "piece length"/);
  });

  it('rejects pieces that do not match the length', () => {
    expectInvalid(enc(single({ pieces: hashes(3).subarray(0, 59) })), /multiple of 20/);
    expectInvalid(enc(single({ pieces: hashes(2) })), /2 hashes, 3 expected/);
    expectInvalid(enc(single({ pieces: hashes(4) })), /4 hashes, 3 expected/);
    expectInvalid(enc(single({ pieces: 5 })), /"pieces" must be a byte string/);
    const { pieces: _, ...noPieces } = single();
    expectInvalid(enc(noPieces), /missing "pieces"/);
    expectInvalid(enc({ ...noPieces, 'meta version': 2 }), /v2-only/);
  });

  it('rejects bad length / files combinations', () => {
    expectInvalid(enc(single({ files: [{ length: 1, path: ['a'] }] })), /exactly one of/);
    const { length: _, ...neither } = single();
    expectInvalid(enc(neither), /exactly one of/);
    expectInvalid(enc(single({ length: -1 })), /out of range/);
    expectInvalid(enc(single({ length: 0, pieces: hashes(0) })), /total length is zero/);
    expectInvalid(enc(multi([])), /"files" is empty/);
    expectInvalid(enc(multi([{ length: 0, path: ['a'] }])), /total length is zero/);
    expectInvalid(enc({ ...multi([]), files: 'x' }), /must be a list/);
    expectInvalid(enc({ ...multi([]), files: [5], pieces: hashes(0) }), /files\[0\] must be a dictionary/);
    expectInvalid(enc(multi([{ length: 1, path: [] }])), /empty path/);
    expectInvalid(enc(multi([{ length: 1, path: 'a' as unknown as string[] }])), /must be a list/);
    expectInvalid(enc(multi([{ length: 1, path: [1 as unknown as string] }])), /must hold strings/);
    expectInvalid(
      enc({ ...multi([{ length: 1, path: ['a'] }]), length: undefined, files: [{ path: ['a'] }] }),
      /missing "length"/
    );
  });

  it('rejects path traversal and unsafe names in every position', () => {
    for (const bad of ['..', '.', '', 'a/b', '/etc', 'a\\b', '..\\..\\x', 'nul\0byte']) {
      expectInvalid(enc(single({ name: bad })), /path component|"name"/);
      expectInvalid(enc(multi([{ length: 1, path: ['ok', bad] }])), /files\[0\]/);
    }
    expectInvalid(enc(multi([{ length: 1, path: ['..', '..', 'etc', 'passwd'] }])), /path traversal/);
    expectInvalid(enc(single({ name: undefined })), /missing "name"/);
    expectInvalid(enc(single({ name: 'x'.repeat(256) })), /longer than 255/);
  });

  it('rejects duplicate paths and files used as directories', () => {
    expectInvalid(
      enc(
        multi([
          { length: 1, path: ['a'] },
          { length: 1, path: ['a'] }
        ])
      ),
      /used twice/
    );
    expectInvalid(
      enc(
        multi([
          { length: 1, path: ['a'] },
          { length: 1, path: ['a', 'b'] }
        ])
      ),
      /inside file "a"/
    );
    expectInvalid(
      enc(
        multi([
          { length: 1, path: ['a', 'b'] },
          { length: 1, path: ['a'] }
        ])
      ),
      /used twice/
    );
  });

  it('enforces size caps', () => {
    const files = Array.from({ length: 11 }, (_, i) => ({ length: 1, path: [`f${i}`] }));
    expect(() => parseInfo(enc(multi(files)), { maxFiles: 10 })).toThrow(/exceeds the cap of 10/);
    expect(() => parseInfo(enc(single()), { maxInfoBytes: 50 })).toThrow(/exceeds 50/);
    expect(() => parseInfo(enc(single()), { maxPieces: 2 })).toThrow(/3 pieces exceeds/);
    expect(() => parseInfo(enc(multi([{ length: 1, path: ['a', 'b', 'c'] }])), { maxPathDepth: 2 })).toThrow(
      /deeper/
    );
    expectInvalid(enc(single({ length: 2 ** 53 })), /out of range/);
  });
});

describe('torrent files', () => {
  it('round-trips through toTorrentFile and keeps the infohash', () => {
    const info = parseInfo(enc(multi([{ length: 20 * KiB, path: ['x'] }])));
    const file = toTorrentFile(info, {
      trackers: ['udp://t1/announce', 'http://t2/announce'],
      createdBy: 'test',
      creationDate: 1
    });
    const decoded = bencode.decode(file) as Record<string, unknown>;
    expect(new TextDecoder().decode(decoded['announce'] as Uint8Array)).toBe('udp://t1/announce');
    const parsed = parseTorrentFile(file);
    expect(parsed.info.infoHash).toEqual(info.infoHash);
    expect(parsed.trackers).toEqual(['udp://t1/announce', 'http://t2/announce']);
    // Canonical: re-encoding gives the same bytes.
    expect(Buffer.from(enc(decoded))).toEqual(Buffer.from(file));
    expect(parseTorrentFile(toTorrentFile(info)).trackers).toEqual([]);
  });

  it('uses the info bytes exactly as they appear in the file', () => {
    const rawInfo = Buffer.concat([
      Buffer.from('d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:'),
      Buffer.from(hashes(1)),
      Buffer.from('e')
    ]);
    const file = Buffer.concat([Buffer.from('d8:announce3:abc4:info'), rawInfo, Buffer.from('3:zzzi1ee')]);
    const parsed = parseTorrentFile(file);
    expect(Buffer.from(parsed.info.infoHash)).toEqual(sha1(rawInfo));
    expect(Buffer.from(parsed.info.infoBytes)).toEqual(rawInfo);
    expect(parsed.trackers).toEqual(['abc']);
  });

  it('rejects files without a valid info dictionary', () => {
    expect(() => parseTorrentFile(enc({ announce: 'x' }))).toThrow(/missing "info"/);
    expect(() => parseTorrentFile(enc({ info: 'x' }))).toThrow(/missing "info"/);
    expect(() => parseTorrentFile(enc([1]))).toThrow(/must be a dictionary/);
    expect(() => parseTorrentFile(enc({ info: single({ name: '..' }) }))).toThrow(/path traversal/);
    expect(() => parseTorrentFile(enc({ info: single() }), { maxTorrentFileBytes: 10 })).toThrow(
      /exceeds 10/
    );
  });

  it('ignores malformed tracker lists', () => {
    const parsed = parseTorrentFile(
      enc({ info: single(), announce: 5, 'announce-list': [['a', 7], 'b', ['a', 'c']] })
    );
    expect(parsed.trackers).toEqual(['a', 'c']);
  });

  it('reads BEP 5 `nodes`, skipping malformed entries, and writes them after `info`', () => {
    const parsed = parseTorrentFile(
      enc({
        info: single(),
        nodes: [
          ['127.0.0.1', 6881],
          ['router.example.org', 6881],
          ['[::1]', 6882],
          ['127.0.0.1', 6881], // duplicate
          ['10.0.0.1', 0], // port out of range
          ['10.0.0.2', 70000],
          ['bad host name', 1],
          ['', 1],
          ['10.0.0.3'], // no port
          ['10.0.0.4', '6881'], // port as text
          5,
          [['nested'], 1]
        ]
      })
    );
    expect(parsed.nodes).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: 'router.example.org', port: 6881 },
      { host: '::1', port: 6882 }
    ]);
    expect(parseTorrentFile(enc({ info: single(), nodes: 'x' })).nodes).toEqual([]);
    const many = Array.from({ length: 100 }, (_, i) => [`10.0.0.${i}`, 1000 + i]);
    expect(parseTorrentFile(enc({ info: single(), nodes: many })).nodes).toHaveLength(MAX_TORRENT_NODES);

    const info = parseInfo(enc(single()));
    const nodes = [
      { host: '127.0.0.1', port: 6881 },
      { host: 'dht.example.net', port: 6882 }
    ];
    const file = toTorrentFile(info, { trackers: ['udp://t/announce'], nodes });
    // Canonical (`nodes` sorts after `info`), same infohash, nodes read back.
    expect(Buffer.from(enc(bencode.decode(file)))).toEqual(Buffer.from(file));
    const back = parseTorrentFile(file);
    expect(back.info.infoHash).toEqual(info.infoHash);
    expect(back.nodes).toEqual(nodes);
    expect(back.trackers).toEqual(['udp://t/announce']);
  });
});
