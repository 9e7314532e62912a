// The process logger (pino, structured JSON); quiet by default under tests.
import { pino, type Logger } from 'pino';

const level = process.env.GRENIER_LOG ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');

export const log: Logger = pino({ level, base: { pid: process.pid } });

export type { Logger };
