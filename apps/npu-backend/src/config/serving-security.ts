/**
 * Start-up checks of who will be able to call the backend: a backend nobody may call is a mistake,
 * and open mode (no authentication) is for the loopback interface only.
 */
import type { Config } from "./load-config.js";
import { ConfigError } from "./load-config.js";

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Throws a ConfigError when the auth settings do not fit the host. */
export function checkServingSecurity(config: Config): void {
  const { auth, server } = config;
  if (auth.open && auth.apiKeys.length === 0 && !isLoopbackHost(server.host)) {
    throw new ConfigError(
      `open mode (--open, auth.open) accepts requests without any key, so it binds only a loopback host; ` +
        `server.host is '${server.host}'. Use auth.upstreamSecret (behind the edge) or --api-key instead.`,
    );
  }
  if (!auth.open && auth.upstreamSecret === undefined && auth.apiKeys.length === 0) {
    throw new ConfigError(
      "nobody could call this backend: set auth.upstreamSecret (the edge's signing secret, e.g. " +
        '"env:GEARBOX_UPSTREAM_SECRET"), give --api-key KEY, or use --open for local use',
    );
  }
  if (auth.upstreamSecret !== undefined && auth.upstreamSecret.length < 16) {
    throw new ConfigError(
      "auth.upstreamSecret must be at least 16 characters long (the edge requires as much)",
    );
  }
}
