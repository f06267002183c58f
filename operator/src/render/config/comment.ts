// What a rendered config file may carry from the spec outside its values. Validation lets only DNS
// names through, so these are no-ops on every valid spec (rendered bytes and config hashes stay
// as they are); they keep a bug elsewhere from turning into a directive injected into a file.

/** Printable ASCII: nothing any parser could take for a line break (YAML 1.1 may also break on NEL, U+2028, U+2029). */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * `namespace/name` for a header comment: as is when it is made of DNS-name characters (always, after
 * validation), else JSON-quoted with every non-ASCII character escaped, so nothing can end the comment.
 */
export function commentId(namespace: string, name: string): string {
  const id = `${namespace}/${name}`;
  if (/^[a-z0-9./-]+$/.test(id)) return id;
  return JSON.stringify(id).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
