/**
 * The client's pieces that need no network: the session store (atomic, coalesced saves;
 * damaged files and entries refused), what `add` accepts, per-file verified bytes, and
 * deleting a torrent's data without touching the user's other files.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteTorrentData } from '../../lib/client/delete-data.js';
import { SessionStore, type SessionEntry } from '../../lib/client/session-store.js';
import { verifiedBytesOf } from '../../lib/stream/torrent-file.js';
import { resolveInput } from '../../lib/client/torrent-input.js';
import { Bitfield } from '../../lib/engine/bitfield.js';
import { resumePath } from '../../lib/engine/storage/resume.js';
import { createTorrent } from '../../lib/torrent/create.js';
import { toTorrentFile } from '../../lib/torrent/metainfo.js';
import { writeTree } from '../support/file-tree.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'trackerless-session-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function entry(hex: string, extra: Partial<SessionEntry> = {}): SessionEntry {
  return {
    infoHash: hex,
    outDir: '/downloads',
    paused: false,
    seed: true,
    uploadLimit: 0,
    downloadLimit: 0,
    addedAt: 1,
    ...extra
  };
}

describe('SessionStore', () => {
  it('round-trips the list and the metadata; concurrent saves end with the last list', async () => {
    await writeTree(join(dir, 'data'), { 'x.bin': 100_000 });
    const info = await createTorrent(join(dir, 'data', 'x.bin'), { pieceLength: 16384 });
    const hex = Buffer.from(info.infoHash).toString('hex');
    const store = new SessionStore(join(dir, 'state'));
    await store.saveMetadata(info);
    const saves = [
      store.save([entry('ab'.repeat(20))]),
      store.save([entry(hex, { paused: true, selectFiles: [0] })]),
      store.save([
        entry(hex, { paused: true, selectFiles: [0], downloadLimit: 5, priorities: [[0, 'high']] })
      ])
    ];
    await Promise.all(saves);
    const loaded = await new SessionStore(join(dir, 'state')).load();
    expect(loaded.warnings).toEqual([]);
    expect(loaded.entries).toHaveLength(1);
    const [e] = loaded.entries;
    expect(e).toMatchObject({
      infoHash: hex,
      paused: true,
      selectFiles: [0],
      downloadLimit: 5,
      priorities: [[0, 'high']]
    });
    expect(Buffer.from(e!.info!.infoBytes).equals(Buffer.from(info.infoBytes))).toBe(true);
    // No temporary file is left behind.
    expect((await fsp.readdir(join(dir, 'state'))).sort()).toEqual(['session.json', 'torrents']);
  });

  it('skips an entry whose saved file priorities are malformed', async () => {
    const state = join(dir, 'state');
    await fsp.mkdir(state, { recursive: true });
    const good = entry('ab'.repeat(20), { priorities: [[2, 'skip']] });
    const bad = [
      { priorities: [[0, 'urgent']] },
      { priorities: [[-1, 'high']] },
      { priorities: [[0]] },
      { priorities: 'high' }
    ].map((extra, i) => ({ ...entry(String(i + 1).repeat(40)), ...extra }));
    await fsp.writeFile(
      join(state, 'session.json'),
      JSON.stringify({ version: 1, torrents: [good, ...bad] })
    );
    const loaded = await new SessionStore(state).load();
    expect(loaded.entries.map((e) => e.infoHash)).toEqual(['ab'.repeat(20)]);
    expect(loaded.entries[0]!.priorities).toEqual([[2, 'skip']]);
  });

  it('is empty without a file; refuses a damaged file; skips bad and repeated entries and foreign metadata', async () => {
    const store = new SessionStore(join(dir, 'state'));
    expect(await store.load()).toEqual({ entries: [], warnings: [] });
    await fsp.mkdir(join(dir, 'state', 'torrents'), { recursive: true });
    await fsp.writeFile(join(dir, 'state', 'session.json'), '{"version":1,"torrents":[');
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_STATE_FILE' });
    const good = 'cd'.repeat(20);
    await fsp.writeFile(
      join(dir, 'state', 'session.json'),
      JSON.stringify({
        version: 1,
        torrents: [
          entry(good),
          entry(good),
          entry('zz'.repeat(20)),
          { ...entry('ef'.repeat(20)), uploadLimit: -1 },
          { ...entry('ef'.repeat(20)), selectFiles: [-1] },
          null
        ]
      })
    );
    // Metadata under the wrong name is not trusted.
    await writeTree(join(dir, 'data'), { 'y.bin': 1000 });
    const other = await createTorrent(join(dir, 'data', 'y.bin'));
    await fsp.writeFile(join(dir, 'state', 'torrents', `${good}.torrent`), toTorrentFile(other));
    const loaded = await store.load();
    expect(loaded.entries.map((e) => e.infoHash)).toEqual([good]);
    expect(loaded.entries[0]!.info).toBeUndefined();
    expect(loaded.warnings).toHaveLength(6);
  });
});

describe('add() input', () => {
  it('takes magnets, hex and base32 infohashes, .torrent bytes and paths, metadata; refuses the rest', async () => {
    await writeTree(join(dir, 'data'), { 'z.bin': 5000 });
    const info = await createTorrent(join(dir, 'data', 'z.bin'));
    const hex = Buffer.from(info.infoHash).toString('hex');
    const file = join(dir, 'z.torrent');
    await fsp.writeFile(file, toTorrentFile(info));
    const hashOf = async (input: Parameters<typeof resolveInput>[0]): Promise<string> =>
      Buffer.from((await resolveInput(input)).infoHash).toString('hex');
    expect(await hashOf(`magnet:?xt=urn:btih:${hex}`)).toBe(hex);
    expect(await hashOf(hex.toUpperCase())).toBe(hex);
    expect(await hashOf(file)).toBe(hex);
    expect(await hashOf(toTorrentFile(info))).toBe(hex);
    expect(await hashOf(info)).toBe(hex);
    expect((await resolveInput(file)).info?.length).toBe(5000);
    await expect(resolveInput(join(dir, 'data'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(resolveInput('abc')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(resolveInput(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
      code: 'ERR_INVALID_TORRENT'
    });
    await expect(resolveInput(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(resolveInput({ ...info, infoBytes: new Uint8Array([100, 101]) })).rejects.toMatchObject({
      code: 'ERR_INVALID_TORRENT'
    });
  });
});

describe('per-file verified bytes', () => {
  it('counts the part of each stored piece inside the file', () => {
    const have = new Bitfield(4);
    have.set(1);
    have.set(3);
    // Pieces of 10 bytes; a file from byte 5 to 34 overlaps pieces 0-3: 5 bytes of piece 3.
    expect(verifiedBytesOf({ offset: 5, length: 30 }, 10, have)).toBe(10 + 5);
    expect(verifiedBytesOf({ offset: 0, length: 10 }, 10, have)).toBe(0);
    expect(verifiedBytesOf({ offset: 12, length: 0 }, 10, have)).toBe(0);
  });
});

describe('deleteTorrentData', () => {
  it("removes the torrent's files, resume file and emptied folders, and nothing else", async () => {
    const out = join(dir, 'out');
    await writeTree(out, { 'album/a.bin': 3000, 'album/sub/b.bin': 2000, 'other.bin': 5 });
    const info = await createTorrent(join(out, 'album'));
    expect(info.files.length).toBe(2);
    // The user's own file in the torrent's folder, after the torrent was made.
    await writeTree(out, { 'album/keep/mine.txt': 10 });
    await fsp.mkdir(join(out, '.trackerless'));
    await fsp.writeFile(resumePath(out, info.infoHash), '{}');
    await deleteTorrentData(out, info.infoHash, info);
    expect(existsSync(join(out, 'album', 'a.bin'))).toBe(false);
    expect(existsSync(join(out, 'album', 'sub'))).toBe(false);
    expect(existsSync(join(out, 'album', 'keep', 'mine.txt'))).toBe(true);
    expect(existsSync(join(out, 'other.bin'))).toBe(true);
    expect(existsSync(join(out, '.trackerless'))).toBe(false);
  });
});
