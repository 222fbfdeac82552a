/**
 * A module imported on first use (a client library a job may never need): load() imports
 * it once per thread; get() returns it afterwards, synchronously, for code that can only
 * run after a load() (a reader's constructor after its factory awaited load()).
 */
export interface LazyModule<T> {
  load(): Promise<T>;
  get(): T;
}

/** `what` names the module in the error get() throws when called before load(). */
export function lazyModule<T>(importer: () => Promise<T>, what: string): LazyModule<T> {
  let loaded: T | undefined;
  let loading: Promise<T> | undefined;
  return {
    async load() {
      loaded ??= await (loading ??= importer());
      return loaded;
    },
    get() {
      if (loaded === undefined) throw new Error(`internal: ${what} is used before it was loaded`);
      return loaded;
    },
  };
}
