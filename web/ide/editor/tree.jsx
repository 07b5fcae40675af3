// The workspace's files as a tree of folders; a file opens in the editor.
import { useMemo, useState } from "react";

/** Nested folders from flat paths: {name, path, folders: [...], files: [...]} sorted by name. */
export function treeOf(files) {
  const root = { name: "", path: "", folders: new Map(), files: [] };
  for (const file of files) {
    const parts = file.path.split("/");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const path = node.path ? `${node.path}/${part}` : part;
      if (!node.folders.has(part)) node.folders.set(part, { name: part, path, folders: new Map(), files: [] });
      node = node.folders.get(part);
    }
    node.files.push({ ...file, name: parts[parts.length - 1] });
  }
  const finish = (node) => ({
    ...node,
    folders: [...node.folders.values()].sort((a, b) => a.name.localeCompare(b.name)).map(finish),
    files: node.files.sort((a, b) => a.name.localeCompare(b.name)),
  });
  return finish(root);
}

function Folder({ node, depth, open, dirty, onOpen, collapsed, toggle }) {
  return (
    <>
      {node.folders.map((folder) => {
        const shut = collapsed.has(folder.path);
        return (
          <li key={`d:${folder.path}`} role="treeitem" aria-expanded={!shut}>
            <button type="button" className="tree-row folder" style={{ "--depth": depth }} onClick={() => toggle(folder.path)} title={folder.path}>
              <span className="tree-caret" aria-hidden="true">{shut ? "▸" : "▾"}</span>
              {folder.name}
            </button>
            {shut ? null : (
              <ul role="group">
                <Folder node={folder} depth={depth + 1} open={open} dirty={dirty} onOpen={onOpen} collapsed={collapsed} toggle={toggle} />
              </ul>
            )}
          </li>
        );
      })}
      {node.files.map((file) => (
        <li key={`f:${file.path}`} role="treeitem" aria-selected={file.path === open}>
          <button
            type="button"
            className={`tree-row file${file.path === open ? " open" : ""}`}
            style={{ "--depth": depth }}
            onClick={() => onOpen(file.path)}
            title={`${file.path} (${formatSize(file.size)})`}
            data-path={file.path}
          >
            <span className="tree-name">{file.name}</span>
            {dirty.has(file.path) ? <span className="dirty-dot" aria-label="unsaved changes" /> : null}
          </button>
        </li>
      ))}
    </>
  );
}

export default function FileTree({ files, open, dirty, onOpen }) {
  const tree = useMemo(() => treeOf(files), [files]);
  const [collapsed, setCollapsed] = useState(() => new Set());
  const toggle = (path) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });
  return (
    <ul className="tree" role="tree" aria-label="Files">
      <Folder node={tree} depth={0} open={open} dirty={dirty} onOpen={onOpen} collapsed={collapsed} toggle={toggle} />
    </ul>
  );
}

export function formatSize(n) {
  if (n == null) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
