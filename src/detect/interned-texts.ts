import { grown } from './grown.ts';

/**
 * Texts by small integer id, each held while something refers to it. Rules
 * keep their evidence accounts as ids in their slot records (account-samples.ts):
 * an id sits in the record the event has just read, where a text would be a
 * pointer in a column of its own (one cache miss more an event and rule under
 * a flood, and a write barrier per store). A text is forgotten when its last
 * reference goes, so the table holds no more than the samples in use.
 */
export class InternedTexts {
  private readonly ids = new Map<string, number>();
  /** id -> text; id 0 is never used (0 means "none" in a record). */
  private texts: Array<string | undefined> = [undefined];
  private refs = new Int32Array(64);
  private readonly free: number[] = [];
  // The rules of one event ask for the same text in turn: the last answer is kept.
  private lastText: string | undefined = undefined;
  private lastId = 0;

  /** Texts held. */
  get size(): number {
    return this.ids.size;
  }

  /** The id of a text held, or 0 (no reference is taken). */
  idOf(text: string): number {
    if (text === this.lastText) return this.lastId;
    const id = this.ids.get(text);
    if (id === undefined) return 0;
    this.lastText = text;
    this.lastId = id;
    return id;
  }

  /** Takes a reference to `text` (`id` its id, or 0 if not held): returns its id. */
  hold(text: string, id: number): number {
    if (id === 0) {
      id = this.free.pop() ?? this.texts.length;
      if (id === this.texts.length) this.texts.push(text);
      else this.texts[id] = text;
      if (id >= this.refs.length) this.refs = grown(this.refs, this.refs.length * 2);
      this.ids.set(text, id);
      this.lastText = text;
      this.lastId = id;
    }
    this.refs[id]!++;
    return id;
  }

  /** Drops a reference taken by hold. */
  release(id: number): void {
    if (--this.refs[id]! > 0) return;
    this.ids.delete(this.texts[id]!);
    this.texts[id] = undefined;
    this.free.push(id);
    if (this.lastId === id) this.lastText = undefined;
  }

  text(id: number): string {
    return this.texts[id]!;
  }
}

/** The evidence accounts of every rule: accounts repeat across rules and keys, each text is held once. */
export const ACCOUNT_TEXTS = new InternedTexts();
