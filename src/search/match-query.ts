/**
 * What a user types into the search box, as an FTS5 MATCH expression that can only
 * search for text. Every word and every "quoted phrase" becomes one FTS5 string (its `"`
 * doubled), so `AND`, `NEAR`, `*`, `(`, `-`, `:` and column names are words like any
 * other; the strings are joined by spaces, FTS5's implicit AND. A word also matches as a
 * prefix (the `*` after its closing quote); a phrase matches its words in a row, exactly.
 * An unclosed quote runs to the end of the input. Control characters separate words, as
 * they do for the tokenizer: FTS5 reads its expression as a C string, so a NUL would end
 * it inside a quote ("unterminated string").
 */

/** One thing the user asked for: a word (also a prefix) or a quoted phrase. */
export interface SearchTerm {
  text: string;
  phrase: boolean;
}

export function parseSearchInput(input: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  const parts = input.replace(/\p{Cc}/gu, " ").split('"');
  parts.forEach((part, i) => {
    // Odd parts are between quotes.
    if (i % 2 === 1) {
      const phrase = part.trim();
      if (phrase !== "") terms.push({ text: phrase, phrase: true });
      return;
    }
    for (const word of part.split(/\s+/)) if (word !== "") terms.push({ text: word, phrase: false });
  });
  return terms;
}

export function matchExpression(terms: readonly SearchTerm[]): string {
  return terms.map((t) => `"${t.text.replaceAll('"', '""')}"${t.phrase ? "" : "*"}`).join(" ");
}
