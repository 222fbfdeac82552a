/**
 * What the job's functions capture, as data, to check at start that every worker thread
 * built the same job as the main thread (docs/runtime.md, "User code on worker threads").
 *
 * Functions cannot cross threads, so each worker runs the job module itself; a closure
 * that captures a value the module computed when it ran (a time, a random number, a
 * value read from the main thread's state) has another value in each worker, and the job
 * would silently diverge per worker. The main thread and each worker list the variables
 * captured by the functions of each operator — through V8's inspector (`[[Scopes]]` of a
 * function, as a debugger shows them), starting from the graph's sources, operator
 * factories and key selectors and following functions and objects through weir's own
 * closures to the user's — and the worker fails the job when one differs.
 *
 * Only variables of functions defined outside weir and outside node_modules (the user's
 * files) are listed, so weir's own bookkeeping never trips the check. A value is compared
 * as data: primitives exactly; arrays, plain objects, Map, Set, Date, RegExp and typed
 * arrays by their contents (bounded); instances of other classes (a client, a socket, a
 * class of the job) by their class only — each worker making its own is the rule, not a
 * divergence; functions by their name. Equal values can still diverge later (a shared Map
 * that each worker fills): the rule documents that; this check catches what differs at start.
 */
import { Session } from 'node:inspector';
import { findSourceMap } from 'node:module';
import * as workerThreads from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { JobGraph } from '../job-graph.ts';
import { NOT_JOB_STATE_DESCRIPTION } from './not-job-state.ts';

/** One captured variable of a user function of an operator. */
export interface CapturedValue {
  /** `name (operatorId)` of the operator whose functions reach it. */
  readonly operator: string;
  /** file:line:column of the function that captures it. */
  readonly where: string;
  readonly name: string;
  /** Its value as data (see the file comment), at most ~2000 characters. */
  readonly value: string;
}

/** Where weir's own modules are (src/ or dist/), to tell them from the user's. */
const WEIR_ROOT = new URL('../../', import.meta.url).href;
/** Inspector calls per graph at most: a budget, not a limit any job should reach. */
const MAX_VISITS = 4000;
const MAX_DEPTH = 8;

interface RemoteObject {
  readonly type: string;
  readonly subtype?: string;
  readonly className?: string;
  readonly value?: unknown;
  readonly unserializableValue?: string;
  readonly description?: string;
  readonly objectId?: string;
}
interface PropertyDescriptor {
  readonly name: string;
  readonly value?: RemoteObject;
}
interface Properties {
  readonly result: PropertyDescriptor[];
  readonly internalProperties?: PropertyDescriptor[];
}

const ROOTS = '__weirCapturedValuesRoots';
/** node:worker_threads' exports (isMainThread, threadId: per thread by nature), as a CommonJS job sees them. */
const BUILTINS = '__weirCapturedValuesBuiltins';
/** Names of node:worker_threads' per-thread values, when imported one by one. */
const PER_THREAD = new Set(['isMainThread', 'threadId', 'workerData', 'parentPort', 'resourceLimits']);

/**
 * Turns a value into comparable text (runs in the inspected thread via
 * Runtime.callFunctionOn, `this` being the value). Bounded: 200 entries per collection,
 * depth 4, 2000 characters.
 */
