/**
 * Types of the SDK alone. The wire types (resources and frames) come from the protocol
 * module and are re-exported by the SDK's index.
 */

/** What an app persists to stay signed in (e.g. in localStorage). */
export interface Session {
  userId: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
}
