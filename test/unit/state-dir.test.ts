/** The default state directory (XDG Base Directory Specification). */
import { describe, expect, it } from '@jest/globals';
import { defaultStateDir } from '../../lib/util/state-dir.js';

describe('defaultStateDir', () => {
  it('is $XDG_STATE_HOME/trackerless when that is an absolute path', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/var/state' }, '/home/u')).toBe('/var/state/trackerless');
  });

  it('is ~/.local/state/trackerless when XDG_STATE_HOME is unset, empty or relative', () => {
    for (const env of [{}, { XDG_STATE_HOME: '' }, { XDG_STATE_HOME: 'state' }]) {
      expect(defaultStateDir(env, '/home/u')).toBe('/home/u/.local/state/trackerless');
    }
  });
});