const FINGERPRINT = `function () {
  if (typeof this === 'function' || (typeof this === 'object' && this !== null && Object.getPrototypeOf(this) !== Object.prototype && Object.getPrototypeOf(this) !== null
      && !Array.isArray(this) && !(this instanceof Map) && !(this instanceof Set) && !(this instanceof Date) && !(this instanceof RegExp) && !ArrayBuffer.isView(this))) return undefined;
  const seen = new Set();
  const fp = (v, depth) => {
    const t = typeof v;
    if (t === 'string') return JSON.stringify(v);
    if (t === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (t === 'bigint') return v + 'n';
    if (t === 'boolean' || t === 'undefined') return String(v);
    if (t === 'symbol') return 'Symbol(' + (v.description ?? '') + ')';
    if (t === 'function') return 'function ' + v.name;
    if (v === null) return 'null';
    if (seen.has(v)) return '(cycle)';
    if (depth > 4) return '…';
    seen.add(v);
    try {
      const items = (entries) => {
        const out = [];
        let n = 0;
        for (const e of entries) { if (n++ === 200) { out.push('…'); break; } out.push(e); }
        return out.join(',');
      };
      if (Array.isArray(v)) return '[' + items((function* () { for (const x of v) yield fp(x, depth + 1); })()) + ']';
      if (v instanceof Map) return 'Map{' + items((function* () { for (const [k, x] of v) yield fp(k, depth + 1) + '=>' + fp(x, depth + 1); })()) + '}';
      if (v instanceof Set) return 'Set{' + items((function* () { for (const x of v) yield fp(x, depth + 1); })()) + '}';
      if (v instanceof Date) return 'Date(' + v.getTime() + ')';
      if (v instanceof RegExp) return String(v);
      if (ArrayBuffer.isView(v)) return v.constructor.name + '(' + v.byteLength + ')[' + Array.from(new Uint8Array(v.buffer, v.byteOffset, Math.min(v.byteLength, 256))).join(',') + ']';
      if (v instanceof ArrayBuffer) return 'ArrayBuffer(' + v.byteLength + ')';
      if (Object.prototype.toString.call(v) === '[object Module]' || globalThis.${BUILTINS}?.has(v)) return 'module';
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return 'object ' + (v.constructor?.name ?? '?');
      // Data properties only: accessors are how modules re-export bindings (esbuild's __toESM).
      return '{' + items((function* () { for (const k of Object.keys(v)) { const d = Object.getOwnPropertyDescriptor(v, k); if ('value' in d) yield JSON.stringify(k) + ':' + fp(d.value, depth + 1); } })()) + '}';
    } catch (err) {
      return 'unreadable ' + String(err);
    } finally {
      seen.delete(v);
    }
  };
  const s = fp(this, 0);
  return s.length > 2000 ? s.slice(0, 2000) + '…' : s;
}`;

/** A number naming the object `this` for the whole walk (a WeakMap on the global, removed after). */
const IDENTITY = `function () {
  const g = globalThis;
  const ids = (g.${ROOTS}Ids ??= new WeakMap());
  let id = ids.get(this);
  if (id === undefined) { id = g.${ROOTS}Next = (g.${ROOTS}Next ?? 0) + 1; ids.set(this, id); }
  return id;
}`;

/**
 * The functions and objects an object holds: its own fields and accessors and those of its
 * prototypes up to Object.prototype (class methods), at most 100; none for collections
 * (arrays, Map, Set, typed arrays: data, compared as such) and none for an object marked
 * as not the job's state (the environment, not-job-state.ts).
 */
const MEMBERS = `function () {
  const out = [];
  if (Array.isArray(this) || this instanceof Map || this instanceof Set || ArrayBuffer.isView(this) || this instanceof ArrayBuffer) return out;
  if (this[Symbol.for(${JSON.stringify(NOT_JOB_STATE_DESCRIPTION)})] === true) return out;
  for (let o = this; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === 'constructor' && o !== this) continue;
      const d = Object.getOwnPropertyDescriptor(o, k);
      for (const v of [d.value, d.get, d.set]) {
        if (typeof v === 'function' || (typeof v === 'object' && v !== null)) out.push(v);
        if (out.length === 100) return out;
      }
    }
  }
  return out;
}`;

/**
 * The variables captured by the user functions of every operator of `graph`, in a fixed
 * order (the same job module builds the same list in every thread). Undefined when the
 * inspector is not available (Node built without it) or the budget ran out: no check then.
 */
