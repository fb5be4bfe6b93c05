/**
 * `trackerless get <target|public key>`: read a value from the DHT (BEP 44). A 40-hex target
 * is an immutable item; a 64-hex ed25519 public key (with --salt) is a mutable one, and the
 * verified value with the highest seq found is printed. A byte-string value is printed as
 * UTF-8 text, anything else as JSON (byte strings in it as text); --json prints one object with
 * the value in base64 and hex and the item's metadata. Exit 0 when found, 1 when not.
 */
import { toHex, type ImmutableItem, type MutableItem } from '../../index.js';
import type { DecodedItemValue } from '../../item/item.js';
import { parseItemKey, saltParser } from '../args.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError, type CliCommand } from '../program.js';
import { addOneShotOptions, seconds, withDht, type OneShotCliOptions } from '../session.js';

interface GetCliOptions extends OneShotCliOptions {
  salt?: string;
}

export const getCommand: CliCommand = {
  name: 'get',
  configure(command) {
    command
      .description('read a value from the DHT (BEP 44): by target (immutable) or public key (mutable)')
      .argument(
        '<key>',
        '40-hex target of an immutable item, or 64-hex public key of a mutable one',
        parseItemKey
      )
      .option('--salt <text>', 'mutable: the salt the item was put with', saltParser);
    addOneShotOptions(command, 30, 'print the item as one JSON object (value in base64 and hex)').addHelpText(
      'after',
      '\nExample:\n  trackerless get e5f96f6f38320f0f33959cb4d3d656452117aadb --bootstrap 127.0.0.1:6881'
    );
  },
  async run(ctx, args, options) {
    const { kind, key } = args[0] as ReturnType<typeof parseItemKey>;
    const opts = options as unknown as GetCliOptions;
    if (kind === 'immutable' && opts.salt !== undefined)
      throw new UsageError('--salt is for mutable items (a 64-hex public key)');
    const started = ctx.clock.now();
    const { result: item, stopped } = await withDht<ImmutableItem | MutableItem | null>(
      ctx,
      opts,
      (dht, signal) =>
        kind === 'immutable'
          ? dht.getImmutable(key, { signal })
          : dht.getMutable(key, { ...(opts.salt !== undefined ? { salt: opts.salt } : {}), signal })
    );
    if (stopped === 'interrupted') return EXIT_INTERRUPTED;
    if (!item) {
      ctx.log(
        `get ${toHex(key)}: ${stopped === 'timeout' ? `timed out after ${opts.timeout} s` : 'not found'}`
      );
      return EXIT_FAILURE;
    }
    const mutable = kind === 'mutable' ? (item as MutableItem) : undefined;
    if (opts.json) {
      ctx.print(
        JSON.stringify({
          target: toHex(item.target),
          ...(mutable
            ? {
                publicKey: toHex(mutable.publicKey),
                salt: Buffer.from(mutable.salt).toString('utf8'),
                seq: mutable.seq,
                signature: toHex(mutable.signature)
              }
            : {}),
          value: Buffer.from(item.v).toString('base64'),
          valueHex: toHex(item.v),
          text: render(item.value)
        })
      );
    } else {
      ctx.print(render(item.value));
    }
    ctx.log(
      `get ${toHex(key)}: found${mutable ? ` seq ${mutable.seq}` : ''} in ${seconds(ctx.clock.now() - started)}`
    );
    return EXIT_OK;
  }
};

/** A byte string as its UTF-8 text; other values as JSON with their byte strings as text. */
function render(value: DecodedItemValue): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value, (_k, x: unknown) =>
    x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : x
  );
}
