// better-sqlite3 has no bundled types and @types is not installed: this declares the
// small part of its API the server uses, and loads it through createRequire (CommonJS).
import { createRequire } from 'node:module';

export interface RunResult {
  changes: number;
}

export interface Statement<Row> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
}

export interface Database {
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): void;
  pragma(sql: string): unknown;
  close(): void;
}

type DatabaseCtor = new (path: string) => Database;

const require = createRequire(import.meta.url);

export function openDatabase(path: string): Database {
  const Ctor = require('better-sqlite3') as DatabaseCtor;
  return new Ctor(path);
}
