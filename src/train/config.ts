// Trainer configs are typed objects with documented defaults; a user's file or preset is merged over the
// defaults field by field. The defaults double as the schema: a field they do not have, or a value of
// another type, is an error that names the field (`config.json: ppo.lr: expected a number, got "x"`).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Fields whose default is null (or that accept several types) say which types they take. */
export type FieldTypes = Record<string, readonly ('number' | 'string' | 'boolean' | 'object' | 'array' | 'null')[]>;

function typeOf(v: unknown): 'number' | 'string' | 'boolean' | 'object' | 'array' | 'null' | 'undefined' | 'other' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' || t === 'object' || t === 'undefined' ? t : 'other';
}

/**
 * `defaults` with `user`'s fields put over it, recursively for nested objects (arrays and values replace).
 * `where` prefixes errors (a file name); `types` lists the accepted types of fields by dotted path where the
 * default's own type is not the only one (e.g. `{ 'reward.schedule': ['object', 'null'] }`). A field whose
 * accepted types include 'object' but whose default is null is taken as given (its owner validates it).
 * A field the defaults leave out is unknown unless `types` lists it: then it is optional, taken as given
 * when present (its owner validates it), and absent from the result otherwise.
 */
export function mergeConfig<T extends object>(defaults: T, user: unknown, where: string, types: FieldTypes = {}, prefix = ''): T {
  if (user === undefined) return structuredClone(defaults);
  if (typeOf(user) !== 'object') throw new Error(`${where}: ${prefix ? `${prefix.slice(0, -1)}: ` : ''}expected an object, got ${JSON.stringify(user)}`);
  const out = structuredClone(defaults) as Record<string, unknown>;
  for (const [key, value] of Object.entries(user as Record<string, unknown>)) {
    const path = `${prefix}${key}`;
    if (!(key in out) && !(path in types)) {
      throw new Error(`${where}: unknown field '${path}' (known: ${Object.keys(out).join(', ')})`);
    }
    const def = out[key];
    const accepted = types[path] ?? [typeOf(def)];
    const got = typeOf(value);
    if (!accepted.includes(got as never)) {
      throw new Error(`${where}: ${path}: expected ${accepted.map((t) => (t === 'object' ? 'an object' : t === 'array' ? 'an array' : t === 'null' ? 'null' : `a ${t}`)).join(' or ')}, got ${JSON.stringify(value)}`);
    }
    if (got === 'number' && !Number.isFinite(value)) throw new Error(`${where}: ${path}: expected a finite number, got ${String(value)}`);
    out[key] = got === 'object' && typeOf(def) === 'object'
      ? mergeConfig(def as object, value, where, types, `${path}.`)
      : structuredClone(value);
  }
  return out as T;
}

/** Throws `where: path: expected …` unless `ok`. */
export function expect(ok: boolean, where: string, path: string, what: string, got: unknown): void {
  if (!ok) throw new Error(`${where}: ${path}: expected ${what}, got ${JSON.stringify(got)}`);
}

export const isPositiveInt = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0;
export const isNonNegativeInt = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0;

export type { Json };
