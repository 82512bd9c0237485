/**
 * Cross-tab mutual exclusion around a refresh. Three kinds:
 *
 * - Web Locks (`navigator.locks`): the browser grants the lock to one tab at
 *   a time and releases it when that tab dies, so a crashed or closed tab
 *   never blocks the others.
 * - A lease in Web Storage, where Web Locks are missing: a tab writes
 *   `{id, until}` under the lock's key, waits a moment, and holds the lock
 *   if its own id is still there; it renews the lease while it works, so a
 *   tab that dies stops renewing and the others take over once the lease runs
 *   out (a few seconds). Waiters wake on the storage event or poll.
 * - None: only this JavaScript context refreshes (memory or async storage,
 *   React Native, a server); the client's own single-flight suffices.
 */
export interface RefreshLock {
  /** run calls fn while holding the lock; it rejects if the lock is not had within waitMs. */
  run<T>(fn: () => Promise<T>, waitMs: number): Promise<T>;
  readonly kind: "locks" | "lease" | "none";
}

/** A lock that only orders nothing: for a storage no other context shares. */
export const noLock: RefreshLock = {
  kind: "none",
  run: (fn) => fn(),
};

/** LockTimeoutError is thrown when the lock was not had in time. */
export class LockTimeoutError extends Error {
  constructor(name: string) {
    super(`waited too long for the refresh lock ${name}`);
    this.name = "LockTimeoutError";
  }
}

interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, cb: () => Promise<T>): Promise<T>;
}

/** webLocks returns a lock on navigator.locks, or undefined where there is none. */
export function webLocks(name: string): RefreshLock | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (!locks || typeof locks.request !== "function") return undefined;
  return {
    kind: "locks",
    async run<T>(fn: () => Promise<T>, waitMs: number): Promise<T> {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), waitMs);
      let granted = false;
      try {
        return await locks.request(name, { signal: ac.signal }, async () => {
          granted = true;
          clearTimeout(timer);
          return fn();
        });
      } catch (e) {
        if (!granted && ac.signal.aborted) throw new LockTimeoutError(name);
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Timings of the lease lock, in milliseconds. */
export interface LeaseTimings {
  /** How long a lease lasts unless renewed: the longest a dead tab blocks the others. */
  lease: number;
  /** How often the holder renews it. */
  renew: number;
  /** How long a tab waits after writing its claim before it checks it won. */
  settle: number;
  /** How often a waiter looks again when no storage event came. */
  poll: number;
}

const defaultLease: LeaseTimings = { lease: 4000, renew: 1000, settle: 40, poll: 100 };

interface Lease {
  id: string;
  until: number;
}

function readLease(storage: Storage, key: string): Lease | undefined {
  try {
    const v = storage.getItem(key);
    if (!v) return undefined;
    const l = JSON.parse(v) as Partial<Lease>;
    return typeof l.id === "string" && typeof l.until === "number" ? { id: l.id, until: l.until } : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** randomId returns an id no other tab will pick. */
export function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

/** leaseLock returns the Web Storage lease lock described above. */
export function leaseLock(storage: Storage, key: string, timings: Partial<LeaseTimings> = {}): RefreshLock {
  const t = { ...defaultLease, ...timings };
  // Wake waiters as soon as another tab releases (the storage event fires
  // only in the other tabs of the origin).
  const waiters = new Set<() => void>();
  const target = globalThis as { addEventListener?: (t: string, l: (e: StorageEvent) => void) => void };
  if (typeof target.addEventListener === "function") {
    target.addEventListener("storage", (e: StorageEvent) => {
      if (e.key === key || e.key === null) for (const w of [...waiters]) w();
    });
  }
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });

  return {
    kind: "lease",
    async run<T>(fn: () => Promise<T>, waitMs: number): Promise<T> {
      const id = randomId();
      const deadline = Date.now() + waitMs;
      for (;;) {
        const cur = readLease(storage, key);
        if (!cur || cur.until <= Date.now()) {
          storage.setItem(key, JSON.stringify({ id, until: Date.now() + t.lease }));
          // Another tab may have written its claim at the same moment: the
          // last write wins everywhere once it has propagated.
          await sleep(t.settle);
          if (readLease(storage, key)?.id === id) break;
        }
        if (Date.now() >= deadline) throw new LockTimeoutError(key);
        await wait(Math.min(t.poll, Math.max(1, deadline - Date.now())));
      }
      const renew = setInterval(() => {
        if (readLease(storage, key)?.id === id) {
          storage.setItem(key, JSON.stringify({ id, until: Date.now() + t.lease }));
        }
      }, t.renew);
      try {
        return await fn();
      } finally {
        clearInterval(renew);
        if (readLease(storage, key)?.id === id) storage.removeItem(key);
      }
    },
  };
}
