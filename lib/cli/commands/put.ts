/**
 * `trackerless put <value>`: store a value in the DHT (BEP 44). Without --key it is immutable
 * and stored under the SHA-1 of its bencoded form, which is printed (40 hex). With --key FILE
 * it is a mutable item signed by the ed25519 key in FILE (created when missing, PKCS#8 PEM),
 * under that key and --salt; it prints `<64-hex public key> <seq>`. The value is stored as a
 * byte string (its UTF-8 bytes). Exit 0 when at least one node stored it, 1 otherwise.
 *
 * Items expire after about 2 hours unless put again (the same command re-puts; for a mutable
 * item pass the same --seq to refresh rather than update).
 */
import { loadKeyPair, toHex } from '../../index.js';
import { saltParser, seqParser } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand } from '../program.js';
import { addOneShotOptions, seconds, withDht, type OneShotCliOptions } from '../session.js';

interface PutCliOptions extends OneShotCliOptions {
  key?: string;
  salt?: string;
  seq?: number;
  cas?: number;
}

export const putCommand: CliCommand = {
  name: 'put',
  configure(command) {
    command
      .description('store a value in the DHT (BEP 44): immutable, or mutable under an ed25519 key')
      .argument('<value>', 'the value, stored as a UTF-8 byte string (at most 996 bytes)')
      .option('-k, --key <file>', 'mutable: sign with the ed25519 key in this file (created if missing)')
      .option(
        '--salt <text>',
        'mutable: salt (up to 64 bytes), one key can hold one item per salt',
        saltParser
      )
      .option('--seq <n>', 'mutable: sequence number (default: one more than the DHT has)', seqParser)
      .option('--cas <n>', 'mutable: store only where the current seq is n (compare and swap)', seqParser);
    addOneShotOptions(command, 60, 'print the result as one JSON object').addHelpText(
      'after',
      '\nExamples:\n  trackerless put "hello" --bootstrap 127.0.0.1:6881\n' +
        '  trackerless put "v2 of my feed" --key feed.pem --salt feed --bootstrap 127.0.0.1:6881'
    );
  },
  async run(ctx, args, options) {
    const value = args[0] as string;
    const opts = options as unknown as PutCliOptions;
    if (!opts.key && (opts.salt !== undefined || opts.seq !== undefined || opts.cas !== undefined))
      throw new UsageError('--salt, --seq and --cas are for mutable items: add --key FILE');
    const keyPair = opts.key ? await loadKeyPair(opts.key, { create: true }) : undefined;
    const started = ctx.clock.now();
    const { result, stopped } = await withDht(ctx, opts, (dht, signal) =>
      keyPair
        ? dht.putMutable({
            keyPair,
            value,
            ...(opts.salt !== undefined ? { salt: opts.salt } : {}),
            ...(opts.seq !== undefined ? { seq: opts.seq } : {}),
            ...(opts.cas !== undefined ? { cas: opts.cas } : {}),
            signal
          })
        : dht.putImmutable(value, { signal })
    );
    if (!result) {
      ctx.log(`put: ${stopped === 'timeout' ? `timed out after ${opts.timeout} s` : 'interrupted'}`);
      return stopped === 'timeout' ? EXIT_FAILURE : EXIT_INTERRUPTED;
    }
    const target = toHex(result.target);
    const publicKey = keyPair ? toHex(keyPair.publicKey) : undefined;
    if (opts.json) {
      ctx.print(
        JSON.stringify({
          target,
          ...(publicKey ? { publicKey, salt: opts.salt ?? '', seq: result.seq } : {}),
          storedOn: result.storedOn,
          targets: result.targets,
          refusals: result.refusals,
          durationMs: ctx.clock.now() - started
        })
      );
    } else {
      ctx.print(publicKey ? `${publicKey} ${result.seq}` : target);
    }
    const codes = [...new Set(result.refusals)].join(', ');
    const refused = result.refusals.length ? `, refused by ${result.refusals.length} (${codes})` : '';
    ctx.log(
      `put ${target}: stored on ${result.storedOn} of ${result.targets} nodes${refused}, ` +
        `${result.lookup.queries} queries, ${seconds(ctx.clock.now() - started)}`
    );
    if (result.storedOn === 0) {
      ctx.log(
        'trackerless: error: no node stored the item (a newer seq exists? check --bootstrap and the network)'
      );
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }
};
