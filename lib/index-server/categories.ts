/**
 * Newznab/Torznab categories guessed from file extensions (the DHT carries no category): the
 * kind holding most of the torrent's bytes wins. *arr apps ask by category (e.g. 5000 TV,
 * 2000 Movies); a video torrent is offered under both, since names alone cannot tell them
 * apart reliably.
 */
export interface Category {
  id: number;
  name: string;
}

export const CATEGORIES: Category[] = [
  { id: 2000, name: 'Movies' },
  { id: 3000, name: 'Audio' },
  { id: 4000, name: 'PC' },
  { id: 5000, name: 'TV' },
  { id: 7000, name: 'Books' },
  { id: 8000, name: 'Other' }
];

const KINDS: Array<[number[], RegExp]> = [
  [[2000, 5000], /\.(mkv|mp4|avi|m4v|mov|wmv|ts|m2ts|webm|mpg|mpeg|flv)$/i],
  [[3000], /\.(mp3|flac|ogg|opus|m4a|aac|wav|ape|wv|alac)$/i],
  [[7000], /\.(epub|mobi|azw3|pdf|djvu|cbz|cbr)$/i],
  [[4000], /\.(exe|msi|dmg|pkg|deb|rpm|apk|iso|img|appimage)$/i]
];

export function categoriesOf(files: Array<{ path: string; size: number }>, name: string): number[] {
  const bytes = new Map<number, number>();
  const list = files.length > 0 ? files : [{ path: name, size: 1 }];
  for (const f of list) {
    const kind = KINDS.findIndex(([, re]) => re.test(f.path));
    if (kind >= 0) bytes.set(kind, (bytes.get(kind) ?? 0) + Math.max(1, f.size));
  }
  let best = -1;
  let most = 0;
  for (const [kind, b] of bytes) {
    if (b <= most) continue;
    best = kind;
    most = b;
  }
  return best >= 0 ? KINDS[best]![0] : [8000];
}

/** Does an item in `have` satisfy a request for `wanted` (a parent category matches its children)? */
export function matchesCategories(have: number[], wanted: number[]): boolean {
  if (wanted.length === 0) return true;
  return wanted.some((w) => have.some((h) => h === w || Math.floor(w / 1000) * 1000 === h));
}
