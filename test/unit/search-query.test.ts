import { describe, expect, it } from "vitest";
import { matchExpression, parseSearchInput } from "../../src/search/match-query";
import { matchSpans, snippetOf } from "../../src/search/snippet";

const fts = (input: string) => matchExpression(parseSearchInput(input));

describe("the FTS5 expression of a search input", () => {
  it("quotes every word and adds a prefix star outside the quotes", () => {
    expect(fts("where did we")).toBe('"where"* "did"* "we"*');
    expect(fts("  spaced\tout\n")).toBe('"spaced"* "out"*');
  });

  it("keeps quoted words together as an exact phrase", () => {
    expect(fts('plan "north wall" saturday')).toBe('"plan"* "north wall" "saturday"*');
    expect(fts('"  padded  "')).toBe('"padded"');
    // An unclosed quote runs to the end.
    expect(fts('a "b c')).toBe('"a"* "b c"');
    expect(fts('""')).toBe("");
  });

  it("searches FTS5 operators, column filters and specials as words", () => {
    expect(fts("a AND b OR NOT c")).toBe('"a"* "AND"* "b"* "OR"* "NOT"* "c"*');
    expect(fts("NEAR(a b, 2)")).toBe('"NEAR(a"* "b,"* "2)"*');
    expect(fts("text:foo -bar ^baz *")).toBe('"text:foo"* "-bar"* "^baz"* "*"*');
  });

  it("doubles a quote inside a term and turns control characters into spaces", () => {
    expect(matchExpression([{ text: 'say "hi"', phrase: true }])).toBe('"say ""hi"""');
    expect(fts("a\u0000b")).toBe('"a"* "b"*');
    expect(fts('"a\u0000b"')).toBe('"a b"');
  });

  it("gives nothing to search for blank input", () => {
    expect(parseSearchInput(" \t ")).toEqual([]);
    expect(parseSearchInput('" "')).toEqual([]);
  });

  it("never lets a term end its own quotes: the expression is quoted strings only", () => {
    for (const input of ['"', '"""', 'a"b"c', '\\"', "'\"'", '"*"*']) {
      expect(fts(input)).toMatch(/^("([^"]|"")*"\*?( |$))*$/);
    }
  });
});

describe("snippets and highlights", () => {
  const terms = (input: string) => parseSearchInput(input);

  it("highlights whole words matched by a prefix, ignoring case and accents", () => {
    const text = "Crème brûlée, CAFÉ au lait";
    expect(matchSpans(text, terms("creme caf"))).toEqual([
      [0, 5],
      [14, 18],
    ]);
  });

  it("highlights a phrase as one span, and only where its words follow each other", () => {
    const text = "north wall, wall north, north  wall";
    expect(matchSpans(text, terms('"north wall"'))).toEqual([
      [0, 10],
      [24, 35],
    ]);
  });

  it("counts offsets in UTF-16 code units", () => {
    const text = "😀 ünïcode 😀 word";
    const { snippet, highlights } = snippetOf(text, terms("unicode word"));
    expect(highlights.map(([s, e]) => snippet.slice(s, e))).toEqual(["ünïcode", "word"]);
    expect(highlights[0]).toEqual([3, 10]);
  });

  it("keeps a short text whole, and cuts a long one to 200 units around the first match", () => {
    expect(snippetOf("short and sweet", terms("sweet"))).toEqual({
      snippet: "short and sweet",
      highlights: [[10, 15]],
    });
    const text = `${"alpha ".repeat(60)}target ${"omega ".repeat(60)}`;
    const { snippet, highlights } = snippetOf(text, terms("target"));
    expect(snippet.length).toBeLessThanOrEqual(200);
    expect(text).toContain(snippet);
    expect(snippet.startsWith("alpha")).toBe(true);
    expect(highlights).toHaveLength(1);
    expect(snippet.slice(...highlights[0]!)).toBe("target");
  });

  it("never cuts a surrogate pair in half", () => {
    const text = `${"😀".repeat(150)} target ${"😀".repeat(150)}`;
    const { snippet } = snippetOf(text, terms("target"));
    expect(snippet.isWellFormed()).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(200);
    expect(snippet).toContain("target");
  });

  it("starts at the beginning when nothing could be highlighted", () => {
    const text = "x".repeat(300);
    expect(snippetOf(text, terms("y"))).toEqual({ snippet: "x".repeat(200), highlights: [] });
  });
});
