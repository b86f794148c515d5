import { describe, expect, it } from "vitest";
import { locationHintFor } from "../../src/channels/placement";

describe("a new channel's location hint", () => {
  it("follows the creator's continent, split east and west where Durable Objects are", () => {
    expect(locationHintFor({ continent: "NA", longitude: "-122.4" })).toBe("wnam");
    expect(locationHintFor({ continent: "NA", longitude: "-74.0" })).toBe("enam");
    expect(locationHintFor({ continent: "SA" })).toBe("sam");
    expect(locationHintFor({ continent: "EU", longitude: "2.35" })).toBe("weur");
    expect(locationHintFor({ continent: "EU", longitude: "37.6" })).toBe("eeur");
    expect(locationHintFor({ continent: "AS", country: "JP" })).toBe("apac");
    expect(locationHintFor({ continent: "AS", country: "AE" })).toBe("me");
    expect(locationHintFor({ continent: "AF" })).toBe("afr");
    expect(locationHintFor({ continent: "OC" })).toBe("oc");
  });

  it("is none without a place (local development) or with one it does not know", () => {
    expect(locationHintFor(undefined)).toBeUndefined();
    expect(locationHintFor({})).toBeUndefined();
    expect(locationHintFor({ continent: "T1" })).toBeUndefined();
    expect(locationHintFor({ continent: 7 })).toBeUndefined();
    // No longitude: the east, where more of North America and Europe live.
    expect(locationHintFor({ continent: "NA" })).toBe("enam");
    expect(locationHintFor({ continent: "EU", longitude: "x" })).toBe("weur");
  });
});
