/**
 * Who a message's text mentions: `@username`, for a member of the channel. Pure, so
 * the ChannelDO resolves names from its own member list without a D1 read per send.
 *
 * A mention is "@" followed by the longest run of username characters (3–32 of
 * [A-Za-z0-9_.-], compared lower-cased, as usernames are case-insensitively unique).
 * The "@" must not follow a letter, digit or username character, so "a@b.com" is an
 * address, not a mention of "b.com"; and a run followed by another "@" ("@bob@host")
 * is a remote address, not a member. "." and "-" may end a username but usually end a
 * sentence: "@bob." mentions "bob." if that is a member, else "bob".
 */

/** "@" not after a letter, digit, mark or username character; then the run of name characters. */
const MENTION = /(?<![\p{L}\p{N}\p{M}_.@-])@([A-Za-z0-9_.-]+)/gu;
const TRAILING_PUNCTUATION = ".-";
const MIN_USERNAME = 3;
const MAX_USERNAME = 32;

/**
 * The userIds `text` mentions, each once, in order of first mention. `userIdOf` maps a
 * lower-cased username to the id of the member who has it (undefined for anyone else).
 */
export function mentionedUserIds(text: string, userIdOf: (username: string) => string | undefined): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    const end = match.index + match[0].length;
    if (text[end] === "@") continue;
    const userId = resolve(match[1]!.toLowerCase(), userIdOf);
    if (userId !== undefined) found.add(userId);
  }
  return [...found];
}

/**
 * The run as a member's name, or with some of its trailing "." and "-" dropped, the
 * longest that is one. Only lengths a username can have are tried, so a run of
 * 100,000 dots costs one pass, not one copy per dot.
 */
function resolve(run: string, userIdOf: (username: string) => string | undefined): string | undefined {
  let end = run.length;
  while (end > 0 && TRAILING_PUNCTUATION.includes(run[end - 1]!)) end--;
  for (let length = Math.min(run.length, MAX_USERNAME); length >= Math.max(end, MIN_USERNAME); length--) {
    const userId = userIdOf(run.slice(0, length));
    if (userId !== undefined) return userId;
  }
  return undefined;
}
