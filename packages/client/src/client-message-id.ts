/**
 * A new clientMessageId: `c-` and 26 random base-32 characters. It uses getRandomValues, which (unlike
 * randomUUID) works on plain-HTTP pages too, such as a server on the local network.
 */
export function newClientMessageId(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  let id = 'c-';
  for (const byte of bytes) id += alphabet[byte % 32];
  return id;
}
