/** The latin1 bytes of `text` as a DataView: an ASCII chunk as the framer's fast path reads it. */
export function latin1View(text: string): DataView {
  const b = Buffer.from(text, 'latin1');
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
