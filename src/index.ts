/** weir's public surface: the user API and the built-in connectors. */
export * from './api/index.ts';
export * from './connectors/index.ts';
