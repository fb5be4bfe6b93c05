/**
 * Preloaded (`node --import`) into our `seed` and `download` peers (peer-process.ts): they stand
 * for the CLI's `seed` and `download`, which keep V8's young generation small
 * (lib/util/young-generation.ts) before the library loads, so they do the same, as early. Set
 * from the peer's own first import instead, the young generation had sometimes already grown
 * while the module graph was read (a preload runs before it is).
 */
import { keepYoungGenerationSmall } from '../../lib/util/young-generation.js';

keepYoungGenerationSmall();
