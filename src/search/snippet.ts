import { SNIPPET_MAX } from "../protocol/limits";
import type { SearchTerm } from "./match-query";

/**
 * The snippet and highlights of a search result (docs/PROTOCOL.md "Search"), cut from
 * the message's text here because the index keeps no text. Words are found the way the
 * index's tokenizer (`unicode61 remove_diacritics 2`) finds them: runs of letters,
 * digits and marks, compared lower-cased and without diacritics. Offsets are UTF-16
 * code units, as JavaScript strings count them.
 */

/** Text kept before the first match, so it is read in its sentence. */
const CONTEXT_BEFORE = 40;

interface Token {
  start: number;
  end: number;
  key: string;
}

const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** How the index compares a word: lower case, diacritics removed. */
export function foldWord(word: string): string {
  return word
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{M}+/gu, "");
}

function tokens(text: string): Token[] {
  return Array.from(text.matchAll(WORD), (m) => ({
    start: m.index,
    end: m.index + m[0].length,
    key: foldWord(m[0]),
  })).filter((t) => t.key !== "");
}

/** [start, end) of every run of tokens that `term` matches, in `text`. */
function termSpans(text: Token[], term: SearchTerm): [number, number][] {
  const want = tokens(term.text).map((t) => t.key);
  if (want.length === 0) return [];
  const spans: [number, number][] = [];
  for (let i = 0; i + want.length <= text.length; i++) {
    const matches = want.every((key, j) => {
      const got = text[i + j]!.key;
      const last = j === want.length - 1;
      return last && !term.phrase ? got.startsWith(key) : got === key;
    });
    if (matches) spans.push([text[i]!.start, text[i + want.length - 1]!.end]);
  }
  return spans;
}

/** Every match of every term, sorted, overlapping ones merged. */
export function matchSpans(text: string, terms: readonly SearchTerm[]): [number, number][] {
  const words = tokens(text);
  const spans = terms.flatMap((t) => termSpans(words, t)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}

const isLowSurrogate = (text: string, i: number) => {
  const c = text.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
};

/** At most SNIPPET_MAX code units of `text` around its first match, with the matches in it. */
export function snippetOf(
  text: string,
  terms: readonly SearchTerm[],
): { snippet: string; highlights: [number, number][] } {
  const spans = matchSpans(text, terms);
  let start = 0;
  if (text.length > SNIPPET_MAX && spans.length > 0) {
    const first = spans[0]!;
    start = Math.max(0, Math.min(first[0] - CONTEXT_BEFORE, text.length - SNIPPET_MAX));
    // Begin at a word, unless that would push the match out.
    const space = text.slice(start, first[0]).search(/\s\S/u);
    if (start > 0 && space >= 0) start += space + 1;
  }
  // Never half a surrogate pair at either end.
  if (isLowSurrogate(text, start)) start += 1;
  let end = Math.min(text.length, start + SNIPPET_MAX);
  if (end < text.length && isLowSurrogate(text, end)) end -= 1;
  const highlights: [number, number][] = [];
  for (const [s, e] of spans) {
    if (e <= start || s >= end) continue;
    highlights.push([Math.max(s, start) - start, Math.min(e, end) - start]);
  }
  return { snippet: text.slice(start, end), highlights };
}
