import { z } from "zod";
import { stripFormatCharacters } from "./format-characters";

export type { User } from "../protocol/types";

/** Counts code points, not UTF-16 units, as docs/PROTOCOL.md measures lengths. */
export const codePoints = (s: string) => [...s].length;

/** Well-formed UTF-16 only: a lone surrogate cannot be stored faithfully, so it is refused, not mangled. */
const boundedText = (min: number, max: number, what: string) =>
  z
    .string()
    .refine((s) => s.isWellFormed(), `${what} is not well-formed UTF-16`)
    .refine((s) => {
      const n = codePoints(s);
      return n >= min && n <= max;
    }, `${what} must be ${min}–${max} characters`)
    // JSON Schema counts code points too, so the OpenAPI document can state the bounds.
    .meta({ minLength: min, maxLength: max });

export const Username = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, "username must be 3–32 of a-z 0-9 _ . -")
  .transform((s) => s.toLowerCase());
export const Password = boundedText(8, 256, "password");
/** Text other users see next to a name: invisible format characters are dropped first. */
const shownText = (min: number, max: number, what: string) =>
  z
    .string()
    .transform(stripFormatCharacters)
    .pipe(boundedText(min, max, what));

export const DisplayName = shownText(1, 64, "displayName")
  .transform((s) => s.trim())
  .pipe(z.string().min(1, "displayName must have a visible character"));
export const AvatarUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      return new URL(s).protocol === "https:";
    } catch {
      return false;
    }
  }, "avatarUrl must be an https URL");
export const StatusText = shownText(0, 140, "statusText");
