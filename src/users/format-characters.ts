/**
 * Invisible format characters (Unicode category Cf) in names and statuses: bidi
 * overrides and isolates (U+202A–202E, U+2066–2069, U+200E/F, U+061C) that make text
 * shown next to a name read backwards, zero-width spaces and no-break marks (U+200B,
 * U+2060, U+FEFF) that make two names look alike or a name look empty, and the rest of
 * Cf (soft hyphen, invisible operators, tags).
 *
 * Two are kept where they do a visible job. The zero-width joiner (U+200D) builds emoji
 * sequences (👩‍💻, 🏳️‍🌈) and Indic conjuncts, and the non-joiner (U+200C) is part of
 * Persian and other scripts' spelling: each stays only between two visible characters,
 * never at an end or next to another invisible one. Tag characters stay only inside an
 * emoji tag sequence (the flags of England, Scotland and Wales).
 */
const FORMAT_OR_TAG_SEQUENCE = /(\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F})|\p{Cf}/gu;
const JOINERS = new Set([0x200c, 0x200d]);
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Z}]/u;

function visibleAt(s: string, index: number): boolean {
  if (index < 0 || index >= s.length) return false;
  const c = s.codePointAt(index)!;
  // Stepping back onto the low half of a surrogate pair: read the whole code point.
  const cp = c >= 0xdc00 && c <= 0xdfff && index > 0 ? (s.codePointAt(index - 1) ?? c) : c;
  return !INVISIBLE.test(String.fromCodePoint(cp));
}

export function stripFormatCharacters(s: string): string {
  return s.replace(FORMAT_OR_TAG_SEQUENCE, (match, tagSequence: string | undefined, offset: number) => {
    if (tagSequence) return tagSequence;
    const keep = JOINERS.has(match.codePointAt(0)!) && visibleAt(s, offset - 1) && visibleAt(s, offset + 1);
    return keep ? match : "";
  });
}