export function capturedValues(graph: JobGraph): CapturedValue[] | undefined {
  let session: Session;
  try {
    session = new Session();
    session.connect();
  } catch {
    return undefined;
  }
  const g = globalThis as Record<string, unknown>;
  try {
    const post = <T,>(method: string, params: object): T => {
      let error: Error | null = null;
      let result: T | undefined;
      session.post(method, params, (err, res) => {
        error = err;
        result = res as T;
      });
      if (error !== null) throw error as Error;
      if (result === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
      return result;
    };
    const scripts = new Map<string, string>();
    session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => scripts.set(m.params.scriptId, m.params.url));
    post('Debugger.enable', {});
    post('Debugger.disable', {});
    const isUser = (url: string): boolean => url.startsWith('file:') && !url.startsWith(WEIR_ROOT) && !url.includes('/node_modules/');
    const isWeir = (url: string): boolean => url.startsWith(WEIR_ROOT);

    const roots: { operator: string; value: unknown }[] = [];
    for (const n of graph.nodes) {
      const operator = `${n.name} (${n.operatorId})`;
      if (n.source) roots.push({ operator, value: n.source });
      if (n.createOperator) roots.push({ operator, value: n.createOperator });
      if (n.keyed) roots.push({ operator, value: n.keyed.keySelector });
    }
    g[ROOTS] = roots.map((r) => r.value);
    g[BUILTINS] = new Set([workerThreads]);
    const rootList = post<{ result: RemoteObject }>('Runtime.evaluate', { expression: `globalThis.${ROOTS}` }).result;
    const rootObjects = post<Properties>('Runtime.getProperties', { objectId: rootList.objectId, ownProperties: true }).result;

    const out: CapturedValue[] = [];
    const recorded = new Set<string>();
    let visits = 0;
    /** Objects already walked, per operator (an object reached twice is listed once). */
    let seen = new Set<string>();
    const identity = (o: RemoteObject): string => {
      // An object id names one RemoteObject, not the object: ask the thread for a stable id.
      const r = post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: o.objectId, functionDeclaration: IDENTITY, returnByValue: true });
      return String(r.result.value);
    };
    const valueOf = (o: RemoteObject): string | undefined => {
      if (o.type === 'function') return undefined;
      if (o.objectId === undefined) {
        if (o.unserializableValue !== undefined) return o.unserializableValue;
        // A string, number, boolean or null (NaN, ±Infinity, -0 and bigints are unserializable values above).
        return o.type === 'undefined' ? 'undefined' : JSON.stringify(o.value);
      }
      const r = post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: o.objectId, functionDeclaration: FINGERPRINT, returnByValue: true });
      return typeof r.result.value === 'string' ? r.result.value : undefined;
    };
    const walk = (o: RemoteObject, operator: string, depth: number): void => {
      if (o.objectId === undefined || depth > MAX_DEPTH) return;
      if (++visits > MAX_VISITS) throw new BudgetExceeded();
      const id = identity(o);
      if (seen.has(id)) return;
      seen.add(id);
      const props = post<Properties>('Runtime.getProperties', { objectId: o.objectId, ownProperties: true });
      if (o.type === 'function') {
        const internal = props.internalProperties ?? [];
        const bound = internal.find((p) => p.name === '[[BoundTargetFunction]]');
        if (bound?.value) walk(bound.value, operator, depth + 1);
        const loc = internal.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
        const url = loc ? (scripts.get(loc.scriptId) ?? '') : '';
        const user = isUser(url);
        if (!user && !isWeir(url)) return; // node's or a library's: not the job's code
        const scopes = internal.find((p) => p.name === '[[Scopes]]')?.value;
        if (scopes?.objectId === undefined) return;
        const where = sourceLocation(url, loc!.lineNumber, loc!.columnNumber);
        // A scope lists every variable some closure in it captures, not only this function's:
        // keep those this function names (an unrelated closure of the module is not the operator's).
        const names = user ? identifiers(post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: o.objectId, functionDeclaration: SOURCE, returnByValue: true }).result.value) : undefined;
        for (const scope of post<Properties>('Runtime.getProperties', { objectId: scopes.objectId, ownProperties: true }).result) {
          const kind = scope.value?.description ?? '';
          // weir's module-level bindings are its own code; the user's values reach weir only as
          // what its closures captured (the arguments of map(), process(), fromSource(), …).
          if (scope.value?.objectId === undefined || kind.startsWith('Global') || (!user && !kind.startsWith('Closure'))) continue;
          for (const v of post<Properties>('Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result) {
            if (v.value === undefined || (names !== undefined && !names.has(v.name))) continue;
            const slot = `${operator}\u0000${url}\u0000${scope.value.description ?? ''}\u0000${v.name}`;
            if (user && !PER_THREAD.has(v.name) && !recorded.has(slot)) {
              recorded.add(slot);
              // Functions and instances of classes are the module's code and each worker's own objects: only data is compared.
              const value = valueOf(v.value);
              if (value !== undefined) out.push({ operator, where, name: v.name, value });
            }
            // Follow functions and objects (a source object holds its functions); collections are data.
            if (v.value.type === 'function' || v.value.type === 'object') walk(v.value, operator, depth + 1);
          }
        }
        return;
      }
      // An object (a source, a sink, a process function object, weir's options): its
      // methods and fields, and those of its prototypes (class methods), not collections.
      const members = post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: o.objectId, functionDeclaration: MEMBERS }).result;
      if (members.objectId === undefined) return;
      for (const p of post<Properties>('Runtime.getProperties', { objectId: members.objectId, ownProperties: true }).result) {
        if (p.value !== undefined && /^\d+$/.test(p.name)) walk(p.value, operator, depth + 1);
      }
    };
    try {
      for (const r of rootObjects) {
        const i = Number(r.name);
        const root = roots[i];
        if (!Number.isInteger(i) || root === undefined || r.value === undefined) continue;
        if (i === 0 || roots[i - 1]!.operator !== root.operator) seen = new Set();
        walk(r.value, root.operator, 0);
      }
    } catch (err) {
      if (err instanceof BudgetExceeded) return undefined;
      throw err;
    }
    return out;
  } finally {
    delete g[ROOTS];
    delete g[BUILTINS];
    delete g[`${ROOTS}Ids`];
    delete g[`${ROOTS}Next`];
    session.disconnect();
  }
}

