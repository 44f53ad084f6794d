export type { Framer } from './types.js';
export { DelimiterFramer, type DelimiterFramerOptions } from './delimiter.js';
export { LengthFramer, type LengthFramerOptions } from './length.js';
export { FixedLengthFramer } from './fixed.js';
export { toHex } from './hex.js';
