export * from './decode';
export * from './effects';
export * from './events';
export * from './host-state';
export * from './policy';
export * from './scalars';
export * from './timestamp';
export { compareCodePoints, isPlainObject, literals, integer, opt, req, sortedRecord, struct, taggedUnion, withDefault } from './struct';
