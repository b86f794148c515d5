/** The part of a message that says who reacted (a `Message` has it). */
interface Reacted {
  reactions?: readonly { emoji: string; userIds: readonly string[] }[];
}

/** The picker's choices: single grapheme clusters, so each is one `:emoji` for the server. */
export const COMMON_EMOJI: readonly string[] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/**
 * Whether `userId` is among those who reacted with `emoji`. The server lists only the
 * first 20 users per emoji, so a reaction past them reads as not one's own: a click
 * then adds it again, which is harmless (adding is idempotent).
 */
export function hasReacted(m: Reacted, emoji: string, userId: string | null): boolean {
  if (userId === null) return false;
  return m.reactions?.some((r) => r.emoji === emoji && r.userIds.includes(userId)) ?? false;
}

/** "1 reply", "3 replies". */
export function repliesLabel(count: number): string {
  return count === 1 ? "1 reply" : `${count} replies`;
}
