/**
 * A key pair in a file: PKCS#8 PEM (interchangeable with `openssl genpkey -algorithm ed25519`
 * and `openssl pkey`), created with mode 0600 when missing. A file holding just the 64 hex
 * characters of a seed is read too.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { fromHex, isHex } from '../util/bytes.js';
import { fromPem, generateKeyPair, keyPairFromSeed, toPem, SEED_BYTES, type KeyPair } from './ed25519.js';

/** Read the key pair in `path`; with `create`, make a new one there if the file does not exist. */
export async function loadKeyPair(path: string, opts: { create?: boolean } = {}): Promise<KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.create) throw err;
    const keyPair = generateKeyPair();
    // 'wx': never overwrite a key another process wrote meanwhile.
    await writeFile(path, toPem(keyPair), { mode: 0o600, flag: 'wx' });
    return keyPair;
  }
  const trimmed = text.trim();
  if (isHex(trimmed, SEED_BYTES)) return keyPairFromSeed(fromHex(trimmed));
  if (trimmed.startsWith('-----BEGIN')) return fromPem(trimmed);
  throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `${path}: not a PEM ed25519 key nor a 64-hex seed`);
}

/** Write `keyPair` to `path` as PKCS#8 PEM, readable by its owner only. */
export async function saveKeyPair(path: string, keyPair: KeyPair): Promise<void> {
  await writeFile(path, toPem(keyPair), { mode: 0o600 });
}
