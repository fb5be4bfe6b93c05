/**
 * engine-peer.ts's first import: a `seed` or `download` peer stands for the CLI's `seed` and
 * `download`, which keep V8's young generation small (lib/util/young-generation.ts), so it
 * does the same, and as early: before the library's modules load, since the young generation
 * may grow while they do (ES modules evaluate in import order).
 */
import { keepYoungGenerationSmall } from '../../lib/util/young-generation.js';

const role = process.argv[2];
if (role === 'seed' || role === 'download') keepYoungGenerationSmall();
