export { createNodeProcessPort, DEFAULT_CLOSE_GRACE_MS, DEFAULT_TAIL_BYTES, inheritedEnv, type NodeProcessOptions } from './node-process';
export { TailBuffer } from './tail-buffer';
