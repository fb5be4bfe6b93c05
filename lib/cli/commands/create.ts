/**
 * `trackerless create <path> [--out FILE] [--piece-length KiB] [--private]`: hash a file or
 * folder into a (v1) .torrent file and print its magnet link on stdout. No network.
 *
 * The output file is checked before hashing (its directory writable, not a directory, not
 * there already unless --force), so a long hash never ends in a write error; it is written
 * atomically (a temporary file renamed into place).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AbortError, createTorrent, toMagnet, toTorrentFile } from '../../index.js';
import { pieceLengthParser } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand } from '../program.js';
import { formatBytes, formatDuration } from '../transfer.js';
import { ensureWritableFile, NotWritableError } from '../writable.js';

interface CreateCliOptions {
  out?: string;
  pieceLength?: number;
  private?: boolean;
  force?: boolean;
}

/** Hashing progress is reported at most this often, ms. */
const PROGRESS_INTERVAL_MS = 2_000;

export const createCommand: CliCommand = {
  name: 'create',
  configure(command) {
    command
      .description('write a .torrent file for a file or folder and print its magnet link')
      .argument('<path>', 'the file or folder')
      .option('-o, --out <file>', 'the .torrent file to write (default: <name>.torrent here)')
      .option(
        '--piece-length <KiB>',
        'piece length in KiB, a power of two 16-65536 (default: chosen from the size)',
        pieceLengthParser
      )
      .option('--private', 'set the BEP 27 private flag (peers then come from no DHT and no PEX)')
      .option('-f, --force', 'overwrite the output file if it exists')
      .addHelpText(
        'after',
        '\nExample:\n  trackerless create ./photos --out photos.torrent\n' +
          '  (then: trackerless seed photos.torrent --out .   or   trackerless seed ./photos)'
      );
  },
  async run(ctx, args, options) {
    const source = resolve(String(args[0]));
    const opts = options as unknown as CreateCliOptions;
    const stat = await fsp.stat(source).catch(() => undefined);
    if (!stat) throw new UsageError(`cannot read ${String(args[0])}: no such file or folder`);
    const out = resolve(opts.out ?? `${basename(source)}.torrent`);
    // Before hashing, which can take minutes: the place to write must be usable.
    await ensureWritableFile(out, 'the .torrent file');
    if (!opts.force && (await fsp.stat(out).catch(() => undefined)))
      throw new NotWritableError(`${out} exists (add --force to overwrite it)`);
    const started = ctx.clock.now();
    let lastReport = started;
    let info;
    try {
      info = await createTorrent(source, {
        signal: ctx.interrupt,
        ...(opts.pieceLength !== undefined ? { pieceLength: opts.pieceLength } : {}),
        ...(opts.private ? { private: true } : {}),
        onProgress: (hashed, total) => {
          const now = ctx.clock.now();
          if (now - lastReport < PROGRESS_INTERVAL_MS || hashed === total) return;
          lastReport = now;
          ctx.log(`hashing: ${formatBytes(hashed)} of ${formatBytes(total)}`);
        }
      });
    } catch (err) {
      if (err instanceof AbortError && ctx.interrupt.aborted) {
        ctx.log(`interrupted (${String(ctx.interrupt.reason)}) while hashing; nothing written`);
        return EXIT_INTERRUPTED;
      }
      throw err;
    }
    const tmp = `${out}.${randomBytes(6).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, toTorrentFile(info, { createdBy: 'trackerless' }));
    await fsp.rename(tmp, out);
    const files = info.files.filter((f) => !f.padding).length;
    ctx.log(
      `wrote ${out}: ${info.name}, ${formatBytes(info.length)} in ${files} file${files === 1 ? '' : 's'}, ` +
        `${info.pieceCount} pieces of ${formatBytes(info.pieceLength)} (hashed in ${formatDuration((ctx.clock.now() - started) / 1000)})`
    );
    ctx.print(toMagnet({ infoHash: info.infoHash, name: info.name }));
    return EXIT_OK;
  }
};
