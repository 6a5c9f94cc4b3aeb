/**
 * The extension surface: a resource is one module (`resources/<name>.ts`) that declares its object
 * types (id prefix → collection, for `expand`), its routes (method, path, param spec, handler) and
 * the kinds of scheduled task it handles. `resources/index.ts` lists them. See README.md.
 */
import type Stripe from 'stripe';
import type { Fields, Infer } from './params.ts';
import type { Store, StoredObject } from './store.ts';

/** What any piece of emulator logic (route handler or scheduled task) may use. */
export interface EmulatorContext {
  /** Emulator time, unix seconds. */
  now(): number;
  store: Store;
  /** A fresh id such as `cus_…`; pass the prefix without underscore. */
  newId(prefix: string, length?: number): string;
  /** Records an event (and queues its webhooks). `previous` is `data.previous_attributes`. */
  emit(type: string, object: StoredObject, previous?: Record<string, unknown>): Stripe.Event;
  /** Schedules a task of a registered kind at emulator time `at` (unix seconds); returns its id. */
  schedule(at: number, kind: string, payload: unknown): string;
  /** Cancels a scheduled task that has not run yet. */
  cancelTask(id: string): boolean;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
  /** The emulator's own base URL (e.g. `http://127.0.0.1:12111`), for URLs it hands out (hosted pages). */
  baseUrl(): string;
  /**
   * Moves the emulator clock forward to `at` (never back), running due tasks in time order, like
   * `advance()`. For request handlers only (test clocks); a task calling it would wait on itself.
   */
  advanceClockTo(at: number): Promise<void>;
}

/** What a route handler gets: the context plus the validated request. */
export interface RequestContext<P> extends EmulatorContext {
  params: P;
  /** Path parameters, e.g. `{id}` for `/v1/customers/:id`. */
  path: Record<string, string>;
  requestId: string;
  idempotencyKey: string | null;
  /** The request path without query string (lists and search results echo it as `url`). */
  url: string;
}

export type Method = 'GET' | 'POST' | 'DELETE';

/** One endpoint. `expand` is accepted on every route without declaring it. */
export interface Route<F extends Fields = Fields> {
  method: Method;
  /** `/v1/customers/:id` style; `:name` segments become `ctx.path.name`. */
  path: string;
  params: F;
  /** Served without an API key (pages a browser opens, e.g. a hosted invoice page). */
  public?: boolean;
  /** Returns the response body (status 200) or a `RawResponse`, or throws an `ApiError`. */
  handler(ctx: RequestContext<Infer<F>>): unknown;
}

/** A non-JSON response (HTML page, PDF); sent as is, without `expand`. */
export class RawResponse {
  constructor(
    readonly contentType: string,
    readonly body: string | Buffer,
    readonly status = 200,
    /** Extra headers, e.g. `Location` for a 303 after a form post. */
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Declares a route with its params inferred from the spec. */
export function route<F extends Fields>(r: Route<F>): Route {
  return r as unknown as Route;
}

/** An object type: lets `expand[]` turn an id with this prefix into the object. */
export interface ObjectType {
  /** Id prefix including the underscore, e.g. `cus_`. */
  prefix: string;
  /** Store collection holding these objects. */
  collection: string;
  /** Public view of a stored object (e.g. hides a webhook endpoint's secret). Defaults to identity. */
  render?(obj: StoredObject): StoredObject;
}

/** A scheduled-task handler; runs with the clock set to the task's time. */
export type TaskHandler = (ctx: EmulatorContext, payload: unknown) => void | Promise<void>;

/** A resource module. */
export interface ResourceModule {
  name: string;
  objects?: ObjectType[];
  routes: Route[];
  /** Task kinds this resource handles, e.g. `{'invoice.due': handler}`; kinds are global, keep them prefixed. */
  tasks?: Record<string, TaskHandler>;
}
