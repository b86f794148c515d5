/**
 * What a reaction may be keyed by (docs/PROTOCOL.md): one emoji, a single grapheme
 * cluster, or a `:shortcode:`. The server's rule alone (clients need not check it), kept
 * out of src/protocol because the `v` regular-expression flag it needs is ES2024.
 */
const SHORTCODE = /^:[a-z0-9_+-]{1,32}:$/;
/** A fully qualified emoji sequence (flags, skin tones, ZWJ families), or a pictograph with or without VS16. */
const EMOJI = /^(?:\p{RGI_Emoji}|\p{Extended_Pictographic}\uFE0F?)$/v;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

export function isReactionEmoji(s: string): boolean {
  if (SHORTCODE.test(s)) return true;
  if (s.length > 64 || !EMOJI.test(s)) return false;
  let n = 0;
  for (const _ of graphemes.segment(s)) if (++n > 1) return false;
  return n === 1;
}
