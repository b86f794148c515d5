import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mentionedUserIds } from "../../src/channels/mentions";

/** Members by lower-cased username, as the ChannelDO keeps them. */
const members = new Map([
  ["alice", "u-alice"],
  ["bob", "u-bob"],
  ["bob.", "u-bob-dot"],
  ["carol-", "u-carol-dash"],
  ["d.e_f-9", "u-def"],
  ["example.com", "u-example"],
]);
const mentions = (text: string) => mentionedUserIds(text, (name) => members.get(name));

describe("mentionedUserIds", () => {
  it("finds @username at the start, after spaces and after punctuation that is no name character", () => {
    expect(mentions("@alice hi")).toEqual(["u-alice"]);
    expect(mentions("hi @alice")).toEqual(["u-alice"]);
    expect(mentions("(@alice)")).toEqual(["u-alice"]);
    expect(mentions("hey,@alice!")).toEqual(["u-alice"]);
    expect(mentions("line\n@alice")).toEqual(["u-alice"]);
    expect(mentions("«@alice»")).toEqual(["u-alice"]);
    expect(mentions("@d.e_f-9 and @alice")).toEqual(["u-def", "u-alice"]);
  });

  it("compares names case-insensitively, as usernames are unique", () => {
    expect(mentions("@ALICE and @Bob")).toEqual(["u-alice", "u-bob"]);
  });

  it("takes the whole run of name characters: a longer name is not its prefix", () => {
    expect(mentions("@alicex")).toEqual([]);
    expect(mentions("@alice_")).toEqual([]);
    expect(mentions("@bobby")).toEqual([]);
  });

  it("drops a trailing '.' or '-' that ends a sentence, unless the name itself ends with it", () => {
    expect(mentions("thanks @alice.")).toEqual(["u-alice"]);
    expect(mentions("thanks @alice...")).toEqual(["u-alice"]);
    expect(mentions("@alice- see")).toEqual(["u-alice"]);
    expect(mentions("ask @bob.")).toEqual(["u-bob-dot"]);
    expect(mentions("ask @bob")).toEqual(["u-bob"]);
    expect(mentions("@carol-")).toEqual(["u-carol-dash"]);
    expect(mentions("@carol")).toEqual([]);
  });

  it("lists each member once, in order of first mention", () => {
    expect(mentions("@bob @alice @BOB @alice.")).toEqual(["u-bob", "u-alice"]);
  });

  it("ignores names that are no member's and runs too short to be a username", () => {
    expect(mentions("@mallory @al @a @ @@alice")).toEqual([]);
  });

  it("an email address or a remote handle is no mention", () => {
    expect(mentions("write to x@alice or a@example.com")).toEqual([]);
    expect(mentions("é@alice 1@alice _@alice .@alice -@alice")).toEqual([]);
    expect(mentions("@alice@example.com")).toEqual([]);
    // The domain alone, when it is a member's name, is a mention.
    expect(mentions("see @example.com")).toEqual(["u-example"]);
  });

  it("looks up at most one name per username length, however long the run after '@'", () => {
    const looked: string[] = [];
    const lookUp = (name: string) => {
      looked.push(name);
      return members.get(name);
    };
    expect(mentionedUserIds(`@alice${".".repeat(99_990)}`, lookUp)).toEqual(["u-alice"]);
    expect(mentionedUserIds(`@${"a".repeat(99_999)}`, lookUp)).toEqual([]);
    expect(looked.length).toBeLessThanOrEqual(32);
  });

  it("text without a member's name mentions nobody, whatever it holds", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        const found = mentionedUserIds(text.replaceAll("@", "@zz"), () => undefined);
        expect(found).toEqual([]);
      }),
    );
  });

  it("finds a member wherever a mention of them stands apart from the text around it", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const text = `${before} @alice ${after}`;
        expect(mentionedUserIds(text, (name) => members.get(name))).toContain("u-alice");
      }),
    );
  });
});