class BudgetExceeded extends Error {}

const SOURCE = 'function () { return Function.prototype.toString.call(this); }';

/**
 * The identifiers in a function's source, without its comments and quoted strings (a
 * name in a template literal's text counts: more names compared, never fewer).
 */
export function identifiers(source: unknown): Set<string> {
  const text = typeof source === 'string' ? source : '';
  let code = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === "'" || c === '"') {
      for (i++; i < text.length && text[i] !== c && text[i] !== '\n'; i++) if (text[i] === '\\') i++;
    } else {
      code += c;
      continue;
    }
    code += ' ';
  }
  return new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? []);
}

/** `path:line:column` of a position in a script, through its source map when there is one (a `.ts` job under tsx). */
function sourceLocation(url: string, line: number, column: number): string {
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  try {
    const entry: { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined = findSourceMap(path)?.findEntry(line, column);
    if (entry?.originalLine !== undefined && entry.originalSource !== undefined) {
      const file = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
      return `${file}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
    }
  } catch {
    // no usable map: the generated position
  }
  return `${path}:${line + 1}:${column + 1}`;
}

/** The first difference between the main thread's captured values and a worker's, as a sentence; undefined when equal. */
export function capturedMismatch(mine: readonly CapturedValue[], expected: readonly CapturedValue[], worker: number): string | undefined {
  const key = (c: CapturedValue): string => `${c.operator}\u0000${c.where}\u0000${c.name}`;
  const theirs = new Map(expected.map((c) => [key(c), c]));
  const ours = new Map(mine.map((c) => [key(c), c]));
  for (const e of expected) {
    const m = ours.get(key(e));
    if (m === undefined) return `operator ${e.operator}: the function at ${e.where} captures \`${e.name}\` on the main thread but not in worker ${worker}`;
    if (m.value !== e.value) {
      return `operator ${e.operator}: the function at ${e.where} captures \`${e.name}\`, which is ${e.value} on the main thread but ${m.value} in worker ${worker}`;
    }
  }
  for (const m of mine) {
    if (!theirs.has(key(m))) return `operator ${m.operator}: the function at ${m.where} captures \`${m.name}\` in worker ${worker} but not on the main thread`;
  }
  return undefined;
}
