/** A torrent's flat file list as a directory tree (for the detail page). */
export interface TreeNode {
  name: string;
  /** Files: their size; directories: the sum below. */
  size: number;
  children: TreeNode[];
  isFile: boolean;
}

/** Paths split on '/', directories first then files, each sorted by name. */
export function fileTree(files: Array<{ path: string; size: number }>): TreeNode[] {
  const root: TreeNode = { name: '', size: 0, children: [], isFile: false };
  for (const f of files) {
    const parts = f.path.split('/').filter((p) => p.length > 0);
    if (parts.length === 0) continue;
    let node = root;
    node.size += f.size;
    for (let i = 0; i < parts.length - 1; i++) {
      let dir = node.children.find((c) => !c.isFile && c.name === parts[i]);
      if (!dir) {
        dir = { name: parts[i]!, size: 0, children: [], isFile: false };
        node.children.push(dir);
      }
      dir.size += f.size;
      node = dir;
    }
    node.children.push({ name: parts.at(-1)!, size: f.size, children: [], isFile: true });
  }
  const sort = (n: TreeNode): void => {
    n.children.sort((a, b) => Number(a.isFile) - Number(b.isFile) || a.name.localeCompare(b.name));
    n.children.forEach(sort);
  };
  sort(root);
  return root.children;
}
