// Logging as the graph sees it: one line per event, structured fields.
// The real adapter (loglevel, journald prefixes, JSON lines) lives in src/io.
export type Fields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
