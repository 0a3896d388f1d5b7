// The result type every parser in src/wire/ returns: parsers never throw on untrusted bytes,
// they return { ok: false, error } with a short machine-readable reason instead.

export type Parsed<T, E extends string = string> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E extends string>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
