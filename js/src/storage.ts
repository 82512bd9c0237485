/**
 * Where the client keeps its tokens. Any key-value store fits, synchronous
 * (`localStorage`) or asynchronous (React Native's AsyncStorage, Expo's
 * SecureStore, a server's session): the client awaits whatever comes back.
 */
export interface TokenStorage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
  /**
   * True when other tabs of this origin see the same values (localStorage):
   * the client then takes a cross-tab lock around every refresh and shares
   * new tokens and sign-outs with the other tabs. Leave it unset for a store
   * that only this JavaScript context uses.
   */
  readonly shared?: boolean;
  /**
   * The Web Storage object behind a shared store, for the lease lock used
   * where Web Locks are missing (see {@link ClientOptions.crossTab}).
   */
  readonly webStorage?: Storage;
}

/**
 * memoryStorage keeps tokens in this object only: the default in Node and
 * wherever there is no `localStorage`. Each client made with its own memory
 * storage shares nothing with any other, which is what a server rendering
 * pages for many users needs (one client per request).
 */
export function memoryStorage(initial?: Record<string, string>): TokenStorage {
  const m = new Map<string, string>(Object.entries(initial ?? {}));
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

/**
 * localStorageAdapter keeps tokens in `localStorage` (the default in
 * browsers), shared by every tab of the origin. Anything that runs script on
 * the origin can read them: with cookie mode the refresh token is kept out
 * of reach (see the README).
 */
export function localStorageAdapter(storage: Storage = globalThis.localStorage): TokenStorage {
  return {
    getItem: (k) => storage.getItem(k),
    setItem: (k, v) => storage.setItem(k, v),
    removeItem: (k) => storage.removeItem(k),
    shared: true,
    webStorage: storage,
  };
}

/** The minimal shape of an asynchronous key-value store (AsyncStorage's). */
export interface AsyncKeyValue {
  getItem(key: string): Promise<string | null | undefined>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

/**
 * asyncStorage adapts an asynchronous key-value store, such as React
 * Native's `@react-native-async-storage/async-storage` or, for tokens at
 * rest in the keychain, Expo's SecureStore:
 *
 * ```ts
 * import * as SecureStore from "expo-secure-store";
 * const storage = asyncStorage({
 *   getItem: SecureStore.getItemAsync,
 *   setItem: SecureStore.setItemAsync,
 *   removeItem: SecureStore.deleteItemAsync,
 * });
 * ```
 */
export function asyncStorage(kv: AsyncKeyValue): TokenStorage {
  return {
    getItem: (k) => kv.getItem(k),
    setItem: (k, v) => kv.setItem(k, v),
    removeItem: (k) => kv.removeItem(k),
  };
}

/**
 * defaultStorage is localStorage in a browser page, memory anywhere else
 * (Node has a localStorage of its own from version 25 on: process-wide, so
 * never the default there).
 */
export function defaultStorage(): TokenStorage {
  if (typeof (globalThis as { document?: unknown }).document === "undefined") {
    return memoryStorage();
  }
  try {
    const ls = (globalThis as { localStorage?: Storage }).localStorage;
    if (ls && typeof ls.getItem === "function") {
      return localStorageAdapter(ls);
    }
  } catch {
    // localStorage throws when storage is disabled (some private modes).
  }
  return memoryStorage();
}
