/**
 * `@username` in message text: finding the mentions to highlight, and the partial name
 * being typed in a composer for its autocomplete. Usernames are 3–32 of `[a-z0-9_.-]`,
 * compared case-insensitively (docs/PROTOCOL.md "Accounts").
 */

/** A run of text, or a mention of `userId` written as `text` (with its `@`). */
export type Segment = { text: string; userId?: string };

// `@` at the start or after a character that cannot end a word, so "me@example.com" is no mention.
const MENTION = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{1,32})/g;
const TRAILING_PUNCTUATION = /[.-]+$/;

/**
 * Splits text into plain runs and mentions of the users in `usernames` (lower-case
 * username → userId). A name followed by a full stop ("thanks @bob.") still counts.
 */
export function mentionSegments(text: string, usernames: ReadonlyMap<string, string>): Segment[] {
  const out: Segment[] = [];
  let plainFrom = 0;
  for (const match of text.matchAll(MENTION)) {
    const lead = match[1] ?? "";
    let name = match[2] ?? "";
    let userId = usernames.get(name.toLowerCase());
    if (userId === undefined) {
      name = name.replace(TRAILING_PUNCTUATION, "");
      userId = usernames.get(name.toLowerCase());
    }
    if (userId === undefined) continue;
    const at = match.index + lead.length;
    if (at > plainFrom) out.push({ text: text.slice(plainFrom, at) });
    out.push({ text: `@${name}`, userId });
    plainFrom = at + 1 + name.length;
  }
  if (plainFrom < text.length || out.length === 0) out.push({ text: text.slice(plainFrom) });
  return out;
}

/** The `@partial` just before the caret, if the caret is in one: where its `@` is, and what follows it. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{0,32})$/.exec(before);
  if (!match) return null;
  const query = match[2] ?? "";
  return { start: caret - query.length - 1, query };
}

/** Replaces the `@partial` that starts at `start` and ends at the caret with `@username `; returns the new caret too. */
export function insertMention(
  text: string,
  start: number,
  caret: number,
  username: string,
): { text: string; caret: number } {
  const inserted = `@${username} `;
  // One space is enough: a space already after the caret is not doubled.
  const rest = text.slice(caret).replace(/^ /, "");
  return { text: text.slice(0, start) + inserted + rest, caret: start + inserted.length };
}

/** Candidates whose username or display name starts with the query, usernames first, at most `limit`. */
export function matchMembers<U extends { username: string; displayName: string }>(
  users: readonly U[],
  query: string,
  limit = 8,
): U[] {
  const q = query.toLowerCase();
  const byName = users.filter((u) => u.username.toLowerCase().startsWith(q));
  const byDisplay = users.filter(
    (u) =>
      !byName.includes(u) &&
      u.displayName
        .toLowerCase()
        .split(/\s+/)
        .some((w) => w.startsWith(q)),
  );
  return [...byName, ...byDisplay].slice(0, limit);
}
