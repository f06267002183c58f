// Structured JSON logs (pino). Call sites pass a message and fields; secrets never go in fields.
import { pino, type Logger as Pino } from 'pino';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function wrap(p: Pino): Logger {
  return {
    debug: (msg, f) => p.debug(f ?? {}, msg),
    info: (msg, f) => p.info(f ?? {}, msg),
    warn: (msg, f) => p.warn(f ?? {}, msg),
    error: (msg, f) => p.error(f ?? {}, msg),
    child: (f) => wrap(p.child(f)),
  };
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  const p = pino(
    { level, base: { component: 'meet-operator' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
  return wrap(p);
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
