// dev's builds as the editor and the preview follow them: after a save, the build of the
// saved revision is polled closely until it is ready or failed; otherwise now and then (an
// agent or a push may change the app too).
import { useEffect, useRef, useState } from "react";
import { devEnv } from "./files.js";

const CLOSE_MS = 100; // while a build we wait for runs
const IDLE_MS = 5000;

/** Follows dev for one app: `env` (URL, build), `expect(revision, paths)` after a save, and
 * `changes` (the paths saved since the last build that went live, for the preview). */
export function useDevBuild(app) {
  const [env, setEnv] = useState(null);
  const [error, setError] = useState(null);
  const wanted = useRef(null);
  const pending = useRef(new Set());
  const building = useRef(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    let timer = null;
    async function poll() {
      try {
        const got = await devEnv(app);
        if (!live) return;
        setEnv(got);
        setError(null);
        const build = got.build;
        building.current = Boolean(build && build.state === "building");
        if (wanted.current && build && build.number >= wanted.current && build.state !== "building") wanted.current = null;
      } catch (err) {
        if (!live) return;
        setError(err);
      }
      timer = setTimeout(poll, wanted.current || building.current ? CLOSE_MS : IDLE_MS);
    }
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app, tick]);

  return {
    env,
    error,
    waiting: Boolean(wanted.current),
    /** A save made revision number `number` (changing `paths`): follow its build closely. */
    expect(number, paths) {
      wanted.current = number;
      for (const p of paths || []) pending.current.add(p);
      setTick((n) => n + 1);
    },
    /** The paths saved since the last call (null when the change came from elsewhere). */
    takeChanges() {
      const out = [...pending.current];
      pending.current.clear();
      return out.length ? out : null;
    },
  };
}

/** The last build's errors for one file, as editor issues. */
export function issuesFor(build, path) {
  if (!build || build.state !== "failed") return [];
  return build.errors.filter((e) => e.file === path).map((e) => ({ line: e.line || 1, column: e.column, severity: "error", message: e.message }));
}
