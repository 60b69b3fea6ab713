// Column growth shared by the detector state (rule columns, stamp rings, samples).

/** `a`, or a copy of it `capacity` cells long (zero-filled past the old end) if it is shorter. */
export function grown<T extends Uint8Array | Int32Array | Float64Array>(a: T, capacity: number): T {
  if (a.length >= capacity) return a;
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/** Fills `list` to `capacity`: a write far past the end would turn an array into a dictionary. */
export function filled(list: unknown[], capacity: number): void {
  const n = list.length;
  if (n >= capacity) return;
  list.length = capacity;
  list.fill(undefined, n);
}
