export { openStore, type StoreOptions } from './open.js';
export { createStore, type Store } from './store.js';
export type { Driver, DriverName } from './driver.js';
export * from './types.js';
