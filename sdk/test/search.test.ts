import { describe, expect, it } from "vitest";
import { ChatClient } from "../src/client";

/** `api.search`: one GET /api/search with the caller's token, its filters in the query string. */

describe("api.search", () => {
  it("sends q and the filters given, and answers the page as the server gave it", async () => {
    const urls: string[] = [];
    const page = {
      results: [
        {
          message: { channelId: "g1", seq: 3, senderId: "u2", clientMsgId: "m", text: "north wall", ts: 5, rev: 3 },
          snippet: "north wall",
          highlights: [[0, 5]],
        },
      ],
      nextCursor: "abc",
    };
    const fetch = async (url: string, init?: RequestInit) => {
      urls.push(url);
      expect(new Headers(init?.headers).get("Authorization")).toBe("Bearer tok");
      return Response.json(page);
    };
    const session = { userId: "u", deviceId: "d", accessToken: "tok", refreshToken: "rt" };
    const { api } = new ChatClient({ baseUrl: "https://x.test/", fetch, session });
    expect(await api.search('north "wall" & co')).toEqual(page);
    await api.search("x", { channelId: "g1", from: "u2", after: 1, before: 9, limit: 50, cursor: "abc" });
    expect(urls.map((u) => u.replace("https://x.test", ""))).toEqual([
      "/api/search?q=north+%22wall%22+%26+co",
      "/api/search?q=x&channelId=g1&from=u2&after=1&before=9&limit=50&cursor=abc",
    ]);
  });

  it("sends back the newest history bookmark the server answered with", async () => {
    const sent: (string | null)[] = [];
    const answers = ["0:b1", null, "0:b2,1:c1"];
    const fetch = async (_url: string, init?: RequestInit) => {
      sent.push(new Headers(init?.headers).get("X-History-Bookmark"));
      const bookmark = answers[sent.length - 1];
      return Response.json({ results: [] }, bookmark ? { headers: { "X-History-Bookmark": bookmark } } : {});
    };
    const session = { userId: "u", deviceId: "d", accessToken: "tok", refreshToken: "rt" };
    const { api } = new ChatClient({ baseUrl: "https://x.test/", fetch, session });
    for (let i = 0; i < 4; i++) await api.search("x");
    expect(sent).toEqual([null, "0:b1", "0:b1", "0:b2,1:c1"]);
  });
});
