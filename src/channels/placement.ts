/**
 * Where a new channel's Durable Object is created: near whoever creates it. Workers
 * tell the caller's continent (`request.cf.continent`) and rough coordinates; Durable
 * Objects take one of a few location hints, and only when an object is first created
 * (docs/SHARDS.md, "Placement"). No `cf` (local development, tests): no hint.
 */

/** Countries whose traffic the Middle East hint serves better than Europe's or Asia's. */
const MIDDLE_EAST = new Set(["AE", "BH", "IL", "IQ", "IR", "JO", "KW", "LB", "OM", "PS", "QA", "SA", "SY", "YE"]);

interface CallerPlace {
  continent?: unknown;
  country?: unknown;
  longitude?: unknown;
}

/** `cf`: the request's `cf` object, whose fields are checked here rather than trusted. */
export function locationHintFor(requestCf: object | undefined): DurableObjectLocationHint | undefined {
  const cf = requestCf as CallerPlace | undefined;
  if (!cf || typeof cf.continent !== "string") return undefined;
  const longitude = Number(typeof cf.longitude === "string" || typeof cf.longitude === "number" ? cf.longitude : NaN);
  if (typeof cf.country === "string" && MIDDLE_EAST.has(cf.country)) return "me";
  switch (cf.continent) {
    case "NA":
      // West of the 100th meridian is nearer to the west coast's data centres.
      return longitude < -100 ? "wnam" : "enam";
    case "SA":
      return "sam";
    case "EU":
      return longitude > 20 ? "eeur" : "weur";
    case "AF":
      return "afr";
    case "AS":
      return "apac";
    case "OC":
    case "AN":
      return "oc";
    default:
      return undefined;
  }
}
