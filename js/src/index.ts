/**
 * @refreshing/client: sign in against a Refreshing server and keep an access
 * token fresh, one refresh at a time across every tab. See README.md.
 * @packageDocumentation
 */
export {
  createClient,
  type ClientEvents,
  type ClientOptions,
  type RefreshedEvent,
  type RefreshingClient,
  type Session,
  type SignedOutEvent,
  type SignedOutReason,
  type User,
} from "./client.js";
export { RefreshingError, type ErrorKind, type RefreshingErrorOptions } from "./errors.js";
export { asyncStorage, localStorageAdapter, memoryStorage, type AsyncKeyValue, type TokenStorage } from "./storage.js";
