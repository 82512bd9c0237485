// The few parts of Strapi 5's server API the plugin uses, typed here so that
// the plugin needs no Strapi package to build.

/** Koa's context, as far as the plugin reads and writes it. */
export interface Ctx {
  method: string;
  path: string;
  querystring: string;
  ip: string;
  status: number;
  body: unknown;
  state: Record<string, any>;
  /** koa-session's session (Strapi's strapi::session middleware), where users-permissions keeps a provider's answer. */
  session?: Record<string, any> | null;
  request: { body?: unknown; headers: Record<string, string | string[] | undefined> };
  get(name: string): string;
  set(name: string, value: string | string[]): void;
  append(name: string, value: string | string[]): void;
  unauthorized(message?: unknown): unknown;
}

/** Koa's next. */
export type Next = () => Promise<unknown>;

/** A query of Strapi's database layer (strapi.db.query(uid)). */
export interface Query {
  findOne(params: Record<string, unknown>): Promise<any>;
  findMany(params: Record<string, unknown>): Promise<any[]>;
  create(params: Record<string, unknown>): Promise<any>;
  update(params: Record<string, unknown>): Promise<any>;
  delete(params: Record<string, unknown>): Promise<any>;
  deleteMany(params: Record<string, unknown>): Promise<any>;
}

/** A db lifecycle event. */
export interface LifecycleEvent {
  action: string;
  model: { uid: string };
  params: { data?: Record<string, any>; where?: Record<string, any> };
  result?: any;
  state: Record<string, any>;
}

/** An auth strategy of Strapi's content API. */
export interface Strategy {
  name: string;
  authenticate(ctx: Ctx): Promise<{ authenticated?: boolean; credentials?: unknown; ability?: unknown; error?: unknown } | undefined>;
  verify?(auth: { credentials: unknown; ability: any }, config: { scope?: string | string[] }): Promise<void>;
}

/** Strapi's authentication service (strapi.get('auth')). */
export interface Auth {
  register(type: string, strategy: Strategy): Auth;
  authenticate(ctx: Ctx, next: Next): Promise<unknown>;
  runAuthenticated?(ctx: Ctx): Promise<void>;
}

/** The global strapi object. */
export interface Strapi {
  config: { get(path: string, fallback?: unknown): any };
  log: { info(m: string): void; warn(m: string): void; error(m: string): void; debug(m: string): void };
  get(name: 'auth'): Auth;
  db: {
    query(uid: string): Query;
    lifecycles: { subscribe(s: Record<string, unknown>): void };
  };
  documents(uid: string): { create(p: Record<string, unknown>): Promise<any>; update(p: Record<string, unknown>): Promise<any> };
  plugin(name: string): { service(name: string): any } | undefined;
  contentAPI: { permissions: { engine: { generateAbility(perms: unknown[]): Promise<any> } } };
  store(p: Record<string, unknown>): { get(p: Record<string, unknown>): Promise<any> };
  server: { use(mw: (ctx: Ctx, next: Next) => Promise<unknown>): void };
  getModel(uid: string): { attributes: Record<string, { type: string; private?: boolean; configurable?: boolean }> };
}
